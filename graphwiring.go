package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/locksmithbot/locksmith/graph"
	"github.com/locksmithbot/locksmith/partner"
)

// newGraphClient builds the Microsoft Graph client. It is built whether or
// not graph.enabled is set (it does no I/O), so that `locksmith consent
// --dry-run` can tell whether consent is in place before anyone enables it.
// It redeems the partner client's current refresh token and never replaces it.
func newGraphClient(cfg Config, pc *partner.Client, log *slog.Logger, m *metrics) (*graph.Client, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "locksmith_graph_requests_total", Help: "Microsoft Graph and customer-tenant token requests by endpoint and status (0 = no response).",
	}, []string{"endpoint", "status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "locksmith_graph_request_duration_seconds", Help: "Microsoft Graph request latency by endpoint.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 10),
	}, []string{"endpoint"})
	m.reg.MustRegister(requests, latency)
	return graph.New(graph.Config{
		BaseURL: cfg.GraphURL, AuthorityHost: cfg.AuthorityHost,
		ClientID: cfg.PartnerClientID, ClientSecret: cfg.PartnerSecret,
		RefreshToken: func(ctx context.Context) (graph.PartnerToken, error) {
			st, err := pc.CurrentRefreshToken(ctx)
			return graph.PartnerToken{Token: st.Token, Public: st.Public}, err
		},
		Logger: log.With("component", "graph"),
		Observe: func(endpoint string, status int, elapsed time.Duration) {
			requests.WithLabelValues(endpoint, itoa(status)).Inc()
			latency.WithLabelValues(endpoint).Observe(elapsed.Seconds())
		},
	})
}
