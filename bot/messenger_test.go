package bot

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
	"github.com/locksmithbot/locksmith/internal/secret"
)

// messengerBot is a Bot that is not running: Messenger and Groups need only the
// Web API.
func messengerBot(t *testing.T, mod func(*Config)) (*Bot, *fakeslack.Server, *syncBuffer, context.Context) {
	t.Helper()
	fake := newFake(t)
	logs := &syncBuffer{}
	b := newBot(t, fake, logs, mod)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return b, fake, logs, ctx
}

func TestPostApproval_PostsCardWithPermalink(t *testing.T) {
	b, fake, _, ctx := messengerBot(t, nil)
	ref, err := b.PostApproval(ctx, approvalsCh, pendingCard())
	if err != nil {
		t.Fatal(err)
	}
	if ref.Channel != approvalsCh || ref.TS == "" || ref.Permalink != fakeslack.Permalink(approvalsCh, ref.TS) {
		t.Errorf("MessageRef = %+v", ref)
	}
	msg, ok := fake.Message(approvalsCh, ref.TS)
	if !ok {
		t.Fatal("card not in channel history")
	}
	if !strings.Contains(string(msg.Blocks), ActionIDApprove) || !strings.Contains(string(msg.Blocks), ActionIDDeny) {
		t.Errorf("pending card lacks its buttons: %s", msg.Blocks)
	}

	decided := decidedCard()
	if err := b.UpdateApproval(ctx, ref, decided); err != nil {
		t.Fatal(err)
	}
	msg, _ = fake.Message(approvalsCh, ref.TS)
	var blocks any
	if err := json.Unmarshal(msg.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	if msg.Updates != 1 || strings.Contains(string(msg.Blocks), ActionIDApprove) || !strings.Contains(collectText(blocks), "Approved by <@U0BOB>") {
		t.Errorf("updated card = %d updates, blocks %s", msg.Updates, msg.Blocks)
	}
	checkClean(t, fake)
}

// A reminder goes into the card's thread: chat.postMessage with thread_ts.
func TestPostThread_RepliesUnderTheCard(t *testing.T) {
	b, fake, _, ctx := messengerBot(t, nil)
	ref, err := b.PostApproval(ctx, approvalsCh, pendingCard())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PostThread(ctx, ref, ":bell: Reminder <!subteam^S0LEADS>"); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages(approvalsCh)
	if len(msgs) != 2 {
		t.Fatalf("%d messages in the channel; want the card and its reply", len(msgs))
	}
	reply := msgs[1]
	if reply.ThreadTS != ref.TS || reply.Text != ":bell: Reminder <!subteam^S0LEADS>" {
		t.Errorf("reply = %+v; want thread_ts %s", reply, ref.TS)
	}
	checkClean(t, fake)
}

// User text in a card cannot mention, link or broadcast once posted.
func TestPostApproval_EscapesReasonInPostedBlocks(t *testing.T) {
	b, fake, _, ctx := messengerBot(t, nil)
	c := pendingCard()
	c.Reason = "<!channel> urgent, see <http://x|y>"
	ref, err := b.PostApproval(ctx, approvalsCh, c)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := fake.Message(approvalsCh, ref.TS)
	var blocks any
	if err := json.Unmarshal(msg.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	text := collectText(blocks) + msg.Text
	for _, raw := range []string{"<!channel>", "<http://x|y>"} {
		if strings.Contains(text, raw) {
			t.Errorf("posted card contains %q unescaped", raw)
		}
	}
	if !strings.Contains(text, "&lt;!channel&gt; urgent, see &lt;http://x|y&gt;") {
		t.Errorf("posted card lacks the escaped reason; text: %s", text)
	}
}

func TestPostApproval_PermalinkFailureStillReturnsRef(t *testing.T) {
	b, fake, _, ctx := messengerBot(t, nil)
	fake.Fail("chat.getPermalink", fakeslack.Failure{Error: "internal_error"})
	ref, err := b.PostApproval(ctx, approvalsCh, pendingCard())
	if err != nil {
		t.Fatalf("PostApproval = %v; the card was posted", err)
	}
	if ref.TS == "" || ref.Permalink != "" {
		t.Errorf("ref = %+v, want a ts and no permalink", ref)
	}
	if n := fake.CallCount("chat.postMessage"); n != 1 {
		t.Errorf("%d chat.postMessage calls, want 1", n)
	}
}

func TestNotify_OpensTheDMOnce(t *testing.T) {
	b, fake, _, ctx := messengerBot(t, nil)
	for _, text := range []string{"first", "second"} {
		if err := b.Notify(ctx, alice, commands.Notice{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.CallCount("conversations.open"); n != 1 {
		t.Errorf("%d conversations.open calls, want 1 (cached)", n)
	}
	msgs := fake.Messages(fake.DMChannel(alice))
	if len(msgs) != 2 || msgs[0].Text != "first" || msgs[1].Text != "second" {
		t.Errorf("DM history = %+v", msgs)
	}
}

func TestDeliverPassword_RetriesAfter429(t *testing.T) {
	b, fake, _, ctx := messengerBot(t, nil)
	fake.Fail("chat.postEphemeral", fakeslack.Failure{Status: 429, RetryAfter: 1})
	d := commands.Delivery{Password: secret.NewPassword(fakePassword), UserPrincipalName: "jdoe@contoso.com", UserDisplayName: "Jane Doe"}
	start := time.Now()
	if err := b.DeliverPassword(ctx, alice, d); err != nil {
		t.Fatalf("DeliverPassword: %v", err)
	}
	if n := fake.CallCount("chat.postEphemeral"); n != 2 {
		t.Errorf("%d chat.postEphemeral calls, want 2 (429, then success)", n)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %v; Retry-After was 1 s", waited)
	}
	if eph := fake.Ephemerals(fake.DMChannel(alice), alice); len(eph) != 1 {
		t.Errorf("%d ephemerals in alice's DM, want 1", len(eph))
	}
}

func TestDeliverPassword_GivesUpWhenRetryAfterOutlivesCtx(t *testing.T) {
	b, fake, _, _ := messengerBot(t, nil)
	fake.Fail("chat.postEphemeral", fakeslack.Failure{Status: 429, RetryAfter: 3600})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	err := b.DeliverPassword(ctx, alice, commands.Delivery{Password: secret.NewPassword(fakePassword), UserPrincipalName: "a@b.c"})
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) {
		t.Fatalf("err = %v, want a rate-limit error", err)
	}
	if ctx.Err() != nil {
		t.Error("waited out the caller's deadline instead of failing at once")
	}
}

// DESIGN guarantee 1: the password is in exactly one Slack call, the ephemeral to
// the requester in their DM; not in its fallback text, any other call, any frame
// on the socket, or any log line. The flow here touches every Messenger method
// and the reply path around the delivery.
// sendEveryKind sends one message of every kind a Messenger sends: the card,
// its update, a DM notice, the password ephemeral and a channel line.
func sendEveryKind(ctx context.Context, b *Bot, userID, pw string) error {
	ref, err := b.PostApproval(ctx, approvalsCh, pendingCard())
	if err == nil {
		err = b.UpdateApproval(ctx, ref, decidedCard())
	}
	if err == nil {
		err = b.Notify(ctx, userID, commands.Notice{Text: "approved", ResetButton: "REQ1", ValidUntil: expires})
	}
	if err == nil {
		err = b.DeliverPassword(ctx, userID, commands.Delivery{
			Password: secret.NewPassword(pw), UserPrincipalName: "jdoe@contoso.com", UserDisplayName: "Jane Doe", CustomerName: "Contoso",
		})
	}
	if err == nil {
		err = b.PostChannel(ctx, approvalsCh, "Reset done for jdoe@contoso.com")
	}
	return err
}

func TestDeliverPassword_PasswordAppearsInExactlyOneCall(t *testing.T) {
	// Letters and digits only, so every encoding on the wire (form, JSON, mrkdwn)
	// keeps it verbatim and a plain substring search finds every copy.
	const pw = "Zq8Kv3Wm9Lx2Tr7B"
	var bot atomic.Pointer[Bot] // set once Run is up; the workflow runs after that
	var wfErr error
	var mu sync.Mutex
	wf := &fakeWorkflow{slash: func(ctx context.Context, in commands.Invocation) commands.Reply {
		mu.Lock()
		defer mu.Unlock()
		err := sendEveryKind(ctx, bot.Load(), in.UserID, pw)
		wfErr = err
		return commands.Reply{Text: "Password shown above."}
	}}
	h := start(t, wf, nil)
	bot.Store(h.bot)
	if _, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "contoso.com jdoe@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitCall(h.ctx, "response_url", nil); err != nil {
		t.Fatal(err)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if wfErr != nil {
		t.Fatalf("flow failed: %v", wfErr)
	}
	mu.Unlock()

	var carrying []fakeslack.Call
	for _, c := range h.fake.Calls() {
		if callContains(c, pw) {
			carrying = append(carrying, c)
		}
	}
	if len(carrying) != 1 {
		t.Fatalf("%d Slack calls carry the password, want exactly 1", len(carrying))
	}
	c := carrying[0]
	if c.Method != "chat.postEphemeral" || c.Form.Get("channel") != h.fake.DMChannel(alice) || c.Form.Get("user") != alice {
		t.Errorf("the password went by %s to channel %s user %s; want chat.postEphemeral in %s to %s",
			c.Method, c.Form.Get("channel"), c.Form.Get("user"), h.fake.DMChannel(alice), alice)
	}
	if strings.Contains(c.Form.Get("text"), pw) {
		t.Error("the fallback text (notifications, previews) carries the password")
	}
	if !strings.Contains(c.Form.Get("text"), "jdoe@contoso.com") {
		t.Errorf("fallback text = %q, want it to name the UPN", c.Form.Get("text"))
	}
	// One request body on the whole wire; the fake's answer does not echo it.
	if n := strings.Count(string(h.fake.Traffic()), pw); n != 1 {
		t.Errorf("the password appears %d times in the Slack traffic, want 1", n)
	}
	if strings.Contains(h.logs.String(), pw) {
		t.Error("the password reached a log line")
	}
	eph := h.fake.Ephemerals(h.fake.DMChannel(alice), alice)
	if len(eph) != 1 || !strings.Contains(string(eph[0].Blocks), "`"+pw+"`") {
		t.Error("the password is not in a code span in alice's ephemeral")
	}
	checkClean(t, h.fake)
}

func callContains(c fakeslack.Call, s string) bool {
	if strings.Contains(string(c.JSON), s) {
		return true
	}
	for _, vs := range c.Form {
		for _, v := range vs {
			if strings.Contains(v, s) {
				return true
			}
		}
	}
	return false
}

func TestMembers_CachedForTTL(t *testing.T) {
	tests := []struct {
		name      string
		ttl       time.Duration
		wantCalls int
	}{
		{"within ttl: one call", time.Hour, 1},
		{"expired ttl: a call each time", time.Nanosecond, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, fake, _, ctx := messengerBot(t, func(c *Config) { c.GroupCacheTTL = tt.ttl })
			fake.AddUsergroup("S0HELPDESK", alice, bob)
			for range 3 {
				got, err := b.Members(ctx, "S0HELPDESK")
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 2 || got[0] != alice || got[1] != bob {
					t.Errorf("Members = %v", got)
				}
				got[0] = "mutated" // the cache must not share its slice
			}
			if n := fake.CallCount("usergroups.users.list"); n != tt.wantCalls {
				t.Errorf("%d usergroups.users.list calls, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestMembers_UnknownGroupIsAnError(t *testing.T) {
	b, _, _, ctx := messengerBot(t, nil)
	_, err := b.Members(ctx, "S0NOPE")
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "no_such_subteam" {
		t.Fatalf("err = %v, want no_such_subteam", err)
	}
}

func TestAuthTest(t *testing.T) {
	b, _, _, ctx := messengerBot(t, nil)
	ws, err := b.AuthTest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Team == "" || ws.TeamID != fakeslack.TeamID || ws.BotUserID != fakeslack.BotUserID {
		t.Errorf("AuthTest = %+v", ws)
	}
}
