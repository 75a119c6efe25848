package approvals

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// requestCols is the column list every query that returns a request uses,
// in the order scanRequest reads it.
const requestCols = `id, state, version, requester_id, requester_name,
	tenant_id, customer_name, customer_domain,
	target_object_id, target_upn, target_display_name, target_roles, role_needed,
	reason, correlation_id, created_at, expires_at,
	decider_id, decider_name, decided_at, use_by, claimed_at, reset_correlation_id,
	finished_at, detail, approval_channel, approval_ts,
	target_facts, recipes,
	policy_name, tier, ticket, ticket_url, approvals_required, approvals_count,
	reminded_at, escalated_at,
	break_glass, reviewed_by, reviewed_by_name, reviewed_at, review_reminded_at`

type scanner interface{ Scan(dest ...any) error }

func scanRequest(row scanner) (Request, error) {
	var r Request
	var roles, recipes string
	var breakGlass int
	err := row.Scan(&r.ID, &r.State, &r.Version, &r.RequesterID, &r.RequesterName,
		&r.TenantID, &r.CustomerName, &r.CustomerDomain,
		&r.TargetObjectID, &r.TargetUPN, &r.TargetDisplayName, &roles, &r.RoleNeeded,
		&r.Reason, &r.CorrelationID, timeCol{&r.CreatedAt}, timeCol{&r.ExpiresAt},
		&r.DeciderID, &r.DeciderName, timeCol{&r.DecidedAt}, timeCol{&r.UseBy}, timeCol{&r.ClaimedAt},
		&r.ResetCorrelationID, timeCol{&r.FinishedAt}, &r.Detail, &r.ApprovalChannel, &r.ApprovalTS,
		&r.TargetFacts, &recipes,
		&r.PolicyName, &r.Tier, &r.Ticket, &r.TicketURL, &r.ApprovalsRequired, &r.ApprovalsCount,
		timeCol{&r.RemindedAt}, timeCol{&r.EscalatedAt},
		&breakGlass, &r.ReviewedBy, &r.ReviewedByName, timeCol{&r.ReviewedAt}, timeCol{&r.ReviewRemindedAt})
	if err != nil {
		return Request{}, err
	}
	r.BreakGlass = breakGlass != 0
	if recipes != "" {
		if err := json.Unmarshal([]byte(recipes), &r.Recipes); err != nil {
			return Request{}, fmt.Errorf("approvals: request %s: bad recipes: %w", r.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(roles), &r.TargetRoles); err != nil {
		return Request{}, fmt.Errorf("approvals: request %s: bad target_roles: %w", r.ID, err)
	}
	if len(r.TargetRoles) == 0 {
		r.TargetRoles = nil
	}
	return r, nil
}

// Create records a new request in state pending, with a fresh ID and
// CreatedAt = now, and appends the audit row "requested" in the same
// transaction. Of r it reads the requester, customer, target, RoleNeeded,
// Reason, CorrelationID, ExpiresAt and (if already known) the approval
// message; everything else is set by the store.
func (s *Store) Create(ctx context.Context, r Request, owe ...Owe) (Request, error) {
	out, err := s.create(ctx, r, func(tx *sql.Tx, out *Request, _ time.Time) error {
		return s.oweTx(ctx, tx, *out, owe)
	})
	if err != nil {
		return Request{}, fmt.Errorf("approvals: create: %w", err)
	}
	return out, nil
}

// create inserts r as Create describes and, in the same transaction, runs
// then (if not nil) on the created request.
func (s *Store) create(ctx context.Context, r Request, then func(tx *sql.Tx, out *Request, now time.Time) error) (Request, error) {
	switch {
	case r.RequesterID == "":
		return Request{}, errors.New("RequesterID is required")
	case r.TenantID == "":
		return Request{}, errors.New("TenantID is required")
	case r.TargetObjectID == "":
		return Request{}, errors.New("TargetObjectID is required")
	case r.ExpiresAt.IsZero():
		return Request{}, errors.New("ExpiresAt is required")
	case r.ApprovalsRequired < 0:
		return Request{}, errors.New("ApprovalsRequired cannot be negative")
	}
	required := r.ApprovalsRequired
	if required == 0 {
		required = 1
	}
	roles := r.TargetRoles
	if roles == nil {
		roles = []string{}
	}
	rolesJSON, err := json.Marshal(roles)
	if err != nil {
		return Request{}, err
	}
	recipesJSON := ""
	if len(r.Recipes) > 0 {
		b, err := json.Marshal(r.Recipes)
		if err != nil {
			return Request{}, fmt.Errorf("approvals: create: %w", err)
		}
		recipesJSON = string(b)
	}
	now := s.clock()
	var out Request
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, s.d.q(`INSERT INTO requests (id, state, version,
			requester_id, requester_name, tenant_id, customer_name, customer_domain,
			target_object_id, target_upn, target_display_name, target_roles, role_needed,
			reason, correlation_id, created_at, expires_at, approval_channel, approval_ts,
			target_facts, recipes, policy_name, tier, ticket, ticket_url, approvals_required)
			VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING `+requestCols),
			newID(), string(StatePending), r.RequesterID, r.RequesterName, r.TenantID, r.CustomerName, r.CustomerDomain,
			r.TargetObjectID, r.TargetUPN, r.TargetDisplayName, string(rolesJSON), r.RoleNeeded,
			r.Reason, r.CorrelationID, s.d.t(now), s.d.t(r.ExpiresAt), r.ApprovalChannel, r.ApprovalTS,
			r.TargetFacts, recipesJSON, r.PolicyName, r.Tier, r.Ticket, r.TicketURL, required)
		var err error
		if out, err = scanRequest(row); err != nil {
			return err
		}
		if _, err = s.appendTx(ctx, tx, requestEvent(out, out.RequesterID, out.RequesterName, OutcomeRequested, requestedDetail(out))); err != nil {
			return err
		}
		if then != nil {
			return then(tx, &out, now)
		}
		return nil
	})
	if err != nil {
		return Request{}, err
	}
	return out, nil
}

// requestedDetail is the detail of the "requested" audit row: the reason,
// and the policy and ticket when there are any, so the trail shows under
// which rule a request was made and which ticket justified it.
func requestedDetail(r Request) string {
	d := r.Reason
	if r.PolicyName != "" {
		d = join(d, "policy "+r.PolicyName)
	}
	if r.ApprovalsRequired > 1 {
		d = join(d, fmt.Sprintf("%d approvals required", r.ApprovalsRequired))
	}
	if r.Ticket != "" {
		d = join(d, "ticket "+r.Ticket)
		if r.TicketURL != "" {
			d += " " + r.TicketURL
		}
	}
	return d
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + " · " + b
}

// Get returns the request with that ID, with its approvals, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Request, error) {
	r, err := getRequest(ctx, s.db, s.d, id)
	if err == nil {
		r.Approvals, err = approvalsOf(ctx, s.db, s.d, id)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Request{}, fmt.Errorf("approvals: get %s: %w", id, err)
	}
	return r, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getRequest(ctx context.Context, q querier, d dialect, id string) (Request, error) {
	r, err := scanRequest(q.QueryRowContext(ctx, d.q("SELECT "+requestCols+" FROM requests WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, ErrNotFound
	}
	return r, err
}

// SetApprovalMessage records where the approval message was posted, so later
// decisions can update it in place. It is not a transition and is not audited.
func (s *Store) SetApprovalMessage(ctx context.Context, id, channel, ts string) error {
	res, err := s.exec(ctx, `UPDATE requests
		SET approval_channel = ?, approval_ts = ?, version = version + 1 WHERE id = ?`, channel, ts, id)
	if err != nil {
		return fmt.Errorf("approvals: set approval message of %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("approvals: set approval message of %s: %w", id, err)
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// StaleResetting returns the requests still in resetting that were claimed
// more than staleAfter ago by the database's clock (see dialect.dbNow): a
// process stopped (kill -9, a crash) between claiming a reset and recording
// its outcome. Oldest claim first.
func (s *Store) StaleResetting(ctx context.Context, staleAfter time.Duration) ([]Request, error) {
	cutoff, cutoffArg := s.d.dbNowMinus(staleAfter)
	out, err := s.listRequests(ctx, `WHERE state = ? AND claimed_at < `+cutoff+` ORDER BY claimed_at, id`,
		string(StateResetting), cutoffArg)
	if err != nil {
		return nil, fmt.Errorf("approvals: stale resetting: %w", err)
	}
	return out, nil
}

func (s *Store) listRequests(ctx context.Context, where string, args ...any) ([]Request, error) {
	rows, err := s.db.QueryContext(ctx, s.d.q("SELECT "+requestCols+" FROM requests "+where), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CountByState returns how many requests are in each state; every state is
// present, with 0 when none, so a gauge can be set for each.
func (s *Store) CountByState(ctx context.Context) (map[State]int, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT state, COUNT(*) FROM requests GROUP BY state")
	if err != nil {
		return nil, fmt.Errorf("approvals: count by state: %w", err)
	}
	defer rows.Close()
	out := make(map[State]int, len(States))
	for _, st := range States {
		out[st] = 0
	}
	for rows.Next() {
		var st State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("approvals: count by state: %w", err)
		}
		out[st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("approvals: count by state: %w", err)
	}
	return out, nil
}
