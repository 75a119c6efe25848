package commands

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/policy"
)

// Tests of reminders and escalation.

func remindingRule() policy.Rule {
	r := adminsRule()
	r.RemindAfter = 10 * time.Minute
	r.EscalateAfter = 20 * time.Minute
	r.EscalateTo = policy.Principals{Usergroups: []string{"S0MANAGERS"}, Users: []string{"U0CTO"}}
	return r
}

func TestNudges_ReminderThenEscalationInTheThread(t *testing.T) {
	h := newHarness(t, true)
	withLeads(h, remindingRule())
	h.slash(requester, custDomain+" "+aliceUPN+" INC-4711")
	id := h.msg.Posted()[0].RequestID
	h.click(ActionApprove, id, lead1)

	h.clock.Advance(9 * time.Minute)
	h.sweep()
	if n := len(h.msg.ThreadPosts()); n != 0 {
		t.Fatalf("%d thread posts before remind_after", n)
	}
	h.clock.Advance(time.Minute)
	h.sweep()
	h.sweep() // a second sweep sends nothing more
	posts := h.msg.ThreadPosts()
	if len(posts) != 1 {
		t.Fatalf("%d thread posts; want one reminder", len(posts))
	}
	p := posts[0]
	if p.Parent.Channel != approvalChannel || p.Parent.TS != "1772445600.000100" {
		t.Errorf("reminder not in the card's thread: %+v", p.Parent)
	}
	wantContains(t, "reminder", p.Text, ":bell: Reminder", "<@"+requester+">", aliceUPN, "(1 of 2 approvals)", "<!subteam^"+leads+">")
	wantNotContains(t, "reminder", p.Text, "S0MANAGERS")

	h.clock.Advance(10 * time.Minute)
	h.sweep()
	h.sweep()
	posts = h.msg.ThreadPosts()
	if len(posts) != 2 {
		t.Fatalf("%d thread posts; want reminder + escalation", len(posts))
	}
	wantContains(t, "escalation", posts[1].Text, ":rotating_light: Escalation", "no decision for 20m0s", "<@U0CTO>", "<!subteam^S0MANAGERS>")
	want := []approvals.Outcome{approvals.OutcomeRequested, approvals.OutcomeApprovalRecorded, approvals.OutcomeReminded, approvals.OutcomeEscalated}
	if got := h.outcomes(); !equalOutcomes(got, want) {
		t.Errorf("outcomes = %v; want %v", got, want)
	}
	if e := h.lastEvent(approvals.OutcomeEscalated); e.ActorID != "locksmith" || e.Detail != "pending for 20m0s; asked U0CTO, S0MANAGERS" {
		t.Errorf("escalated row = %+v", e)
	}
}

// Under the default policy the reminder mentions the grant holders who may
// approve, never the requester.
func TestNudges_DefaultPolicyMentionsGrantHolders(t *testing.T) {
	h := newHarness(t, true)
	h.setPolicy(func(p *Policy) { p.RemindAfter = 5 * time.Minute })
	h.request()
	h.clock.Advance(5 * time.Minute)
	h.sweep()
	posts := h.msg.ThreadPosts()
	if len(posts) != 1 {
		t.Fatalf("%d posts", len(posts))
	}
	wantContains(t, "reminder", posts[0].Text, "<@"+approver+">", "<@"+uaApprover+">", "<!subteam^"+helpdesk+">")
	// The requester's name appears as the requester, never as an approver.
	if strings.Count(posts[0].Text, "<@"+requester+">") != 1 {
		t.Errorf("requester mentioned as an approver: %q", posts[0].Text)
	}
}

func TestNudges_NothingAfterDecisionOrExpiry(t *testing.T) {
	h := newHarness(t, true)
	h.setPolicy(func(p *Policy) {
		p.RemindAfter, p.EscalateAfter, p.EscalateTo = 5*time.Minute, 10*time.Minute, policy.Principals{Usergroups: []string{"S0MANAGERS"}}
	})
	h.approved()
	h.clock.Advance(11 * time.Minute) // both nudges due, but it is approved
	h.sweep()
	if posts := h.msg.ThreadPosts(); len(posts) != 0 {
		t.Errorf("nudges after a decision: %+v", posts)
	}
	id := h.request()
	h.clock.Advance(31 * time.Minute) // past expiry before any sweep
	h.sweep()
	if posts := h.msg.ThreadPosts(); len(posts) != 0 {
		t.Errorf("nudges after expiry: %+v", posts)
	}
	h.wantState(id, approvals.StateExpired)
}

// Two replicas sweep at once, many times: each reminder goes out once.
func TestNudges_OnceWithTwoReplicas(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarnessOn(t, true, dsn)
		h.setPolicy(func(p *Policy) { p.RemindAfter = 5 * time.Minute })
		other := h.replica()
		for i := 0; i < 5; i++ {
			h.request()
		}
		h.clock.Advance(6 * time.Minute)
		sweepAtOnce(t, h.svc, other, h.svc, other)
		if n := len(h.msg.ThreadPosts()); n != 5 {
			t.Fatalf("%d reminders for 5 requests swept by two replicas; want 5", n)
		}
		reminded := 0
		for _, o := range h.outcomes() {
			if o == approvals.OutcomeReminded {
				reminded++
			}
		}
		if reminded != 5 {
			t.Errorf("%d reminded rows; want 5", reminded)
		}
	})
}

func equalOutcomes(a, b []approvals.Outcome) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sweepAtOnce runs every service's Sweep at the same time, as replicas do,
// then waits until each has sent what the sweeps owe (whichever replica's
// outbox claimed it).
func sweepAtOnce(t *testing.T, services ...*Service) {
	t.Helper()
	var wg sync.WaitGroup
	for _, svc := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := svc.Sweep(context.Background()); err != nil {
				t.Errorf("Sweep: %v", err)
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, svc := range services {
		if err := svc.WaitOutboxIdle(ctx); err != nil {
			t.Fatalf("outbox did not settle: %v", err)
		}
	}
}

// Nudges go to the card's thread, so they read in locale.channel.
func TestNudges_InTheChannelLanguage(t *testing.T) {
	h := newHarness(t, true)
	withLeads(h, remindingRule())
	h.setPolicy(func(p *Policy) { p.ChannelLang = messages.Japanese })
	h.slash(requester, custDomain+" "+aliceUPN+" INC-4711")
	id := h.msg.Posted()[0].RequestID
	h.click(ActionApprove, id, lead1)
	h.clock.Advance(20 * time.Minute)
	h.sweep()
	posts := h.msg.ThreadPosts()
	if len(posts) != 2 {
		t.Fatalf("%d thread posts; want reminder + escalation", len(posts))
	}
	wantContains(t, "ja reminder", posts[0].Text, ":bell: リマインダー:", "まだ承認待ちです (承認 2 件中 1 件)", "<!subteam^"+leads+">")
	wantContains(t, "ja escalation", posts[1].Text, ":rotating_light: エスカレーション:", "20m0s の間、判断されていません", "承認または却下をお願いします")
	wantNotContains(t, "ja escalation", posts[1].Text, "Escalation", "approvals")
}

// A reminder falls due while the card is still owed (Slack failed the first
// post and the card waits for its retry): the reminder waits for the card and
// goes into its thread, rather than landing loose in the channel.
func TestNudges_ReminderWaitsForItsCard(t *testing.T) {
	h := newHarness(t, true)
	withLeads(h, remindingRule())
	var up atomic.Bool
	failed := make(chan struct{}, 10)
	h.msg.postApprovalFn = func(ctx context.Context, channel string, c Card) (MessageRef, error) {
		if !up.Load() {
			failed <- struct{}{}
			return MessageRef{}, errors.New("slack: connection reset")
		}
		return MessageRef{Channel: channel, TS: "1772445600.000100", Permalink: "https://slack.example/archives/C/p1"}, nil
	}
	ctx := context.Background()
	reply := h.svc.SlashCommand(ctx, Invocation{UserID: requester, UserName: "req", TeamID: "T0TEAM", ChannelID: "C0HELPDESK",
		Text: custDomain + " " + aliceUPN + " INC-4711", CorrelationID: "corr-slow-card"})
	wantContains(t, "reply", reply.Text, "queued")
	<-failed // the card waits for its retry

	h.clock.Advance(10 * time.Minute)
	if err := h.svc.Sweep(ctx); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	h.settle() // the reminder has been tried, and told to wait
	if posts, threads := h.msg.ChannelPosts(), h.msg.ThreadPosts(); len(threads) != 0 || containsText(posts, ":bell: Reminder") {
		t.Fatalf("reminder sent before its card: threads %+v, channel %q", threads, posts)
	}
	up.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for len(h.msg.ThreadPosts()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	threads := h.msg.ThreadPosts()
	if len(threads) != 1 || threads[0].Parent.TS != "1772445600.000100" {
		t.Fatalf("thread posts = %+v, want the reminder under the card", threads)
	}
	wantContains(t, "reminder", threads[0].Text, ":bell: Reminder", aliceUPN)
	if containsText(h.msg.ChannelPosts(), ":bell: Reminder") {
		t.Fatalf("reminder also in the channel: %q", h.msg.ChannelPosts())
	}
}

func containsText(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
