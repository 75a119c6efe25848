package fakepartner

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestURLs(t *testing.T) {
	s := newFake(t)
	if strings.HasSuffix(s.URL(), "/") || !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %q", s.URL())
	}
	if s.AuthorityURL() != s.URL()+"/" {
		t.Errorf("AuthorityURL() = %q", s.AuthorityURL())
	}
}

func TestPartnerCenterRequiresAnIssuedBearerToken(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 1)
	at := accessToken(t, s)
	tests := []struct{ name, auth string }{
		{"no Authorization header", ""},
		{"wrong scheme", "Basic " + at},
		{"token not issued by the fake", "Bearer eyJ0eXAiOiJKV1QifQ.not.issued"},
		{"empty bearer", "Bearer "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := pc(t, s, "", http.MethodGet, "/v1/customers/"+contosoID, "", "Authorization", tt.auth)
			wantFault(t, r, http.StatusUnauthorized, 400)
			if d := r.json(t)["description"]; d != "Access denied" {
				t.Errorf("description = %v", d)
			}
			if h := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "OAuth realm=") {
				t.Errorf("WWW-Authenticate = %q", h)
			}
		})
	}
	t.Run("scheme is case-insensitive", func(t *testing.T) {
		if r := pc(t, s, "", http.MethodGet, "/v1/customers/"+contosoID, "", "Authorization", "bearer "+at); r.status != 200 {
			t.Errorf("status %d", r.status)
		}
	})
}

func TestRequireMFA(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 1)
	at := accessToken(t, s)
	s.RequireMFA(true)
	r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID, "")
	wantFault(t, r, http.StatusUnauthorized, 900421)
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate")
	}
	s.RequireMFA(false)
	if r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID, ""); r.status != 200 {
		t.Errorf("after RequireMFA(false): %d", r.status)
	}
}

func TestUnknownRoutesAreRecorded(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 1)
	at := accessToken(t, s)
	calls := [][2]string{
		{http.MethodGet, "/v1/customers/" + contosoID + "/directoryroles"},
		{http.MethodDelete, "/v1/customers/" + contosoID + "/users/" + userID(0)},
		{http.MethodPost, "/v1/customers/" + contosoID + "/users/" + userID(0) + "/resetpassword"},
		{http.MethodGet, "/customers/" + contosoID},
		{http.MethodGet, "/v1/customers/" + contosoID + "/"},
		{http.MethodGet, "/" + TenantID + "/oauth2/v2.0/token"},
	}
	for _, c := range calls {
		r := pc(t, s, at, c[0], c[1], "")
		if r.status != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404", c[0], c[1], r.status)
		}
	}
	pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID, "") // a known route
	var want []string
	for _, c := range calls {
		want = append(want, c[0]+" "+c[1])
	}
	if got := s.Unexpected(); !slices.Equal(got, want) {
		t.Errorf("Unexpected() = %v, want %v", got, want)
	}
}

func TestCallsRecordRequestsAndEchoIDs(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 1)
	at := accessToken(t, s)
	r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users?size=1", "",
		"MS-RequestId", "11111111-0000-4000-8000-000000000001", "MS-CorrelationId", "22222222-0000-4000-8000-000000000002", "X-Locale", "en-US")
	if r.header.Get("MS-RequestId") != "11111111-0000-4000-8000-000000000001" || r.header.Get("MS-CorrelationId") != "22222222-0000-4000-8000-000000000002" {
		t.Error("IDs not echoed")
	}
	c := s.Calls()[0]
	if c.Method != "GET" || c.Path != "/v1/customers/"+contosoID+"/users" || c.RawQuery != "size=1" || c.Status != 200 ||
		c.Header.Get("X-Locale") != "en-US" || c.At.IsZero() {
		t.Errorf("recorded call = %s %s ?%s status %d", c.Method, c.Path, c.RawQuery, c.Status)
	}
	if len(s.TokenCalls()) != 1 {
		t.Error("token call not kept apart from Partner Center calls")
	}
	// Without IDs the fake invents them, as the service does.
	r = pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID, "")
	if len(r.header.Get("MS-RequestId")) != 36 || len(r.header.Get("MS-CorrelationId")) != 36 {
		t.Error("no generated MS-RequestId / MS-CorrelationId")
	}
}

func TestWaitCall(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 1)
	at := accessToken(t, s)
	pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID, "")

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := s.WaitCall(ctx, func(c Call) bool { return c.Status == 200 })
	if err != nil || c.Path != "/v1/customers/"+contosoID {
		t.Fatalf("an already-recorded call did not count: %v", err)
	}

	go func() { _, _ = tryDo(pcRequest(ctx, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users", "")) }()
	if _, err := s.WaitCall(ctx, func(c Call) bool { return strings.HasSuffix(c.Path, "/users") && c.Status == 200 }); err != nil {
		t.Fatalf("a later call was not seen: %v", err)
	}

	short, cancel2 := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel2()
	if _, err := s.WaitCall(short, func(Call) bool { return false }); err == nil {
		t.Error("WaitCall without a match returned no error")
	}
}

func TestParallelUse(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 20)
	s.SetPageSize(3)
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			tok, err := tryDo(tokenRequest(t, s, refreshForm(s.InitialRefreshToken())))
			if err != nil || tok.status != 200 {
				t.Errorf("token %d: status %d, %v", i, tok.status, err)
				return
			}
			var body struct {
				AccessToken string `json:"access_token"`
			}
			_ = json.Unmarshal(tok.body, &body)
			at := body.AccessToken
			for _, req := range []*http.Request{
				pcRequest(ctx, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users", ""),
				pcRequest(ctx, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users/"+userID(i)+"/directoryroles", ""),
				pcRequest(ctx, s, at, http.MethodPatch, "/v1/customers/"+contosoID+"/users/"+userID(i)+"/resetpassword", resetBody(goodPassword),
					"MS-RequestId", "e0000000-0000-4000-8000-"+userID(i)[24:]),
			} {
				if r, err := tryDo(req); err != nil || r.status != 200 {
					t.Errorf("%s %s: status %d, %v", req.Method, req.URL.Path, r.status, err)
				}
			}
			_ = s.Calls()
			_ = s.TokenCalls()
		})
	}
	wg.Wait()
	if n := len(s.Resets()); n != 20 {
		t.Errorf("%d resets, want 20", n)
	}
	if u := s.Unexpected(); len(u) != 0 {
		t.Errorf("unexpected calls: %v", u)
	}
}
