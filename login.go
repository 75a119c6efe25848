package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"runtime"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/signin"
)

// runLogin wires `locksmith login`: the sign-in itself is package signin's.
func runLogin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return login(ctx, args, getenv, stdout, stderr, openBrowser)
}

// login takes the browser opener as a parameter so that tests can play the
// browser against the fake Entra.
func login(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, opener func(string) error) error {
	fs := newFlagSet("locksmith login",
		"Signs the Partner Center service account in, with MFA, and stores its refresh token in the database,\n"+
			"encrypted under LOCKSMITH_SECRET_KEY, where the bot finds it. By default a browser opens on this\n"+
			"machine; --device prints a URL and a code to use on any other device instead. See docs/signin.md.", stdout)
	device := fs.Bool("device", false, "device-code sign-in, for a machine without a browser (needs \"Allow public client flows\")")
	noBrowser := fs.Bool("no-browser", false, "only print the sign-in address; do not try to open a browser")
	timeout := fs.Duration("timeout", 15*time.Minute, "give up when the sign-in has not finished after this long")
	account := fs.String("account", "", "the service account's sign-in name, offered to the browser sign-in (login_hint)")
	allowNoMFA := fs.Bool("allow-without-mfa", false, "save a token whose claims do not show MFA (Partner Center refuses such tokens)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfigFor(getenv, false)
	if err != nil {
		return err
	}
	if cfg.SecretKey == nil {
		return &ConfigError{Problems: []string{"LOCKSMITH_SECRET_KEY: not set. `locksmith login` stores the refresh token " +
			"encrypted in the database and needs this key (32 random bytes, base64: `openssl rand -base64 32`); " +
			"give the bot the same value, then run login again"}}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := approvals.Open(ctx, cfg.DatabaseURL, approvals.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("open database %s: %w", redactDSN(cfg.DatabaseURL), err)
	}
	defer store.Close()
	tokens, err := newSealedTokenStore(store, cfg.SecretKey, cfg.PartnerRefreshToken, log)
	if err != nil {
		return err
	}
	opts := signin.Options{
		AuthorityHost: cfg.AuthorityHost, TenantID: cfg.PartnerTenantID,
		ClientID: cfg.PartnerClientID, ClientSecret: cfg.PartnerSecret,
		Device: *device, Account: *account, AllowWithoutMFA: *allowNoMFA, Out: stdout,
	}
	if !*device && !*noBrowser {
		opts.OpenBrowser = opener
	}
	lctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if _, err := signin.Run(lctx, opts, tokens); err != nil {
		return &failure{msg: "login: " + err.Error()}
	}
	fmt.Fprintf(stdout, "\nSaved in the database (%s), encrypted under LOCKSMITH_SECRET_KEY.\n", store.Dialect())
	if choice, _, err := tokens.describe(ctx); err == nil {
		fmt.Fprintf(stdout, "Refresh token: %s.\n", choice)
	}
	fmt.Fprintln(stdout, "A running bot switches to it at its next token refresh (within the hour); `locksmith check` confirms it works.")
	return nil
}

// openBrowser asks the desktop to open url. It only starts the opener: the
// URL is always printed as well, for when nothing opens.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
