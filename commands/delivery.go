package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/messages"
)

// This file is the delivering half of the Slack outbox (docs/outbox.md). A
// state change writes the messages it owes in its own transaction (the
// approvals store); the deliverer here sends them: each channel at its
// allowance, Retry-After honoured once for everything waiting on a channel,
// in order per request, on whichever replica claims them first, after a
// restart if need be. The password never passes through here: it has its own
// short path (DeliverPassword), and is never stored.

// Delivery tuning. The defaults follow Slack's posting limit of about one
// message per second per channel, with short bursts tolerated.
const (
	defaultPaceInterval = time.Second
	defaultPaceBurst    = 3
	// defaultMaxQueued bounds the messages waiting for one channel: a request
	// that would queue its card behind more is refused with a clear answer.
	defaultMaxQueued = 500
	// sendTimeout bounds one delivery attempt (a DM is two Slack calls).
	sendTimeout = 20 * time.Second
	// defaultLease is how long a claimed message may stay unreported before
	// another replica takes it over; it must exceed sendTimeout.
	defaultLease = 45 * time.Second
	// pollEvery is how often the deliverer looks for messages it was not told
	// about (written by another replica, or due after a wait).
	pollEvery = time.Second
	// maxRetryWait caps the backoff after a failed attempt.
	maxRetryWait = time.Minute
	// giveUpAfter is how long a message that keeps failing is tried.
	giveUpAfter = 24 * time.Hour
	// awaitCard is how long a new request's answer waits for its card to be
	// posted before saying it is queued.
	defaultAwaitCard   = 3 * time.Second
	maxConcurrentSends = 8
)

// Outbox tunes message delivery (locksmith.yaml slack.outbox).
type OutboxOptions struct {
	// PaceInterval and PaceBurst are each channel's allowance: a message
	// every PaceInterval, up to PaceBurst back to back. A negative
	// PaceInterval turns pacing off (Retry-After is still honoured).
	PaceInterval time.Duration
	PaceBurst    int
	// MaxQueued is how many messages may wait for one channel before new
	// requests for it are refused.
	MaxQueued int
	// Lease is how long a message claimed by a replica that stopped answering
	// stays claimed (tests shorten it).
	Lease time.Duration
	// AwaitCard is how long a new request's reply waits for its card.
	AwaitCard time.Duration
}

func (o OutboxOptions) withDefaults() OutboxOptions {
	if o.PaceInterval == 0 {
		o.PaceInterval = defaultPaceInterval
	}
	if o.PaceInterval < 0 {
		o.PaceInterval = 0
	}
	if o.PaceBurst <= 0 {
		o.PaceBurst = defaultPaceBurst
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = defaultMaxQueued
	}
	if o.Lease <= 0 {
		o.Lease = defaultLease
	}
	if o.AwaitCard <= 0 {
		o.AwaitCard = defaultAwaitCard
	}
	return o
}

func (o OutboxOptions) pace() approvals.Pace {
	return approvals.Pace{Interval: o.PaceInterval, Burst: o.PaceBurst}
}

// pacedKey marks a context as the outbox's (see Paced).
type pacedKey struct{}

// Paced marks ctx as a paced delivery: the transport must not wait out a
// 429 itself but return it at once (with its Retry-After), because the outbox
// pauses the whole channel instead.
func Paced(ctx context.Context) context.Context { return context.WithValue(ctx, pacedKey{}, true) }

// IsPaced reports whether ctx is a paced delivery (see Paced).
func IsPaced(ctx context.Context) bool { v, _ := ctx.Value(pacedKey{}).(bool); return v }

// What the deliverer learns from a Messenger error. *bot.APIError implements
// both; any other error counts as temporary.
type (
	rateLimitedError interface{ RetryAfter() time.Duration }
	permanentError   interface{ Permanent() bool }
)

// outboxPayload is what an outbox row carries. Exactly one of Card, Notice,
// Text and Render is set.
type outboxPayload struct {
	Card   *Card   `json:"card,omitempty"`
	Notice *Notice `json:"notice,omitempty"`
	Text   string  `json:"text,omitempty"` // a channel line or a thread reply
	// Render names a notice rendered when it is sent, in its recipient's
	// language as it is then: "expired".
	Render string `json:"render,omitempty"`
	// Link, on a notice that waits for its card, fills cardMarker in the text.
	Link *cardLink `json:"link,omitempty"`
	// Offer marks the notice that carries the Reset button: it means
	// something only while the request is approved.
	Offer bool `json:"offer,omitempty"`
}

// cardLink is where the card is, in the recipient's words, with and without
// its permalink (known only once the card is posted).
type cardLink struct {
	Linked   string `json:"linked"` // holds urlMarker
	Unlinked string `json:"unlinked"`
}

// Markers that escaped text cannot contain (Escape removes control
// characters), so replacing them cannot touch anyone's words.
const (
	cardMarker = "\x00card\x00"
	urlMarker  = "\x00url\x00"
)

func mustJSON(p outboxPayload) []byte {
	b, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("commands: outbox payload: %v", err)) // plain structs: cannot fail
	}
	return b
}

// owedCard is the card of r as it should now look.
func (s *Service) owedCard(r approvals.Request, status string, buttons bool) approvals.Message {
	c := s.cardFor(r, status, buttons)
	m := approvals.Message{Kind: approvals.MessageCard, Channel: r.ApprovalChannel, RequestID: r.ID, Payload: mustJSON(outboxPayload{Card: &c})}
	if r.ApprovalTS != "" {
		// Editing a posted card is not posting to the channel: Slack limits
		// chat.update per workspace, not per channel, so edits do not wait
		// behind new cards (they stay in order with the card's other writes).
		m.PaceKey = paceUpdates
	}
	return m
}

// paceUpdates is the allowance chat.update is sent under.
const paceUpdates = "chat.update"

// owedDM is a DM to userID about r.
func owedDM(r approvals.Request, userID string, n Notice) approvals.Message {
	return approvals.Message{Kind: approvals.MessageDM, Channel: userID, RequestID: r.ID, Payload: mustJSON(outboxPayload{Notice: &n})}
}

// owedOffer is the DM with the Reset button.
func owedOffer(r approvals.Request, n Notice) approvals.Message {
	return approvals.Message{Kind: approvals.MessageDM, Channel: r.RequesterID, RequestID: r.ID, Payload: mustJSON(outboxPayload{Notice: &n, Offer: true})}
}

// deliverer sends owed messages. One runs per Service (per replica).
type deliverer struct {
	s       *Service
	opts    OutboxOptions
	claimer string
	log     *slog.Logger

	kick    chan struct{} // something new to send
	running atomic.Bool   // RunOutbox is delivering

	mu       sync.Mutex
	inFlight map[string]bool      // pace keys being sent from here
	pausedTo map[string]time.Time // pace keys paced until then (from Claim)
	// strictTo marks pace keys Slack answered 429 on lately, until then:
	// their next message waits a full interval after the previous one was
	// answered, not after it was sent, so network jitter cannot make two
	// posts arrive closer together than Slack allows.
	strictTo map[string]time.Time
	changed  chan struct{} // closed and replaced whenever a message finishes
}

func newDeliverer(s *Service, opts OutboxOptions) *deliverer {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &deliverer{
		s: s, opts: opts.withDefaults(), claimer: hex.EncodeToString(b[:]), log: s.log.With("outbox", true),
		kick: make(chan struct{}, 1), inFlight: map[string]bool{}, pausedTo: map[string]time.Time{}, strictTo: map[string]time.Time{}, changed: make(chan struct{}),
	}
}

// Kick wakes the deliverer: something was just written.
func (d *deliverer) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *deliverer) finished() {
	d.mu.Lock()
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
}

func (d *deliverer) changes() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed
}

// RunOutbox delivers owed messages until ctx ends, then waits for the sends
// in progress. Start it once per process; it picks up what earlier runs and
// other replicas left.
func (s *Service) RunOutbox(ctx context.Context) {
	d := s.delivery
	d.running.Store(true)
	defer d.running.Store(false)
	sends := make(chan struct{}, maxConcurrentSends)
	var wg sync.WaitGroup
	defer wg.Wait()
	lastReclaim := time.Time{}
	lastPrune := time.Now()
	for ctx.Err() == nil {
		if time.Since(lastReclaim) > d.opts.Lease/3 {
			lastReclaim = time.Now()
			if n, err := s.store.Reclaim(ctx, d.opts.Lease); err != nil && ctx.Err() == nil {
				d.log.Error("reclaiming stalled messages failed", "err", err)
			} else if n > 0 {
				d.log.Warn("messages claimed by a replica that stopped are sent again", "count", n)
			}
		}
		if time.Since(lastPrune) > time.Hour {
			lastPrune = time.Now()
			if err := s.store.PruneOutbox(ctx, 7*24*time.Hour); err != nil && ctx.Err() == nil {
				d.log.Warn("pruning sent messages failed", "err", err)
			}
		}
		wait := pollEvery
		due, err := s.store.Due(ctx, 500)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("reading owed messages failed", "err", err)
			}
		}
		now := time.Now()
		d.mu.Lock()
		for key, until := range d.pausedTo {
			if !until.After(now) {
				delete(d.pausedTo, key) // over: one entry per DM recipient would pile up
			}
		}
		for key, until := range d.strictTo {
			if !until.After(now) {
				delete(d.strictTo, key)
			}
		}
		d.mu.Unlock()
		seen := map[string]bool{}
		for _, m := range due {
			if seen[m.PaceKey] {
				continue // one at a time per allowance, oldest first
			}
			seen[m.PaceKey] = true
			d.mu.Lock()
			busy := d.inFlight[m.PaceKey]
			until := d.pausedTo[m.PaceKey]
			if !busy && !until.After(now) {
				d.inFlight[m.PaceKey] = true
			}
			d.mu.Unlock()
			if busy {
				continue
			}
			if until.After(now) {
				wait = min(wait, until.Sub(now))
				continue
			}
			select {
			case sends <- struct{}{}:
			case <-ctx.Done():
				d.release(m.PaceKey)
				return
			}
			wg.Add(1)
			go func(m approvals.Outgoing) {
				defer wg.Done()
				defer func() { <-sends }()
				d.deliverOne(ctx, m)
				d.release(m.PaceKey)
				d.Kick() // its successor may be due now
			}(m)
		}
		if next, ok, err := s.store.NextDue(ctx); err == nil && ok {
			wait = min(wait, max(next, 10*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

func (d *deliverer) release(key string) {
	d.mu.Lock()
	delete(d.inFlight, key)
	d.mu.Unlock()
}

// deliverOne claims m and sends it.
func (d *deliverer) deliverOne(ctx context.Context, m approvals.Outgoing) {
	s := d.s
	res, wait, err := s.store.Claim(ctx, m.ID, d.claimer, d.opts.pace())
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("claiming a message failed", "outbox_id", m.ID, "err", err)
		}
		return
	}
	switch res {
	case approvals.Paced:
		d.mu.Lock()
		d.pausedTo[m.PaceKey] = time.Now().Add(wait)
		d.mu.Unlock()
		return
	case approvals.Taken:
		return
	case approvals.Superseded:
		d.finished()
		return
	}
	log := d.log.With("outbox_id", m.ID, "kind", m.Kind, "request_id", m.RequestID, "attempt", m.Attempts+1)
	// Detached from ctx: a send under way finishes (or times out) even while
	// locksmith stops, so that its outcome is recorded rather than reclaimed.
	sctx, cancel := context.WithTimeout(Paced(context.WithoutCancel(ctx)), sendTimeout)
	result, channel, ts, abandon, err := d.send(sctx, log, m)
	cancel()
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), mustFinishWithin)
	defer rcancel()
	defer d.finished()
	switch {
	case abandon != "" && m.Attempts > 0 && isOffer(m.Payload):
		// The Reset button kept failing until the approval ran out: that is
		// the requester being unreachable, not a message gone stale.
		d.giveUp(rctx, log, m, abandon)
	case abandon != "":
		log.Info("message abandoned", "why", abandon)
		if err := s.store.Abandon(rctx, m.ID, abandon); err != nil {
			log.Error("recording an abandoned message failed", "err", err)
		}
	case err == nil:
		if err := s.store.Sent(rctx, m.ID, result, channel, ts); err != nil {
			log.Error("recording a sent message failed; it may be sent again", "err", err)
		}
		d.mu.Lock()
		if now := time.Now(); d.strictTo[m.PaceKey].After(now) {
			d.pausedTo[m.PaceKey] = now.Add(d.opts.PaceInterval)
		}
		d.mu.Unlock()
		if m.Attempts > 0 {
			log.Info("message delivered after earlier attempts")
		}
	default:
		d.failed(rctx, log, m, err)
	}
}

// failed decides what a failed send means: wait for the channel's
// Retry-After, try again later, or give up.
func (d *deliverer) failed(ctx context.Context, log *slog.Logger, m approvals.Outgoing, err error) {
	s := d.s
	if errors.Is(err, errNotYet) {
		if err := s.store.Retry(ctx, m.ID, 500*time.Millisecond, err.Error(), 0, d.opts.pace()); err != nil {
			log.Error("rescheduling a message failed", "err", err)
		}
		return
	}
	var rl rateLimitedError
	if errors.As(err, &rl) && rl.RetryAfter() > 0 {
		after := rl.RetryAfter()
		log.Info("Slack is pacing this channel; waiting", "retry_after_seconds", after.Seconds())
		d.mu.Lock()
		d.pausedTo[m.PaceKey] = time.Now().Add(after)
		d.strictTo[m.PaceKey] = time.Now().Add(time.Minute)
		d.mu.Unlock()
		if err := s.store.Retry(ctx, m.ID, after, "ratelimited", after, d.opts.pace()); err != nil {
			log.Error("rescheduling a message failed", "err", err)
		}
		return
	}
	var pe permanentError
	permanent := errors.As(err, &pe) && pe.Permanent()
	tooOld := time.Since(m.CreatedAt) > giveUpAfter
	if permanent || tooOld {
		why := "Slack refused it: " + err.Error()
		if !permanent {
			why = "still failing after " + giveUpAfter.String() + ": " + err.Error()
		}
		log.Error("message given up", "err", err)
		d.giveUp(ctx, log, m, why)
		return
	}
	backoff := min(time.Second<<min(m.Attempts, 6), maxRetryWait)
	log.Warn("message not delivered; retrying", "err", err, "retry_in_seconds", backoff.Seconds())
	if err := s.store.Retry(ctx, m.ID, backoff, err.Error(), 0, d.opts.pace()); err != nil {
		log.Error("rescheduling a message failed", "err", err)
	}
}

// send makes the Slack call(s) for m. abandon is set (and nothing sent) when
// the message no longer means anything.
func (d *deliverer) send(ctx context.Context, log *slog.Logger, m approvals.Outgoing) (result, channel, ts, abandon string, err error) {
	s := d.s
	var p outboxPayload
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return "", "", "", "unreadable payload: " + err.Error(), nil
	}
	var req approvals.Request
	if m.RequestID != "" && m.Kind != approvals.MessageChannel {
		req, err = s.store.Get(ctx, m.RequestID)
		if errors.Is(err, approvals.ErrNotFound) {
			return "", "", "", "the request no longer exists", nil
		}
		if err != nil {
			return "", "", "", "", err
		}
	}
	switch m.Kind {
	case approvals.MessageCard:
		if p.Card == nil {
			return "", "", "", "a card message without a card", nil
		}
		if req.ApprovalTS != "" {
			return "", "", "", "", s.msg.UpdateApproval(ctx, MessageRef{Channel: req.ApprovalChannel, TS: req.ApprovalTS}, *p.Card)
		}
		if why := d.cardPointless(ctx, req); why != "" {
			return "", "", "", why, nil
		}
		ref, err := s.msg.PostApproval(ctx, m.Channel, *p.Card)
		if err != nil {
			return "", "", "", "", err
		}
		if ref.Channel == "" {
			ref.Channel = m.Channel
		}
		return ref.Permalink, ref.Channel, ref.TS, "", nil
	case approvals.MessageDM:
		n, why, err := d.notice(ctx, m, p, req)
		if err != nil {
			return "", "", "", "", err
		}
		if why != "" {
			return "", "", "", why, nil
		}
		return "", "", "", "", s.msg.Notify(ctx, m.Channel, n)
	case approvals.MessageChannel:
		return "", "", "", "", s.msg.PostChannel(ctx, m.Channel, p.Text)
	case approvals.MessageThread:
		if req.ApprovalTS == "" {
			// Under the card once it is up: wait while the card is still
			// owed (paced behind a burst, or retrying). A request whose card
			// was never posted gets the reply in the channel itself.
			state, _, owed, err := s.store.MessageState(ctx, m.RequestID, approvals.MessageCard)
			if err != nil {
				return "", "", "", "", err
			}
			if owed && (state == approvals.OutboxPending || state == approvals.OutboxSending) {
				return "", "", "", "", errNotYet
			}
			return "", "", "", "", s.msg.PostChannel(ctx, m.Channel, p.Text)
		}
		return "", "", "", "", s.msg.PostThread(ctx, MessageRef{Channel: req.ApprovalChannel, TS: req.ApprovalTS}, p.Text)
	}
	return "", "", "", "unknown message kind " + m.Kind, nil
}

// cardPointless says why a card that was never posted should not be posted
// now, or "" to post it. A request that ended before anyone could see its
// card (it expired while Slack refused the card, or its requester withdrew
// it) gets no card: its requester is told instead.
func (d *deliverer) cardPointless(ctx context.Context, r approvals.Request) string {
	switch r.State {
	case approvals.StateExpired:
		if r.DecidedAt.IsZero() {
			return "the request expired before its card could be posted"
		}
	case approvals.StateCancelled:
		return "the request was withdrawn before its card could be posted"
	}
	return ""
}

// notice is the DM as it should go now. why is set when it should not go at
// all; err (errNotYet) when it should go later.
func (d *deliverer) notice(ctx context.Context, m approvals.Outgoing, p outboxPayload, r approvals.Request) (Notice, string, error) {
	s := d.s
	if p.Render != "" {
		return s.renderNotice(ctx, p.Render, m.Channel, r), "", nil
	}
	if p.Notice == nil {
		return Notice{}, "a DM without a notice", nil
	}
	n := *p.Notice
	if m.AfterState == approvals.OutboxAbandoned {
		return Notice{}, "the message it follows was abandoned", nil
	}
	if p.Offer && (r.State != approvals.StateApproved || !s.now().Before(r.UseBy)) {
		// Used, withdrawn or run out meanwhile: a button that can only say
		// "expired" helps nobody (the expiry has its own notice).
		return Notice{}, "the approval is no longer usable (" + string(r.State) + ")", nil
	}
	if p.Link != nil {
		// The notice about a new request: it points at the card, so it goes
		// only once the card is up, and not at all once the request has
		// ended without one (its end has its own notice).
		if r.State != approvals.StatePending {
			return Notice{}, "the request ended before its card was posted (" + string(r.State) + ")", nil
		}
		if r.ApprovalTS == "" {
			return Notice{}, "", errNotYet
		}
		link := m.AfterResult
		if link == "" {
			link = s.store.CardPermalink(ctx, r.ID) // the card was posted by a newer write
		}
		where := p.Link.Unlinked
		if link != "" {
			where = strings.ReplaceAll(p.Link.Linked, urlMarker, Escape(link, 300))
		}
		n.Text = strings.ReplaceAll(n.Text, cardMarker, where)
	}
	return n, "", nil
}

// errNotYet says a message waits for another that has not gone yet (the
// card a notice links to); it is tried again shortly, as no failure.
var errNotYet = errors.New("waiting for the card to be posted")

// renderNotice renders a notice whose words depend on when it is sent.
func (s *Service) renderNotice(ctx context.Context, what, userID string, r approvals.Request) Notice {
	rl := s.langOf(ctx, userID)
	switch what {
	case "expired":
		noticeID, when := messages.NoticeExpiredUndecided, r.ExpiresAt
		if !r.DecidedAt.IsZero() {
			noticeID, when = messages.NoticeExpiredUnused, r.UseBy
		}
		n := Notice{Lang: rl, Text: texts.Text(rl, noticeID, messages.Data{
			"User": Escape(r.TargetUPN, 120), "Customer": Escape(r.CustomerName, 100), "When": slackTime(rl, when)})}
		if r.ApprovalTS == "" && r.ApprovalChannel != "" && !r.BreakGlass {
			// The visible note for a card that was never posted: nobody
			// could have decided, and the requester should know why.
			n.Text += "\n" + texts.Text(rl, messages.NoticeExpiredUnposted, messages.Data{"Channel": Escape(r.ApprovalChannel, 20)})
		}
		return n
	}
	return Notice{Lang: rl, Text: Escape(what, 100)}
}

// giveUp abandons m for good and says so where someone will see it.
func (d *deliverer) giveUp(ctx context.Context, log *slog.Logger, m approvals.Outgoing, why string) {
	s := d.s
	var then []approvals.Message
	if m.RequestID != "" {
		r, err := s.store.Get(ctx, m.RequestID)
		if err == nil {
			then = d.afterGivingUp(ctx, log, m, r, why)
		}
	}
	if err := s.store.Abandon(ctx, m.ID, why, then...); err != nil {
		log.Error("recording an abandoned message failed", "err", err)
	}
}

// afterGivingUp is what losing m owes: a card that cannot be posted takes its
// request with it (nobody could approve it), and a Reset button that cannot
// reach its requester is shown on the card and in the trail.
func (d *deliverer) afterGivingUp(ctx context.Context, log *slog.Logger, m approvals.Outgoing, r approvals.Request, why string) []approvals.Message {
	s := d.s
	switch {
	case m.Kind == approvals.MessageCard && r.ApprovalTS == "" && r.State == approvals.StatePending:
		_ = s.audit(ctx, approvals.Event{
			ActorID: systemActor.ID, ActorName: systemActor.Name, CorrelationID: r.CorrelationID, RequestID: r.ID,
			TenantID: r.TenantID, CustomerDomain: r.CustomerDomain, TargetObjectID: r.TargetObjectID, TargetUPN: r.TargetUPN,
			Outcome: approvals.OutcomeRefused, Detail: "approval card could not be posted to " + m.Channel + "; request withdrawn automatically",
		})
		rl := s.langOf(ctx, r.RequesterID)
		text := texts.Text(rl, messages.ReplyCardFailed, messages.Data{"Channel": Escape(m.Channel, 20)})
		if _, err := s.store.Cancel(ctx, r.ID, r.RequesterID, func(c approvals.Request) []approvals.Message {
			return []approvals.Message{owedDM(c, c.RequesterID, Notice{Lang: rl, Text: text})}
		}); err != nil {
			log.Error("withdraw unposted request failed", "err", err)
		} else {
			s.metrics.Decision("cancelled")
		}
	case m.Kind == approvals.MessageDM && isOffer(m.Payload) && (r.State == approvals.StateApproved || (r.State == approvals.StateExpired && !r.DecidedAt.IsZero())):
		log.Error("requester could not be reached with the Reset button", "to", r.RequesterID, "attempts", m.Attempts+1, "why", why)
		cl := s.channelLang()
		_ = s.audit(ctx, approvals.Event{
			ActorID: systemActor.ID, ActorName: systemActor.Name, CorrelationID: r.CorrelationID, RequestID: r.ID,
			TenantID: r.TenantID, CustomerDomain: r.CustomerDomain, TargetObjectID: r.TargetObjectID, TargetUPN: r.TargetUPN,
			Outcome: approvals.OutcomeRequesterUnreachable,
			Detail:  fmt.Sprintf("the DM with Reset password now could not be delivered (%d attempts): %s", m.Attempts+1, why),
		})
		return []approvals.Message{s.owedCard(r, texts.Text(cl, messages.StatusUnreachable, messages.Data{
			"Decider": Escape(r.DeciderID, 20), "When": slackTime(cl, r.DecidedAt), "Requester": Escape(r.RequesterID, 20),
			"Why": texts.Text(cl, messages.UnreachableRefused, nil)}), false)}
	}
	return nil
}

func isOffer(payload []byte) bool {
	var p outboxPayload
	return json.Unmarshal(payload, &p) == nil && p.Offer
}

// cardOutcome waits (up to AwaitCard; not at all when the card is queued
// behind others) for the card of a new request and says how it went: "sent",
// "abandoned", or "queued".
func (s *Service) cardOutcome(ctx context.Context, requestID string, behind int) string {
	d := s.delivery
	d.Kick()
	wait := d.opts.AwaitCard
	if behind >= d.opts.PaceBurst {
		// Its turn is seconds away: holding a worker for it would only delay
		// the requests behind it. The reply says it is queued.
		wait = 0
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		changed := d.changes()
		st, _, ok, err := s.store.MessageState(ctx, requestID, approvals.MessageCard)
		if err == nil && ok {
			switch st {
			case approvals.OutboxSent:
				return "sent"
			case approvals.OutboxAbandoned:
				return "abandoned"
			}
		}
		poll := time.NewTimer(200 * time.Millisecond) // another replica may be the one sending it
		select {
		case <-changed:
		case <-poll.C:
		case <-deadline.C:
			poll.Stop()
			return "queued"
		case <-ctx.Done():
			poll.Stop()
			return "queued"
		}
		poll.Stop()
	}
}

// admitCard checks that a new card for channel can be queued: not more than
// MaxQueued waiting, and (at the channel's pace) posted before expiresAfter.
// It returns how many messages wait, and ok false when the queue is full.
func (s *Service) admitCard(ctx context.Context, channel string, expiresAfter time.Duration) (waiting int, ok bool) {
	d := s.delivery
	n, err := s.store.QueuedFor(ctx, channel)
	if err != nil {
		s.log.Warn("reading the outbox depth failed; admitting", "err", err)
		return 0, true
	}
	if n >= d.opts.MaxQueued {
		return n, false
	}
	if d.opts.PaceInterval > 0 && time.Duration(n)*d.opts.PaceInterval >= expiresAfter {
		return n, false
	}
	return n, true
}

// WaitOutboxIdle waits (up to ctx) until nothing owed is due or being sent:
// everything deliverable now has been delivered, paced channels included.
// Messages waiting to retry after a failure do not count until their time.
// Tests use it to observe a flow's messages without sleeping.
func (s *Service) WaitOutboxIdle(ctx context.Context) error {
	d := s.delivery
	if !d.running.Load() {
		return nil // nothing here is delivering: another process will
	}
	idle := func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.inFlight) == 0
	}
	// held says whether every due message waits on a channel Slack has
	// paused for more than a moment (a long Retry-After): those are not
	// sendable now.
	held := func(due []approvals.Outgoing) bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, m := range due {
			if !d.pausedTo[m.PaceKey].After(time.Now().Add(time.Second)) {
				return false
			}
		}
		return true
	}
	for {
		d.Kick()
		due1, err1 := s.store.Due(ctx, 100)
		quiet := idle()
		due2, err2 := s.store.Due(ctx, 100)
		if err1 == nil && err2 == nil && held(due1) && quiet && held(due2) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
