package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/bot"
	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/graph"
	"github.com/locksmithbot/locksmith/partner"
)

// Timings of the running bot. Variables, not constants, so the end-to-end tests
// can shorten them.
var (
	sweepEvery        = 30 * time.Second
	tokenKeepAlive    = 24 * time.Hour // far inside Entra's 90-day inactivity window
	shutdownGrace     = 25 * time.Second
	drainTimeout      = bot.DefaultDrainTimeout  // then work not yet at Partner Center is cancelled
	finishTimeout     = bot.DefaultFinishTimeout // then resets already sent are no longer waited for
	outboxStopWait    = 5 * time.Second          // then a Slack message still being sent is left for the next start
	readinessCacheFor = 30 * time.Second
	slackPingTimeout  = bot.DefaultPingTimeout     // slack-go replaces a socket this long without a PING
	slackSuspectAfter = bot.DefaultPingTimeout / 2 // /readyz fails while the socket is silent this long (docs/slack.md §1.6)
)

func newFlagSet(name, help string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: %s\n\n%s\n", name, help)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := parseFlagsAndArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %v\n", fs.Args())
		return errUsage
	}
	return nil
}

// parseFlagsAndArgs parses flags and leaves positional arguments in fs.Args().
func parseFlagsAndArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	return nil
}

// app is a wired locksmith: what run and the tests share.
type app struct {
	cfg     Config
	log     *slog.Logger
	store   *approvals.Store
	pc      *partner.Client
	gc      *graph.Client
	bot     *bot.Bot
	svc     *commands.Service
	metrics *metrics
	sealed  *sealedTokenStore // nil without LOCKSMITH_SECRET_KEY

	opsAddr atomic.Value // string: where /healthz, /readyz, /metrics listen (tests use port 0)
}

// newApp opens the store and builds the clients; nothing connects yet. now is
// the clock (nil: time.Now); tests pass a controllable one to reach expiry.
func newApp(ctx context.Context, cfg Config, log *slog.Logger, now func() time.Time) (*app, error) {
	if now == nil {
		now = time.Now
	}
	m := newMetrics()
	store, err := approvals.Open(ctx, cfg.DatabaseURL, approvals.Options{Logger: log, Now: now})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redactDSN(cfg.DatabaseURL), err)
	}
	tokens := partner.TokenStore(partner.NewMemoryTokenStore())
	var sealed *sealedTokenStore
	if cfg.SecretKey != nil {
		sealed, err = newSealedTokenStore(store, cfg.SecretKey, cfg.PartnerRefreshToken, log.With("component", "tokens"))
		if err != nil {
			store.Close()
			return nil, err
		}
		tokens = sealed
	}
	pc, err := newPartnerClient(cfg, tokens, log, m)
	if err != nil {
		store.Close()
		return nil, err
	}
	gc, err := newGraphClient(cfg, pc, log, m)
	if err != nil {
		store.Close()
		return nil, err
	}
	b, err := newSlackBot(cfg, log, m)
	if err != nil {
		store.Close()
		return nil, err
	}
	svc, err := commands.NewService(cfg.Policy, commands.Deps{
		Partner: pc, Directory: gc, Messenger: b, Groups: b, People: b, Store: store, Homes: b,
		Logger:   log.With("component", "workflow"),
		Metrics:  m,
		Now:      now,
		Spool:    spool{dir: cfg.SpoolDir},
		Delivery: cfg.Delivery,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	// Acknowledge each person's commands in the language the workflow last
	// chose for them.
	b.SetAckLanguage(svc.AckLanguage)
	m.watch(store, pc)
	return &app{cfg: cfg, log: log, store: store, pc: pc, gc: gc, bot: b, svc: svc, metrics: m, sealed: sealed}, nil
}

// newPartnerClient and newSlackBot are the two outside connections, built the
// same way for run and for check (which builds them even without a database).
func newPartnerClient(cfg Config, tokens partner.TokenStore, log *slog.Logger, m *metrics) (*partner.Client, error) {
	return partner.New(partner.Config{
		BaseURL: cfg.PartnerCenterURL, AuthorityHost: cfg.AuthorityHost,
		TenantID: cfg.PartnerTenantID, ClientID: cfg.PartnerClientID, ClientSecret: cfg.PartnerSecret,
		RefreshToken: cfg.PartnerRefreshToken, Tokens: tokens,
		Logger:  log.With("component", "partner"),
		Observe: m.observePartner,
	})
}

func newSlackBot(cfg Config, log *slog.Logger, m *metrics) (*bot.Bot, error) {
	return bot.New(bot.Config{
		AppToken: cfg.SlackAppToken, BotToken: cfg.SlackBotToken, APIURL: cfg.SlackAPIURL,
		DrainTimeout: drainTimeout, FinishTimeout: finishTimeout,
		PingTimeout: slackPingTimeout, SuspectAfter: slackSuspectAfter,
		Logger:      log.With("component", "slack"),
		Label:       cfg.Label,
		LabelNote:   cfg.LabelNote,
		ObserveAck:  m.observeAck,
		ObserveCall: m.observeSlackCall,
	})
}

func runBot(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("locksmith run", "Runs the bot until SIGINT or SIGTERM. Configuration comes from the environment and locksmith.yaml (README.md).", stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	a, err := newApp(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer a.store.Close()
	return a.serve(ctx)
}

// serve runs the bot, the sweeper, the token keep-alive and the ops endpoints
// until ctx ends, then shuts down in order: stop taking Slack envelopes and
// finish in-flight work (bot.Run drains), wait for late writes, stop serving.
func (a *app) serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("LOCKSMITH_LISTEN %s: %w", a.cfg.Listen, err)
	}
	a.opsAddr.Store(ln.Addr().String())
	ready := newReadiness(a.bot.Health, a.store.Ping, a.pc.CheckAuth, readinessCacheFor)
	srv := &http.Server{Handler: newOpsHandler(ready.check, a.metrics.handler()), ReadHeaderTimeout: 5 * time.Second}
	a.log.Info("locksmith starting", "listen", ln.Addr().String(), "database", a.store.Dialect(), "approval_required", a.cfg.Policy.ApprovalRequired)
	if choice, ok := refreshTokenChoice(ctx, a.sealed, a.cfg); ok {
		a.log.Info("partner center refresh token", "choice", choice)
	} else {
		a.log.Error("partner center refresh token", "choice", choice)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("ops server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	// The outbox keeps delivering while the bot drains (work finishing during
	// shutdown owes messages too) and stops after it; what is left is
	// delivered at the next start, or by another replica.
	octx, stopOutbox := context.WithCancel(context.Background())
	outboxDone := make(chan struct{})
	go func() { defer close(outboxDone); a.svc.RunOutbox(octx) }()
	g.Go(func() error { return a.bot.Run(gctx, a.svc) })
	g.Go(func() error {
		// Checked in the background so a slow or failing Entra does not hold up
		// the socket or /healthz. Not fatal: the operator may be fixing it, Slack
		// users get a clear "credentials are not working" reply meanwhile, and
		// /readyz reports it.
		if err := a.pc.CheckAuth(gctx); err != nil && gctx.Err() == nil {
			a.log.Error("Partner Center authentication failed; run `locksmith check`", "err", err)
		}
		return nil
	})
	g.Go(func() error { a.checkSlackScopes(gctx); return nil })
	g.Go(func() error {
		// Record outcomes a previous run could not write before the first sweep,
		// so a reset that happened is not reconciled as "outcome unknown".
		if err := a.svc.ReplayLate(gctx); err != nil {
			a.log.Error("replaying spooled outcome records failed", "err", err)
		}
		a.svc.RunSweeper(gctx, sweepEvery)
		return nil
	})
	g.Go(func() error { a.keepTokenAlive(gctx); return nil })
	g.Go(func() error {
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-hup:
				a.reload()
			}
		}
	})
	err = g.Wait()
	stopOutbox()
	select {
	case <-outboxDone:
	case <-time.After(outboxStopWait):
		// A Slack call still hanging: exit anyway, within the stop timeout the
		// README asks for. Its message stays claimed and is sent again by the
		// next process, or another replica, after the lease.
		a.log.Warn("stopping with a Slack message still being sent")
	}
	a.svc.Stop() // late writes still pending stay spooled for the next start
	wctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	a.svc.Wait(wctx)
	cancel()
	a.log.Info("locksmith stopped")
	if ctx.Err() != nil && err == nil {
		return nil
	}
	return err
}

// reload re-reads locksmith.yaml on SIGHUP. Grants and policy take effect for
// every later step; a bad file is reported and the old policy kept.
func (a *app) reload() {
	pol, problems := readPolicy(a.cfg.ConfigPath)
	if len(problems) > 0 {
		a.log.Error("reload refused; keeping the running configuration", "problems", problems)
		return
	}
	if err := a.svc.SetPolicy(pol); err != nil {
		a.log.Error("reload refused", "err", err)
		return
	}
	a.log.Info("configuration reloaded", "grants", len(pol.Grants))
}

// keepTokenAlive redeems the refresh token on a schedule. Entra expires a refresh
// token after 90 days without use; a quiet MSP may not reset anything for that
// long, and then every operator would have to re-consent with MFA.
func (a *app) keepTokenAlive(ctx context.Context) {
	t := time.NewTicker(tokenKeepAlive)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.pc.RefreshNow(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("scheduled refresh-token redemption failed", "err", err)
			}
		}
	}
}

// checkSlackScopes warns at start-up when the bot token cannot read users
// (users:read, added to the manifest after the first releases): locksmith then
// cannot tell members from guests or deactivated accounts and honours grants
// as older releases did (commands.ErrPeopleNotReadable), and the operator
// should hear that before relying on the check.
func (a *app) checkSlackScopes(ctx context.Context) {
	ws, err := a.bot.AuthTest(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("Slack auth.test failed; run `locksmith check`", "err", err)
		}
		return
	}
	if _, err := a.bot.Person(ctx, ws.BotUserID); err != nil && ctx.Err() == nil {
		var ae *bot.APIError
		if errors.As(err, &ae) && ae.Code == "missing_scope" {
			a.log.Error("the Slack app lacks the users:read scope, so locksmith cannot refuse deactivated, bot or guest accounts named in grants; update the app from manifest.yaml and reinstall it", "err", err)
			return
		}
		a.log.Warn("users.info failed at start-up; run `locksmith check`", "err", err)
	}
}

// refreshTokenChoice says which refresh token locksmith starts from, when both a
// stored one and PARTNER_REFRESH_TOKEN may exist (docs/signin.md); ok is false
// when there is none to start from.
func refreshTokenChoice(ctx context.Context, sealed *sealedTokenStore, cfg Config) (choice string, ok bool) {
	if sealed == nil {
		if cfg.PartnerRefreshToken.IsZero() {
			return "no refresh token: set LOCKSMITH_SECRET_KEY and run `locksmith login`, or set PARTNER_REFRESH_TOKEN", false
		}
		return "using PARTNER_REFRESH_TOKEN; LOCKSMITH_SECRET_KEY is not set, so rotated tokens stay in memory", true
	}
	choice, ok, err := sealed.describe(ctx)
	if err != nil {
		return "the stored refresh token cannot be read: " + err.Error(), !cfg.PartnerRefreshToken.IsZero()
	}
	return choice, ok
}
