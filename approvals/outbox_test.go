package approvals

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/internal/dbtest"
)

const (
	auditChannel = "C0AUDIT"
	cardChannel  = "C0APPROVALS"
)

// paceInterval is the allowance the pacing tests use: long enough that no
// pause of a loaded machine between two calls lets it pass, so "back to back"
// is certain without measuring anything. Time passing is simulated by moving
// the allowance's tat back (rewindPace).
const paceInterval = 2 * time.Second

// outboxRow is an outbox row as the tests inspect it.
type outboxRow struct {
	ID        int64
	Kind      string
	Channel   string
	PaceKey   string
	RequestID string
	Payload   string
	State     string
	Attempts  int
	Result    string
}

// outboxRows reads every outbox row, in id order.
func outboxRows(t testing.TB, s *Store) []outboxRow {
	t.Helper()
	rows, err := s.db.QueryContext(context.Background(),
		`SELECT id, kind, channel, pace_key, request_id, payload, state, attempts, result FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.ID, &r.Kind, &r.Channel, &r.PaceKey, &r.RequestID, &r.Payload, &r.State, &r.Attempts, &r.Result); err != nil {
			t.Fatalf("read outbox: %v", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	return out
}

func payloads(rows []outboxRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Payload
	}
	return out
}

func outboxRow1(t testing.TB, s *Store, id int64) outboxRow {
	t.Helper()
	for _, r := range outboxRows(t, s) {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no outbox row %d", id)
	return outboxRow{}
}

// owe returns an Owe that owes one message of kind to channel per payload,
// the request's ID and state appended to each payload.
func owe(kind, channel string, payloads ...string) Owe {
	return func(r Request) []Message {
		var out []Message
		for _, p := range payloads {
			out = append(out, Message{Kind: kind, Channel: channel, RequestID: r.ID, Payload: []byte(p + " " + string(r.State))})
		}
		return out
	}
}

// enqueue records msgs and returns their ids, in order.
func enqueue(t testing.TB, s *Store, msgs ...Message) []int64 {
	t.Helper()
	before := outboxRows(t, s)
	if err := s.Enqueue(context.Background(), msgs...); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	after := outboxRows(t, s)
	var ids []int64
	for _, r := range after[len(before):] {
		ids = append(ids, r.ID)
	}
	if len(ids) != len(msgs) {
		t.Fatalf("Enqueue wrote %d rows for %d messages", len(ids), len(msgs))
	}
	return ids
}

func dueIDs(t testing.TB, s *Store) []int64 {
	t.Helper()
	due, err := s.Due(context.Background(), 100)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	ids := []int64{}
	for _, m := range due {
		ids = append(ids, m.ID)
	}
	return ids
}

func wantDue(t testing.TB, s *Store, want ...int64) {
	t.Helper()
	if want == nil {
		want = []int64{}
	}
	if got := dueIDs(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("Due = %v, want %v", got, want)
	}
}

func claim(t testing.TB, s *Store, id int64, pace Pace) (ClaimResult, time.Duration) {
	t.Helper()
	res, wait, err := s.Claim(context.Background(), id, "replica-1", pace)
	if err != nil {
		t.Fatalf("Claim %d: %v", id, err)
	}
	return res, wait
}

func mustClaimMsg(t testing.TB, s *Store, id int64) {
	t.Helper()
	if res, wait := claim(t, s, id, Pace{}); res != Claimed {
		t.Fatalf("Claim %d = %v (wait %v), want Claimed", id, res, wait)
	}
}

func mustSent(t testing.TB, s *Store, id int64, result string) {
	t.Helper()
	if err := s.Sent(context.Background(), id, result, "", ""); err != nil {
		t.Fatalf("Sent %d: %v", id, err)
	}
}

// rewindPace moves pace key's tat back by d, as if d had passed since the
// allowance was last taken: the database's clock cannot be advanced.
func rewindPace(t testing.TB, s *Store, key string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	var tat time.Time
	if err := s.db.QueryRowContext(ctx, s.d.q(`SELECT tat FROM outbox_pace WHERE pace_key = ?`), key).Scan(timeCol{&tat}); err != nil {
		t.Fatalf("read tat of %s: %v", key, err)
	}
	if _, err := s.db.ExecContext(ctx, s.d.q(`UPDATE outbox_pace SET tat = ? WHERE pace_key = ?`), s.d.t(tat.Add(-d)), key); err != nil {
		t.Fatalf("rewind tat of %s: %v", key, err)
	}
}

// backdateOutbox moves a message's column (claimed_at, finished_at) age into
// the past by the database's clock.
func backdateOutbox(t testing.TB, s *Store, id int64, col string, age time.Duration) {
	t.Helper()
	expr, arg := s.d.dbNowMinus(age)
	if _, err := s.db.ExecContext(context.Background(), s.d.q("UPDATE outbox SET "+col+" = "+expr+" WHERE id = ?"), arg, id); err != nil {
		t.Fatalf("backdate %s of message %d: %v", col, id, err)
	}
}

func auditCount(t testing.TB, s *Store) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_events`).Scan(&n); err != nil {
		t.Fatalf("count audit rows: %v", err)
	}
	return n
}

// poisonOutbox makes the database refuse any outbox row whose payload is
// "poison".
func poisonOutbox(t testing.TB, s *Store) {
	t.Helper()
	stmts := []string{`CREATE TRIGGER outbox_poison BEFORE INSERT ON outbox WHEN NEW.payload = 'poison'
		BEGIN SELECT RAISE(ABORT, 'poison'); END`}
	if s.d.postgres() {
		stmts = []string{
			`CREATE FUNCTION outbox_poison() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.payload = 'poison' THEN RAISE EXCEPTION 'poison'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER outbox_poison BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_poison()`,
		}
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("poison the outbox: %v", err)
		}
	}
}

func TestOutbox_OweIsWrittenWithTheChange(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()

		r, err := s.Create(ctx, newRequest(c), owe(MessageCard, cardChannel, "card"))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if _, err := s.Approve(ctx, r.ID, bob, "bob", c.Now().Add(time.Hour),
			owe(MessageCard, cardChannel, "card"), owe(MessageDM, alice, "dm")); err != nil {
			t.Fatalf("Approve: %v", err)
		}
		rows := outboxRows(t, s)
		if got, want := payloads(rows), []string{"card pending", "card approved", "dm approved"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("payloads = %q, want %q", got, want)
		}
		for i, row := range rows {
			// The card written at Create was still waiting when Approve wrote
			// the card's new state: only the newest write of a card is kept.
			want := OutboxPending
			if i == 0 {
				want = OutboxSuperseded
			}
			if row.RequestID != r.ID || row.State != want || row.PaceKey != row.Channel {
				t.Errorf("row = %+v, want %s, about %s, paced by its channel", row, want, r.ID)
			}
		}
	})
}

func TestOutbox_RefusedTransitionOwesNothing(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		r := mustCreate(t, s, c)
		useBy := c.Now().Add(time.Hour)
		s.SetAnnouncer(func(e Event) []Message {
			return []Message{{Kind: MessageChannel, Channel: auditChannel, Payload: []byte(e.Outcome)}}
		})
		o := owe(MessageDM, alice, "should not be written")

		if _, err := s.Approve(ctx, r.ID, alice, "alice", useBy, o); !errors.Is(err, ErrSelfDecision) {
			t.Fatalf("self-approval: %v, want ErrSelfDecision", err)
		}
		if _, err := s.Deny(ctx, r.ID, alice, "alice", "", o); !errors.Is(err, ErrSelfDecision) {
			t.Fatalf("self-denial: %v, want ErrSelfDecision", err)
		}
		if _, err := s.Cancel(ctx, r.ID, bob, o); !errors.Is(err, ErrNotRequester) {
			t.Fatalf("cancel by another: %v, want ErrNotRequester", err)
		}
		mustApprove(t, s, c, r.ID)
		before := len(outboxRows(t, s)) // the announcement of the approval
		_, err := s.Deny(ctx, r.ID, carol, "carol", "", o)
		wantConflict(t, err, StateApproved)
		_, err = s.Approve(ctx, r.ID, carol, "carol", useBy, o)
		wantConflict(t, err, StateApproved)
		if _, err := s.FinishReset(ctx, r.ID, StateDone, "", o); err == nil {
			t.Fatal("FinishReset of an approved request succeeded")
		}
		if rows := outboxRows(t, s); len(rows) != before || before != 1 {
			t.Fatalf("outbox after refused transitions = %+v, want only the approval's announcement", rows)
		}
	})
}

// A transition whose messages cannot be written does not happen: neither the
// change nor its audit row nor any message remains.
func TestOutbox_FailedOweUndoesTheChange(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		r := mustCreate(t, s, c)
		s.SetAnnouncer(func(e Event) []Message {
			return []Message{{Kind: MessageChannel, Channel: auditChannel, Payload: []byte(e.Outcome)}}
		})
		audits := auditCount(t, s)

		// The first message is written, then the context ends before the
		// second: both must go with the change.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		failing := func(r Request) []Message {
			return []Message{{Kind: MessageCard, Channel: cardChannel, RequestID: r.ID, Payload: []byte("card")}}
		}
		cancelling := func(r Request) []Message {
			cancel()
			return []Message{{Kind: MessageDM, Channel: alice, RequestID: r.ID, Payload: []byte("dm")}}
		}
		if _, err := s.Approve(ctx, r.ID, bob, "bob", c.Now().Add(time.Hour), failing, cancelling); err == nil {
			t.Fatal("Approve succeeded though its messages could not be written")
		}
		wantState(t, s, r.ID, StatePending)
		if rows := outboxRows(t, s); len(rows) != 0 {
			t.Fatalf("outbox = %+v, want empty", rows)
		}
		if n := auditCount(t, s); n != audits {
			t.Fatalf("audit rows = %d, want %d", n, audits)
		}

		// A message the database refuses (a trigger stands for any refusal
		// that leaves the transaction usable, as a constraint does on
		// SQLite) fails the transition just the same.
		poisonOutbox(t, s)
		poisoned := func(r Request) []Message {
			return []Message{{Kind: MessageDM, Channel: alice, RequestID: r.ID, Payload: []byte("poison")}}
		}
		if _, err := s.Approve(context.Background(), r.ID, bob, "bob", c.Now().Add(time.Hour), failing, poisoned); err == nil {
			t.Fatal("Approve succeeded though a message was refused")
		}
		wantState(t, s, r.ID, StatePending)
		if rows := outboxRows(t, s); len(rows) != 0 {
			t.Fatalf("outbox = %+v, want empty", rows)
		}
		s.SetAnnouncer(func(e Event) []Message {
			return []Message{{Kind: MessageChannel, Channel: auditChannel, Payload: []byte("poison")}}
		})
		if _, err := s.Append(context.Background(), Event{ActorID: alice, Outcome: OutcomeRefused}); err == nil {
			t.Fatal("Append succeeded though its announcement was refused")
		}
		if n := auditCount(t, s); n != audits {
			t.Fatalf("audit rows = %d, want %d", n, audits)
		}

		// A failing announcement undoes a standalone audit row the same way.
		ctx2, cancel2 := context.WithCancel(context.Background())
		defer cancel2()
		s.SetAnnouncer(func(e Event) []Message {
			cancel2()
			return []Message{{Kind: MessageChannel, Channel: auditChannel, Payload: []byte(e.Outcome)}}
		})
		if _, err := s.Append(ctx2, Event{ActorID: alice, Outcome: OutcomeRefused}); err == nil {
			t.Fatal("Append succeeded though its announcement could not be written")
		}
		if n := auditCount(t, s); n != audits {
			t.Fatalf("audit rows = %d, want %d", n, audits)
		}
		wantVerified(t, s)
	})
}

// A standalone row's own messages (a recipe's notice) go with the row: both
// or neither.
func TestOutbox_AppendOwesWithTheRow(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		s.SetAnnouncer(func(e Event) []Message {
			return []Message{{Kind: MessageChannel, Channel: auditChannel, Payload: []byte(e.Outcome)}}
		})
		notice := Message{Kind: MessageDM, Channel: alice, RequestID: "r1", Payload: []byte("sessions revoked")}
		if _, err := s.Append(ctx, Event{ActorID: alice, RequestID: "r1", Outcome: OutcomeSessionsRevoked}, notice); err != nil {
			t.Fatalf("Append: %v", err)
		}
		rows := outboxRows(t, s)
		if got, want := payloads(rows), []string{string(OutcomeSessionsRevoked), "sessions revoked"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("outbox = %q, want %q", got, want)
		}
		if rows[1].Kind != MessageDM || rows[1].Channel != alice || rows[1].RequestID != "r1" {
			t.Fatalf("notice row = %+v", rows[1])
		}
		audits := auditCount(t, s)

		poisonOutbox(t, s)
		poisoned := Message{Kind: MessageDM, Channel: alice, RequestID: "r1", Payload: []byte("poison")}
		if _, err := s.Append(ctx, Event{ActorID: alice, RequestID: "r1", Outcome: OutcomeAccountEnabled}, poisoned); err == nil {
			t.Fatal("Append succeeded though its notice was refused")
		}
		if n := auditCount(t, s); n != audits {
			t.Fatalf("audit rows = %d, want %d", n, audits)
		}
		if n := len(outboxRows(t, s)); n != 2 {
			t.Fatalf("outbox rows = %d, want still 2 (no announcement of a row that was undone)", n)
		}
		wantVerified(t, s)
	})
}

// A reminder in the card's thread is owed with its claim: a claim whose
// message cannot be written is undone, so the next sweep claims it again
// instead of it being lost.
func TestOutbox_RemindersOwedWithTheirClaims(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		poisonOutbox(t, s)
		poisoned := func(r Request) []Message {
			return []Message{{Kind: MessageThread, Channel: cardChannel, RequestID: r.ID, Payload: []byte("poison")}}
		}

		r := mustCreate(t, s, c)
		if _, ok, err := s.ClaimNudge(ctx, r.ID, NudgeRemind, "10m", poisoned); err == nil || ok {
			t.Fatalf("ClaimNudge with a refused reminder = %v, %v; want an error", ok, err)
		}
		if got := wantState(t, s, r.ID, StatePending); !got.RemindedAt.IsZero() {
			t.Fatal("the claim stands without its reminder")
		}
		if _, ok, err := s.ClaimNudge(ctx, r.ID, NudgeRemind, "10m", owe(MessageThread, cardChannel, "reminder")); err != nil || !ok {
			t.Fatalf("ClaimNudge = %v, %v", ok, err)
		}
		wantOutcomes(t, s, r.ID, OutcomeRequested, OutcomeReminded)

		bg, err := s.CreateBreakGlass(ctx, newRequest(c), c.Now().Add(15*time.Minute), "CEO locked out")
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Hour)
		if _, ok, err := s.ClaimReviewReminder(ctx, bg.ID, time.Hour, poisoned); err == nil || ok {
			t.Fatalf("ClaimReviewReminder with a refused reminder = %v, %v; want an error", ok, err)
		}
		if _, ok, err := s.ClaimReviewReminder(ctx, bg.ID, time.Hour, owe(MessageThread, cardChannel, "review")); err != nil || !ok {
			t.Fatalf("ClaimReviewReminder = %v, %v", ok, err)
		}
		var threads []string
		for _, row := range outboxRows(t, s) {
			if row.Kind == MessageThread {
				threads = append(threads, row.RequestID+" "+row.Payload)
			}
		}
		want := []string{r.ID + " reminder pending", bg.ID + " review approved"}
		if !reflect.DeepEqual(threads, want) {
			t.Fatalf("thread messages = %q, want %q", threads, want)
		}
		wantVerified(t, s)
	})
}

func TestOutbox_AnnouncerOwesEveryAuditRowInSeqOrder(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		s.SetAnnouncer(func(e Event) []Message {
			return []Message{{Kind: MessageChannel, Channel: auditChannel, Payload: fmt.Appendf(nil, "%d %s", e.Seq, e.Outcome)}}
		})
		r := mustCreate(t, s, c)
		if _, err := s.Append(ctx, Event{ActorID: alice, Outcome: OutcomeRefused}); err != nil {
			t.Fatalf("Append: %v", err)
		}
		mustApprove(t, s, c, r.ID)
		mustClaim(t, s, r.ID)
		if _, err := s.FinishReset(ctx, r.ID, StateDone, "ok"); err != nil {
			t.Fatalf("FinishReset: %v", err)
		}
		var want []string
		err := s.Events(ctx, EventFilter{}, func(e Event) error {
			want = append(want, fmt.Sprintf("%d %s", e.Seq, e.Outcome))
			return nil
		})
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		if len(want) != 5 {
			t.Fatalf("audit rows = %q, want 5", want)
		}
		if got := payloads(outboxRows(t, s)); !reflect.DeepEqual(got, want) {
			t.Fatalf("announcements = %q, want %q", got, want)
		}
		// Announcements are one order key: each waits for the one before.
		wantDue(t, s, outboxRows(t, s)[0].ID)

		// An announcer that owes nothing (no audit channel) writes nothing.
		s.SetAnnouncer(func(Event) []Message { return []Message{{Kind: MessageChannel}} })
		if _, err := s.Append(ctx, Event{ActorID: alice, Outcome: OutcomeRefused}); err != nil {
			t.Fatalf("Append: %v", err)
		}
		if n := len(outboxRows(t, s)); n != 5 {
			t.Fatalf("rows = %d, want still 5", n)
		}
	})
}

func TestOutbox_ExpiryOwe(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		s.SetExpiryOwe(func(r Request) []Message {
			return []Message{
				{Kind: MessageCard, Channel: cardChannel, RequestID: r.ID, Payload: []byte("card " + string(r.State))},
				{Kind: MessageDM, Channel: r.RequesterID, RequestID: r.ID, Payload: []byte("dm " + string(r.State))},
			}
		})
		clicked := mustCreate(t, s, c)
		swept := mustCreate(t, s, c)
		c.Advance(31 * time.Minute)

		// A click past the deadline expires the request: the expiry's
		// messages are written, the click's are not.
		_, err := s.Approve(ctx, clicked.ID, bob, "bob", c.Now().Add(time.Hour), owe(MessageDM, alice, "approved"))
		if ce := wantConflict(t, err, StateExpired); ce.ID != clicked.ID {
			t.Fatalf("conflict about %s", ce.ID)
		}
		expired, err := s.ExpireDue(ctx)
		if err != nil || len(expired) != 1 || expired[0].ID != swept.ID {
			t.Fatalf("ExpireDue = %v, %v; want %s only", expired, err, swept.ID)
		}
		var got []string
		for _, row := range outboxRows(t, s) {
			got = append(got, row.RequestID+" "+row.Payload)
		}
		want := []string{
			clicked.ID + " card expired", clicked.ID + " dm expired",
			swept.ID + " card expired", swept.ID + " dm expired",
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("outbox = %q, want %q", got, want)
		}
	})
}

// Messages with one order key (request, kind, channel) go one at a time, in
// the order they were owed; others do not wait for them.
func TestOutbox_OrderKeyHoldsLaterMessages(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		dm := func(req, text string) Message {
			return Message{Kind: MessageDM, Channel: alice, RequestID: req, Payload: []byte(text)}
		}
		ids := enqueue(t, s, dm("R1", "a1"), dm("R1", "a2"), dm("R1", "a3"), dm("R2", "b1"))
		a1, a2, a3, b1 := ids[0], ids[1], ids[2], ids[3]

		wantDue(t, s, a1, b1)
		mustClaimMsg(t, s, a1)
		wantDue(t, s, b1) // a1 is being sent: a2 still waits
		mustSent(t, s, a1, "")
		wantDue(t, s, a2, b1)
		mustClaimMsg(t, s, a2)
		if err := s.Abandon(ctx, a2, "gone"); err != nil {
			t.Fatalf("Abandon: %v", err)
		}
		wantDue(t, s, a3, b1)

		due, err := s.Due(ctx, 1)
		if err != nil || len(due) != 1 || due[0].ID != a3 || string(due[0].Payload) != "a3" || due[0].Kind != MessageDM ||
			due[0].Channel != alice || due[0].PaceKey != alice || due[0].RequestID != "R1" || due[0].CreatedAt.IsZero() {
			t.Fatalf("Due(1) = %+v, %v", due, err)
		}
	})
}

// A message written with AfterPrevious waits for the one before it in its
// batch, and then carries that one's result.
func TestOutbox_AfterPrevious(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		r, err := s.Create(ctx, newRequest(c), func(r Request) []Message {
			return []Message{
				{Kind: MessageCard, Channel: cardChannel, RequestID: r.ID, Payload: []byte("card")},
				{Kind: MessageDM, Channel: alice, RequestID: r.ID, Payload: []byte("see the card"), AfterPrevious: true},
				{Kind: MessageChannel, Channel: auditChannel, RequestID: r.ID, Payload: []byte("free")},
			}
		})
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		rows := outboxRows(t, s)
		card, link, free := rows[0].ID, rows[1].ID, rows[2].ID

		wantDue(t, s, card, free)
		mustClaimMsg(t, s, card)
		wantDue(t, s, free)
		if err := s.Sent(ctx, card, "https://fake.slack/archives/C0APPROVALS/p1", cardChannel, "1.000001"); err != nil {
			t.Fatalf("Sent: %v", err)
		}
		due, err := s.Due(ctx, 10)
		if err != nil || len(due) != 2 || due[0].ID != link || due[1].ID != free {
			t.Fatalf("Due = %+v, %v; want the DM and the free line", due, err)
		}
		if due[0].AfterResult != "https://fake.slack/archives/C0APPROVALS/p1" || due[1].AfterResult != "" ||
			due[0].AfterState != OutboxSent || due[1].AfterState != "" {
			t.Fatalf("AfterResult, AfterState = %q %q, %q %q", due[0].AfterResult, due[0].AfterState, due[1].AfterResult, due[1].AfterState)
		}
		wantState(t, s, r.ID, StatePending)

		// AfterPrevious on the first message of a batch waits for nothing.
		ids := enqueue(t, s, Message{Kind: MessageDM, Channel: bob, Payload: []byte("x"), AfterPrevious: true})
		if got := dueIDs(t, s); got[len(got)-1] != ids[0] {
			t.Fatalf("Due = %v, want %d among them", got, ids[0])
		}
	})
}

func TestOutbox_ExactlyOneClaimer(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		replicas := []*Store{openStore(t, dsn, c), openStore(t, dsn, c)}
		ids := enqueue(t, replicas[0], Message{Kind: MessageDM, Channel: alice, Payload: []byte("once")})

		const n = 8
		results := make([]ClaimResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], _, errs[i] = replicas[i%2].Claim(context.Background(), ids[0], fmt.Sprintf("replica-%d", i%2), Pace{Interval: paceInterval})
			})
		}
		close(start)
		wg.Wait()
		claimed := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("claim %d: %v", i, errs[i])
			}
			switch results[i] {
			case Claimed:
				claimed++
			case Taken:
			default:
				t.Errorf("claim %d = %v, want Claimed or Taken", i, results[i])
			}
		}
		if claimed != 1 {
			t.Fatalf("%d claims got the message, want exactly 1", claimed)
		}
		if row := outboxRow1(t, replicas[1], ids[0]); row.State != OutboxSending || row.Attempts != 1 {
			t.Fatalf("row = %+v, want sending after 1 attempt", row)
		}
	})
}

func TestOutbox_PacingPerKey(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s1, s2 := openStore(t, dsn, c), openStore(t, dsn, c)
		pace := Pace{Interval: paceInterval, Burst: 1}
		msgs := func(n int, channel string) []int64 {
			var ms []Message
			for i := range n {
				ms = append(ms, Message{Kind: MessageChannel, Channel: channel, RequestID: fmt.Sprint("R", i), Payload: []byte("x")})
			}
			return enqueue(t, s1, ms...)
		}
		ids := msgs(3, cardChannel)
		other := msgs(1, auditChannel)

		if res, _ := claim(t, s1, ids[0], pace); res != Claimed {
			t.Fatalf("first claim = %v, want Claimed", res)
		}
		// The second, on either replica, waits for the interval.
		for _, s := range []*Store{s1, s2} {
			res, wait := claim(t, s, ids[1], pace)
			if res != Paced || wait <= 0 || wait > paceInterval {
				t.Fatalf("second claim = %v after %v, want Paced within (0, %v]", res, wait, paceInterval)
			}
		}
		if row := outboxRow1(t, s1, ids[1]); row.State != OutboxPending || row.Attempts != 0 {
			t.Fatalf("paced row = %+v, want pending and never attempted", row)
		}
		// Another key has its own allowance.
		if res, _ := claim(t, s2, other[0], pace); res != Claimed {
			t.Fatalf("claim on another key = %v, want Claimed", res)
		}
		// Once the interval has passed, one more goes, and then one waits again.
		rewindPace(t, s1, cardChannel, paceInterval)
		if res, wait := claim(t, s2, ids[1], pace); res != Claimed {
			t.Fatalf("claim after the interval = %v (wait %v), want Claimed", res, wait)
		}
		if res, _ := claim(t, s1, ids[2], pace); res != Paced {
			t.Fatalf("third claim = %v, want Paced", res)
		}
	})
}

func TestOutbox_PacingBurst(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s1, s2 := openStore(t, dsn, c), openStore(t, dsn, c)
		pace := Pace{Interval: paceInterval, Burst: 3}
		var ms []Message
		for i := range 5 {
			ms = append(ms, Message{Kind: MessageChannel, Channel: cardChannel, RequestID: fmt.Sprint("R", i), Payload: []byte("x")})
		}
		ids := enqueue(t, s1, ms...)
		replicas := []*Store{s1, s2}
		for i := range 3 {
			if res, wait := claim(t, replicas[i%2], ids[i], pace); res != Claimed {
				t.Fatalf("claim %d of the burst = %v (wait %v), want Claimed", i+1, res, wait)
			}
		}
		res, wait := claim(t, s2, ids[3], pace)
		if res != Paced || wait <= 0 || wait > paceInterval {
			t.Fatalf("claim beyond the burst = %v after %v, want Paced within (0, %v]", res, wait, paceInterval)
		}
		// One interval later one more message fits, not a new burst.
		rewindPace(t, s1, cardChannel, paceInterval)
		if res, wait := claim(t, s1, ids[3], pace); res != Claimed {
			t.Fatalf("claim after an interval = %v (wait %v), want Claimed", res, wait)
		}
		if res, _ := claim(t, s2, ids[4], pace); res != Paced {
			t.Fatalf("next claim = %v, want Paced", res)
		}
	})
}

// Slack's Retry-After pauses the key for every replica; the message itself
// goes back to pending.
func TestOutbox_RetryAfterPausesTheKey(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s1, s2 := openStore(t, dsn, c), openStore(t, dsn, c)
		ctx := context.Background()
		ids := enqueue(t, s1,
			Message{Kind: MessageDM, Channel: alice, RequestID: "R1", Payload: []byte("x")},
			Message{Kind: MessageDM, Channel: alice, RequestID: "R2", Payload: []byte("y")},
			Message{Kind: MessageDM, Channel: bob, RequestID: "R3", Payload: []byte("z")})
		for _, pace := range []Pace{{}, {Interval: time.Second, Burst: 3}} {
			t.Run(fmt.Sprintf("interval %v burst %d", pace.Interval, pace.Burst), func(t *testing.T) {
				if _, err := s1.db.ExecContext(ctx, `DELETE FROM outbox_pace`); err != nil {
					t.Fatal(err)
				}
				if res, wait := claim(t, s1, ids[0], pace); res != Claimed {
					t.Fatalf("claim = %v (wait %v), want Claimed", res, wait)
				}
				const retryAfter = 30 * time.Second
				if err := s1.Retry(ctx, ids[0], 0, "ratelimited", retryAfter, pace); err != nil {
					t.Fatalf("Retry: %v", err)
				}
				if row := outboxRow1(t, s1, ids[0]); row.State != OutboxPending {
					t.Fatalf("retried row state = %s, want pending", row.State)
				}
				for _, s := range []*Store{s1, s2} {
					for _, id := range ids[:2] {
						res, wait := claim(t, s, id, pace)
						if res != Paced || wait > retryAfter || wait < retryAfter-5*time.Second {
							t.Fatalf("claim of %d after Retry-After = %v after %v, want Paced for about %v", id, res, wait, retryAfter)
						}
					}
				}
				if res, _ := claim(t, s2, ids[2], pace); res != Claimed {
					t.Fatalf("claim on another key = %v, want Claimed", res)
				}
				// After the pause one message goes, then the next waits for
				// the interval (a full burst would only be refused again).
				rewindPace(t, s1, alice, retryAfter)
				if res, wait := claim(t, s2, ids[0], pace); res != Claimed {
					t.Fatalf("claim after the pause = %v (wait %v), want Claimed", res, wait)
				}
				if pace.Interval > 0 {
					if res, _ := claim(t, s1, ids[1], pace); res != Paced {
						t.Fatalf("second claim after the pause = %v, want Paced", res)
					}
				}
				// Put the first back for the next round.
				if err := s1.Retry(ctx, ids[0], 0, "again", 0, pace); err != nil {
					t.Fatal(err)
				}
				if err := s1.Retry(ctx, ids[2], 0, "again", 0, pace); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

func TestOutbox_RetryWaitsItsDelay(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		ids := enqueue(t, s, Message{Kind: MessageDM, Channel: alice, Payload: []byte("x")})
		mustClaimMsg(t, s, ids[0])
		if err := s.Retry(ctx, ids[0], time.Hour, "server_error", 0, Pace{}); err != nil {
			t.Fatalf("Retry: %v", err)
		}
		wantDue(t, s)
		wait, ok, err := s.NextDue(ctx)
		if err != nil || !ok || wait <= 59*time.Minute || wait > time.Hour {
			t.Fatalf("NextDue = %v, %v, %v; want about an hour", wait, ok, err)
		}
		state, lastErr, ok, err := s.MessageState(ctx, "", MessageDM)
		if err != nil || !ok || state != OutboxPending || lastErr != "server_error" {
			t.Fatalf("MessageState = %q, %q, %v, %v", state, lastErr, ok, err)
		}
	})
}

// Of several pending writes of one card only the newest is sent.
func TestOutbox_NewerCardSupersedes(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		card := func(text string) Message {
			return Message{Kind: MessageCard, Channel: cardChannel, RequestID: "R1", Payload: []byte(text)}
		}
		ids := enqueue(t, s, card("v1"), card("v2"))
		// The older write is dropped as the newer one is written.
		wantDue(t, s, ids[1])
		if res, _ := claim(t, s, ids[1], Pace{Interval: paceInterval}); res != Claimed {
			t.Fatalf("claim of the newer card = %v, want Claimed (superseding spends no allowance)", res)
		}
		if res, _ := claim(t, s, ids[0], Pace{}); res != Taken {
			t.Fatalf("claim of the superseded card = %v, want Taken", res)
		}
		state, _, ok, err := s.MessageState(ctx, "R1", MessageCard)
		if err != nil || !ok || state != OutboxSending {
			t.Fatalf("MessageState = %q, %v, %v; want sending", state, ok, err)
		}
		if _, _, ok, _ := s.MessageState(ctx, "R1", MessageDM); ok {
			t.Fatal("MessageState of a kind never owed says ok")
		}
		// A card being sent is not superseded by a newer write: the newer
		// one waits for it (order key) and then edits.
		ids2 := enqueue(t, s, card("v3"))
		wantDue(t, s)
		mustSent(t, s, ids[1], "")
		wantDue(t, s, ids2[0])
	})
}

// Sent records where a request's card is, once.
func TestOutbox_SentRecordsTheCard(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		r, err := s.Create(ctx, newRequest(c), owe(MessageCard, cardChannel, "card"), owe(MessageDM, alice, "dm"))
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		rows := outboxRows(t, s)
		card, dm := rows[0].ID, rows[1].ID
		// A DM's ts is not the card's.
		mustClaimMsg(t, s, dm)
		if err := s.Sent(ctx, dm, "", "D0ALICE", "9.000009"); err != nil {
			t.Fatalf("Sent: %v", err)
		}
		if got := wantState(t, s, r.ID, StatePending); got.ApprovalTS != "" {
			t.Fatalf("approval ts after a DM = %q", got.ApprovalTS)
		}
		mustClaimMsg(t, s, card)
		if err := s.Sent(ctx, card, "permalink", cardChannel, "1.000001"); err != nil {
			t.Fatalf("Sent: %v", err)
		}
		got := wantState(t, s, r.ID, StatePending)
		if got.ApprovalChannel != cardChannel || got.ApprovalTS != "1.000001" {
			t.Fatalf("card at %q %q, want %s 1.000001", got.ApprovalChannel, got.ApprovalTS, cardChannel)
		}
		if row := outboxRow1(t, s, card); row.State != OutboxSent || row.Result != "permalink" {
			t.Fatalf("card row = %+v", row)
		}
		// A later write of the card (an update) does not move it.
		ids := enqueue(t, s, Message{Kind: MessageCard, Channel: "C0ELSEWHERE", RequestID: r.ID, Payload: []byte("update")})
		mustClaimMsg(t, s, ids[0])
		if err := s.Sent(ctx, ids[0], "", "C0ELSEWHERE", "2.000002"); err != nil {
			t.Fatalf("Sent: %v", err)
		}
		if got := wantState(t, s, r.ID, StatePending); got.ApprovalChannel != cardChannel || got.ApprovalTS != "1.000001" {
			t.Fatalf("card moved to %q %q", got.ApprovalChannel, got.ApprovalTS)
		}
		// Sent for a message not being sent changes nothing.
		if err := s.Sent(ctx, card, "other", "", ""); err != nil {
			t.Fatalf("Sent twice: %v", err)
		}
		if row := outboxRow1(t, s, card); row.Result != "permalink" {
			t.Fatalf("second Sent rewrote the result: %+v", row)
		}
	})
}

func TestOutbox_ReclaimAfterTheLease(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s1, s2 := openStore(t, dsn, c), openStore(t, dsn, c)
		ctx := context.Background()
		ids := enqueue(t, s1,
			Message{Kind: MessageDM, Channel: alice, RequestID: "R1", Payload: []byte("stalled")},
			Message{Kind: MessageDM, Channel: bob, Payload: []byte("fresh")})
		stalled, fresh := ids[0], ids[1]
		mustClaimMsg(t, s1, stalled)
		mustClaimMsg(t, s1, fresh)
		backdateOutbox(t, s1, stalled, "claimed_at", 2*time.Minute)

		n, err := s2.Reclaim(ctx, time.Minute)
		if err != nil || n != 1 {
			t.Fatalf("Reclaim = %d, %v; want 1", n, err)
		}
		if row := outboxRow1(t, s1, fresh); row.State != OutboxSending {
			t.Fatalf("message within its lease = %+v, want still sending", row)
		}
		due, err := s2.Due(ctx, 10)
		if err != nil || len(due) != 1 || due[0].ID != stalled || due[0].Attempts != 1 {
			t.Fatalf("Due = %+v, %v; want the stalled message after 1 attempt", due, err)
		}
		if state, lastErr, _, _ := s2.MessageState(ctx, "R1", MessageDM); state != OutboxPending || lastErr != "claimer stopped mid-send" {
			t.Fatalf("MessageState = %q, %q; want pending, claimer stopped", state, lastErr)
		}
		if res, _, err := s2.Claim(ctx, stalled, "replica-2", Pace{}); err != nil || res != Claimed {
			t.Fatalf("second claim = %v, %v", res, err)
		}
		if row := outboxRow1(t, s1, stalled); row.Attempts != 2 || row.State != OutboxSending {
			t.Fatalf("row = %+v, want sending, attempt 2", row)
		}
		if n, err := s2.Reclaim(ctx, time.Minute); err != nil || n != 0 {
			t.Fatalf("Reclaim within the leases = %d, %v; want 0", n, err)
		}
	})
}

func TestOutbox_Abandon(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		ids := enqueue(t, s,
			Message{Kind: MessageCard, Channel: cardChannel, RequestID: "R1", Payload: []byte("card")},
			Message{Kind: MessageDM, Channel: alice, RequestID: "R2", Payload: []byte("dm")})
		card, dm := ids[0], ids[1]
		note := Message{Kind: MessageDM, Channel: alice, RequestID: "R1", Payload: []byte("your card could not be posted")}

		mustClaimMsg(t, s, card)
		if err := s.Abandon(ctx, card, "channel_not_found", note); err != nil {
			t.Fatalf("Abandon: %v", err)
		}
		rows := outboxRows(t, s)
		if len(rows) != 3 || rows[0].State != OutboxAbandoned || rows[2].Payload != "your card could not be posted" || rows[2].State != OutboxPending {
			t.Fatalf("outbox = %+v, want the card abandoned and the note owed", rows)
		}
		state, lastErr, ok, err := s.MessageState(ctx, "R1", MessageCard)
		if err != nil || !ok || state != OutboxAbandoned || lastErr != "channel_not_found" {
			t.Fatalf("MessageState = %q, %q, %v, %v", state, lastErr, ok, err)
		}
		// A pending message may be abandoned too.
		if err := s.Abandon(ctx, dm, "request gone"); err != nil {
			t.Fatalf("Abandon pending: %v", err)
		}
		// A finished message is left alone, and owes nothing more.
		mustClaimMsg(t, s, rows[2].ID)
		mustSent(t, s, rows[2].ID, "")
		for _, id := range []int64{card, rows[2].ID} {
			if err := s.Abandon(ctx, id, "again", note); err != nil {
				t.Fatalf("Abandon finished: %v", err)
			}
		}
		after := outboxRows(t, s)
		if len(after) != 3 || after[0].State != OutboxAbandoned || after[0].Attempts != 1 || after[2].State != OutboxSent {
			t.Fatalf("outbox after abandoning finished rows = %+v", after)
		}
		if _, lastErr, _, _ := s.MessageState(ctx, "R1", MessageCard); lastErr != "channel_not_found" {
			t.Fatalf("last error rewritten to %q", lastErr)
		}
	})
}

func TestOutbox_QueueReports(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		c := newClock()
		s := openStore(t, dsn, c)
		ctx := context.Background()
		if _, ok, err := s.NextDue(ctx); err != nil || ok {
			t.Fatalf("NextDue on an empty outbox = %v, %v; want nothing", ok, err)
		}
		if q, err := s.Queued(ctx); err != nil || len(q) != 0 {
			t.Fatalf("Queued = %+v, %v; want none", q, err)
		}
		ids := enqueue(t, s,
			Message{Kind: MessageCard, Channel: cardChannel, RequestID: "R1", Payload: []byte("1")},
			Message{Kind: MessageThread, Channel: cardChannel, RequestID: "R1", Payload: []byte("2")},
			Message{Kind: MessageDM, Channel: alice, PaceKey: "dm-pace", RequestID: "R2", Payload: []byte("3")})
		mustClaimMsg(t, s, ids[1]) // sending still counts as queued

		q, err := s.Queued(ctx)
		if err != nil || len(q) != 2 || q[0].Channel != cardChannel || q[0].Depth != 2 || q[1].Channel != "dm-pace" || q[1].Depth != 1 {
			t.Fatalf("Queued = %+v, %v", q, err)
		}
		if q[0].Oldest < 0 || q[0].Oldest > time.Minute {
			t.Fatalf("oldest = %v", q[0].Oldest)
		}
		for key, want := range map[string]int{cardChannel: 2, "dm-pace": 1, alice: 0} {
			if n, err := s.QueuedFor(ctx, key); err != nil || n != want {
				t.Fatalf("QueuedFor(%s) = %d, %v; want %d", key, n, err, want)
			}
		}
		// Everything is due now: nothing is waiting for a time.
		if _, ok, err := s.NextDue(ctx); err != nil || ok {
			t.Fatalf("NextDue with every message due = %v, %v; want nothing waiting", ok, err)
		}

		// Finish them all: nothing queued.
		mustSent(t, s, ids[1], "")
		mustClaimMsg(t, s, ids[0])
		mustSent(t, s, ids[0], "")
		if err := s.Abandon(ctx, ids[2], "no"); err != nil {
			t.Fatal(err)
		}
		if q, err := s.Queued(ctx); err != nil || len(q) != 0 {
			t.Fatalf("Queued after finishing = %+v, %v", q, err)
		}
		if _, ok, err := s.NextDue(ctx); err != nil || ok {
			t.Fatalf("NextDue after finishing = %v, %v", ok, err)
		}

		// Prune removes finished rows older than the age, and nothing else.
		pending := enqueue(t, s, Message{Kind: MessageDM, Channel: bob, Payload: []byte("4")})
		backdateOutbox(t, s, ids[0], "finished_at", 48*time.Hour)
		backdateOutbox(t, s, ids[2], "finished_at", 48*time.Hour)
		backdateOutbox(t, s, pending[0], "created_at", 48*time.Hour)
		if err := s.PruneOutbox(ctx, 24*time.Hour); err != nil {
			t.Fatalf("PruneOutbox: %v", err)
		}
		var left []int64
		for _, r := range outboxRows(t, s) {
			left = append(left, r.ID)
		}
		if want := []int64{ids[1], pending[0]}; !reflect.DeepEqual(left, want) {
			t.Fatalf("after prune: %v, want %v", left, want)
		}
		q, err = s.Queued(ctx)
		if err != nil || len(q) != 1 || q[0].Channel != bob || q[0].Oldest < 47*time.Hour {
			t.Fatalf("Queued = %+v, %v; want bob's message, two days old", q, err)
		}
	})
}
