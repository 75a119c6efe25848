package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// newOpsHandler serves the operator's endpoints: /healthz (the process is up),
// /readyz (it can do its job) and /metrics (Prometheus).
func newOpsHandler(ready func(context.Context) error, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", metrics)
	return mux
}

// readiness answers /readyz: the Slack socket is connected and not suspect
// (bot.Bot.Health), the database answers, and Partner Center issues a token.
// The token check is cached so a probe every few seconds does not hammer Entra.
type readiness struct {
	slack    func() error // its error says why, e.g. "Slack socket suspect: no frame or ping for 12s …"
	pingDB   func(context.Context) error
	auth     func(context.Context) error
	cacheFor time.Duration

	mu      sync.Mutex
	authAt  time.Time
	authErr error
}

func newReadiness(slack func() error, pingDB, auth func(context.Context) error, cacheFor time.Duration) *readiness {
	return &readiness{slack: slack, pingDB: pingDB, auth: auth, cacheFor: cacheFor}
}

func (r *readiness) check(ctx context.Context) error {
	var problems []error
	if err := r.slack(); err != nil {
		problems = append(problems, err)
	}
	if err := r.pingDB(ctx); err != nil {
		problems = append(problems, fmt.Errorf("database: %w", err))
	}
	r.mu.Lock()
	if time.Since(r.authAt) > r.cacheFor {
		r.authErr, r.authAt = r.auth(ctx), time.Now()
	}
	authErr := r.authErr
	r.mu.Unlock()
	if authErr != nil {
		problems = append(problems, fmt.Errorf("Partner Center: %w", authErr))
	}
	return errors.Join(problems...)
}

// redactDSN hides a database password before the URL appears in a message.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}
