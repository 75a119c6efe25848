package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/locksmithbot/locksmith/demo"
	"github.com/locksmithbot/locksmith/internal/fakepartner"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// environ lists the process environment, to find every PARTNER_* variable
// (getenv alone can only answer for names it is asked about).
var environ = os.Environ

// partnerVariables are the PARTNER_* variables locksmith reads; demo refuses
// to start when any of these, or any other PARTNER_* variable, is set.
var partnerVariables = []string{"PARTNER_TENANT_ID", "PARTNER_CLIENT_ID", "PARTNER_CLIENT_SECRET", "PARTNER_REFRESH_TOKEN", "PARTNER_CENTER_URL"}

// demoPlayTimeout bounds the local walkthrough; it takes about a second.
const demoPlayTimeout = 2 * time.Minute

const demoHelp = `Runs the real bot against a built-in sample Partner Center, so a team can try
requests, approvals, denials, expiry and resets before any Partner Center set-up.
Every message it posts says DEMO.

Without --local it connects to your Slack workspace (SLACK_APP_TOKEN,
SLACK_BOT_TOKEN and locksmith.yaml as for "locksmith run"; grants may name "*"
or the sample customers) and keeps its own database (--database), until SIGINT
or SIGTERM. It refuses to start while any PARTNER_* variable is set.

With --local it needs no account at all: it also starts an in-process fake
Slack workspace, plays one request through approval to reset, prints what each
person saw and the verified audit trail, and exits.`

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("locksmith demo [--local] [--database FILE]", demoHelp, stdout)
	local := fs.Bool("local", false, "no Slack account either: an in-process fake workspace and a walkthrough")
	dbFile := fs.String("database", "locksmith-demo.db", "the demo's own SQLite file (with --local a temporary one)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if set := setPartnerVariables(getenv); len(set) > 0 {
		return &ConfigError{Problems: []string{strings.Join(set, ", ") + ": set, but locksmith demo only runs against its built-in sample Partner Center; unset them (or use a clean shell) so real credentials cannot be mixed into the demo"}}
	}

	pc := demo.StartPartner()
	defer pc.Close()
	over := map[string]string{
		"PARTNER_TENANT_ID":      fakepartner.TenantID,
		"PARTNER_CLIENT_ID":      fakepartner.ClientID,
		"PARTNER_CLIENT_SECRET":  fakepartner.ClientSecret,
		"PARTNER_REFRESH_TOKEN":  pc.InitialRefreshToken(),
		"PARTNER_CENTER_URL":     pc.URL(),
		"AZURE_AUTHORITY_HOST":   pc.AuthorityURL(),
		"LOCKSMITH_DATABASE_URL": *dbFile,
		"LOCKSMITH_SPOOL_DIR":    strings.TrimSuffix(*dbFile, filepath.Ext(*dbFile)) + "-spool",
		// The sample Partner Center's refresh tokens die with the process, so a
		// sealed one from an earlier demo would only be refused: memory only.
		"LOCKSMITH_SECRET_KEY": "",
	}
	var slack *fakeslack.Server
	if *local {
		slack = demo.StartSlack()
		defer slack.Close()
		dir, err := os.MkdirTemp("", "locksmith-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		policy := filepath.Join(dir, "locksmith.yaml")
		if err := os.WriteFile(policy, []byte(demo.LocalPolicy), 0o600); err != nil {
			return err
		}
		over["SLACK_APP_TOKEN"] = fakeslack.AppToken
		over["SLACK_BOT_TOKEN"] = fakeslack.BotToken
		over["SLACK_API_URL"] = slack.APIURL()
		over["LOCKSMITH_CONFIG"] = policy
		over["LOCKSMITH_DATABASE_URL"] = filepath.Join(dir, "locksmith-demo.db")
		over["LOCKSMITH_SPOOL_DIR"] = filepath.Join(dir, "spool")
		over["LOCKSMITH_LISTEN"] = "127.0.0.1:0"
	}
	cfg, err := loadConfig(func(k string) string {
		if v, ok := over[k]; ok {
			return v
		}
		return getenv(k)
	})
	if err != nil {
		return err
	}
	cfg.Label, cfg.LabelNote = demo.Label, demo.LabelNote

	level := slog.LevelInfo
	if *local {
		level = slog.LevelWarn // the walkthrough is the output; logs only for trouble
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	a, err := newApp(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer a.store.Close()

	if !*local {
		fmt.Fprintf(stdout, "locksmith demo: the real bot in your Slack workspace, against a built-in sample Partner Center.\n"+
			"Every message it posts says DEMO. Database: %s. Stop with Ctrl-C.\n\n", cfg.DatabaseURL)
		demo.WriteDirectory(stdout)
		return a.serve(ctx)
	}

	fmt.Fprintln(stdout, "locksmith demo --local: the real bot, a fake Slack workspace and a sample Partner Center, all in this process.")
	fmt.Fprintln(stdout)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	playCtx, cancelPlay := context.WithTimeout(runCtx, demoPlayTimeout)
	defer cancelPlay()
	done := make(chan error, 1)
	go func() {
		err := a.serve(runCtx)
		cancelPlay() // a bot that stopped early ends the walkthrough at once
		done <- err
	}()
	w := &demo.Walkthrough{Slack: slack, Partner: pc, Out: stdout}
	playErr := slack.WaitConnected(playCtx)
	if playErr == nil {
		playErr = w.Play(playCtx)
	}
	stop() // as SIGTERM would: everything in flight is finished and written first
	if err := <-done; err != nil {
		return err
	}
	if playErr != nil {
		return fmt.Errorf("demo walkthrough: %w", playErr)
	}
	return w.Report(ctx, a.store)
}

// setPartnerVariables names the PARTNER_* variables that are set.
func setPartnerVariables(getenv func(string) string) []string {
	names := slices.Clone(partnerVariables)
	for _, kv := range environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "PARTNER_") && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	var set []string
	for _, n := range names {
		if strings.TrimSpace(getenv(n)) != "" {
			set = append(set, n)
		}
	}
	return set
}
