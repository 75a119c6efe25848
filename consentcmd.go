package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/graph"
	"github.com/locksmithbot/locksmith/partner"
)

// consentDisplayName is how the app is named in the consent request.
const consentDisplayName = "locksmith"

// runConsent registers locksmith's app in customer tenants with exactly the
// Graph permissions it uses (graph.Permissions), through Partner Center's
// application-consent API. Idempotent: an existing consent is reported, not an
// error. Every tenant's result is an audit row.
func runConsent(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("locksmith consent [--dry-run] (--all | <customer>…)",
		"Registers locksmith's app in customer tenants with the Microsoft Graph permissions it uses (Partner Center application consent). <customer> is a tenant ID or the customer's domain.", stdout)
	all := fs.Bool("all", false, "every customer of the partner")
	dry := fs.Bool("dry-run", false, "show what would be consented and whether a Graph token can be had today; change nothing")
	if err := parseFlagsAndArgs(fs, args); err != nil {
		return err
	}
	refs := fs.Args()
	if *all == (len(refs) > 0) {
		fmt.Fprintln(stdout, "name customers or give --all (not both)")
		return errUsage
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := newApp(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer a.store.Close()

	var customers []partner.Customer
	if *all {
		customers, err = a.pc.AllCustomers(ctx)
		if err != nil {
			return fmt.Errorf("list customers: %w", err)
		}
	} else {
		for _, ref := range refs {
			c, err := findCustomer(ctx, a.pc, ref)
			if err != nil {
				return err
			}
			customers = append(customers, c)
		}
	}
	grants := []partner.ApplicationGrant{{EnterpriseApplicationID: graph.ResourceAppID, Scope: graph.ConsentScope()}}
	fmt.Fprintf(stdout, "app %s, Microsoft Graph delegated permissions: %s\n", cfg.PartnerClientID, graph.ConsentScope())
	operator := strings.TrimSpace(getenv("USER"))
	if operator == "" {
		operator = "unknown"
	}
	failed := 0
	for _, c := range customers {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		line := fmt.Sprintf("%s (%s, %s): ", c.Name, c.Domain, c.TenantID)
		if *dry {
			state := "a Graph token is issued today: consent is in place"
			if err := a.gc.CheckTenant(cctx, c.TenantID); err != nil {
				state = "no Graph token today: " + graph.Sentence(err)
			}
			fmt.Fprintln(stdout, line+"would consent; "+state)
			cancel()
			continue
		}
		res, err := a.pc.AddApplicationConsent(cctx, c.TenantID, cfg.PartnerClientID, consentDisplayName, grants)
		ev := approvals.Event{ActorID: "cli", ActorName: operator, CorrelationID: partner.CorrelationID(cctx),
			TenantID: c.TenantID, CustomerDomain: c.Domain}
		switch {
		case err != nil:
			failed++
			ev.Outcome, ev.Detail = approvals.OutcomeConsentFailed, consentFailure(err)
			fmt.Fprintln(stdout, line+"FAILED: "+err.Error())
		case res == partner.ConsentExisted:
			ev.Outcome, ev.Detail = approvals.OutcomeConsentGranted, "already consented (Partner Center answered 409); scopes requested: "+graph.ConsentScope()
			fmt.Fprintln(stdout, line+"already consented")
		default:
			ev.Outcome, ev.Detail = approvals.OutcomeConsentGranted, "consented: "+graph.ConsentScope()
			fmt.Fprintln(stdout, line+"consented")
		}
		if _, aerr := a.store.Append(cctx, ev); aerr != nil {
			failed++
			fmt.Fprintf(stdout, "%saudit row not written: %v\n", line, aerr)
		}
		cancel()
	}
	if failed > 0 {
		return &failure{msg: fmt.Sprintf("consent failed for %d of %d customers", failed, len(customers))}
	}
	return nil
}

// findCustomer resolves a tenant ID or an exact domain to one customer.
func findCustomer(ctx context.Context, pc *partner.Client, ref string) (partner.Customer, error) {
	if guidRE.MatchString(ref) {
		c, err := pc.Customer(ctx, ref)
		if err != nil {
			return partner.Customer{}, fmt.Errorf("customer %s: %w", ref, err)
		}
		return c, nil
	}
	found, err := pc.CustomersByDomain(ctx, ref)
	if err != nil {
		return partner.Customer{}, fmt.Errorf("customer %s: %w", ref, err)
	}
	for _, c := range found {
		if strings.EqualFold(c.Domain, ref) {
			return c, nil
		}
	}
	return partner.Customer{}, errors.New("customer " + ref + ": no customer has exactly this domain; use the tenant ID")
}

// consentFailure is the audit trail's record of a refused consent: the kind,
// status, code and correlation ID, never Partner Center's own text (which goes
// to the operator's terminal only).
func consentFailure(err error) string {
	var pe *partner.Error
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s: HTTP %d, code %q, correlation %s", pe.Kind, pe.Status, pe.Code, pe.CorrelationID)
	}
	return "consent failed before Partner Center answered"
}
