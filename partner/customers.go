package partner

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
)

// Customer is a customer of the partner. TenantID is the customer's Entra
// tenant ID, which Partner Center also uses as the customer ID (§3.1).
type Customer struct {
	TenantID     string
	Name         string // companyProfile.companyName
	Domain       string // companyProfile.domain: the initial domain, e.g. contoso.onmicrosoft.com
	Relationship string // relationshipToPartner: reseller, advisor, …
}

// customerJSON is the wire shape of a customer (§3.1).
type customerJSON struct {
	ID             string `json:"id"`
	CompanyProfile struct {
		TenantID    string `json:"tenantId"`
		Domain      string `json:"domain"`
		CompanyName string `json:"companyName"`
	} `json:"companyProfile"`
	RelationshipToPartner string `json:"relationshipToPartner"`
}

func (j customerJSON) customer() Customer {
	c := Customer{
		TenantID:     j.CompanyProfile.TenantID,
		Name:         j.CompanyProfile.CompanyName,
		Domain:       j.CompanyProfile.Domain,
		Relationship: j.RelationshipToPartner,
	}
	if c.TenantID == "" {
		c.TenantID = j.ID
	}
	return c
}

// Customer returns the customer whose tenant ID is tenantID. A customer the
// partner has no relationship with is KindNotFound (or KindForbidden, as
// Partner Center chooses). A customer found is remembered for
// Config.CustomerCacheTTL; a failure is not.
func (c *Client) Customer(ctx context.Context, tenantID string) (Customer, error) {
	const op = "get customer"
	if err := checkGUID(op, "tenant ID", tenantID); err != nil {
		return Customer{}, err
	}
	key := strings.ToLower(tenantID)
	if cu, ok := c.customers.get(key, c.now()); ok {
		return cu, nil
	}
	var j customerJSON
	err := c.do(ctx, &call{op: op, endpoint: "GET /v1/customers/{id}", method: http.MethodGet,
		path: "/v1/customers/" + tenantID, out: &j})
	if err != nil {
		return Customer{}, err
	}
	cu := j.customer()
	c.customers.put(key, cu, c.now())
	return cu, nil
}

// CustomersByDomain returns the customers whose initial domain is domain,
// compared case-insensitively. Partner Center only offers a prefix filter
// (§3.2: "contoso.com" also matches "contoso.com.au"), so its answer is
// filtered to exact matches here. None found is an empty slice and no error;
// more than one is for the caller to treat as ambiguous.
func (c *Client) CustomersByDomain(ctx context.Context, domain string) ([]Customer, error) {
	domain = strings.TrimSpace(domain)
	all, err := c.searchCustomers(ctx, "find customer by domain", "Domain", domain)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, cu := range all {
		if strings.EqualFold(cu.Domain, domain) {
			out = append(out, cu)
		}
	}
	return out, nil
}

// CustomersByName returns every customer whose company name starts with
// prefix (case-insensitively, as Partner Center matches): all candidates, for
// the caller to show when there is more than one.
func (c *Client) CustomersByName(ctx context.Context, prefix string) ([]Customer, error) {
	return c.searchCustomers(ctx, "find customer by name", "CompanyName", strings.TrimSpace(prefix))
}

// searchCustomers runs GET /v1/customers?size=0&filter={…starts_with…} (§3.2)
// and follows any paging.
func (c *Client) searchCustomers(ctx context.Context, op, field, value string) ([]Customer, error) {
	if value == "" {
		return nil, &Error{Kind: KindRejected, Op: op, Description: "empty search value"}
	}
	filter, err := json.Marshal(struct {
		Field    string `json:"Field"`
		Value    string `json:"Value"`
		Operator string `json:"Operator"`
	}{field, value, "starts_with"})
	if err != nil {
		return nil, &Error{Kind: KindRejected, Op: op, Err: err}
	}
	// url.Values encodes a space as "+", as the SDK's WebUtility.UrlEncode does.
	q := url.Values{"size": {"0"}, "filter": {string(filter)}}
	var out []Customer
	err = list(ctx, c, call{op: op, endpoint: "GET /v1/customers", method: http.MethodGet,
		path: "/v1/customers", rawQuery: q.Encode()}, func(items []customerJSON) bool {
		for _, j := range items {
			out = append(out, j.customer())
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []Customer{}
	}
	return out, nil
}

// checkGUID refuses an ID that is not a GUID before it becomes part of a URL
// path: Partner Center's IDs are GUIDs, and anything else (a "../") must not
// reach the request line.
func checkGUID(op, what, id string) error {
	if len(id) != 36 {
		return &Error{Kind: KindRejected, Op: op, Description: what + " is not a GUID"}
	}
	if _, err := uuid.Parse(id); err != nil {
		return &Error{Kind: KindRejected, Op: op, Description: what + " is not a GUID"}
	}
	return nil
}
