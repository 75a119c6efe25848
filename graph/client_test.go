package graph

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakegraph"
)

func TestRetry_429RetryAfter_SameClientRequestID(t *testing.T) {
	f := newFixture(t)
	addAlice(f.fg.AddTenant(tenantA))
	f.fg.AddFault(fakegraph.Fault{PathContains: "/users/u-alice", Status: 429, RetryAfter: "3", Times: 2})
	if _, err := f.c.User(ctxT(t), tenantA, "u-alice"); err != nil {
		t.Fatal(err)
	}
	calls := f.fg.Calls()
	if len(calls) != 3 {
		t.Fatalf("calls = %d, want 3", len(calls))
	}
	id := calls[0].Header["Client-Request-Id"][0]
	for _, c := range calls {
		if c.Header["Client-Request-Id"][0] != id {
			t.Error("client-request-id changed between retries")
		}
	}
	if len(f.sleeps) != 2 || f.sleeps[0] != 3*time.Second || f.sleeps[1] != 3*time.Second {
		t.Errorf("waits = %v, want Retry-After twice", f.sleeps)
	}
}

func TestRetry_ThrottledPastBudget_IsThrottled(t *testing.T) {
	f := newFixture(t)
	addAlice(f.fg.AddTenant(tenantA))
	f.fg.AddFault(fakegraph.Fault{PathContains: "/users/u-alice", Status: 429, RetryAfter: "120"})
	_, err := f.c.User(ctxT(t), tenantA, "u-alice")
	if KindOf(err) != KindThrottled {
		t.Fatalf("err = %v, want throttled", err)
	}
	if len(f.sleeps) != 0 || len(f.fg.Calls()) != 1 {
		t.Errorf("waited %v over %d calls; a Retry-After past the budget must not be waited out", f.sleeps, len(f.fg.Calls()))
	}
	// In Facts, a throttled read is an unknown fact, never "none".
	facts, err := f.c.Facts(ctxT(t), tenantA, "u-alice")
	if err != nil {
		t.Fatal(err)
	}
	if facts.Known(FactAccount) {
		t.Error("throttled account read reported as known")
	}
}

func TestRedirect_NeverFollowed(t *testing.T) {
	var hits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()
	f := newFixture(t)
	addAlice(f.fg.AddTenant(tenantA))
	f.fg.AddFault(fakegraph.Fault{PathContains: "/users/", Status: 307, Location: elsewhere.URL + "/v1.0/users/u-alice"})
	_, err := f.c.User(ctxT(t), tenantA, "u-alice")
	if KindOf(err) != KindUnavailable || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("err = %v", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the bearer token was sent to the redirect target")
	}
}

func TestRecipes_RevokeEnableTAP(t *testing.T) {
	f := newFixture(t)
	tn := f.fg.AddTenant(tenantA)
	tn.AddUser(fakegraph.User{ID: "u-carol", UserPrincipalName: "carol@contoso.com", AccountEnabled: false})
	ctx := ctxT(t)
	if err := f.c.RevokeSessions(ctx, tenantA, "u-carol"); err != nil {
		t.Fatal(err)
	}
	if err := f.c.EnableAccount(ctx, tenantA, "u-carol"); err != nil {
		t.Fatal(err)
	}
	if u, _ := tn.User("u-carol"); !u.AccountEnabled {
		t.Error("account still disabled")
	}
	tap, err := f.c.CreateTemporaryAccessPass(ctx, tenantA, "u-carol", TAPOptions{Lifetime: 90 * time.Minute, UsableOnce: true})
	if err != nil {
		t.Fatal(err)
	}
	passes := f.fg.Passes()
	if len(f.fg.Revocations()) != 1 || len(f.fg.Enables()) != 1 || len(passes) != 1 {
		t.Fatalf("revocations %v enables %v passes %d", f.fg.Revocations(), f.fg.Enables(), len(passes))
	}
	if passes[0].LifetimeInMinutes != 90 || !passes[0].IsUsableOnce || tap.Pass.Reveal() != passes[0].Value || tap.Lifetime != 90*time.Minute {
		t.Errorf("pass sent/received = %+v / lifetime %v", passes[0], tap.Lifetime)
	}
	if strings.Contains(f.logs.String(), passes[0].Value) {
		t.Error("the pass is in the log")
	}
}

func TestTAP_NotRetriedAfter500_RejectedOutsidePolicy(t *testing.T) {
	f := newFixture(t)
	tn := f.fg.AddTenant(tenantA)
	addAlice(tn)
	f.fg.AddFault(fakegraph.Fault{PathContains: "temporaryAccessPassMethods", Status: 500, Times: 1})
	_, err := f.c.CreateTemporaryAccessPass(ctxT(t), tenantA, "u-alice", TAPOptions{Lifetime: time.Hour, UsableOnce: true})
	if KindOf(err) != KindUnavailable || len(f.fg.Calls()) != 1 {
		t.Fatalf("err = %v after %d calls; a create must not be retried after a 500", err, len(f.fg.Calls()))
	}
	_, err = f.c.CreateTemporaryAccessPass(ctxT(t), tenantA, "u-alice", TAPOptions{Lifetime: 24 * time.Hour, UsableOnce: true})
	if KindOf(err) != KindRejected || !strings.Contains(err.Error(), "between 10 and 480") {
		t.Fatalf("err = %v, want rejected by policy", err)
	}
	tn.SetTAPPolicy(fakegraph.TAPPolicy{})
	_, err = f.c.CreateTemporaryAccessPass(ctxT(t), tenantA, "u-alice", TAPOptions{Lifetime: time.Hour, UsableOnce: true})
	if KindOf(err) != KindForbidden || !strings.Contains(Sentence(err), "Authentication Administrator") {
		t.Fatalf("err = %v", err)
	}
}

// No secret reaches any log line or error text: not the partner refresh token,
// the client secret, an access token or a pass.
func TestNoSecretInLogsOrErrors(t *testing.T) {
	f := newFixture(t)
	tn := f.fg.AddTenant(tenantA)
	addAlice(tn)
	ctx := WithCorrelationID(context.Background(), "corr-1")
	var errs []string
	if _, err := f.c.Facts(ctx, tenantA, "u-alice"); err != nil {
		errs = append(errs, err.Error())
	}
	tap, err := f.c.CreateTemporaryAccessPass(ctx, tenantA, "u-alice", TAPOptions{Lifetime: time.Hour, UsableOnce: true})
	if err != nil {
		t.Fatal(err)
	}
	f.fg.AddFault(fakegraph.Fault{PathContains: "/users/", Status: 400, Message: "bad " + partnerRT + " " + testClientSecret})
	if _, err := f.c.User(ctx, tenantA, "u-alice"); err != nil {
		errs = append(errs, err.Error())
	}
	tn.SetConsented(false)
	f.fg.ExpireAccessTokens()
	if _, err := f.c.User(ctx, tenantB, "u-alice"); err != nil {
		errs = append(errs, err.Error())
	}
	everything := f.logs.String() + strings.Join(errs, "\n")
	for _, c := range f.fg.Calls() {
		if h := c.Header["Authorization"]; len(h) > 0 {
			if tok := strings.TrimPrefix(h[0], "Bearer "); strings.Contains(everything, tok) {
				t.Error("an access token is in the output")
			}
		}
	}
	for name, s := range map[string]string{"refresh token": partnerRT, "client secret": testClientSecret, "pass": tap.Pass.Reveal()} {
		if strings.Contains(everything, s) {
			t.Errorf("the %s is in the output", name)
		}
	}
	if !strings.Contains(f.logs.String(), "corr-1") {
		t.Error("the correlation ID is not logged")
	}
}
