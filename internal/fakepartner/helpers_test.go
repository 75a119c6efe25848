package fakepartner

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Test helpers: plain net/http, so the tests check the wire and nothing else.
// Nothing here prints a token or a password.

const (
	contosoID  = "4d3cf487-70f6-4ea4-8b1d-1b4e7f2c1a01"
	fabrikamID = "9b2e6c1d-3f4a-4b5c-8d6e-7f8091a2b3c4"
)

func newFake(t *testing.T) *Server {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	return s
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic map, numbers kept as json.Number so a
// test can tell 20002 from "20002".
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body is not a JSON object: %v", err)
	}
	return m
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	r, err := tryDo(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	return r
}

// tryDo is do without t, for goroutines other than the test's own.
func tryDo(req *http.Request) (response, error) {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}, err
}

// tokenRequest builds a v2 refresh-token grant with the credentials in the form.
func tokenRequest(t *testing.T, s *Server, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		s.AuthorityURL()+TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		panic(err) // a malformed literal in a test
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func refreshForm(rt string) url.Values {
	return url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt},
		"client_id":     {ClientID},
		"client_secret": {ClientSecret},
		"scope":         {"https://api.partnercenter.microsoft.com/user_impersonation offline_access"},
	}
}

// redeem refreshes rt and returns the access and new refresh tokens.
func redeem(t *testing.T, s *Server, rt string) (access, refresh string) {
	t.Helper()
	r := do(t, tokenRequest(t, s, refreshForm(rt)))
	if r.status != http.StatusOK {
		t.Fatalf("token: status %d", r.status)
	}
	m := r.json(t)
	access, _ = m["access_token"].(string)
	refresh, _ = m["refresh_token"].(string)
	if access == "" || refresh == "" {
		t.Fatal("token response lacks access_token or refresh_token")
	}
	return access, refresh
}

func accessToken(t *testing.T, s *Server) string {
	t.Helper()
	at, _ := redeem(t, s, s.InitialRefreshToken())
	return at
}

// pc calls Partner Center at path (which starts with /v1) with a bearer token.
// headers alternate name, value.
func pc(t *testing.T, s *Server, token, method, path, body string, headers ...string) response {
	t.Helper()
	return do(t, pcRequest(t.Context(), s, token, method, path, body, headers...))
}

// pcRequest builds the request pc sends.
func pcRequest(ctx context.Context, s *Server, token, method, path, body string, headers ...string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL()+path, rd)
	if err != nil {
		panic(err) // a malformed literal in a test
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

// seedContoso adds Contoso with n users named user0…user{n-1}.
func seedContoso(s *Server, n int) {
	s.AddCustomer(Customer{TenantID: contosoID, Name: "Contoso Ltd", Domain: "contoso.onmicrosoft.com"})
	for i := range n {
		s.AddUser(contosoID, User{
			ObjectID: userID(i), UPN: "user" + string(rune('a'+i%26)) + itoa(i) + "@contoso.onmicrosoft.com",
			FirstName: "User", LastName: itoa(i), DisplayName: "User " + itoa(i),
		})
	}
}

func userID(i int) string {
	s := "00000000000" + itoa(i)
	return "a9ef48bb-8758-4590-a312-" + s[len(s)-12:]
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// get walks a decoded JSON value along keys (map keys or, for arrays, "0", "1"…).
func get(v any, keys ...string) any {
	for _, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			var i int
			if err := json.Unmarshal([]byte(k), &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// wantFault checks an ApiFault body: status, code (a json.Number for numeric codes,
// a string otherwise) and source.
func wantFault(t *testing.T, r response, status int, code any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d", r.status, status)
	}
	m := r.json(t)
	got := m["code"]
	switch want := code.(type) {
	case int:
		n, ok := got.(json.Number)
		if !ok || n.String() != itoa(want) {
			t.Errorf("code = %#v, want the number %d", got, want)
		}
	case string:
		if got != want {
			t.Errorf("code = %#v, want the string %q", got, want)
		}
	}
	if m["source"] != "PartnerFD" {
		t.Errorf("source = %v, want PartnerFD", m["source"])
	}
	if d, ok := m["data"].([]any); !ok || len(d) != 0 {
		t.Errorf("data = %#v, want []", m["data"])
	}
}
