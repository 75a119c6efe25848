package signin

import (
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/partner"
)

// TestExplain_EachEntraErrorSaysWhatToChange maps every Entra answer an
// operator is likely to meet to its sentence.
func TestExplain_EachEntraErrorSaysWhatToChange(t *testing.T) {
	tests := []struct {
		name string
		f    flow
		o    oauthError
		want string
	}{
		{"consent", flowBrowser, oauthError{name: "invalid_grant", description: "AADSTS65001: The user or administrator has not consented"}, "Grant admin consent"},
		{"consent_required", flowBrowser, oauthError{name: "consent_required"}, "Grant admin consent"},
		{"public client", flowBrowser, oauthError{name: "invalid_client", codes: []int{700025}}, `under the platform "Web"`},
		{"secret required, browser", flowBrowser, oauthError{name: "invalid_client", codes: []int{7000218}}, "confidential"},
		{"secret required, device", flowDevice, oauthError{name: "invalid_client", codes: []int{7000218}}, `"Allow public client flows" to Yes`},
		{"wrong secret", flowBrowser, oauthError{name: "invalid_client", codes: []int{7000215}}, "PARTNER_CLIENT_SECRET"},
		{"expired secret", flowBrowser, oauthError{name: "invalid_client", codes: []int{7000222}}, "PARTNER_CLIENT_SECRET"},
		{"redirect", flowBrowser, oauthError{name: "invalid_request", description: "AADSTS50011: The redirect URI"}, "http://localhost under the platform \"Web\""},
		{"MFA required", flowBrowser, oauthError{name: "interaction_required", codes: []int{50076}}, "MFA"},
		{"MFA registration", flowBrowser, oauthError{name: "interaction_required", codes: []int{50079}}, "aka.ms/mfasetup"},
		{"expired device code", flowDevice, oauthError{name: "expired_token"}, "--device"},
		{"expired device code by number", flowDevice, oauthError{name: "invalid_grant", codes: []int{70020}}, "expired"},
		{"expired auth code", flowBrowser, oauthError{name: "invalid_grant", codes: []int{70008}}, "expired"},
		{"declined", flowDevice, oauthError{name: "authorization_declined"}, "declined"},
		{"access denied", flowBrowser, oauthError{name: "access_denied"}, "declined"},
		{"unknown app", flowBrowser, oauthError{name: "unauthorized_client", codes: []int{700016}}, "PARTNER_CLIENT_ID"},
		{"unknown tenant", flowBrowser, oauthError{name: "invalid_request", codes: []int{90002}}, "PARTNER_TENANT_ID"},
		{"other", flowBrowser, oauthError{name: "server_error"}, "docs/signin.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := explainOAuth(tt.f, tt.o.withDescriptionCodes(), nil)
			if !strings.Contains(e.Error(), tt.want) {
				t.Errorf("%s → %q, want it to mention %q", tt.name, e.Error(), tt.want)
			}
		})
	}
}

func TestExplain_ScrubsSecretsFromEntraText(t *testing.T) {
	e := explainOAuth(flowBrowser, oauthError{name: "invalid_grant", description: "AADSTS9002313: bad token rt-canary-123\r\nTrace ID: x"}, []string{"rt-canary-123"})
	if strings.Contains(e.Error(), "rt-canary-123") || strings.Contains(e.Error(), "Trace ID") {
		t.Errorf("error = %q", e.Error())
	}
}

func TestIdentity_MergesIDAndAccessTokens(t *testing.T) {
	jwt := func(payload string) string {
		return "eyJhbGciOiJub25lIn0." + b64(payload) + ".sig"
	}
	id, tenants, err := identityFrom(
		jwt(`{"name":"Svc","preferred_username":"svc@p.example","tid":"t1"}`),
		jwt(`{"upn":"svc@p.example","tid":"t2","amr":["pwd","mfa"],"acrs":["c1"]}`))
	if err != nil || id.Name != "Svc" || id.Username != "svc@p.example" || !id.MFA || id.ACRS[0] != "c1" {
		t.Errorf("identity = %+v err=%v", id, err)
	}
	if len(tenants) != 2 || tenants[1] != "t2" {
		t.Errorf("tenants = %v, want both tokens' tid so a foreign one is caught", tenants)
	}
	if id, _, _ := identityFrom(jwt(`{"name":"Svc","tid":"t1","amr":["mfa"]}`), jwt(`{"tid":"t1","amr":["pwd","ngcmfa"]}`)); id.MFA {
		t.Error("MFA taken from the ID token or from ngcmfa; Partner Center reads the access token's mfa")
	}
	if _, _, err := identityFrom("", "opaque-token"); err == nil {
		t.Error("an opaque access token alone gave an identity")
	}
}

func TestDisplay_DropsTerminalControls(t *testing.T) {
	got := display(partner.Identity{Name: "Svc\x1b[2J", Username: "svc@p.example\u202e"})
	if got != "Svc[2J <svc@p.example>" {
		t.Errorf("display = %q", got)
	}
}
