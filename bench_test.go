package main

import (
	"strings"
	"testing"
)

// The fakes keep every call for inspection and scan it on each wait, so a
// long benchmark would end up measuring the fakes. benchFlows therefore starts
// a fresh locksmith and fresh fakes every freshEvery operations, off the clock.
const freshEvery = 200

func benchFlow(b *testing.B, user, text, want string) {
	var h *harness
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
		if r := h.slash(user, text); !strings.Contains(r, want) {
			b.Fatalf("reply %q", r)
		}
	}
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
