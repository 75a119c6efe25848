package main

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/partner"
)

// metrics is locksmith's Prometheus registry. It implements commands.Metrics and
// supplies the observation hooks of bot and partner, which import no Prometheus.
type metrics struct {
	reg           *prometheus.Registry
	resets        *prometheus.CounterVec
	decisions     *prometheus.CounterVec
	auditFailures prometheus.Counter
	pcRequests    *prometheus.CounterVec
	pcLatency     *prometheus.HistogramVec
	slackAck      prometheus.Histogram
	slackCalls    *prometheus.CounterVec
	slackLimited  *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		resets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "locksmith_resets_total", Help: "Password reset attempts by outcome (done, failed, refused, delivery_failed, unknown).",
		}, []string{"outcome"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "locksmith_approvals_total", Help: "Approval requests by decision (approved, denied, cancelled, expired).",
		}, []string{"decision"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "locksmith_audit_write_failures_total", Help: "Audit or outcome rows the database refused.",
		}),
		pcRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "locksmith_partner_center_requests_total", Help: "Partner Center HTTP requests by endpoint and status (0 = no response).",
		}, []string{"endpoint", "status"}),
		pcLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "locksmith_partner_center_request_duration_seconds", Help: "Partner Center request latency by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 10),
		}, []string{"endpoint"}),
		slackAck: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "locksmith_slack_ack_duration_seconds", Help: "Time from receiving a Slack envelope to acking it (Slack's limit is 3 s).",
			Buckets: []float64{0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 3},
		}),
		slackCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "locksmith_slack_api_calls_total", Help: "Slack Web API calls by method and result (ok or the Slack error code).",
		}, []string{"method", "result"}),
		slackLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "locksmith_slack_rate_limited_total", Help: "Slack HTTP 429 answers by Web API method (response_url included), with or without Retry-After.",
		}, []string{"method"}),
	}
	bi := readBuildInfo()
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "locksmith_build_info", Help: "Always 1; the labels say which build is running.",
	}, []string{"version", "revision", "goversion"})
	buildInfo.WithLabelValues(bi.Version, bi.Revision, bi.GoVersion).Set(1)
	m.reg.MustRegister(buildInfo, m.resets, m.decisions, m.auditFailures, m.pcRequests, m.pcLatency, m.slackAck, m.slackCalls, m.slackLimited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watch adds gauges read at scrape time from the store and the Partner Center client.
func (m *metrics) watch(store *approvals.Store, pc *partner.Client) {
	m.reg.MustRegister(newOutboxCollector(store))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "locksmith_pending_requests", Help: "Requests waiting for a decision.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		counts, err := store.CountByState(ctx)
		if err != nil {
			return -1
		}
		return float64(counts[approvals.StatePending])
	}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "locksmith_refresh_token_age_seconds",
		Help: "Age of the Partner Center refresh token in use; Entra expires it after 90 days unused.",
	}, func() float64 {
		issued := pc.RefreshTokenIssuedAt()
		if issued.IsZero() {
			return -1
		}
		return time.Since(issued).Seconds()
	}))
}

// outboxCollector reports the Slack outbox at scrape time: how many messages
// wait per allowance (a channel ID, a user ID for DMs, chat.update for card
// edits) and how long the oldest has waited. An allowance with nothing
// waiting has no series.
type outboxCollector struct {
	store      *approvals.Store
	depth, age *prometheus.Desc
}

func newOutboxCollector(store *approvals.Store) outboxCollector {
	return outboxCollector{
		store: store,
		depth: prometheus.NewDesc("locksmith_outbox_depth", "Slack messages owed and not yet sent, per channel.", []string{"channel"}, nil),
		age:   prometheus.NewDesc("locksmith_outbox_oldest_seconds", "Age of the oldest Slack message not yet sent, per channel.", []string{"channel"}, nil),
	}
}

func (c outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.depth; ch <- c.age }

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	queues, err := c.store.Queued(ctx)
	if err != nil {
		return // the database being down shows in /readyz
	}
	for _, q := range queues {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(q.Depth), q.Channel)
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, q.Oldest.Seconds(), q.Channel)
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) Reset(outcome string)     { m.resets.WithLabelValues(outcome).Inc() }
func (m *metrics) Decision(decision string) { m.decisions.WithLabelValues(decision).Inc() }
func (m *metrics) AuditWriteFailed()        { m.auditFailures.Inc() }

func (m *metrics) observePartner(endpoint string, status int, elapsed time.Duration) {
	m.pcRequests.WithLabelValues(endpoint, itoa(status)).Inc()
	m.pcLatency.WithLabelValues(endpoint).Observe(elapsed.Seconds())
}

func (m *metrics) observeAck(elapsed time.Duration) { m.slackAck.Observe(elapsed.Seconds()) }

func (m *metrics) observeSlackCall(method string, err error, _ time.Duration) {
	result := "ok"
	if err != nil {
		result = slackErrorCode(err)
	}
	m.slackCalls.WithLabelValues(method, result).Inc()
	if isRateLimited(err) {
		m.slackLimited.WithLabelValues(method).Inc()
	}
}

// isRateLimited says whether Slack answered 429: slack-go makes that a
// *slack.RateLimitedError with Retry-After, a StatusCodeError without.
func isRateLimited(err error) bool {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	return errors.As(err, &rl) || (errors.As(err, &sc) && sc.Code == http.StatusTooManyRequests)
}

func itoa(n int) string { return strconv.Itoa(n) }

// slackErrorCode is a low-cardinality label for a failed Slack call.
func slackErrorCode(err error) string {
	var se slack.SlackErrorResponse
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	switch {
	case errors.As(err, &se):
		return se.Err
	case errors.As(err, &rl):
		return "ratelimited"
	case errors.As(err, &sc):
		return "http_" + strconv.Itoa(sc.Code)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}
