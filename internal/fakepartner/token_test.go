package fakepartner

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokenRotationIssuesNewRefreshTokenEachTime(t *testing.T) {
	s := newFake(t)
	initial := s.InitialRefreshToken()
	at1, rt1 := redeem(t, s, initial)
	at2, rt2 := redeem(t, s, rt1)
	if rt1 == initial || rt2 == rt1 || rt2 == initial {
		t.Error("refresh tokens did not rotate")
	}
	if at1 == at2 {
		t.Error("two refreshes returned the same access token")
	}
	// Entra does not revoke a refresh token when it is used (§1.3).
	if _, rt3 := redeem(t, s, initial); rt3 == rt2 {
		t.Error("re-redeeming the initial token returned an old refresh token")
	}
	for _, at := range []string{at1, at2} {
		if r := pc(t, s, at, http.MethodGet, "/v1/customers", ""); r.status != http.StatusOK {
			t.Errorf("PC call with an issued access token: status %d", r.status)
		}
	}
	calls := s.TokenCalls()
	if len(calls) != 3 {
		t.Fatalf("TokenCalls = %d, want 3", len(calls))
	}
	if calls[1].IssuedRefreshToken != rt2 || calls[1].Status != http.StatusOK || calls[1].Version != "v2.0" {
		t.Errorf("TokenCalls[1] = status %d version %s, issued token matches: %v", calls[1].Status, calls[1].Version, calls[1].IssuedRefreshToken == rt2)
	}
	if got := calls[0].Form.Get("scope"); got != "https://api.partnercenter.microsoft.com/user_impersonation offline_access" {
		t.Errorf("recorded scope = %q", got)
	}
}

func TestTokenV2NumbersAreIntegers(t *testing.T) {
	s := newFake(t)
	r := do(t, tokenRequest(t, s, refreshForm(s.InitialRefreshToken())))
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	if string(raw["expires_in"]) != "3599" {
		t.Errorf("expires_in = %s, want the integer 3599", raw["expires_in"])
	}
	if string(raw["token_type"]) != `"Bearer"` {
		t.Errorf("token_type = %s", raw["token_type"])
	}
	if string(raw["scope"]) != `"https://api.partnercenter.microsoft.com/user_impersonation"` {
		t.Errorf("scope = %s", raw["scope"])
	}

	s.SetTokenLifetime(2 * time.Minute)
	r = do(t, tokenRequest(t, s, refreshForm(s.InitialRefreshToken())))
	if !bytes.Contains(r.body, []byte(`"expires_in":120,`)) {
		t.Error("SetTokenLifetime(2m) did not give expires_in 120")
	}
}

func TestTokenV1NumbersAreStrings(t *testing.T) {
	s := newFake(t)
	form := refreshForm(s.InitialRefreshToken())
	form.Del("scope")
	form.Set("resource", "https://api.partnercenter.microsoft.com")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.AuthorityURL()+TenantID+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r := do(t, req)
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	m := r.json(t)
	for _, k := range []string{"expires_in", "ext_expires_in", "expires_on", "not_before"} {
		if _, ok := m[k].(string); !ok {
			t.Errorf("%s = %#v, want a JSON string", k, m[k])
		}
	}
	if m["resource"] != "https://api.partnercenter.microsoft.com" || m["refresh_token"] == nil {
		t.Error("v1 answer lacks resource or refresh_token")
	}
	if got := s.TokenCalls()[0].Version; got != "v1" {
		t.Errorf("Version = %q", got)
	}
}

func TestTokenAcceptsHTTPBasicClientCredentials(t *testing.T) {
	for name, encode := range map[string]func(string) string{
		"form-encoded as RFC 6749 says": url.QueryEscape,
		"raw":                           func(v string) string { return v },
	} {
		t.Run(name, func(t *testing.T) {
			s := newFake(t)
			form := refreshForm(s.InitialRefreshToken())
			form.Del("client_id")
			form.Del("client_secret")
			req := tokenRequest(t, s, form)
			req.SetBasicAuth(encode(ClientID), encode(ClientSecret))
			if r := do(t, req); r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			if !s.TokenCalls()[0].BasicAuth {
				t.Error("TokenCall.BasicAuth = false")
			}
		})
	}
}

func TestTokenErrorsLookLikeEntra(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(s *Server)
		edit      func(s *Server, f url.Values)
		status    int
		wantError string
		wantCode  int
	}{
		{name: "bad client secret", edit: func(_ *Server, f url.Values) { f.Set("client_secret", "wrong") },
			status: 401, wantError: "invalid_client", wantCode: 7000215},
		{name: "unknown client", edit: func(_ *Server, f url.Values) { f.Set("client_id", "00000000-0000-0000-0000-000000000000") },
			status: 400, wantError: "unauthorized_client", wantCode: 700016},
		{name: "unknown refresh token", edit: func(_ *Server, f url.Values) { f.Set("refresh_token", "not-issued") },
			status: 400, wantError: "invalid_grant", wantCode: 9002313},
		{name: "refresh token expired from inactivity", setup: func(s *Server) { s.RevokeRefreshTokens(700082) },
			status: 400, wantError: "invalid_grant", wantCode: 700082},
		{name: "grant revoked", setup: func(s *Server) { s.RevokeRefreshTokens(50173) },
			status: 400, wantError: "invalid_grant", wantCode: 50173},
		{name: "wrong grant type", edit: func(_ *Server, f url.Values) { f.Set("grant_type", "client_credentials") },
			status: 400, wantError: "unsupported_grant_type", wantCode: 70003},
		{name: "missing refresh token", edit: func(_ *Server, f url.Values) { f.Del("refresh_token") },
			status: 400, wantError: "invalid_request", wantCode: 900144},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			if tt.setup != nil {
				tt.setup(s)
			}
			form := refreshForm(s.InitialRefreshToken())
			if tt.edit != nil {
				tt.edit(s, form)
			}
			r := do(t, tokenRequest(t, s, form))
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d", r.status, tt.status)
			}
			m := r.json(t)
			if m["error"] != tt.wantError {
				t.Errorf("error = %v, want %s", m["error"], tt.wantError)
			}
			codes, _ := m["error_codes"].([]any)
			if len(codes) != 1 || codes[0].(json.Number).String() != itoa(tt.wantCode) {
				t.Errorf("error_codes = %v, want [%d]", m["error_codes"], tt.wantCode)
			}
			if d, _ := m["error_description"].(string); !strings.HasPrefix(d, "AADSTS"+itoa(tt.wantCode)+": ") {
				t.Errorf("error_description does not start with AADSTS%d", tt.wantCode)
			}
			for _, k := range []string{"timestamp", "trace_id", "correlation_id"} {
				if v, _ := m[k].(string); v == "" {
					t.Errorf("%s missing", k)
				}
			}
			if st := s.TokenCalls()[0]; st.Status != tt.status || st.IssuedRefreshToken != "" {
				t.Errorf("TokenCall status %d, issued a token: %v", st.Status, st.IssuedRefreshToken != "")
			}
		})
	}
}

func TestTokenWrongTenantIsRejected(t *testing.T) {
	s := newFake(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.AuthorityURL()+"common/oauth2/v2.0/token",
		strings.NewReader(refreshForm(s.InitialRefreshToken()).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := do(t, req); r.status != http.StatusBadRequest || r.json(t)["error"] != "invalid_request" {
		t.Errorf("status %d", r.status)
	}
}

func TestRevokeSparesTokensIssuedAfterwards(t *testing.T) {
	s := newFake(t)
	s.RevokeRefreshTokens(50173)
	fresh := s.IssueRefreshToken() // the operator re-consents
	if _, rt := redeem(t, s, fresh); rt == "" {
		t.Error("no refresh token after re-consent")
	}
}

func TestExpiredAccessTokenGets401(t *testing.T) {
	s := newFake(t)
	at := accessToken(t, s)
	s.ExpireAccessTokens()
	r := pc(t, s, at, http.MethodGet, "/v1/customers", "")
	wantFault(t, r, http.StatusUnauthorized, 400)
}
