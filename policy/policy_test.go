package policy

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	contosoTID = "7d2f1c3a-0b4e-4f5a-9c8d-1e2f3a4b5c6d"
	contosoDom = "contoso.onmicrosoft.com"
	fabrikam   = "fabrikam.onmicrosoft.com"
)

func rule(name string, customers ...string) Rule {
	return Rule{Name: name, Customers: customers, ApprovalsRequired: 1, ExpiresAfter: 30 * time.Minute, UseWithin: 15 * time.Minute}
}

func def() Rule { return rule(DefaultName, "*") }

func mustNew(t *testing.T, rules ...Rule) Set {
	t.Helper()
	s, err := New(def(), rules)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestFor_Precedence(t *testing.T) {
	admins := rule("contoso-admins", contosoDom)
	admins.Tiers = []Tier{Privileged}
	admins.ApprovalsRequired = 2
	admins.Approvers = Principals{Usergroups: []string{"S0LEADS"}}
	everyPriv := rule("all-privileged", "*")
	everyPriv.Tiers = []Tier{Privileged}
	fab := rule("fabrikam", fabrikam) // both tiers
	s := mustNew(t, admins, everyPriv, fab)

	cases := []struct {
		tid, dom string
		tier     Tier
		want     string
	}{
		{contosoTID, contosoDom, Privileged, "contoso-admins"},
		{contosoTID, contosoDom, Standard, DefaultName},
		{"00000000-0000-4000-8000-000000000000", "other.onmicrosoft.com", Privileged, "all-privileged"},
		{"00000000-0000-4000-8000-000000000000", "other.onmicrosoft.com", Standard, DefaultName},
		{"x", fabrikam, Standard, "fabrikam"},
		{"x", "FABRIKAM.onmicrosoft.com", Privileged, "fabrikam"}, // a named customer beats "*"
	}
	for _, c := range cases {
		got, err := s.For(c.tid, c.dom, c.tier)
		if err != nil || got.Name != c.want {
			t.Errorf("For(%s, %s) = %q, %v; want %q", c.dom, c.tier, got.Name, err, c.want)
		}
	}
}

func TestFor_TenantIDAndDomainNamingTheSameCustomerIsAmbiguous(t *testing.T) {
	byID, byDomain := rule("by-id", contosoTID), rule("by-domain", contosoDom)
	s := mustNew(t, byID, byDomain) // New cannot know they are one customer
	_, err := s.For(contosoTID, contosoDom, Standard)
	if !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), `"by-id"`) || !strings.Contains(err.Error(), `"by-domain"`) {
		t.Fatalf("For = %v; want ErrAmbiguous naming both", err)
	}
}

func TestNew_RejectsOverlapsNamingThem(t *testing.T) {
	a := rule("a", contosoDom, fabrikam)
	b := rule("b", "CONTOSO.onmicrosoft.com")
	b.Customers = []string{contosoDom}
	b.Tiers = []Tier{Privileged}
	c := rule("c", "*")
	d := rule("d", "*")
	d.Tiers = []Tier{Standard}
	e := rule("e", fabrikam)
	e.Tiers = []Tier{Standard}
	f := rule("f", contosoDom)
	f.Tiers = []Tier{Standard}
	_, err := New(def(), []Rule{a, b, c, d})
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("New = %v; want *Error", err)
	}
	msg := err.Error()
	for _, want := range []string{`"a" and "b"`, "customer contoso.onmicrosoft.com, tier privileged", `"c" and "d"`, `customer "*", tier standard`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	// Different tiers of the same customer, and a named customer vs "*", do not overlap.
	if _, err := New(def(), []Rule{b, f, c}); err != nil {
		t.Errorf("New(privileged + standard of one customer, and *) = %v; want nil", err)
	}
	if _, err := New(def(), []Rule{a, e}); err == nil || !strings.Contains(err.Error(), "fabrikam") {
		t.Errorf("New(a, e) = %v; want an overlap on fabrikam", err)
	}
}

func TestNew_RejectsContradictions(t *testing.T) {
	cases := map[string]func(r *Rule){
		"only 1 people":                 func(r *Rule) { r.ApprovalsRequired = 2; r.Approvers = Principals{Users: []string{"U1", "U1"}} },
		"approvals_required is 0":       func(r *Rule) { r.ApprovalsRequired = 0 },
		"approvals_required is 6":       func(r *Rule) { r.ApprovalsRequired = 6 },
		"reminder would never be sent":  func(r *Rule) { r.RemindAfter = 30 * time.Minute },
		"escalation would never be":     func(r *Rule) { r.EscalateAfter = time.Hour; r.EscalateTo = Principals{Users: []string{"U1"}} },
		"escalate_to names nobody":      func(r *Rule) { r.EscalateAfter = 10 * time.Minute },
		"nobody would ever be asked":    func(r *Rule) { r.EscalateTo = Principals{Usergroups: []string{"S1"}} },
		`tier "admin" is unknown`:       func(r *Rule) { r.Tiers = []Tier{"admin"} },
		"must be an https URL":          func(r *Rule) { r.Ticket = &Ticket{Pattern: regexp.MustCompile(`INC-\d+`), Link: "http://psa/{ticket}"} },
		"https URL containing {ticket}": func(r *Rule) { r.Ticket = &Ticket{Pattern: regexp.MustCompile(`INC-\d+`), Link: "https://psa/x"} },
		"customers is empty":            func(r *Rule) { r.Customers = nil },
	}
	for want, change := range cases {
		r := rule("p", contosoDom)
		change(&r)
		_, err := New(def(), []Rule{r})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `policy "p"`) {
			t.Errorf("%s: New = %v", want, err)
		}
	}
	// A group may hold any number of people: two approvals from one group is fine.
	r := rule("p", contosoDom)
	r.ApprovalsRequired = 2
	r.Approvers = Principals{Usergroups: []string{"S0LEADS"}}
	if _, err := New(def(), []Rule{r}); err != nil {
		t.Errorf("two approvals from a group: %v", err)
	}
	// Duplicate names.
	if _, err := New(def(), []Rule{rule("x", contosoDom), rule("x", fabrikam)}); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Errorf("duplicate names: %v", err)
	}
}

func TestTicket_Find(t *testing.T) {
	tk := &Ticket{Pattern: regexp.MustCompile(`(?i)\bINC-\d{3,}\b`), Link: "https://psa.example.com/t/{ticket}?view=1"}
	id, link, ok := tk.Find("user locked out, INC-4711 and INC-9")
	if !ok || id != "INC-4711" || link != "https://psa.example.com/t/INC-4711?view=1" {
		t.Errorf("Find = %q %q %v", id, link, ok)
	}
	if _, _, ok := tk.Find("no ticket here INC-12"); ok {
		t.Error("Find matched a too-short ticket")
	}
	// The ticket is path-escaped into the link: a pattern that lets / or ? through
	// cannot steer the link elsewhere.
	loose := &Ticket{Pattern: regexp.MustCompile(`T\S+`), Link: "https://psa/{ticket}"}
	if _, link, _ := loose.Find("T1/../admin?x"); link != "https://psa/T1%2F..%2Fadmin%3Fx" {
		t.Errorf("link = %q", link)
	}
	var none *Ticket
	if _, _, ok := none.Find("INC-4711"); ok {
		t.Error("a nil ticket rule found a ticket")
	}
}

func TestRequiresReasonEverywhere(t *testing.T) {
	d := def()
	d.RequireReason = true
	lax := rule("lax", contosoDom)
	s, _ := New(d, []Rule{lax})
	if s.RequiresReasonEverywhere() {
		t.Error("a rule without require_reason, yet RequiresReasonEverywhere")
	}
	lax.Ticket = &Ticket{Pattern: regexp.MustCompile(`INC-\d+`)}
	s, _ = New(d, []Rule{lax})
	if !s.RequiresReasonEverywhere() {
		t.Error("a ticket is a reason: every rule needs one")
	}
}
