package partner

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// ApplicationGrant is one resource application and the comma-separated
// delegated scopes consented on it (Graph is 00000003-0000-0000-c000-000000000000).
type ApplicationGrant struct {
	EnterpriseApplicationID string `json:"enterpriseApplicationId"`
	Scope                   string `json:"scope"`
}

// ConsentResult says what AddApplicationConsent found.
type ConsentResult int

const (
	// ConsentCreated: Partner Center created the consent.
	ConsentCreated ConsentResult = iota + 1
	// ConsentExisted: a consent for the app already existed (HTTP 409). Its
	// scopes are whatever was consented before; Partner Center does not say.
	ConsentExisted
)

// AddApplicationConsent registers an application in a customer tenant with the
// given delegated grants, through the partner's GDAP/DAP access
// (POST /v1/customers/{id}/applicationconsents). A consent that already exists
// is not an error: the call is idempotent for the operator.
func (c *Client) AddApplicationConsent(ctx context.Context, tenantID, applicationID, displayName string, grants []ApplicationGrant) (ConsentResult, error) {
	const op = "add application consent"
	if err := checkGUID(op, "tenant ID", tenantID); err != nil {
		return 0, err
	}
	body, err := json.Marshal(struct {
		ApplicationID     string             `json:"applicationId"`
		DisplayName       string             `json:"displayName,omitempty"`
		ApplicationGrants []ApplicationGrant `json:"applicationGrants"`
	}{applicationID, displayName, grants})
	if err != nil {
		return 0, &Error{Kind: KindRejected, Op: op, Err: err}
	}
	// The same MS-RequestId goes out on every retry (do), which Partner Center
	// documents as this call's idempotency key.
	err = c.do(ctx, &call{op: op, endpoint: "POST /v1/customers/{id}/applicationconsents", method: http.MethodPost,
		path: "/v1/customers/" + tenantID + "/applicationconsents", body: body})
	// 409 is what an existing consent is reported to return; a 400 saying so
	// in words is treated the same, since the docs list only 400 for bad input.
	var e *Error
	if errors.As(err, &e) && (e.Status == http.StatusConflict ||
		e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Description), "already exist")) {
		return ConsentExisted, nil
	}
	if err != nil {
		return 0, err
	}
	return ConsentCreated, nil
}

// AllCustomers lists every customer of the partner (GET /v1/customers, paged).
func (c *Client) AllCustomers(ctx context.Context) ([]Customer, error) {
	var out []Customer
	err := list(ctx, c, call{op: "list customers", endpoint: "GET /v1/customers", method: http.MethodGet,
		path: "/v1/customers"}, func(items []customerJSON) bool {
		for _, j := range items {
			out = append(out, j.customer())
		}
		return true
	})
	return out, err
}

// CurrentRefreshToken returns the newest refresh token of the partner chain
// (stored or in memory), and whether it was issued to a public client, without
// redeeming or rotating it. Graph redeems it in customer tenants; only this
// client ever replaces it.
func (c *Client) CurrentRefreshToken(ctx context.Context) (StoredToken, error) {
	rt, _ := c.tokens.newest(ctx)
	return rt, nil
}
