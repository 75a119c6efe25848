package signin

import (
	"errors"
	"strings"
	"unicode"

	"github.com/locksmithbot/locksmith/partner"
)

// identityFrom merges what the ID token says (name, UPN, tenant: the ID token
// is meant for the client to read) with what the access token says (amr, and
// the tenant Partner Center will see); v2 ID tokens carry no amr. tenants
// lists every tid found, so that the caller can refuse when any is foreign.
//
// The claims are read without checking signatures (partner.TokenIdentity).
// That is sound here: both tokens arrived a moment ago over TLS, directly from
// the configured authority's token endpoint, in answer to this process's own
// request; the claims are only shown and compared with PARTNER_TENANT_ID,
// never used to grant anything; Partner Center validates the access token on
// every call.
func identityFrom(idToken, accessToken string) (id partner.Identity, tenants []string, err error) {
	found := false
	for _, tok := range []string{idToken, accessToken} {
		if tok == "" {
			continue
		}
		c, perr := partner.TokenIdentity(tok)
		if perr != nil {
			continue
		}
		found = true
		id.Name = first(id.Name, c.Name)
		id.Username = first(id.Username, c.Username)
		id.TenantID = first(id.TenantID, c.TenantID)
		if c.TenantID != "" {
			tenants = append(tenants, c.TenantID)
		}
		if tok == accessToken {
			id.MFA, id.AMR, id.ACRS = c.MFA, c.AMR, c.ACRS
		}
	}
	if !found {
		return partner.Identity{}, nil, errors.New("neither the ID token nor the access token has readable claims")
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

// terminalSafe drops control and format characters from claim text before it
// reaches the operator's terminal, where they could rewrite the screen.
func terminalSafe(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s))
}

// display names an account for the operator: "Name <upn>".
func display(id partner.Identity) string {
	name, upn := terminalSafe(id.Name), terminalSafe(id.Username)
	switch {
	case name != "" && upn != "":
		return name + " <" + upn + ">"
	case upn != "":
		return upn
	case name != "":
		return name
	}
	return "(an account without name or UPN claims)"
}
