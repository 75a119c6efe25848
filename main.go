// Command locksmith is a Slack bot that resets Microsoft 365 customer users'
// passwords through Partner Center, with grants, second-person sign-off, an
// ephemeral-only password and a hash-chained audit trail. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `locksmith: approved Partner Center password resets from Slack

Usage:
  locksmith [run]            run the bot (Socket Mode; needs the environment and locksmith.yaml)
  locksmith check            validate the configuration and reach Slack and Partner Center; change nothing
  locksmith demo [--local]   try it against a built-in sample Partner Center (--local: no Slack account either)
  locksmith healthcheck      exit 0 when the locksmith at LOCKSMITH_LISTEN answers /healthz (--ready: /readyz)
  locksmith login            sign the Partner Center service account in (MFA) and store its token   [--device] [--no-browser]
  locksmith consent          register locksmith's app in customer tenants for Microsoft Graph   [--dry-run] (--all | <customer>…)
  locksmith audit export     print the audit trail as JSON lines   [--since 2026-01-02T15:04:05Z|24h] [--customer ID|domain]
  locksmith audit verify     check the audit trail's hash chain; exit 1 naming the first bad row
  locksmith version          print the version, VCS revision and Go version (also --version)
  locksmith help             this text ("locksmith COMMAND --help" for one command)

Configuration: environment variables (secrets, endpoints) and locksmith.yaml (policy); see README.md.
`

// exit codes: 0 success, 1 failure (a check or a verify that found a problem),
// 2 bad usage or configuration.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// run is main without process globals, so tests can run the whole program
// in-process with a fake environment and capture its output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = runBot(ctx, args, getenv, stdout, stderr)
	case "check":
		err = runCheck(ctx, args, getenv, stdout, stderr)
	case "demo":
		err = runDemo(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		err = runHealthcheck(ctx, args, getenv, stdout, stderr)
	case "login":
		err = runLogin(ctx, args, getenv, stdout, stderr)
	case "consent":
		err = runConsent(ctx, args, getenv, stdout, stderr)
	case "audit":
		sub := ""
		if len(args) > 0 {
			sub, args = args[0], args[1:]
		}
		switch sub {
		case "export":
			err = runAuditExport(ctx, args, getenv, stdout, stderr)
		case "verify":
			err = runAuditVerify(ctx, args, getenv, stdout, stderr)
		default:
			fmt.Fprintf(stderr, "locksmith audit: want export or verify\n\n%s", usage)
			return exitUsage
		}
	case "version", "--version", "-version":
		err = runVersion(args, stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "locksmith: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	var cfgErr *ConfigError
	var failed *failure
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &cfgErr):
		fmt.Fprintf(stderr, "locksmith: %v\n", err)
		return exitUsage
	case errors.As(err, &failed):
		fmt.Fprintf(stderr, "locksmith: %v\n", err)
		return exitFailed
	case errors.Is(err, errUsage):
		return exitUsage
	}
	fmt.Fprintf(stderr, "locksmith: %v\n", err)
	return exitFailed
}

var (
	errHelp  = errors.New("help shown")
	errUsage = errors.New("bad usage")
)

// failure is an error meaning "the command ran and found a problem" (exit 1).
type failure struct{ msg string }

func (f *failure) Error() string { return f.msg }
