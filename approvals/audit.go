package approvals

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
)

// Outcome is what an audit row records. The same text appears in logs and in
// `locksmith audit export`.
type Outcome string

const (
	OutcomeRequested        Outcome = "requested"         // a request was recorded (pending)
	OutcomeRefused          Outcome = "refused"           // locksmith refused (no grant, role too weak, …)
	OutcomeChecked          Outcome = "checked"           // a dry run (/reset-password check) was answered; nothing changed
	OutcomeApprovalRecorded Outcome = "approval_recorded" // one of several approvals needed; still pending
	OutcomeApproved         Outcome = "approved"          // pending → approved
	OutcomeDenied           Outcome = "denied"            // pending → denied
	OutcomeCancelled        Outcome = "cancelled"         // pending → cancelled by the requester
	OutcomeExpired          Outcome = "expired"           // pending or approved → expired
	OutcomeReminded         Outcome = "reminded"          // the approvers of a pending request were reminded
	OutcomeBreakGlass       Outcome = "break_glass"       // a reset without approval, by someone on the break-glass list
	OutcomeReviewReminded   Outcome = "review_reminded"   // reviewers of a break-glass reset were reminded
	OutcomeReviewed         Outcome = "reviewed"          // someone else acknowledged a break-glass reset
	OutcomeEscalated        Outcome = "escalated"         // a pending request was escalated to more people
	OutcomeResetIntent      Outcome = "reset_intent"      // about to call Partner Center (written before the call)
	OutcomeResetDone        Outcome = "reset_done"        // Partner Center reset the password
	OutcomeResetFailed      Outcome = "reset_failed"      // the reset failed for good
	OutcomeResetReleased    Outcome = "reset_released"    // transient failure: back to approved
	OutcomeResetUnknown     Outcome = "reset_unknown"     // locksmith stopped mid-reset; outcome unknown
	OutcomeDeliveryFailed   Outcome = "delivery_failed"   // reset done, but the password could not be shown
	// OutcomeRequesterUnreachable: approved, but the DM with the Reset button
	// could not be delivered while the approval was usable.
	OutcomeRequesterUnreachable Outcome = "requester_unreachable"
)

// Event is one row of the audit trail. It never holds a secret.
type Event struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`

	ActorID   string `json:"actor_id"`   // Slack user ID, or "locksmith"
	ActorName string `json:"actor_name"` // Slack handle, or "locksmith"

	TenantID       string `json:"tenant_id"`
	CustomerDomain string `json:"customer_domain"`
	TargetObjectID string `json:"target_object_id"`
	TargetUPN      string `json:"target_upn"`

	RequestID     string `json:"request_id,omitempty"` // empty for standalone rows (refusals, resets without sign-off)
	CorrelationID string `json:"correlation_id"`

	Outcome Outcome `json:"outcome"`
	Detail  string  `json:"detail,omitempty"`

	// PrevHash is the previous row's Hash (64 zeros for the first row); Hash
	// is hex SHA-256 over this row's fields and PrevHash (see eventHash).
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// GenesisHash is the PrevHash of the first row.
var GenesisHash = strings.Repeat("0", 64)

// eventHash is SHA-256 over a canonical encoding of the row: a format tag and
// every field in a fixed order (Seq in decimal, Time as RFC 3339 with
// nanoseconds in UTC), each preceded by its length as 8 big-endian bytes so no
// two different rows encode the same, ending with PrevHash. Including Seq
// makes moving a row detectable; including PrevHash chains the rows.
func eventHash(e Event) string {
	h := sha256.New()
	for _, f := range []string{
		"locksmith-audit-v1",
		strconv.FormatInt(e.Seq, 10),
		e.Time.UTC().Format(time.RFC3339Nano),
		e.ActorID, e.ActorName,
		e.TenantID, e.CustomerDomain,
		e.TargetObjectID, e.TargetUPN,
		e.RequestID, e.CorrelationID,
		string(e.Outcome), e.Detail,
		e.PrevHash,
	} {
		writeField(h, f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeField(h hash.Hash, f string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(f)))
	h.Write(n[:])
	h.Write([]byte(f))
}

const eventCols = `seq, at, actor_id, actor_name, tenant_id, customer_domain,
	target_object_id, target_upn, request_id, correlation_id, outcome, detail, prev_hash, hash`

func scanEvent(row scanner) (Event, error) {
	var e Event
	err := row.Scan(&e.Seq, timeCol{&e.Time}, &e.ActorID, &e.ActorName, &e.TenantID, &e.CustomerDomain,
		&e.TargetObjectID, &e.TargetUPN, &e.RequestID, &e.CorrelationID, &e.Outcome, &e.Detail,
		&e.PrevHash, &e.Hash)
	return e, err
}

// Append adds a standalone row to the audit trail: a refusal, a reset done
// without sign-off, a password that could not be delivered. Seq, Time,
// PrevHash and Hash are set by the store; the rest is taken from e. (State
// changes append their own rows, inside their own transactions.)
//
// owed are Slack messages the row owes besides its audit-channel line (a
// recipe's notice to the requester): they are written in the row's
// transaction, so there is either both or neither.
func (s *Store) Append(ctx context.Context, e Event, owed ...Message) (Event, error) {
	if e.Outcome == "" {
		return Event{}, errors.New("approvals: append audit event: Outcome is required")
	}
	var out Event
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		if out, err = s.appendTx(ctx, tx, e); err != nil {
			return err
		}
		_, err = s.enqueueTx(ctx, tx, owed)
		return err
	})
	if err != nil {
		return Event{}, fmt.Errorf("approvals: append audit event: %w", err)
	}
	return out, nil
}

// appendTx extends the chain inside tx, which writeTx opened holding the
// append lock: it reads the last (seq, hash) and inserts seq+1. Were two
// appends ever to race anyway, the primary key on seq rejects the second.
func (s *Store) appendTx(ctx context.Context, tx *sql.Tx, e Event) (Event, error) {
	e.Seq, e.PrevHash = 0, GenesisHash
	err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").Scan(&e.Seq, &e.PrevHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Event{}, fmt.Errorf("read audit head: %w", err)
	}
	e.Seq++
	e.Time = s.clock()
	e.Hash = eventHash(e)
	_, err = tx.ExecContext(ctx, s.d.q(`INSERT INTO audit_events (`+eventCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		e.Seq, s.d.t(e.Time), e.ActorID, e.ActorName, e.TenantID, e.CustomerDomain,
		e.TargetObjectID, e.TargetUPN, e.RequestID, e.CorrelationID, string(e.Outcome), e.Detail,
		e.PrevHash, e.Hash)
	if err != nil {
		return Event{}, fmt.Errorf("append audit row %d: %w", e.Seq, err)
	}
	if err := s.announceTx(ctx, tx, e); err != nil {
		return Event{}, err
	}
	return e, nil
}

// EventFilter selects audit rows. The zero value selects all.
type EventFilter struct {
	Since     time.Time // rows at or after this time
	Customer  string    // a tenant ID or a customer domain (any case)
	RequestID string    // rows about one request
}

// Events calls fn for each audit row the filter selects, in Seq order,
// streaming (for `locksmith audit export`). An error from fn stops the walk
// and is returned.
func (s *Store) Events(ctx context.Context, f EventFilter, fn func(Event) error) error {
	query := "SELECT " + eventCols + " FROM audit_events"
	var conds []string
	var args []any
	if !f.Since.IsZero() {
		conds = append(conds, "at >= ?")
		args = append(args, s.d.t(f.Since))
	}
	if f.Customer != "" {
		conds = append(conds, "(tenant_id = ? OR LOWER(customer_domain) = LOWER(?))")
		args = append(args, f.Customer, f.Customer)
	}
	if f.RequestID != "" {
		conds = append(conds, "request_id = ?")
		args = append(args, f.RequestID)
	}
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	query += " ORDER BY seq"
	rows, err := s.db.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return fmt.Errorf("approvals: audit events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return fmt.Errorf("approvals: audit events: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("approvals: audit events: %w", err)
	}
	return nil
}

// VerifyReport is the result of checking the audit chain.
type VerifyReport struct {
	Rows    int    // rows read
	OK      bool   // every row checked out
	BadSeq  int64  // the first row that does not (0 when OK)
	Problem string // what is wrong with it
	// LastSeq and LastHash are the head of the chain. A hash chain without a
	// secret cannot notice its newest rows being removed, or every row from
	// some point being rewritten: record the head elsewhere (the audit
	// channel, a ticket) and compare it later.
	LastSeq  int64
	LastHash string
}

// Verify walks the whole audit trail in Seq order and checks that Seq counts
// up from 1 without gaps, that each row's PrevHash is the previous row's Hash,
// and that each row's Hash matches its contents. It names the first row that
// fails: an edited row fails its own hash; a deleted row leaves a gap (or a
// broken link) at the row after it; a moved, swapped or inserted row breaks
// the link where it landed. err is only for failing to read the trail.
func (s *Store) Verify(ctx context.Context) (VerifyReport, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+eventCols+" FROM audit_events ORDER BY seq")
	if err != nil {
		return VerifyReport{}, fmt.Errorf("approvals: verify audit: %w", err)
	}
	defer rows.Close()
	rep := VerifyReport{OK: true}
	prevSeq, prevHash := int64(0), GenesisHash
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return VerifyReport{}, fmt.Errorf("approvals: verify audit: %w", err)
		}
		rep.Rows++
		if rep.OK {
			if problem := checkEvent(e, prevSeq, prevHash); problem != "" {
				rep.OK, rep.BadSeq, rep.Problem = false, e.Seq, problem
			}
		}
		prevSeq, prevHash = e.Seq, e.Hash
	}
	if err := rows.Err(); err != nil {
		return VerifyReport{}, fmt.Errorf("approvals: verify audit: %w", err)
	}
	rep.LastSeq, rep.LastHash = prevSeq, prevHash
	return rep, nil
}

// checkEvent says what is wrong with e, given the row before it ("" if nothing).
func checkEvent(e Event, prevSeq int64, prevHash string) string {
	switch {
	case e.Seq != prevSeq+1:
		return fmt.Sprintf("seq %d follows seq %d: rows are missing", e.Seq, prevSeq)
	case e.PrevHash != prevHash:
		if prevSeq == 0 {
			return "prev_hash of the first row is not the genesis hash: rows before it are missing"
		}
		return fmt.Sprintf("prev_hash does not match the hash of seq %d: a row was removed, inserted or moved here", prevSeq)
	case eventHash(e) != e.Hash:
		return "hash does not match the row's contents: the row was edited"
	}
	return ""
}
