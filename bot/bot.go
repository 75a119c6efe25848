package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/nofollow"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/messages"
)

// Defaults for the zero fields of Config.
const (
	DefaultAPIURL        = "https://slack.com/api/"
	DefaultWorkers       = 8
	DefaultQueueSize     = 64
	DefaultCallTimeout   = 10 * time.Second
	DefaultDrainTimeout  = 20 * time.Second
	DefaultFinishTimeout = 90 * time.Second
	DefaultGroupCacheTTL = 60 * time.Second
	// DefaultPeopleCacheTTL bounds how long a deactivated or demoted account
	// may still be taken for an active member.
	DefaultPeopleCacheTTL = 60 * time.Second

	// readLimit caps one incoming Socket Mode frame. slack-go's default is
	// unlimited; the largest envelope locksmith receives is a block_actions payload
	// echoing one of its own messages (≤ 50 blocks), far below this.
	readLimit = 1 << 20

	// defaultHTTPTimeout backs up the per-call contexts for the requests slack-go
	// makes on its own (apps.connections.open runs under Run's ctx, which has no
	// deadline), so a hung Slack endpoint leads to a retry instead of a hang.
	defaultHTTPTimeout = 30 * time.Second

	// socketStopWait bounds waiting for slack-go to close the socket on shutdown.
	socketStopWait = 5 * time.Second

	// DefaultPingTimeout is slack-go's own: how long it waits for Slack's next
	// PING before dropping the socket.
	DefaultPingTimeout = 30 * time.Second
)

// Config configures a Bot. Only the tokens are required.
type Config struct {
	AppToken, BotToken secret.Token
	// APIURL is SLACK_API_URL, used for the Web API and apps.connections.open.
	// slack-go appends method names by string concatenation, so it is normalised
	// to end in "/".
	APIURL string
	// Workers bounds how many envelopes are worked on at once.
	Workers int
	// QueueSize bounds how many acked envelopes may wait for a worker. When the
	// queue is full the envelope is still acked and the user is told
	// "locksmith is busy, try again in a minute".
	QueueSize int
	// CallTimeout bounds each Web API attempt.
	CallTimeout time.Duration
	// DrainTimeout bounds how long Run waits for in-flight work once ctx ends.
	// Work that has not yet asked Partner Center to change anything is then
	// cancelled (its requester is told nothing was done).
	DrainTimeout time.Duration
	// FinishTimeout bounds how much longer Run waits, after DrainTimeout, for
	// work past its point of no return (a password reset already sent to Partner
	// Center) to deliver the password and record the outcome. Such work is never
	// cancelled by shutdown; this only bounds how long the exit waits for it.
	FinishTimeout time.Duration
	// GroupCacheTTL is how long usergroups.users.list answers are reused.
	GroupCacheTTL time.Duration
	// PeopleCacheTTL is how long users.info answers are reused.
	PeopleCacheTTL time.Duration
	// AckLanguage, when set, gives the language to acknowledge a user's
	// command in; it must not do I/O (the ack goes out before any work).
	// Default: English.
	AckLanguage func(userID string) messages.Lang
	// HTTPClient carries every request (Web API, apps.connections.open,
	// response_url). Default: a client with a 30 s overall timeout. Either way it
	// is used through nofollow.Client: a redirect is an error, never followed.
	HTTPClient *http.Client
	// Logger receives the bot's log lines as they are; the caller adds any
	// attributes (such as the component) that say where they came from.
	Logger *slog.Logger
	// Label, when set, marks everything the bot shows in Slack (`locksmith demo`
	// sets "DEMO"): text gets a "[Label] " prefix and block messages a first
	// context block with Label and LabelNote. See label.go.
	Label     string
	LabelNote string
	// ObserveAck, when set, is called with the time from reading an envelope to
	// handing its ack to the socket writer.
	ObserveAck func(elapsed time.Duration)
	// ObserveCall, when set, is called after every Web API attempt (a retried call
	// reports each attempt) and every response_url POST (method "response_url").
	ObserveCall func(method string, err error, elapsed time.Duration)
	// PingTimeout is how long slack-go waits for Slack's next WebSocket PING
	// before it drops the socket and reconnects. It checks once per PingTimeout,
	// so a silent socket is dropped one to two PingTimeouts after its last PING.
	// Default DefaultPingTimeout (docs/slack.md §1.6).
	PingTimeout time.Duration
	// SuspectAfter is how long a connected socket may stay silent (no frame, no
	// PING) before Health calls it suspect. Default PingTimeout/2
	// (docs/slack.md §1.6 says why).
	SuspectAfter time.Duration
}

// Bot is locksmith's Slack transport. Create it with New, then call Run.
type Bot struct {
	cfg Config
	api *slack.Client
	log *slog.Logger

	running atomic.Bool
	watch   *socketWatch // the socket's phase and when it last heard from Slack

	dmMu sync.Mutex
	dms  map[string]string // user ID → D… channel ID; stable, so never expired

	groupMu sync.Mutex
	groups  map[string]groupEntry

	peopleMu sync.Mutex
	people   map[string]personEntry
}

var (
	_ commands.Messenger = (*Bot)(nil)
	_ commands.Groups    = (*Bot)(nil)
)

// New checks cfg, fills in defaults and returns a Bot. It makes no network call.
func New(cfg Config) (*Bot, error) {
	// Swapped or mistyped tokens are the commonest set-up error, and Slack's answer
	// to them (invalid_auth, not_allowed_token_type) does not say which one.
	if cfg.AppToken.IsZero() || !strings.HasPrefix(cfg.AppToken.Reveal(), "xapp-") {
		return nil, errors.New("bot: SLACK_APP_TOKEN must be an app-level token (xapp-…) with connections:write")
	}
	if cfg.BotToken.IsZero() || !strings.HasPrefix(cfg.BotToken.Reveal(), "xoxb-") {
		return nil, errors.New("bot: SLACK_BOT_TOKEN must be a bot token (xoxb-…)")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if !strings.HasPrefix(cfg.APIURL, "http://") && !strings.HasPrefix(cfg.APIURL, "https://") {
		return nil, fmt.Errorf("bot: SLACK_API_URL %q must start with http:// or https://", cfg.APIURL)
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.FinishTimeout <= 0 {
		cfg.FinishTimeout = DefaultFinishTimeout
	}
	if cfg.GroupCacheTTL <= 0 {
		cfg.GroupCacheTTL = DefaultGroupCacheTTL
	}
	if cfg.PeopleCacheTTL <= 0 {
		cfg.PeopleCacheTTL = DefaultPeopleCacheTTL
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = DefaultPingTimeout
	}
	if cfg.SuspectAfter <= 0 {
		cfg.SuspectAfter = cfg.PingTimeout / 2
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	// chat.postEphemeral carries the password and every call the bot token: a
	// redirect is never followed, with the default client or the caller's.
	cfg.HTTPClient = nofollow.Client(cfg.HTTPClient)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// No slack.OptionDebug: with it slack-go logs every request body, and the
	// chat.postEphemeral body carries the password. No OptionRetry either: api.go
	// does the retrying, so it can be bounded by ctx and observed.
	api := slack.New(cfg.BotToken.Reveal(),
		slack.OptionAPIURL(cfg.APIURL),
		slack.OptionAppLevelToken(cfg.AppToken.Reveal()),
		slack.OptionHTTPClient(cfg.HTTPClient),
		slack.OptionLog(discardLog{}),
	)
	return &Bot{
		cfg:    cfg,
		api:    api,
		log:    cfg.Logger, // the caller names the component: a second "component" key would duplicate it
		watch:  newSocketWatch(nil),
		dms:    make(map[string]string),
		groups: make(map[string]groupEntry),
		people: make(map[string]personEntry),
	}, nil
}

// Connected reports whether the Socket Mode WebSocket is up, even if it has
// gone quiet (see Health).
func (b *Bot) Connected() bool { return b.watch.connectedNow() }

// Health says whether the Socket Mode connection can be relied on (for
// /readyz): nil while a socket is up and something (a frame or a PING) arrived
// on it within SuspectAfter, else a *HealthError saying why not: not connected,
// connecting (which attempt), or suspect (silent for how long). A suspect socket
// is healthy again as soon as anything arrives on it, or once slack-go has
// replaced it and the new one is up.
func (b *Bot) Health() error { return b.watch.health(b.cfg.SuspectAfter, b.cfg.PingTimeout) }

// Run connects to Slack over Socket Mode and serves envelopes with wf until ctx
// ends. It then stops reading the socket, lets queued and in-flight work finish
// within DrainTimeout, cancels what has not reached its point of no return,
// waits up to FinishTimeout more for what has, and returns nil. It returns an error early only when
// slack-go gives up on the connection for good (invalid_auth and the like); the
// work already acked is drained first in that case too.
func (b *Bot) Run(ctx context.Context, wf commands.Workflow) error {
	if wf == nil {
		return errors.New("bot: Run needs a workflow")
	}
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("bot: Run is already running")
	}
	defer b.running.Store(false)

	sm := socketmode.New(b.api,
		socketmode.OptionReadLimit(readLimit),
		socketmode.OptionDialer(b.watch.dialer()),
		socketmode.OptionPingInterval(b.cfg.PingTimeout),
		socketmode.OptionDebug(false), // it logs envelope payloads: user text
		socketmode.OptionLog(discardLog{}),
	)

	// The workers' context is detached from ctx: a request that has started when
	// SIGTERM arrives should finish and be reported, not be cut off. It is
	// cancelled DrainTimeout after ctx ends; work past its point of no return
	// ignores that (see commands.WithPointOfNoReturn) and is waited for.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	rs := &runState{
		sm:      sm,
		queue:   make(chan job, b.cfg.QueueSize),
		busy:    make(chan struct{}, b.cfg.Workers),
		workCtx: workCtx,
		wg:      &wg,
		commits: &commits{},
	}
	for range b.cfg.Workers {
		wg.Go(func() { b.work(workCtx, wf, rs) })
	}

	sockDone := make(chan error, 1)
	go func() { sockDone <- sm.RunContext(ctx) }()

	sockEnded, runErr := b.loop(ctx, rs, sockDone)
	b.watch.down(phaseIdle)
	if !sockEnded {
		// slack-go's run loop returns promptly once ctx is done (every wait in it
		// honours ctx); wait for it so no socket goroutine outlives Run.
		select {
		case <-sockDone:
		case <-time.After(socketStopWait):
			b.log.Warn("socket mode client still stopping")
		}
	}

	// Nothing sends on the queue after loop returns: handle runs only inside it.
	close(rs.queue)
	b.drain(&wg, rs.commits, cancelWork)
	return runErr
}

// loop reads client.Events until ctx ends or the socket client gives up; it
// reports whether it saw the socket client return.
func (b *Bot) loop(ctx context.Context, rs *runState, sockDone <-chan error) (sockEnded bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case err := <-sockDone:
			if ctx.Err() != nil {
				return true, nil
			}
			err = socketError(err)
			b.log.Error("socket mode stopped", "error", err)
			return true, err
		case evt := <-rs.sm.Events:
			b.handle(rs, evt)
		}
	}
}

// drain waits for the workers to finish what was queued before ctx ended, for at
// most DrainTimeout. Then it closes the point of no return to new work, cancels
// the workers' context (work not yet at that point stops), and waits: up to
// FinishTimeout while some work is past the point (a password may have been
// set and must be delivered and recorded), otherwise a second for the
// cancelled work to notice.
func (b *Bot) drain(workers *sync.WaitGroup, c *commits, cancelWork context.CancelFunc) {
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	timer := time.NewTimer(b.cfg.DrainTimeout)
	defer timer.Stop()
	select {
	case <-done:
		b.log.Info("drained in-flight work")
		return
	case <-timer.C:
	}
	committed := c.close()
	cancelWork()
	wait := time.Second
	if committed > 0 {
		wait = b.cfg.FinishTimeout
		b.log.Warn("drain deadline reached; waiting for resets already sent to Partner Center", "in_flight", committed, "finish_timeout_seconds", wait.Seconds())
	}
	grace := time.NewTimer(wait)
	defer grace.Stop()
	select {
	case <-done:
		b.log.Warn("drain deadline reached; in-flight work cancelled or finished", "drain_timeout_seconds", b.cfg.DrainTimeout.Seconds())
	case <-grace.C:
		b.log.Error("workers still running at exit", "drain_timeout_seconds", b.cfg.DrainTimeout.Seconds(), "past_point_of_no_return", c.count())
	}
}

// commits counts jobs past their point of no return. Once closed (the drain
// deadline has passed and unfinished work is being cancelled) no job may cross
// it, so the count the drain reads when it closes is final but for jobs
// finishing.
type commits struct {
	mu     sync.Mutex
	n      int
	closed bool
}

// enter lets one job past its point of no return, unless the drain has given up.
func (c *commits) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.n++
	return true
}

func (c *commits) leave() {
	c.mu.Lock()
	c.n--
	c.mu.Unlock()
}

// close refuses further entries and returns how many jobs are past the point.
func (c *commits) close() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return c.n
}

func (c *commits) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// discardLog replaces slack-go's own loggers. They write only in debug mode,
// which stays off, and what they would write (request and envelope bodies) must
// never reach a log; discarding makes that hold even if debug is switched on.
type discardLog struct{}

func (discardLog) Output(int, string) error { return nil }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
