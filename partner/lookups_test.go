package partner

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

func TestCustomer_ByID(t *testing.T) {
	h := newHarness(t)
	got, err := h.c.Customer(ctxTimeout(t, 10*time.Second), tenantA)
	if h.note(err) != nil {
		t.Fatal(err)
	}
	want := Customer{TenantID: tenantA, Name: "Contoso Ltd", Domain: "contoso.com", Relationship: "reseller"}
	if got != want {
		t.Errorf("Customer = %+v, want %+v", got, want)
	}
}

func TestCustomer_Failures(t *testing.T) {
	tests := []struct {
		name, tenant string
		want         Kind
		code         string
	}{
		{"unknown tenant; not found", tenantNone, KindNotFound, "60003"},
		{"relationship gone; forbidden", tenantGone, KindForbidden, "20002"},
		{"not a GUID; rejected before any call", "../../v1/customers", KindRejected, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			_, err := h.c.Customer(ctxTimeout(t, 10*time.Second), tt.tenant)
			e := h.wantKind(err, tt.want)
			if e.Code != tt.code {
				t.Errorf("Code = %q, want %q", e.Code, tt.code)
			}
			if tt.want == KindRejected && len(h.fake.Calls()) != 0 {
				t.Errorf("a malformed ID reached Partner Center")
			}
		})
	}
}

func TestCustomersByDomain(t *testing.T) {
	tests := []struct {
		name, domain string
		want         []string
	}{
		{"exact match only; contoso.com.au is not contoso.com", "contoso.com", []string{tenantA}},
		{"case-insensitive", "CONTOSO.COM", []string{tenantA}},
		{"the longer domain", "contoso.com.au", []string{tenantB}},
		{"a prefix alone matches nothing", "contoso", nil},
		{"unknown domain", "northwind.com", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			got, err := h.c.CustomersByDomain(ctxTimeout(t, 10*time.Second), tt.domain)
			if h.note(err) != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatalf("got a nil slice, want an empty one")
			}
			var ids []string
			for _, c := range got {
				ids = append(ids, c.TenantID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("tenants = %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestCustomersByDomain_FilterOnTheWire(t *testing.T) {
	h := newHarness(t)
	if _, err := h.c.CustomersByDomain(ctxTimeout(t, 10*time.Second), "contoso.com"); h.note(err) != nil {
		t.Fatal(err)
	}
	calls := h.calls("/v1/customers")
	if len(calls) != 1 {
		t.Fatalf("calls = %d, want 1", len(calls))
	}
	q, _ := url.ParseQuery(calls[0].RawQuery)
	var f map[string]string
	if err := json.Unmarshal([]byte(q.Get("filter")), &f); err != nil {
		t.Fatalf("filter is not JSON: %v", err)
	}
	want := map[string]string{"Field": "Domain", "Value": "contoso.com", "Operator": "starts_with"}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("filter %s = %q, want %q", k, f[k], v)
		}
	}
	if q.Get("size") != "0" {
		t.Errorf("size = %q, want 0 as in the docs", q.Get("size"))
	}
}

func TestCustomersByName(t *testing.T) {
	h := newHarness(t)
	ctx := ctxTimeout(t, 10*time.Second)
	got, err := h.c.CustomersByName(ctx, "contoso")
	if h.note(err) != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("ambiguous prefix returned %d customers, want all 3 candidates: %+v", len(got), got)
	}
	got, err = h.c.CustomersByName(ctx, "Contoso Lt")
	if h.note(err) != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].TenantID != tenantA {
		t.Errorf("prefix with a space = %+v, want Contoso Ltd", got)
	}
	if !strings.Contains(h.calls("/v1/customers")[1].RawQuery, "Contoso+Lt") {
		t.Errorf("a space in the filter should be encoded as + (SDK practice)")
	}
	if _, err := h.c.CustomersByName(ctx, "  "); KindOf(h.note(err)) != KindRejected {
		t.Errorf("empty prefix err = %v, want KindRejected", err)
	}
}

func TestUser_ByIDWithBOM(t *testing.T) {
	h := newHarness(t)
	h.fake.SetBOM(true)
	ctx := ctxTimeout(t, 10*time.Second)
	u, err := h.c.User(ctx, tenantA, userID(1))
	if h.note(err) != nil {
		t.Fatal(err)
	}
	if u.ObjectID != userID(1) || u.UserPrincipalName != "user1@contoso.com" || u.DisplayName != "User 1" ||
		u.State != "active" || u.UserDomainType != "none" || u.Synced() {
		t.Errorf("User = %+v", u)
	}
	synced, err := h.c.User(ctx, tenantA, userID(6))
	if h.note(err) != nil {
		t.Fatal(err)
	}
	if !synced.Synced() || !synced.LastDirectorySyncTime.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("synced user's LastDirectorySyncTime = %v", synced.LastDirectorySyncTime)
	}
	_, err = h.c.User(ctx, tenantA, userID(99))
	if e := h.wantKind(err, KindNotFound); e.Code != "60002" {
		t.Errorf("Code = %q, want 60002", e.Code)
	}
}

func TestUserByUPN_PagesAndCaches(t *testing.T) {
	h := newHarness(t)
	h.fake.SetPageSize(2) // 7 users → 4 pages
	ctx := ctxTimeout(t, 10*time.Second)

	u, err := h.c.UserByUPN(ctx, tenantA, "USER7@contoso.com")
	if h.note(err) != nil {
		t.Fatal(err)
	}
	if u.ObjectID != userID(7) {
		t.Errorf("found %s, want user 7", u.ObjectID)
	}
	pages := h.calls("/users")
	if len(pages) != 4 {
		t.Fatalf("paging calls = %d, want 4", len(pages))
	}
	corr := pages[0].Header.Get("MS-CorrelationId")
	ids := map[string]bool{}
	for i, p := range pages {
		if p.Header.Get("MS-CorrelationId") != corr {
			t.Errorf("page %d has another MS-CorrelationId", i+1)
		}
		ids[p.Header.Get("MS-RequestId")] = true
		if i > 0 && (p.Header.Get("MS-ContinuationToken") == "" || !strings.Contains(p.RawQuery, "seekOperation=Next")) {
			t.Errorf("page %d was not a seek with MS-ContinuationToken", i+1)
		}
	}
	if len(ids) != 4 {
		t.Errorf("pages shared MS-RequestIds; want one per page")
	}

	// The second reset in the tenant is served from the cache.
	if u, err := h.c.UserByUPN(ctx, tenantA, "user3@CONTOSO.com"); h.note(err) != nil || u.ObjectID != userID(3) {
		t.Fatalf("cached lookup = %+v, %v", u, err)
	}
	// A miss in a fresh cache is not found without paging again.
	_, err = h.c.UserByUPN(ctx, tenantA, "nobody@contoso.com")
	h.wantKind(err, KindNotFound)
	if n := len(h.calls("/users")); n != 4 {
		t.Errorf("paging calls = %d after cached lookups, want still 4", n)
	}
}

func TestUserByUPN_StaleMissPagesAgain(t *testing.T) {
	h := newHarness(t)
	now := time.Now()
	var mu sync.Mutex
	h.c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ctx := ctxTimeout(t, 10*time.Second)
	if _, err := h.c.UserByUPN(ctx, tenantA, "user1@contoso.com"); h.note(err) != nil {
		t.Fatal(err)
	}
	h.fake.AddUser(tenantA, fakepartner.User{ObjectID: userID(8), UPN: "new@contoso.com"})
	_, err := h.c.UserByUPN(ctx, tenantA, "new@contoso.com")
	h.wantKind(err, KindNotFound) // fresh cache: no second paging
	mu.Lock()
	now = now.Add(missRecheck + time.Second)
	mu.Unlock()
	u, err := h.c.UserByUPN(ctx, tenantA, "new@contoso.com")
	if h.note(err) != nil || u.ObjectID != userID(8) {
		t.Fatalf("lookup after 30 s = %+v, %v; want the new user", u, err)
	}
	if n := len(h.calls("/users")); n != 2 {
		t.Errorf("paging calls = %d, want 2", n)
	}
	mu.Lock()
	now = now.Add(defaultUserCacheTTL + time.Second)
	mu.Unlock()
	if _, err := h.c.UserByUPN(ctx, tenantA, "user1@contoso.com"); h.note(err) != nil {
		t.Fatal(err)
	}
	if n := len(h.calls("/users")); n != 3 {
		t.Errorf("paging calls = %d after the TTL, want 3", n)
	}
}

func TestUserByUPN_ConcurrentLookupsShareOnePaging(t *testing.T) {
	h := newHarness(t)
	h.fake.AddFault(fakepartner.Fault{Method: http.MethodGet, PathContains: "/users", Delay: 100 * time.Millisecond, Times: 1})
	ctx := ctxTimeout(t, 10*time.Second)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = h.c.UserByUPN(ctx, tenantA, "user"+string(rune('1'+i%7))+"@contoso.com")
		})
	}
	wg.Wait()
	for _, err := range errs {
		if h.note(err) != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.calls("/users")); n != 1 {
		t.Errorf("paging calls = %d, want 1 shared", n)
	}
}

func TestUserRoles_ClassifiedThroughTheFake(t *testing.T) {
	tests := []struct {
		name  string
		user  int
		want  Role
		names []string
	}{
		{"no role", 1, RoleUserAdministrator, nil},
		{"Helpdesk Administrator", 2, RoleUserAdministrator, []string{"Helpdesk Administrator"}},
		{"Global Administrator, legacy Company Administrator", 3, RolePrivilegedAuthenticationAdministrator, []string{"Global Administrator"}},
		{"User Account Administrator and Directory Readers", 4, RoleUserAdministrator, []string{"User Administrator", "Directory Readers"}},
		{"unknown custom role", 5, RolePrivilegedAuthenticationAdministrator, []string{"Custom Role"}},
	}
	h := newHarness(t)
	ctx := ctxTimeout(t, 10*time.Second)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roles, err := h.c.UserRoles(ctx, tenantA, userID(tt.user))
			if h.note(err) != nil {
				t.Fatal(err)
			}
			if roles == nil {
				t.Fatalf("nil roles, want an empty slice")
			}
			var names []string
			for _, r := range roles {
				names = append(names, DisplayName(r))
			}
			if !slices.Equal(names, tt.names) {
				t.Errorf("roles = %v, want %v", names, tt.names)
			}
			if got := RequiredRole(roles); got != tt.want {
				t.Errorf("RequiredRole = %q, want %q", got, tt.want)
			}
		})
	}
	_, err := h.c.UserRoles(ctx, tenantA, userID(42))
	h.wantKind(err, KindNotFound)
}

func TestObserve_RouteTemplates(t *testing.T) {
	h := newHarness(t)
	ctx := ctxTimeout(t, 10*time.Second)
	_, _ = h.c.Customer(ctx, tenantA)
	_, _ = h.c.CustomersByName(ctx, "contoso")
	_, _ = h.c.User(ctx, tenantA, userID(1))
	_, _ = h.c.UserByUPN(ctx, tenantA, "user1@contoso.com")
	_, _ = h.c.UserRoles(ctx, tenantA, userID(1))
	want := []observation{
		{"POST /{tenant}/oauth2/v2.0/token", 200},
		{"GET /v1/customers/{id}", 200},
		{"GET /v1/customers", 200},
		{"GET /v1/customers/{id}/users/{id}", 200},
		{"GET /v1/customers/{id}/users", 200},
		{"GET /v1/customers/{id}/users/{id}/directoryroles", 200},
	}
	if got := h.observations(); !slices.Equal(got, want) {
		t.Errorf("observations = %v, want %v", got, want)
	}
}
