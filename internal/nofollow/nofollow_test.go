package nofollow

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClient_RefusesEveryRedirect(t *testing.T) {
	var reached atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		io.Copy(io.Discard, r.Body)
	}))
	defer other.Close()
	otherHost := strings.TrimPrefix(other.URL, "http://")
	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, loc := range []string{other.URL + "/steal?x=1", "/elsewhere"} {
			first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Location", loc)
				w.WriteHeader(status)
				io.WriteString(w, "BODY-SECRET-CANARY")
			}))
			c := Client(&http.Client{Timeout: 5 * time.Second})
			req, _ := http.NewRequest(http.MethodPost, first.URL+"/api", strings.NewReader("password=hunter2"))
			resp, err := c.Do(req)
			if resp != nil {
				resp.Body.Close()
				t.Errorf("%d → %s: got a response, want an error", status, loc)
			}
			var re *RedirectError
			if !errors.As(err, &re) || re.Status != status {
				t.Fatalf("%d → %s: err = %v, want a RedirectError", status, loc, err)
			}
			wantHost := otherHost
			if strings.HasPrefix(loc, "/") {
				wantHost = strings.TrimPrefix(first.URL, "http://")
			}
			if re.Host != wantHost || !strings.Contains(re.Error(), wantHost) {
				t.Errorf("%d → %s: error %q names host %q, want %q", status, loc, re, re.Host, wantHost)
			}
			if strings.Contains(err.Error(), "BODY-SECRET-CANARY") || strings.Contains(err.Error(), "steal") {
				t.Errorf("error text %q carries the body or the Location's path", err)
			}
			first.Close()
		}
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests, want none", n)
	}
}

func TestClient_KeepsBaseSettingsAndLeavesBaseAlone(t *testing.T) {
	base := &http.Client{Timeout: 7 * time.Second}
	c := Client(base)
	if c.Timeout != 7*time.Second {
		t.Errorf("Timeout = %v, want the base's", c.Timeout)
	}
	if base.Transport != nil || base.CheckRedirect != nil {
		t.Errorf("Client changed its argument")
	}
	if Client(c).Transport != c.Transport {
		t.Errorf("wrapping twice stacked transports")
	}
	if Client(nil) == nil {
		t.Errorf("Client(nil) = nil")
	}
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") }))
	defer ok.Close()
	resp, err := c.Get(ok.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "fine" || resp.StatusCode != 200 {
		t.Errorf("a plain 200 came back as %d %q", resp.StatusCode, b)
	}
}
