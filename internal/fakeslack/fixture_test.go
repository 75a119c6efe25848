package fakeslack

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Test workspace.
const (
	alice     = "U0ALICE"
	bob       = "U0BOB"
	carol     = "U0CAROL" // a user in no channel
	approvals = "C0APPROVALS"
	helpdesk  = "S0HELPDESK"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

// newServer starts a fake with a small workspace and fast pings.
func newServer(t *testing.T) *Server {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	s.SetPingInterval(200 * time.Millisecond)
	s.AddUser(alice, "alice")
	s.AddUser(bob, "bob")
	s.AddUser(carol, "carol")
	s.AddChannel(approvals, "approvals", alice, bob)
	s.AddUsergroup(helpdesk, alice, bob)
	return s
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newAPI is the bot's Web API client, configured as the bot configures it.
func newAPI(s *Server) *slack.Client {
	return slack.New(BotToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(AppToken))
}

// client is a real slack-go Socket Mode client connected to the fake. It records every
// event and acks slash commands and interactions at once (with ackPayload's result
// as payload when set), as a well-behaved bot does.
type client struct {
	api  *slack.Client
	sm   *socketmode.Client
	stop func() // ends RunContext and waits for it; idempotent (also run at cleanup)

	mu      sync.Mutex
	events  []socketmode.Event
	changed chan struct{}
}

type clientOptions struct {
	ackPayload func(socketmode.Event) any // nil: plain ack
	noAck      bool
	smOptions  []socketmode.Option
}

func startClient(t *testing.T, s *Server, opts clientOptions) *client {
	t.Helper()
	c := &client{api: newAPI(s), changed: make(chan struct{})}
	c.sm = socketmode.New(c.api, opts.smOptions...)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- c.sm.RunContext(ctx) }()
	consumeDone := make(chan struct{})
	go func() {
		defer close(consumeDone)
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-c.sm.Events:
				if !opts.noAck && (evt.Type == socketmode.EventTypeSlashCommand || evt.Type == socketmode.EventTypeInteractive) {
					if opts.ackPayload != nil {
						_ = c.sm.Ack(*evt.Request, opts.ackPayload(evt))
					} else {
						_ = c.sm.Ack(*evt.Request)
					}
				}
				c.mu.Lock()
				c.events = append(c.events, evt)
				close(c.changed)
				c.changed = make(chan struct{})
				c.mu.Unlock()
			}
		}
	}()
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-runDone:
			case <-time.After(testTimeout):
				t.Error("socketmode RunContext did not return after cancel")
			}
			<-consumeDone
		})
	}
	t.Cleanup(c.stop)
	return c
}

// waitEvent returns the first event (seen so far or later) of type typ that match
// accepts (nil accepts any).
func (c *client) waitEvent(ctx context.Context, t *testing.T, typ socketmode.EventType, match func(socketmode.Event) bool) socketmode.Event {
	t.Helper()
	for {
		c.mu.Lock()
		for _, e := range c.events {
			if e.Type == typ && (match == nil || match(e)) {
				c.mu.Unlock()
				return e
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("no %s event: %v", typ, ctx.Err())
		}
	}
}

// hasEnvelope says whether the client has seen an event carrying envelope id.
func (c *client) hasEnvelope(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		if byEnvelope(id)(e) {
			return true
		}
	}
	return false
}

// byEnvelope matches the event carrying envelope id.
func byEnvelope(id string) func(socketmode.Event) bool {
	return func(e socketmode.Event) bool { return e.Request != nil && e.Request.EnvelopeID == id }
}

// noUnexpected fails the test if the fake saw anything a correct client would not do.
func noUnexpected(t *testing.T, s *Server) {
	t.Helper()
	if u := s.Unexpected(); len(u) > 0 {
		t.Errorf("Unexpected() = %q, want none", u)
	}
}
