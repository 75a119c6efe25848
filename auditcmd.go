package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
)

// The audit subcommands need only the database, not Slack or Partner Center
// credentials, so an auditor can run them with LOCKSMITH_DATABASE_URL alone.
func openAuditStore(ctx context.Context, getenv func(string) string) (*approvals.Store, error) {
	dsn := strings.TrimSpace(getenv("LOCKSMITH_DATABASE_URL"))
	if dsn == "" {
		dsn = "locksmith.db"
	}
	// Opening an SQLite path creates the file: an auditor who mistypes it must
	// get an error, not "intact: 0 rows" from a brand-new empty database.
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no locksmith database at %s (set LOCKSMITH_DATABASE_URL)", path)
		}
	}
	store, err := approvals.Open(ctx, dsn, approvals.Options{})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redactDSN(dsn), err)
	}
	return store, nil
}

// auditRecord is one exported row. Field names are the export's stable format.
type auditRecord struct {
	Seq            int64     `json:"seq"`
	Time           time.Time `json:"time"`
	ActorID        string    `json:"actor_id"`
	ActorName      string    `json:"actor_name"`
	TenantID       string    `json:"customer_tenant_id,omitempty"`
	CustomerDomain string    `json:"customer_domain,omitempty"`
	TargetObjectID string    `json:"target_object_id,omitempty"`
	TargetUPN      string    `json:"target_upn,omitempty"`
	RequestID      string    `json:"request_id,omitempty"`
	CorrelationID  string    `json:"correlation_id,omitempty"`
	Outcome        string    `json:"outcome"`
	Detail         string    `json:"detail,omitempty"`
	PrevHash       string    `json:"prev_hash"`
	Hash           string    `json:"hash"`
}

func runAuditExport(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("locksmith audit export [--since T] [--customer C]", "Prints the audit trail as JSON lines, oldest first.", stdout)
	since := fs.String("since", "", "only rows at or after this time: RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02) or a duration back from now (24h)")
	customer := fs.String("customer", "", "only rows for this customer tenant ID or domain")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	filter := approvals.EventFilter{Customer: strings.ToLower(strings.TrimSpace(*customer))}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			fmt.Fprintf(stdout, "--since: %v\n", err)
			return errUsage
		}
		filter.Since = t
	}
	store, err := openAuditStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer store.Close()
	enc := json.NewEncoder(stdout)
	return store.Events(ctx, filter, func(e approvals.Event) error {
		return enc.Encode(auditRecord{
			Seq: e.Seq, Time: e.Time.UTC(), ActorID: e.ActorID, ActorName: e.ActorName,
			TenantID: e.TenantID, CustomerDomain: e.CustomerDomain, TargetObjectID: e.TargetObjectID, TargetUPN: e.TargetUPN,
			RequestID: e.RequestID, CorrelationID: e.CorrelationID, Outcome: string(e.Outcome), Detail: e.Detail,
			PrevHash: e.PrevHash, Hash: e.Hash,
		})
	})
}

func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (2026-01-02T15:04:05Z), a date (2026-01-02) or a duration (24h)", v)
}

func runAuditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("locksmith audit verify", "Checks the audit trail's hash chain. Exit 0 when intact; otherwise exit 1 naming the first bad row.", stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	store, err := openAuditStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer store.Close()
	report, err := store.Verify(ctx)
	if err != nil {
		return err
	}
	if !report.OK {
		fmt.Fprintf(stdout, "audit trail BROKEN at row %d: %s (%d rows checked)\n", report.BadSeq, report.Problem, report.Rows)
		return &failure{msg: fmt.Sprintf("audit trail broken at row %d", report.BadSeq)}
	}
	fmt.Fprintf(stdout, "audit trail intact: %d rows; last row %d, hash %s\n", report.Rows, report.LastSeq, report.LastHash)
	return nil
}
