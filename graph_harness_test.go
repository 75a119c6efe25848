package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/internal/fakegraph"
	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

// graphPolicy replaces the harness's locksmith.yaml in withGraph: the same
// people and roles, every recipe allowed, and Graph on.
const graphPolicy = `
approval:
  required: true
  channel: C0APPROVALS
password:
  length: 20
grants:
  - slack_users: [U0ALICE, U0BOB]
    slack_usergroups: [S0HELPDESK]
    roles: ["User Administrator"]
    customers: ["*"]
    actions: [reset_password, temporary_access_pass, revoke_sessions, enable_account]
  - slack_users: [U0CAROL, U0ERIN]
    roles: ["Privileged Authentication Administrator"]
    customers: ["*"]
    actions: [reset_password, temporary_access_pass, revoke_sessions, enable_account]
  - slack_users: [U0DAVE]
    roles: ["User Administrator"]
    customers: ["fabrikam.onmicrosoft.com"]
audit:
  channel: C0AUDIT
graph:
  enabled: true
  when_unavailable: %s
  temporary_access_pass:
    lifetime: 2h
    usable_once: true
`

// withGraph adds a fake Microsoft Graph to the harness. Entra serves the
// partner's tenant and every customer tenant from one authority host, so a
// small router sends the partner tenant's token calls to fakepartner and the
// customer tenants' to fakegraph, which accepts exactly the refresh tokens the
// partner chain accepts. Customers start consented unless told otherwise, and
// the directory mirrors the harness's Partner Center users.
func withGraph(t testing.TB, h *harness, policy string) *fakegraph.Server {
	t.Helper()
	fg := fakegraph.New(fakegraph.Options{ClientID: fakepartner.ClientID, ClientSecret: fakepartner.ClientSecret,
		RefreshTokenValid: h.pc.RefreshTokenValid, RefreshTokenPublic: h.pc.RefreshTokenPublic})
	t.Cleanup(fg.Close)
	pcURL, _ := url.Parse(h.pc.URL())
	fgURL, _ := url.Parse(fg.URL())
	toPC, toFG := httputil.NewSingleHostReverseProxy(pcURL), httputil.NewSingleHostReverseProxy(fgURL)
	router := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(strings.ToLower(r.URL.Path), "/"+strings.ToLower(fakepartner.TenantID)+"/") {
			toPC.ServeHTTP(w, r)
			return
		}
		toFG.ServeHTTP(w, r)
	}))
	t.Cleanup(router.Close)
	h.env["AZURE_AUTHORITY_HOST"] = router.URL + "/"
	h.env["GRAPH_URL"] = fg.URL()
	if policy != "" {
		if err := os.WriteFile(h.env["LOCKSMITH_CONFIG"], []byte(strings.Replace(graphPolicy, "%s", policy, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tid := range []string{contosoTenant, contosoLtd, fabrikamTenant} {
		fg.AddTenant(tid)
	}
	c := fg.AddTenant(contosoTenant)
	for _, u := range []fakegraph.User{
		{ID: plainUserID, UserPrincipalName: plainUPN, DisplayName: "Alice User", AccountEnabled: true},
		{ID: helpdeskID, UserPrincipalName: helpdeskUPN, DisplayName: "Helpdesk Person", AccountEnabled: true},
		{ID: globalID, UserPrincipalName: globalUPN, DisplayName: "Global Admin", AccountEnabled: true},
		{ID: syncedID, UserPrincipalName: syncedUPN, DisplayName: "Synced User", AccountEnabled: true, OnPremisesSyncEnabled: ptrTo(true)},
	} {
		c.AddUser(u)
	}
	c.Assign(fakegraph.Assignment{PrincipalID: helpdeskID, RoleDefinitionID: roleHelpdesk})
	c.Assign(fakegraph.Assignment{PrincipalID: globalID, RoleDefinitionID: roleGlobal})
	fg.AddTenant(fabrikamTenant).AddUser(fakegraph.User{ID: "b0000000-0000-4000-8000-000000000001", UserPrincipalName: fabrikamUser, AccountEnabled: true})
	return fg
}

func ptrTo[T any](v T) *T { return &v }
