package partner

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// FirstCustomer reads one customer (GET /v1/customers?size=1): the cheapest
// read-only call that proves the token carries the Partner Center API
// permission. ok is false when the partner has no customers at all.
func (c *Client) FirstCustomer(ctx context.Context) (cust Customer, ok bool, err error) {
	var page collection[customerJSON]
	err = c.do(ctx, &call{op: "list customers", endpoint: "GET /v1/customers", method: http.MethodGet,
		path: "/v1/customers", rawQuery: "size=1", out: &page})
	if err != nil || len(page.Items) == 0 {
		return Customer{}, false, err
	}
	return page.Items[0].customer(), true, nil
}

// Identity is what an access token says about who it acts for. It is read
// from the token's claims without checking the signature: it is for showing
// the operator, never for a decision (Partner Center checks the token itself).
type Identity struct {
	Name     string   // display name (name claim)
	Username string   // UPN (upn, or preferred_username / unique_name)
	TenantID string   // tid
	MFA      bool     // amr contains "mfa", which is what Partner Center checks
	AMR      []string // the authentication methods, as the token lists them
	ACRS     []string // authentication context IDs satisfied, if any
}

// Identity returns the identity in the current access token, obtaining one if
// needed.
func (c *Client) Identity(ctx context.Context) (Identity, error) {
	tok, err := c.tokens.token(ctx)
	if err != nil {
		return Identity{}, err
	}
	return TokenIdentity(tok.AccessToken)
}

// TokenIdentity decodes the claims of an Entra access token (a JWT). The error
// never contains the token.
func TokenIdentity(accessToken string) (Identity, error) {
	parts := strings.Split(accessToken, ".")
	if len(parts) != 3 {
		return Identity{}, errors.New("the access token is not a JWT, so its claims cannot be shown")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Identity{}, errors.New("the access token's claims are not base64url")
	}
	var claims struct {
		Name              string   `json:"name"`
		UPN               string   `json:"upn"`
		PreferredUsername string   `json:"preferred_username"`
		UniqueName        string   `json:"unique_name"`
		TID               string   `json:"tid"`
		AMR               []string `json:"amr"`
		ACRS              []string `json:"acrs"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return Identity{}, errors.New("the access token's claims are not JSON")
	}
	id := Identity{Name: claims.Name, Username: claims.UPN, TenantID: claims.TID, MFA: slices.Contains(claims.AMR, "mfa"),
		AMR: claims.AMR, ACRS: claims.ACRS}
	for _, alt := range []string{claims.PreferredUsername, claims.UniqueName} {
		if id.Username == "" {
			id.Username = alt
		}
	}
	return id, nil
}
