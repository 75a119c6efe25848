package partner

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

// customerGets counts GET /v1/customers/{tenant} calls the fake served.
func (h *harness) customerGets(tenant string) int {
	n := 0
	for _, c := range h.fake.Calls() {
		if c.Method == http.MethodGet && strings.EqualFold(c.Path, "/v1/customers/"+tenant) {
			n++
		}
	}
	return n
}

func TestCustomer_CachedBriefly(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	var mu sync.Mutex
	h.c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ctx := ctxTimeout(t, 10*time.Second)

	first, err := h.c.Customer(ctx, tenantA)
	if h.note(err) != nil {
		t.Fatal(err)
	}
	for _, id := range []string{tenantA, strings.ToUpper(tenantA)} {
		got, err := h.c.Customer(ctx, id)
		if h.note(err) != nil || got != first {
			t.Fatalf("cached Customer(%s) = %+v, %v; want %+v", id, got, err, first)
		}
	}
	if n := h.customerGets(tenantA); n != 1 {
		t.Errorf("GET customer calls = %d within the TTL, want 1", n)
	}
	advance(defaultCustomerCacheTTL + time.Second)
	if _, err := h.c.Customer(ctx, tenantA); h.note(err) != nil {
		t.Fatal(err)
	}
	if n := h.customerGets(tenantA); n != 2 {
		t.Errorf("GET customer calls = %d after the TTL, want 2", n)
	}
}

func TestCustomer_ErrorsAreNotCached(t *testing.T) {
	h := newHarness(t)
	ctx := ctxTimeout(t, 10*time.Second)
	h.wantKind(func() error { _, err := h.c.Customer(ctx, tenantNone); return err }(), KindNotFound)
	h.fake.AddCustomer(fakepartner.Customer{TenantID: tenantNone, Name: "Northwind", Domain: "northwind.onmicrosoft.com"})
	if cu, err := h.c.Customer(ctx, tenantNone); h.note(err) != nil || cu.Name != "Northwind" {
		t.Fatalf("after the customer appeared: %+v, %v", cu, err)
	}

	h.fake.AddFault(fakepartner.Fault{Method: http.MethodGet, PathContains: "/v1/customers/" + tenantB, Status: 501, Times: 1})
	h.wantKind(func() error { _, err := h.c.Customer(ctx, tenantB); return err }(), KindUnavailable)
	if _, err := h.c.Customer(ctx, tenantB); h.note(err) != nil {
		t.Fatalf("a failure was remembered: %v", err)
	}
}

func TestCustomer_CacheConcurrent(t *testing.T) {
	h := newHarness(t)
	ctx := ctxTimeout(t, 30*time.Second)
	tenants := []string{tenantA, tenantB, tenantC}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 60 {
		wg.Go(func() {
			cu, err := h.c.Customer(ctx, tenants[i%3])
			if err == nil && cu.TenantID != tenants[i%3] {
				t.Errorf("Customer(%s) = %s", tenants[i%3], cu.TenantID)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if h.note(err) != nil {
			t.Fatal(err)
		}
	}
	for _, tid := range tenants {
		if _, err := h.c.Customer(ctx, tid); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTTLCache_Bounded(t *testing.T) {
	c := newTTLCache[int](time.Minute, 3)
	t0 := time.Now()
	for i, k := range []string{"a", "b", "c"} {
		c.put(k, i, t0.Add(time.Duration(i)*time.Second))
	}
	c.put("d", 3, t0.Add(3*time.Second)) // full: the entry closest to expiry ("a") goes
	if _, ok := c.get("a", t0.Add(4*time.Second)); ok {
		t.Errorf("the oldest entry survived a full cache")
	}
	for _, k := range []string{"b", "c", "d"} {
		if _, ok := c.get(k, t0.Add(4*time.Second)); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
	if len(c.entries) != 3 {
		t.Errorf("%d entries, want at most 3", len(c.entries))
	}
	// Expired entries make room first.
	c.put("e", 4, t0.Add(time.Minute+2500*time.Millisecond)) // b (expires t0+61s) and c (t0+62s) have expired
	if _, ok := c.get("d", t0.Add(time.Minute+2500*time.Millisecond)); !ok {
		t.Errorf("a live entry was evicted while expired ones remained")
	}
	if v, ok := c.get("e", t0.Add(time.Minute+2500*time.Millisecond)); !ok || v != 4 {
		t.Errorf("e = %v, %v", v, ok)
	}
}
