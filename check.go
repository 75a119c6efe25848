package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// runCheck validates the configuration and reaches Slack (auth.test), the
// database and Partner Center (a token), changing nothing in Slack or Partner
// Center. Each line says OK or what is wrong.
func runCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("locksmith check", "Validates the configuration and reaches Slack, the database and Partner Center without changing anything.", stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "configuration: OK (%s; %d grants; approval required: %t)\n", cfg.ConfigPath, len(cfg.Policy.Grants), cfg.Policy.ApprovalRequired)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := newApp(ctx, cfg, log, nil)
	if err != nil {
		fmt.Fprintf(stdout, "database: FAILED: %v\n", err)
		return &failure{msg: "check failed"}
	}
	defer a.store.Close()
	fmt.Fprintf(stdout, "database: OK (%s)\n", a.store.Dialect())

	failed := false
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if team, botUser, err := a.bot.AuthTest(cctx); err != nil {
		failed = true
		fmt.Fprintf(stdout, "slack: FAILED: auth.test: %v\n", err)
	} else {
		fmt.Fprintf(stdout, "slack: OK (team %s, bot user %s)\n", team, botUser)
	}
	if err := a.pc.CheckAuth(cctx); err != nil {
		failed = true
		fmt.Fprintf(stdout, "partner center: FAILED: %v\n", err)
	} else {
		fmt.Fprintln(stdout, "partner center: OK (token issued)")
	}
	if cfg.SecretKey == nil {
		fmt.Fprintln(stdout, "warning: LOCKSMITH_SECRET_KEY is not set, so rotated refresh tokens are kept in memory only. After a restart locksmith starts again from PARTNER_REFRESH_TOKEN, which Entra expires after 90 days without use; set the key to persist the newest token (encrypted).")
	}
	if failed {
		return &failure{msg: "check failed"}
	}
	fmt.Fprintln(stdout, "all checks passed")
	return nil
}
