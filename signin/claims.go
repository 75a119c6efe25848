package signin

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// Identity is who signed in, as the tokens say.
type Identity struct {
	Name     string
	UPN      string
	TenantID string   // the tid claim
	ObjectID string   // the oid claim
	AMR      []string // authentication methods (access token; v2 ID tokens carry none)
	ACRS     []string // authentication context IDs satisfied, if any
}

// MFA reports whether the access token says multi-factor authentication was
// used. Partner Center checks exactly this: the amr claim contains "mfa".
// Values such as "ngcmfa" (Windows Hello) or "wiaormfa" are not enough on
// their own, because Partner Center does not accept them.
func (id Identity) MFA() bool { return slices.Contains(id.AMR, "mfa") }

// claims is the subset of Entra token claims locksmith reads. v1 access
// tokens name the account in upn/unique_name, v2 ID tokens in
// preferred_username.
type claims struct {
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	UPN               string   `json:"upn"`
	UniqueName        string   `json:"unique_name"`
	TID               string   `json:"tid"`
	OID               string   `json:"oid"`
	AMR               []string `json:"amr"`
	ACRS              []string `json:"acrs"`
}

var errNotJWT = errors.New("not a JWT")

// parseClaims decodes a JWT's payload without checking its signature. That
// is sound here and only here: the token arrived a moment ago over TLS,
// directly from the token endpoint of the configured authority, in answer to
// this process's own request, so its origin is already established; the
// claims are only shown to the operator and compared with PARTNER_TENANT_ID,
// never used to grant anything. Partner Center validates the access token
// itself on every call.
func parseClaims(token string) (claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return claims{}, errNotJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return claims{}, errNotJWT
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return claims{}, errNotJWT
	}
	return c, nil
}

// identityFrom merges the ID token's claims (name, UPN, tenant; the ID token
// is meant for the client to read) with the access token's (amr, and the
// tenant Partner Center will see). Either may be missing. tenants lists every
// tid found, so the caller can refuse when any of them is foreign.
func identityFrom(idToken, accessToken string) (id Identity, tenants []string, err error) {
	var found bool
	for _, tok := range []string{idToken, accessToken} {
		if tok == "" {
			continue
		}
		c, perr := parseClaims(tok)
		if perr != nil {
			continue
		}
		found = true
		id.Name = first(id.Name, c.Name)
		id.UPN = first(id.UPN, c.PreferredUsername, c.UPN, c.UniqueName)
		id.ObjectID = first(id.ObjectID, c.OID)
		id.TenantID = first(id.TenantID, c.TID)
		if c.TID != "" {
			tenants = append(tenants, c.TID)
		}
		if tok == accessToken {
			id.AMR, id.ACRS = c.AMR, c.ACRS
		}
	}
	if !found {
		return Identity{}, nil, errors.New("neither the ID token nor the access token has readable claims")
	}
	return id, tenants, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
