// Package demo lets a team try locksmith before any Partner Center set-up: a
// sample Partner Center (the in-process fake, seeded with customers and users
// of every kind) for `locksmith demo`, and for `locksmith demo --local` a fake
// Slack workspace as well, with a walkthrough that plays one request through
// approval to reset and prints what each person saw.
//
// The package only provides the sample world and drives the walkthrough; the
// bot that runs against it is the real one, wired by package main exactly as
// `locksmith run` wires it.
package demo

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

// Label and LabelNote mark every message the demo bot posts.
const (
	Label     = "DEMO"
	LabelNote = "sample customers from a built-in Partner Center; no real account is changed"
)

// Role template IDs used by the sample directory (Entra's built-in roles).
const (
	roleHelpdeskAdmin = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleGlobalAdmin   = "62e90394-69f5-4237-9190-012177145e10"
	rolePasswordAdmin = "966707d0-3269-4727-9be2-8c3a10f19b9d"
)

// A sample user, as the directory listing shows it.
type sampleUser struct {
	upn, name, kind string
	roles           []string
	synced          bool
}

type sampleCustomer struct {
	tenantID, name, domain string
	users                  []sampleUser
}

// sample is the demo's Partner Center: one customer with a user of every kind
// locksmith treats differently, and two more so that name matching, "several
// matches" and per-customer grants can be tried.
var sample = []sampleCustomer{
	{
		tenantID: "d3000000-0000-4000-8000-000000000001", name: "Contoso", domain: "contoso.onmicrosoft.com",
		users: []sampleUser{
			{upn: "alice.user@contoso.onmicrosoft.com", name: "Alice User", kind: "no admin role: needs User Administrator"},
			{upn: "harry.helpdesk@contoso.onmicrosoft.com", name: "Harry Helpdesk", kind: "Helpdesk Administrator: needs User Administrator", roles: []string{roleHelpdeskAdmin}},
			{upn: "pat.password@contoso.onmicrosoft.com", name: "Pat Password", kind: "Password Administrator: needs User Administrator", roles: []string{rolePasswordAdmin}},
			{upn: "grace.global@contoso.onmicrosoft.com", name: "Grace Global", kind: "Global Administrator: needs Privileged Authentication Administrator", roles: []string{roleGlobalAdmin}},
			{upn: "sam.synced@contoso.onmicrosoft.com", name: "Sam Synced", kind: "synced from on-premises AD: flagged before anything changes", synced: true},
		},
	},
	{
		tenantID: "d3000000-0000-4000-8000-000000000002", name: "Contoso Pharmaceuticals", domain: "contosopharma.onmicrosoft.com",
		users: []sampleUser{
			{upn: "lee.lab@contosopharma.onmicrosoft.com", name: "Lee Lab", kind: "no admin role"},
		},
	},
	{
		tenantID: "d3000000-0000-4000-8000-000000000003", name: "Fabrikam", domain: "fabrikam.onmicrosoft.com",
		users: []sampleUser{
			{upn: "fiona.finance@fabrikam.onmicrosoft.com", name: "Fiona Finance", kind: "no admin role"},
			{upn: "gus.global@fabrikam.onmicrosoft.com", name: "Gus Global", kind: "Global Administrator", roles: []string{roleGlobalAdmin}},
		},
	},
}

// StartPartner starts the sample Partner Center on a loopback port. The caller
// must Close it. Its client ID, secret, tenant ID and refresh token are the
// fake's fixed test values (fakepartner.ClientID and so on) and InitialRefreshToken.
func StartPartner() *fakepartner.Server {
	pc := fakepartner.New()
	synced := time.Now().Add(-40 * time.Minute).UTC().Truncate(time.Second)
	for ci, c := range sample {
		pc.AddCustomer(fakepartner.Customer{TenantID: c.tenantID, Name: c.name, Domain: c.domain, Relationship: "reseller"})
		for ui, u := range c.users {
			first, last, _ := strings.Cut(u.name, " ")
			fu := fakepartner.User{
				ObjectID:    fmt.Sprintf("e%07d-0000-4000-8000-%012d", ci+1, ui+1),
				UPN:         u.upn,
				FirstName:   first,
				LastName:    last,
				DisplayName: u.name,
				State:       "active",
			}
			for _, r := range u.roles {
				fu.Roles = append(fu.Roles, fakepartner.Role{TemplateID: r})
			}
			if u.synced {
				fu.LastDirectorySyncTime = &synced
			}
			pc.AddUser(c.tenantID, fu)
		}
	}
	return pc
}

// WriteDirectory prints the sample customers and users, with what each user
// shows off, and example commands.
func WriteDirectory(w io.Writer) {
	fmt.Fprintln(w, "Sample Partner Center (built in; nothing real is changed):")
	for _, c := range sample {
		fmt.Fprintf(w, "  %s  %s  (tenant %s)\n", c.name, c.domain, c.tenantID)
		for _, u := range c.users {
			fmt.Fprintf(w, "      %-42s %s\n", u.upn, u.kind)
		}
	}
	fmt.Fprintln(w, "Try, in Slack:")
	fmt.Fprintln(w, "  /reset-password contoso.onmicrosoft.com alice.user@contoso.onmicrosoft.com INC-1001 locked out")
	fmt.Fprintln(w, "  /reset-password contoso grace.global@contoso.onmicrosoft.com   (several customers match \"contoso\")")
	fmt.Fprintln(w, "  /reset-password fabrikam gus.global@fabrikam.onmicrosoft.com   (needs Privileged Authentication Administrator)")
	fmt.Fprintln(w, "  /reset-password contoso.onmicrosoft.com sam.synced@contoso.onmicrosoft.com   (synced from on-premises)")
}
