package fakepartner

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestThrottleFaultUsesGatewayBodyAndRetryAfter(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 1)
	at := accessToken(t, s)
	s.AddFault(Fault{Method: http.MethodGet, PathContains: "/users", Status: 429, RetryAfter: "57", Times: 1})

	r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users", "")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "57" {
		t.Fatalf("status %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if string(r.body) != `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 57 seconds."}` {
		t.Errorf("body = %s", r.body)
	}
	if r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users", ""); r.status != http.StatusOK {
		t.Errorf("after Times=1: status %d", r.status)
	}
}

func TestFaultTimesThenSuccess(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 1)
	at := accessToken(t, s)
	s.AddFault(Fault{PathContains: "/customers/" + contosoID, Status: 503, Times: 2})
	var got []int
	for range 3 {
		got = append(got, pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID, "").status)
	}
	if got[0] != 503 || got[1] != 503 || got[2] != 200 {
		t.Errorf("statuses = %v, want [503 503 200]", got)
	}
	calls := s.Calls()
	if len(calls) != 3 || calls[0].Status != 503 || calls[2].Status != 200 {
		t.Error("Calls() did not record the statuses")
	}
}

func TestFaultSelection(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 1)
	at := accessToken(t, s)

	t.Run("method filter", func(t *testing.T) {
		s.AddFault(Fault{Method: http.MethodPatch, Status: 500})
		defer s.ClearFaults()
		if r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID, ""); r.status != 200 {
			t.Errorf("GET hit a PATCH fault: %d", r.status)
		}
		wantFault(t, pc(t, s, at, http.MethodPatch, "/v1/customers/"+contosoID+"/users/"+userID(0)+"/resetpassword", resetBody(goodPassword)), 500, "500")
	})
	t.Run("explicit numeric code", func(t *testing.T) {
		s.AddFault(Fault{PathContains: "/directoryroles", Status: 403, Code: 900150, Description: "The supplied role does not have the rights to perform the requested operation", Times: 1})
		r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users/"+userID(0)+"/directoryroles", "")
		wantFault(t, r, 403, 900150)
	})
	t.Run("query is matched too", func(t *testing.T) {
		s.AddFault(Fault{PathContains: "seekOperation=Next", Status: 404, Times: 1})
		wantFault(t, pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users?seekOperation=Next", ""), 404, 1000)
	})
	t.Run("401 carries WWW-Authenticate", func(t *testing.T) {
		s.AddFault(Fault{Status: 401, Times: 1})
		r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID, "")
		wantFault(t, r, 401, 400)
	})
	t.Run("token endpoint faults use the Entra shape", func(t *testing.T) {
		s.AddFault(Fault{PathContains: "/oauth2/", Status: 503, RetryAfter: "3", Times: 1})
		r := do(t, tokenRequest(t, s, refreshForm(s.InitialRefreshToken())))
		if r.status != 503 || r.json(t)["error"] != "temporarily_unavailable" || r.header.Get("Retry-After") != "3" {
			t.Errorf("token fault: status %d", r.status)
		}
		accessToken(t, s) // and then it works
	})
	t.Run("ClearFaults removes forever faults", func(t *testing.T) {
		s.AddFault(Fault{Status: 500})
		s.ClearFaults()
		if r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID, ""); r.status != 200 {
			t.Errorf("status %d", r.status)
		}
	})
}

func TestFaultDelay(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 1)
	at := accessToken(t, s)

	t.Run("a zero status only slows the call", func(t *testing.T) {
		s.AddFault(Fault{PathContains: "/customers/" + contosoID, Delay: 30 * time.Millisecond, Times: 1})
		start := time.Now()
		r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID, "")
		if r.status != 200 || time.Since(start) < 30*time.Millisecond {
			t.Errorf("status %d after %v", r.status, time.Since(start))
		}
	})
	t.Run("a client that gives up is released", func(t *testing.T) {
		s.AddFault(Fault{PathContains: "/users", Delay: time.Hour, Status: 500, Times: 1})
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/v1/customers/"+contosoID+"/users", nil)
			req.Header.Set("Authorization", "Bearer "+at)
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				res.Body.Close()
			}
			errc <- err
		}()
		waitArrival(t, s, "/users")
		cancel()
		select {
		case err := <-errc:
			if err == nil {
				t.Error("the delayed call succeeded")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the delayed call did not end after cancel")
		}
	})
}

func TestCloseReleasesDelayedRequests(t *testing.T) {
	s := New()
	seedContoso(s, 1)
	at := accessToken(t, s)
	s.AddFault(Fault{Delay: time.Hour})
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+"/v1/customers/"+contosoID, nil)
		req.Header.Set("Authorization", "Bearer "+at)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	waitArrival(t, s, "/v1/customers/")
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited out the delay")
	}
	<-done
}

func TestFaultDropConnection(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 1)
	at := accessToken(t, s)
	s.AddFault(Fault{Method: http.MethodPatch, DropConnection: true, Times: 1})
	if res, err := http.DefaultClient.Do(resetRequest(t, s, at)); err == nil {
		res.Body.Close()
		t.Fatal("a dropped connection produced a response")
	}
	if n := len(s.Resets()); n != 0 {
		t.Errorf("%d resets applied on a dropped call", n)
	}
	if c := s.Calls()[0]; c.Status != 0 {
		t.Errorf("dropped call recorded with status %d", c.Status)
	}
}

// resetRequest is a valid reset of user 0's password with access token at.
func resetRequest(t *testing.T, s *Server, at string) *http.Request {
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, s.URL()+"/v1/customers/"+contosoID+"/users/"+userID(0)+"/resetpassword", strings.NewReader(resetBody(goodPassword)))
	req.Header.Set("Authorization", "Bearer "+at)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// waitArrival waits (bounded) until a call whose path contains sub has arrived.
func waitArrival(t *testing.T, s *Server, sub string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := s.WaitCall(ctx, func(c Call) bool { return strings.Contains(c.Path, sub) }); err != nil {
		t.Fatalf("call to %s never arrived: %v", sub, err)
	}
}

// HandleThenDrop applies the request and loses the answer: the client sees a
// broken connection although the reset happened.
func TestFaultHandleThenDrop(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 1)
	at := accessToken(t, s)
	s.AddFault(Fault{Method: http.MethodPatch, HandleThenDrop: true, Times: 1})
	if res, err := http.DefaultClient.Do(resetRequest(t, s, at)); err == nil {
		res.Body.Close()
		t.Fatal("a dropped answer produced a response")
	}
	if n := len(s.Resets()); n != 1 {
		t.Errorf("%d resets applied, want 1: the request was handled before the answer was lost", n)
	}
	// The fault was used once: the next call is answered normally.
	if r := pc(t, s, at, http.MethodPatch, "/v1/customers/"+contosoID+"/users/"+userID(0)+"/resetpassword", resetBody(goodPassword)); r.status != http.StatusOK {
		t.Errorf("next call answered %d, want 200", r.status)
	}
}
