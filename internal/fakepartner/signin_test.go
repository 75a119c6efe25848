package fakepartner

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// authorize plays the browser up to the redirect back and returns its query.
func authorize(t *testing.T, s *Server, challenge string) url.Values {
	t.Helper()
	q := url.Values{"client_id": {ClientID}, "response_type": {"code"}, "redirect_uri": {"http://localhost:4711"},
		"scope": {pcScope + " offline_access openid"}, "state": {"st"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(s.AuthorityURL() + TenantID + "/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host != "localhost:4711" || loc.Path != "/" {
		t.Fatalf("authorize: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

func postToken(t *testing.T, s *Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(s.AuthorityURL()+TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestSignIn_CodeNeedsTheVerifierOnceAndTheRightClientType(t *testing.T) {
	s := New()
	defer s.Close()
	verifier := "verifier-0123456789-0123456789-0123456789-abc"
	form := func(code, v string, secret bool) url.Values {
		f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://localhost:4711"},
			"client_id": {ClientID}, "code_verifier": {v}}
		if secret {
			f.Set("client_secret", ClientSecret)
		}
		return f
	}
	q := authorize(t, s, pkceS256(verifier))
	if q.Get("state") != "st" || q.Get("code") == "" {
		t.Fatalf("redirect query = %v", q)
	}
	if status, body := postToken(t, s, form(q.Get("code"), "wrong-verifier", true)); status != http.StatusBadRequest || !strings.Contains(body["error_description"].(string), "AADSTS501481") {
		t.Errorf("wrong verifier: %d %v", status, body)
	}
	q = authorize(t, s, pkceS256(verifier))
	if status, body := postToken(t, s, form(q.Get("code"), verifier, false)); status != http.StatusUnauthorized || !strings.Contains(body["error_description"].(string), "AADSTS7000218") {
		t.Errorf("Web redirect without a secret: %d %v", status, body)
	}
	q = authorize(t, s, pkceS256(verifier))
	status, body := postToken(t, s, form(q.Get("code"), verifier, true))
	if status != http.StatusOK || body["refresh_token"] == nil || body["id_token"] == nil {
		t.Fatalf("good redemption: %d %v", status, body)
	}
	if status, body := postToken(t, s, form(q.Get("code"), verifier, true)); status != http.StatusBadRequest || !strings.Contains(body["error_description"].(string), "AADSTS54005") {
		t.Errorf("code reused: %d %v", status, body)
	}

	s.SetAppRegistration(AppRegistration{LocalhostPlatform: PlatformMobile})
	q = authorize(t, s, pkceS256(verifier))
	if status, body := postToken(t, s, form(q.Get("code"), verifier, true)); status != http.StatusUnauthorized || !strings.Contains(body["error_description"].(string), "AADSTS700025") {
		t.Errorf("Mobile redirect with a secret: %d %v", status, body)
	}
	q = authorize(t, s, pkceS256(verifier))
	status, body = postToken(t, s, form(q.Get("code"), verifier, false))
	if status != http.StatusOK {
		t.Fatalf("Mobile redirect without a secret: %d %v", status, body)
	}
	// Its refresh token stays public.
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}, "client_id": {ClientID},
		"client_secret": {ClientSecret}, "scope": {pcScope + " offline_access"}}
	if status, body := postToken(t, s, refresh); status != http.StatusUnauthorized || !strings.Contains(body["error_description"].(string), "AADSTS700025") {
		t.Errorf("public refresh token with a secret: %d %v", status, body)
	}
}
