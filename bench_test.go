package main

import (
	"strings"
	"testing"
)

// The fakes keep every call for inspection and scan it on each wait, so a
// long benchmark would end up measuring the fakes. benchFlows therefore starts
// a fresh locksmith and fresh fakes every freshEvery operations, off the clock.
const freshEvery = 200

// benchFlow also reports the Partner Center calls each operation made
// (pc-calls/op), warm: after the first run has filled the caches.
func benchFlow(b *testing.B, user, text, want string) {
	var h *harness
	calls := 0
	for i := 0; i < b.N; i++ {
		if i%freshEvery == 0 {
			b.StopTimer()
			if h != nil {
				_ = h.stop()
			}
			h = newHarness(b, harnessOptions{approval: false})
			h.start()
			h.slash(user, text) // warm the token, caches and connections
			b.StartTimer()
		}
		before := pcCalls(h)
		if r := h.slash(user, text); !strings.Contains(r, want) {
			b.Fatalf("reply %q", r)
		}
		calls += pcCalls(h) - before
	}
	b.ReportMetric(float64(calls)/float64(b.N), "pc-calls/op")
}

// BenchmarkE2E_Reset measures one whole /reset-password without sign-off
// through the real bot, workflow, store and Partner Center client against the
// in-process fakes: envelope → ack → grant check → customer, user and role
// lookups → audit intent (SQLite) → PATCH → ephemeral DM → audit outcome →
// reply. The fakes answer in microseconds, so this is locksmith's overhead.
func BenchmarkE2E_Reset(b *testing.B) {
	benchFlow(b, alice, "contoso.onmicrosoft.com "+plainUPN, "was reset")
}

// BenchmarkE2E_Refusal measures a refused request (no grant): refused before
// any Partner Center call, one audit row.
func BenchmarkE2E_Refusal(b *testing.B) {
	benchFlow(b, mallory, "contoso.onmicrosoft.com "+plainUPN, "not permitted")
}

// BenchmarkE2E_Help measures the transport alone: envelope → ack → parse →
// usage reply through response_url.
func BenchmarkE2E_Help(b *testing.B) {
	benchFlow(b, alice, "help", "Usage")
}

// pcCalls counts the Partner Center calls (token endpoint excluded) the fake
// has served so far.
func pcCalls(h *harness) int { return len(h.pc.Calls()) }

// BenchmarkPartnerCenterCallsPerReset reports how many Partner Center calls one
// warm reset costs (pc-calls/op), through the real workflow and client against
// the fake Partner Center:
//   - by_id: /reset-password <tenant ID> <object ID>, without sign-off;
//   - by_domain_upn: /reset-password <domain> <UPN>, without sign-off;
//   - recheck_at_reset: with sign-off, the calls made when "Reset password
//     now" is clicked (the user's roles checked again, then the reset).
func BenchmarkPartnerCenterCallsPerReset(b *testing.B) {
	b.Run("by_id", func(b *testing.B) {
		benchFlow(b, alice, contosoTenant+" "+plainUserID, "was reset")
	})
	b.Run("by_domain_upn", func(b *testing.B) {
		benchFlow(b, alice, "contoso.onmicrosoft.com "+plainUPN, "was reset")
	})
	b.Run("recheck_at_reset", func(b *testing.B) {
		var h *harness
		calls := 0
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if i%freshEvery == 0 {
				if h != nil {
					_ = h.stop()
				}
				h = newHarness(b, harnessOptions{approval: true})
				h.start()
			}
			card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN)
			h.click(carol, card, actApprove)
			dm := h.dmWithButton(alice, actReset)
			before := pcCalls(h)
			b.StartTimer()
			if r := h.click(alice, dm, actReset); !strings.Contains(r, "Done") {
				b.Fatalf("reply %q", r)
			}
			calls += pcCalls(h) - before
		}
		b.ReportMetric(float64(calls)/float64(b.N), "pc-calls/op")
	})
}
