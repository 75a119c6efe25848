package approvals

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file is the storage half of the Slack outbox (docs/outbox.md): the
// messages a state change owes are written in the transaction that makes the
// change, and a deliverer (commands) claims them one at a time, paced per
// channel, and records what happened. The store knows nothing of Slack; a
// message's payload is opaque JSON written and read by the deliverer.

// Message kinds. Rows of one kind and request share an order key with the
// channel, so a card's post precedes its updates and a requester's DMs arrive
// in the order the changes happened.
const (
	MessageCard    = "card"    // the approval card: posted once, then updated in place
	MessageDM      = "dm"      // a DM to a person (Channel is their user ID)
	MessageChannel = "channel" // a line in a channel (the audit channel)
	MessageThread  = "thread"  // a reply under the request's card
)

// Message is one Slack message owed because of a state change.
type Message struct {
	Kind    string
	Channel string // channel ID; the recipient's user ID for MessageDM
	// PaceKey is the allowance the message is sent under (default: the
	// channel, as Slack limits posting per channel).
	PaceKey string
	// RequestID is the request it is about ("" for a standalone audit line).
	RequestID string
	Payload   []byte // never a secret
	// AfterPrevious holds the message back until the one written before it in
	// the same batch is finished (the requester's DM that links to the card
	// waits for the card).
	AfterPrevious bool
}

// Outbox row states.
const (
	OutboxPending    = "pending"
	OutboxSending    = "sending"
	OutboxSent       = "sent"
	OutboxAbandoned  = "abandoned"
	OutboxSuperseded = "superseded" // a card write overtaken by a newer one for the same card
)

// Owe builds the messages a transition owes from the request as the
// transition left it. It runs inside the transaction, so it must not block
// (no network, no database): it renders.
type Owe func(r Request) []Message

// Announcer builds the messages every audit row owes (the audit channel's
// line). Set with SetAnnouncer; it runs inside the appending transaction.
type Announcer func(e Event) []Message

// SetAnnouncer makes every audit row appended from now on owe what a returns.
func (s *Store) SetAnnouncer(a Announcer) {
	s.announcer.Store(&a)
}

// SetExpiryOwe makes every expiry from now on owe what o returns (the card
// update and the requester's notice), whether the sweeper expires the
// request or a click finds it past its deadline.
func (s *Store) SetExpiryOwe(o Owe) {
	s.expiryOwe.Store(&o)
}

func (s *Store) expiryOweTx(ctx context.Context, tx *sql.Tx, r Request) error {
	o := s.expiryOwe.Load()
	if o == nil {
		return nil
	}
	return s.oweTx(ctx, tx, r, []Owe{*o})
}

func (s *Store) announceTx(ctx context.Context, tx *sql.Tx, e Event) error {
	a := s.announcer.Load()
	if a == nil || *a == nil {
		return nil
	}
	_, err := s.enqueueTx(ctx, tx, (*a)(e))
	return err
}

// oweTx writes what owe says r owes, inside tx.
func (s *Store) oweTx(ctx context.Context, tx *sql.Tx, r Request, owe []Owe) error {
	for _, o := range owe {
		if o == nil {
			continue
		}
		if _, err := s.enqueueTx(ctx, tx, o(r)); err != nil {
			return err
		}
	}
	return nil
}

// Enqueue records msgs as owed in a transaction of its own, for messages that
// follow no state change of their own (a note that a message was abandoned).
func (s *Store) Enqueue(ctx context.Context, msgs ...Message) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := s.enqueueTx(ctx, tx, msgs)
		return err
	})
	if err != nil {
		return fmt.Errorf("approvals: enqueue: %w", err)
	}
	return nil
}

func (s *Store) enqueueTx(ctx context.Context, tx *sql.Tx, msgs []Message) ([]int64, error) {
	ids := make([]int64, 0, len(msgs))
	var prev int64
	for _, m := range msgs {
		if m.Kind == "" || m.Channel == "" {
			continue // nothing to deliver (no audit channel configured, no card yet)
		}
		pace := m.PaceKey
		if pace == "" {
			pace = m.Channel
		}
		order := m.Kind + ":" + m.Channel
		if m.RequestID != "" {
			order = m.RequestID + ":" + order
		}
		if m.Kind == MessageCard && m.RequestID != "" {
			// Only the newest write of a card matters (it posts the card if
			// nobody has yet, or edits it): writes still waiting are dropped
			// now, so nothing queued behind them waits for them to be tried.
			if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE outbox SET state = 'superseded', finished_at = `+s.d.dbNow()+`
				WHERE request_id = ? AND kind = ? AND state = 'pending'`), m.RequestID, MessageCard); err != nil {
				return nil, fmt.Errorf("supersede card writes: %w", err)
			}
		}
		var after any
		if m.AfterPrevious && prev != 0 {
			after = prev
		}
		var id int64
		err := tx.QueryRowContext(ctx, s.d.q(`INSERT INTO outbox (kind, channel, pace_key, order_key, request_id, after_id, payload, created_at, next_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, `+s.d.dbNow()+`, `+s.d.dbNow()+`) RETURNING id`),
			m.Kind, m.Channel, pace, order, m.RequestID, after, string(m.Payload)).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("owe %s message: %w", m.Kind, err)
		}
		ids = append(ids, id)
		prev = id
	}
	return ids, nil
}

// Outgoing is an owed message as the deliverer sees it.
type Outgoing struct {
	ID        int64
	Kind      string
	Channel   string
	PaceKey   string
	RequestID string
	Payload   []byte
	// Attempts counts earlier claims: more than zero after a failure, or
	// after a claimer stopped mid-send (the message may have gone out).
	Attempts int
	// AfterResult is the result of the message this one waited for (the
	// card's permalink, for the DM that links to it); "" when none.
	AfterResult string
	// AfterState is that message's state ("" when none): a DM that links to
	// a card that was abandoned is abandoned too.
	AfterState string
	CreatedAt  time.Time
}

// Due lists up to limit messages that may be sent now: pending, due, with
// nothing earlier of the same order key unfinished, and not waiting for
// another message. Oldest first.
func (s *Store) Due(ctx context.Context, limit int) ([]Outgoing, error) {
	now := s.d.dbNow()
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT o.id, o.kind, o.channel, o.pace_key, o.request_id, o.payload, o.attempts,
			COALESCE((SELECT a.result FROM outbox a WHERE a.id = o.after_id), ''),
			COALESCE((SELECT a.state FROM outbox a WHERE a.id = o.after_id), ''), o.created_at
		FROM outbox o
		WHERE o.state = 'pending' AND o.next_at <= `+now+`
		AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.order_key = o.order_key AND p.id < o.id AND p.state IN ('pending', 'sending'))
		AND (o.after_id IS NULL OR NOT EXISTS (SELECT 1 FROM outbox a WHERE a.id = o.after_id AND a.state IN ('pending', 'sending')))
		ORDER BY o.id LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("approvals: due messages: %w", err)
	}
	defer rows.Close()
	var out []Outgoing
	for rows.Next() {
		var m Outgoing
		var payload string
		if err := rows.Scan(&m.ID, &m.Kind, &m.Channel, &m.PaceKey, &m.RequestID, &payload, &m.Attempts, &m.AfterResult, &m.AfterState, timeCol{&m.CreatedAt}); err != nil {
			return nil, fmt.Errorf("approvals: due messages: %w", err)
		}
		m.Payload = []byte(payload)
		out = append(out, m)
	}
	return out, rows.Err()
}

// NextDue is how long until the next message waiting for its time (a retry
// after a failure or a Retry-After) becomes due, or ok false when none is
// waiting for a time. Messages already due are not counted, even when they
// are held behind another message or a paced channel: the deliverer learns
// when those may go from the message they wait for, or from the pace, and a
// deliverer sleeping on "due now" for them would spin.
func (s *Store) NextDue(ctx context.Context) (wait time.Duration, ok bool, err error) {
	var next, now time.Time
	err = s.db.QueryRowContext(ctx, `SELECT MIN(next_at), `+s.d.dbNow()+` FROM outbox WHERE state = 'pending' AND next_at > `+s.d.dbNow()).Scan(timeCol{&next}, timeCol{&now})
	if err != nil {
		return 0, false, fmt.Errorf("approvals: next due message: %w", err)
	}
	if next.IsZero() {
		return 0, false, nil
	}
	return max(next.Sub(now), 0), true, nil
}

// Pace is an allowance: a message every Interval, with up to Burst sent
// back to back. Interval zero means no pacing (Retry-After still applies).
type Pace struct {
	Interval time.Duration
	Burst    int
}

// Claim result.
type ClaimResult int

const (
	Claimed    ClaimResult = iota // the caller sends it now, and then reports
	Paced                         // the allowance is spent: try after Wait
	Taken                         // another replica claimed it, or it was finished
	Superseded                    // a newer write of the same card replaces it
)

// Claim takes message id for claimer if its pace allows, in one transaction
// with the allowance, so replicas sharing the database share each channel's
// allowance and a message is sent by one of them. wait is set for Paced.
func (s *Store) Claim(ctx context.Context, id int64, claimer string, pace Pace) (res ClaimResult, wait time.Duration, err error) {
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		var kind, paceKey, requestID, state string
		var now time.Time
		err := tx.QueryRowContext(ctx, s.d.q(`SELECT kind, pace_key, request_id, state, `+s.d.dbNow()+` FROM outbox WHERE id = ?`), id).
			Scan(&kind, &paceKey, &requestID, &state, timeCol{&now})
		if errors.Is(err, sql.ErrNoRows) || (err == nil && state != OutboxPending) {
			res = Taken
			return nil
		}
		if err != nil {
			return err
		}
		if kind == MessageCard && requestID != "" {
			// Only the newest write of a card matters: it posts the card if
			// nobody has yet, or edits it. Skipping the older ones is what
			// keeps a burst of changes from costing a message each.
			var newer int
			if err := tx.QueryRowContext(ctx, s.d.q(`SELECT COUNT(*) FROM outbox WHERE request_id = ? AND kind = ? AND id > ? AND state = 'pending'`),
				requestID, MessageCard, id).Scan(&newer); err != nil {
				return err
			}
			if newer > 0 {
				_, err := tx.ExecContext(ctx, s.d.q(`UPDATE outbox SET state = 'superseded', finished_at = `+s.d.dbNow()+` WHERE id = ? AND state = 'pending'`), id)
				res = Superseded
				return err
			}
		}
		{
			// With no interval this still honours a Retry-After pause (Retry
			// moves tat forward).
			var tat time.Time
			err := tx.QueryRowContext(ctx, s.d.q(`SELECT tat FROM outbox_pace WHERE pace_key = ?`), paceKey).Scan(timeCol{&tat})
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			// tat is when the allowance would be whole again had every
			// message so far been sent one interval apart; a message may go
			// while that lies less than burst-1 intervals ahead (burst 1:
			// only once tat has passed).
			tolerance := time.Duration(max(pace.Burst, 1)-1) * pace.Interval
			if !tat.IsZero() {
				if earliest := tat.Add(-tolerance); earliest.After(now) {
					res, wait = Paced, earliest.Sub(now)
					return nil
				}
			}
			newTat := now.Add(pace.Interval)
			if tat.After(now) {
				newTat = tat.Add(pace.Interval)
			}
			if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO outbox_pace (pace_key, tat) VALUES (?, ?)
				ON CONFLICT (pace_key) DO UPDATE SET tat = excluded.tat`), paceKey, s.d.t(newTat)); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, s.d.q(`UPDATE outbox SET state = 'sending', claimed_by = ?, claimed_at = `+s.d.dbNow()+`, attempts = attempts + 1
			WHERE id = ? AND state = 'pending'`), claimer, id)
		res = Claimed
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("approvals: claim message %d: %w", id, err)
	}
	return res, wait, nil
}

// Sent records that message id went out; result is kept for messages that
// wait on it (a card's permalink). When the message is a request's card and
// channel and ts are set, they are recorded as where the card is, in the same
// transaction.
func (s *Store) Sent(ctx context.Context, id int64, result, channel, ts string) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var requestID, kind string
		err := tx.QueryRowContext(ctx, s.d.q(`UPDATE outbox SET state = 'sent', finished_at = `+s.d.dbNow()+`, result = ?, last_error = ''
			WHERE id = ? AND state = 'sending' RETURNING request_id, kind`), result, id).Scan(&requestID, &kind)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // reclaimed meanwhile after a long stall; the other claimer reports
		}
		if err != nil {
			return err
		}
		if kind == MessageCard && requestID != "" && ts != "" {
			_, err = tx.ExecContext(ctx, s.d.q(`UPDATE requests SET approval_channel = ?, approval_ts = ? WHERE id = ? AND approval_ts = ''`),
				channel, ts, requestID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("approvals: message %d sent: %w", id, err)
	}
	return nil
}

// Retry puts message id back to wait at least after, noting why. When
// retryAfter is set (Slack answered 429), the message's allowance is paused
// that long for every message waiting on it, on every replica.
func (s *Store) Retry(ctx context.Context, id int64, after time.Duration, why string, retryAfter time.Duration, pace Pace) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var paceKey string
		err := tx.QueryRowContext(ctx, s.d.q(`SELECT pace_key FROM outbox WHERE id = ?`), id).Scan(&paceKey)
		if err != nil {
			return err
		}
		nextExpr, nextArg := s.d.dbNowMinus(-after)
		if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE outbox SET state = 'pending', next_at = `+nextExpr+`, last_error = ?
			WHERE id = ? AND state = 'sending'`), nextArg, clip(why, 500), id); err != nil {
			return err
		}
		if retryAfter <= 0 {
			return nil
		}
		// Nothing more may go until retryAfter has passed; then the
		// allowance starts afresh (a full burst would be refused again, so
		// one message at a time until the bucket refills).
		var now time.Time
		if err := tx.QueryRowContext(ctx, "SELECT "+s.d.dbNow()).Scan(timeCol{&now}); err != nil {
			return err
		}
		tat := now.Add(retryAfter + time.Duration(max(pace.Burst, 1)-1)*pace.Interval)
		_, err = tx.ExecContext(ctx, s.d.q(`INSERT INTO outbox_pace (pace_key, tat) VALUES (?, ?)
			ON CONFLICT (pace_key) DO UPDATE SET tat = CASE WHEN outbox_pace.tat > excluded.tat THEN outbox_pace.tat ELSE excluded.tat END`),
			paceKey, s.d.t(tat))
		return err
	})
	if err != nil {
		return fmt.Errorf("approvals: retry message %d: %w", id, err)
	}
	return nil
}

// Abandon gives message id up for good (it no longer means anything, or
// Slack refuses it for good), and records what that owes (a note to the
// requester) in the same transaction.
func (s *Store) Abandon(ctx context.Context, id int64, why string, then ...Message) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.d.q(`UPDATE outbox SET state = 'abandoned', finished_at = `+s.d.dbNow()+`, last_error = ?
			WHERE id = ? AND state IN ('pending', 'sending')`), clip(why, 500), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = s.enqueueTx(ctx, tx, then)
		return err
	})
	if err != nil {
		return fmt.Errorf("approvals: abandon message %d: %w", id, err)
	}
	return nil
}

// Reclaim returns to pending every message claimed longer ago than lease (by
// the database's clock) and never reported: its claimer stopped mid-send.
// The message may have gone out; its next claim sees Attempts > 0.
func (s *Store) Reclaim(ctx context.Context, lease time.Duration) (int, error) {
	cutoff, arg := s.d.dbNowMinus(lease)
	res, err := s.exec(ctx, `UPDATE outbox SET state = 'pending', next_at = `+s.d.dbNow()+`, last_error = 'claimer stopped mid-send'
		WHERE state = 'sending' AND claimed_at < `+cutoff, arg)
	if err != nil {
		return 0, fmt.Errorf("approvals: reclaim messages: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// PruneOutbox removes finished messages older than age.
func (s *Store) PruneOutbox(ctx context.Context, age time.Duration) error {
	cutoff, arg := s.d.dbNowMinus(age)
	_, err := s.exec(ctx, `DELETE FROM outbox WHERE state IN ('sent', 'abandoned', 'superseded') AND finished_at < `+cutoff, arg)
	if err != nil {
		return fmt.Errorf("approvals: prune outbox: %w", err)
	}
	return nil
}

// QueueStat is how many messages wait for one channel, and how long the
// oldest has waited.
type QueueStat struct {
	Channel string
	Depth   int
	Oldest  time.Duration
}

// Queued lists the channels with unsent messages (pending or being sent).
func (s *Store) Queued(ctx context.Context) ([]QueueStat, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT pace_key, COUNT(*), MIN(created_at), `+s.d.dbNow()+` FROM outbox
		WHERE state IN ('pending', 'sending') GROUP BY pace_key ORDER BY pace_key`)
	if err != nil {
		return nil, fmt.Errorf("approvals: queued messages: %w", err)
	}
	defer rows.Close()
	var out []QueueStat
	for rows.Next() {
		var q QueueStat
		var oldest, now time.Time
		if err := rows.Scan(&q.Channel, &q.Depth, timeCol{&oldest}, timeCol{&now}); err != nil {
			return nil, fmt.Errorf("approvals: queued messages: %w", err)
		}
		q.Oldest = max(now.Sub(oldest), 0)
		out = append(out, q)
	}
	return out, rows.Err()
}

// QueuedFor is how many messages wait to be sent under paceKey.
func (s *Store) QueuedFor(ctx context.Context, paceKey string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.d.q(`SELECT COUNT(*) FROM outbox WHERE pace_key = ? AND state IN ('pending', 'sending')`), paceKey).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("approvals: queued messages: %w", err)
	}
	return n, nil
}

// MessageState is where a request's message of kind stands: the state of the
// newest such row, and its last error. ok is false when there is none.
func (s *Store) MessageState(ctx context.Context, requestID, kind string) (state, lastError string, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, s.d.q(`SELECT state, last_error FROM outbox WHERE request_id = ? AND kind = ? ORDER BY id DESC LIMIT 1`),
		requestID, kind).Scan(&state, &lastError)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("approvals: message state: %w", err)
	}
	return state, lastError, true, nil
}

// CardPermalink is the permalink recorded when requestID's card was posted,
// or "" when it was not (or Slack gave none).
func (s *Store) CardPermalink(ctx context.Context, requestID string) string {
	var link string
	err := s.db.QueryRowContext(ctx, s.d.q(`SELECT result FROM outbox WHERE request_id = ? AND kind = ? AND state = 'sent' AND result <> ''
		ORDER BY id LIMIT 1`), requestID, MessageCard).Scan(&link)
	if err != nil {
		return ""
	}
	return link
}

// clip bounds a stored error text to n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
