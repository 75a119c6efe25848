package bot

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

func quiet(c *Config) { c.Logger = slog.New(slog.DiscardHandler) }

// BenchmarkAckLatency measures a slash command written to the real socket by the
// fake until its ack is read back by the fake (Ack.Latency), one at a time.
// ns/op is the same round trip seen from the test, fake bookkeeping included.
func BenchmarkAckLatency(b *testing.B) {
	h := start(b, &fakeWorkflow{}, quiet)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		env, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "x")
		if err != nil {
			b.Fatal(err)
		}
		ack, err := h.fake.WaitAck(h.ctx, env)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, ack.Latency)
	}
	b.StopTimer()
	reportLatency(b, lat, "ack")
}

// BenchmarkDispatchOverhead measures envelope → Workflow call → reply: from the
// fake sending a slash command to the reply's response_url POST arriving at the
// fake, with a workflow that answers at once.
func BenchmarkDispatchOverhead(b *testing.B) {
	wf := &fakeWorkflow{slash: func(ctx context.Context, in commands.Invocation) commands.Reply {
		return commands.Reply{Text: "re " + in.Text}
	}}
	h := start(b, wf, quiet)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%fakeRotation == 0 {
			// fakeslack's WaitCall clones and scans every recorded call on each
			// wake-up; a fresh fake keeps that cost out of the measurement.
			b.StopTimer()
			_ = h.stop()
			h = start(b, wf, quiet)
			b.StartTimer()
		}
		want := "re n" + strconv.Itoa(i) + `"`
		t0 := time.Now()
		if _, err := h.fake.SlashCommand(h.ctx, alice, helpdesk, command, "n"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
		call, err := h.fake.WaitCall(h.ctx, "response_url", func(c fakeslack.Call) bool {
			return strings.Contains(string(c.JSON), want)
		})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, call.At.Sub(t0))
	}
	b.StopTimer()
	reportLatency(b, lat, "reply")
}

// fakeRotation is how many replies one fake records in BenchmarkDispatchOverhead.
const fakeRotation = 200

func reportLatency(b *testing.B, lat []time.Duration, what string) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(p(0.50), "µs-p50-"+what)
	b.ReportMetric(p(0.99), "µs-p99-"+what)
}
