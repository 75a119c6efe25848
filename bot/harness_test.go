package bot

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
	"github.com/locksmithbot/locksmith/internal/secret"
)

// Workspace of every test.
const (
	alice       = "U0ALICE" // requester
	bob         = "U0BOB"   // approver
	helpdesk    = "C0HELPDESK"
	approvalsCh = "C0APPROVALS"
	command     = "/reset-password"
)

// waitLong bounds every wait in these tests. Waits end as soon as their
// condition holds, so a generous bound costs nothing when things work; it only
// has to outlast a loaded two-core machine running -race.
const waitLong = 30 * time.Second

// fakeWorkflow is a func-field commands.Workflow; a nil field replies nothing.
type fakeWorkflow struct {
	slash  func(ctx context.Context, in commands.Invocation) commands.Reply
	action func(ctx context.Context, in commands.Action) commands.Reply
}

func (w *fakeWorkflow) SlashCommand(ctx context.Context, in commands.Invocation) commands.Reply {
	if w.slash == nil {
		return commands.Reply{}
	}
	return w.slash(ctx, in)
}

func (w *fakeWorkflow) Action(ctx context.Context, in commands.Action) commands.Reply {
	if w.action == nil {
		return commands.Reply{}
	}
	return w.action(ctx, in)
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a Bot running against a fake Slack.
type harness struct {
	fake *fakeslack.Server
	bot  *Bot
	logs *syncBuffer
	ctx  context.Context // ends with the test; bounds waits
	stop func() error    // cancels Run and returns its result
}

// newFake starts a fake Slack with the test workspace.
func newFake(t testing.TB) *fakeslack.Server {
	t.Helper()
	fake := fakeslack.New()
	t.Cleanup(fake.Close)
	fake.SetPingInterval(200 * time.Millisecond)
	// Ack speed is the benchmarks' business: on a loaded machine any one ack can
	// be late, which says nothing about the bot.
	fake.SetAckDeadline(waitLong)
	fake.AddUser(alice, "alice")
	fake.AddUser(bob, "bob")
	fake.AddChannel(helpdesk, "helpdesk", alice, bob)
	fake.AddChannel(approvalsCh, "approvals", alice, bob)
	return fake
}

// newBot builds a Bot for fake, logging at debug level into logs.
func newBot(t testing.TB, fake *fakeslack.Server, logs *syncBuffer, mod func(*Config)) *Bot {
	t.Helper()
	cfg := Config{
		AppToken: secret.NewToken(fakeslack.AppToken),
		BotToken: secret.NewToken(fakeslack.BotToken),
		APIURL:   fake.APIURL(),
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// start runs a Bot with wf against a new fake and waits until it is connected.
func start(t testing.TB, wf commands.Workflow, mod func(*Config)) *harness {
	t.Helper()
	fake := newFake(t)
	logs := &syncBuffer{}
	b := newBot(t, fake, logs, mod)
	testCtx, cancelTest := context.WithTimeout(context.Background(), 2*waitLong)
	t.Cleanup(cancelTest)

	runCtx, cancelRun := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(runCtx, wf) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancelRun()
			select {
			case runErr = <-done:
			case <-time.After(waitLong + DefaultDrainTimeout):
				t.Errorf("Run did not return after cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })

	if err := fake.WaitConnected(testCtx); err != nil {
		t.Fatalf("bot never connected: %v", err)
	}
	waitUntil(t, testCtx, "Connected() true", b.Connected)
	return &harness{fake: fake, bot: b, logs: logs, ctx: testCtx, stop: stop}
}

// waitUntil polls cond for state the fake has no wait for (the bot's own flags).
func waitUntil(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// checkClean fails the test on anything the fake found a correct bot would not do.
func checkClean(t testing.TB, fake *fakeslack.Server) {
	t.Helper()
	for _, u := range fake.Unexpected() {
		t.Errorf("fakeslack: %s", u)
	}
}
