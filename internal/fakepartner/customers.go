package fakepartner

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Customer is a seeded customer tenant. Relationship is relationshipToPartner
// ("" = "reseller"); "none" means the partner relationship is gone: the customer
// is left out of searches and its routes answer 403 with code 20002.
type Customer struct {
	TenantID, Name, Domain string
	Relationship           string
}

type customerRecord struct {
	Customer
	commerceID string
}

// AddCustomer seeds (or replaces) a customer.
func (s *Server) AddCustomer(c Customer) {
	if c.TenantID == "" {
		panic("fakepartner: AddCustomer needs a TenantID")
	}
	if c.Relationship == "" {
		c.Relationship = "reseller"
	}
	key := strings.ToLower(c.TenantID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.customers[key]; !ok {
		s.customerOrder = append(s.customerOrder, key)
		s.users[key] = &tenantUsers{byID: map[string]*User{}}
	}
	s.customers[key] = &customerRecord{Customer: c, commerceID: newGUID()}
}

// customerLocked finds the customer a route names. On failure it returns the
// status and ApiFault to answer: 404 60003 for an unknown tenant, 403 20002 when
// the relationship is gone. s.mu must be held.
func (s *Server) customerLocked(cid string) (*customerRecord, int, apiFault) {
	c, ok := s.customers[strings.ToLower(cid)]
	if !ok {
		return nil, http.StatusNotFound, faultBody(60003, "Tenant not found")
	}
	if c.Relationship == "none" {
		return nil, http.StatusForbidden, faultBody(20002, "No relationship between caller and account.")
	}
	return c, 0, apiFault{}
}

func (c *customerRecord) json(byID bool) customerJSON {
	out := customerJSON{
		ID:         c.TenantID,
		CommerceID: c.commerceID,
		CompanyProfile: companyProfileJSON{
			TenantID: c.TenantID, Domain: c.Domain, CompanyName: c.Name,
			Links:      selfLinks{Self: link{URI: "/customers/" + c.TenantID + "/profiles/company", Method: http.MethodGet, Headers: []linkHeader{}}},
			Attributes: attributes{ObjectType: "CustomerCompanyProfile"},
		},
		RelationshipToPartner: c.Relationship,
		Links:                 selfLinks{Self: link{URI: "/customers/" + c.TenantID, Method: http.MethodGet, Headers: []linkHeader{}}},
		Attributes:            attributes{ObjectType: "Customer"},
	}
	if byID {
		// allowDelegatedAccess and customDomains only come with a read by ID (§3.1).
		t := true
		out.AllowDelegatedAccess = &t
		out.CustomDomains = []string{c.Domain}
	}
	return out
}

// getCustomer serves GET /v1/customers/{cid}.
func (s *Server) getCustomer(w http.ResponseWriter, _ *http.Request, _ []byte, rt route) {
	s.mu.Lock()
	c, status, fault := s.customerLocked(rt.cid)
	var body customerJSON
	if c != nil {
		body = c.json(true)
	}
	s.mu.Unlock()
	if c == nil {
		writeJSON(w, status, fault)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// listCustomers serves GET /v1/customers?size=&filter=. The filter is one
// URL-encoded JSON object (the SDK encodes spaces as "+"), with keys matched
// case-insensitively; only the starts_with operator exists, and it ignores case
// (§3.2). Without a filter every customer is listed.
func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request, _ []byte, _ route) {
	q := r.URL.Query()
	if sz := q.Get("size"); sz != "" {
		if n, err := strconv.Atoi(sz); err != nil || n < 0 {
			writeFault(w, http.StatusBadRequest, "800002", "Invalid request input: size must be a non-negative integer.")
			return
		}
	}
	var match func(*customerRecord) bool
	if raw := q.Get("filter"); raw != "" {
		m, problem := parseCustomerFilter(raw)
		if problem != "" {
			writeFault(w, http.StatusBadRequest, "800002", "Invalid request input: "+problem)
			return
		}
		match = m
	}
	s.mu.Lock()
	var items []customerJSON
	for _, key := range s.customerOrder {
		c := s.customers[key]
		if c.Relationship == "none" || (match != nil && !match(c)) {
			continue
		}
		items = append(items, c.json(false))
	}
	s.mu.Unlock()
	coll := newCollection(items)
	self := "/customers"
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	coll.Links = &collectionLinks{Self: link{URI: self, Method: http.MethodGet, Headers: []linkHeader{}}}
	writeJSON(w, http.StatusOK, coll)
}

// parseCustomerFilter decodes {"Field":…,"Value":…,"Operator":"starts_with"} into a
// matcher, or says what is wrong with it.
func parseCustomerFilter(raw string) (func(*customerRecord) bool, string) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil || obj == nil {
		return nil, "filter is not a JSON object."
	}
	str := func(key string) (string, bool) {
		v, ok := lookupFold(obj, key)
		if !ok {
			return "", false
		}
		var s string
		return s, json.Unmarshal(v, &s) == nil
	}
	field, okF := str("Field")
	value, okV := str("Value")
	op, okO := str("Operator")
	switch {
	case !okF || !okV || !okO:
		return nil, "filter needs string Field, Value and Operator."
	case !strings.EqualFold(op, "starts_with"):
		return nil, "the only supported operator is starts_with."
	}
	prefix := strings.ToLower(value)
	switch {
	case strings.EqualFold(field, "CompanyName"):
		return func(c *customerRecord) bool { return strings.HasPrefix(strings.ToLower(c.Name), prefix) }, ""
	case strings.EqualFold(field, "Domain"):
		return func(c *customerRecord) bool { return strings.HasPrefix(strings.ToLower(c.Domain), prefix) }, ""
	}
	return nil, "unsupported filter field."
}
