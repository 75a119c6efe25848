package commands

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/secret"
)

// A replica that claimed a message and stopped answering mid-send (killed,
// frozen, cut off) holds it only for the lease: then another replica takes it
// over and sends it, once, and the first one's late report changes nothing.
func TestOutbox_LeaseOfADeadClaimer(t *testing.T) {
	const lease = 200 * time.Millisecond
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarnessOn(t, true, dsn)

		// The harness's Service is the claimer that dies: its Slack call never
		// returns until the test lets it go.
		stuck := make(chan time.Time, 1)
		release := make(chan struct{})
		h.msg.notifyFn = func(ctx context.Context, _ string, _ Notice) error {
			stuck <- time.Now()
			select {
			case <-release:
			case <-ctx.Done():
			}
			return errors.New("connection reset by peer")
		}
		var releaseOnce sync.Once
		letGo := func() { releaseOnce.Do(func() { close(release) }) }
		t.Cleanup(letGo) // before the harness's outbox is stopped, which waits for it

		n := Notice{Text: "lease test: delivered once"}
		if err := h.store.Enqueue(context.Background(), approvals.Message{
			Kind: approvals.MessageDM, Channel: stranger, Payload: mustJSON(outboxPayload{Notice: &n}),
		}); err != nil {
			t.Fatal(err)
		}
		h.svc.delivery.Kick()
		var claimedBy time.Time
		select {
		case claimedBy = <-stuck:
		case <-time.After(10 * time.Second):
			t.Fatal("the first replica never tried the message")
		}

		// The other replica, with a short lease.
		logs := &syncBuffer{}
		other := &fakeMessenger{}
		var mu sync.Mutex
		var sentAt []time.Time
		other.notifyFn = func(context.Context, string, Notice) error {
			mu.Lock()
			sentAt = append(sentAt, time.Now())
			mu.Unlock()
			return nil
		}
		store, err := approvals.Open(context.Background(), dsn, approvals.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		svc, err := NewService(h.policy, Deps{
			Partner: h.pc, Messenger: other, Groups: h.groups, Store: store,
			Logger:           slog.New(slog.NewJSONHandler(logs, nil)),
			GeneratePassword: func(int) (secret.Password, error) { return secret.NewPassword(canaryPassword), nil },
			Delivery:         OutboxOptions{PaceInterval: -1, Lease: lease},
		})
		if err != nil {
			t.Fatal(err)
		}
		startOutbox(t, svc)

		waitUntil(t, "the other replica to send the message", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(sentAt) > 0
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.WaitOutboxIdle(ctx); err != nil {
			t.Fatal(err)
		}
		// The first replica comes back and reports its failure: the message
		// stays sent, and neither replica sends it again.
		letGo()
		if err := h.svc.WaitOutboxIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if err := svc.WaitOutboxIdle(ctx); err != nil {
			t.Fatal(err)
		}

		notices := other.Notices()
		if len(notices) != 1 || notices[0].UserID != stranger || notices[0].Notice.Text != n.Text {
			t.Fatalf("the other replica sent %+v, want the one notice", notices)
		}
		if got := len(h.msg.Notices()); got != 1 {
			t.Fatalf("the first replica tried %d times, want 1 (the attempt that never returned)", got)
		}
		mu.Lock()
		took := sentAt[0].Sub(claimedBy)
		mu.Unlock()
		// Taken over no earlier than the lease allows (half of it, for the
		// database clock's millisecond and the moment between the claim and
		// the call).
		if took < lease/2 {
			t.Errorf("taken over %v after the claim, before the %v lease ran out", took, lease)
		}
		if q, err := store.Queued(ctx); err != nil || len(q) != 0 {
			t.Fatalf("still queued after delivery: %+v, %v", q, err)
		}
		if !strings.Contains(logs.String(), "messages claimed by a replica that stopped are sent again") {
			t.Errorf("the takeover is not logged:\n%s", logs.String())
		}
	})
}
