package main

import (
	"os"
	"strings"
	"testing"
)

// graphBenchPolicy is the harness's policy without sign-off, with Graph on.
const graphBenchPolicy = `
approval:
  required: false
grants:
  - slack_users: [U0ALICE]
    roles: ["User Administrator"]
    customers: ["*"]
graph:
  enabled: true
`

// BenchmarkE2E_GraphChecks measures what the Graph checks add to one request:
// a whole /reset-password without sign-off, through the real bot, workflow,
// store, Partner Center and Graph clients against the fakes, with Graph off
// and on. Tokens (Partner Center and the customer tenant's Graph token) are
// warm, so graph_on minus graph_off is the added latency per request;
// graph-calls/op is how many Graph requests that took.
func BenchmarkE2E_GraphChecks(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "graph_off"
		if on {
			name = "graph_on"
		}
		b.Run(name, func(b *testing.B) {
			var (
				h     *harness
				calls int
				graph func() int
			)
			for i := 0; i < b.N; i++ {
				if i%freshEvery == 0 {
					b.StopTimer()
					if h != nil {
						_ = h.stop()
					}
					h = newHarness(b, harnessOptions{approval: false})
					fg := withGraph(b, h, "")
					graph = func() int { return len(fg.Calls()) }
					if on {
						if err := os.WriteFile(h.env["LOCKSMITH_CONFIG"], []byte(graphBenchPolicy), 0o600); err != nil {
							b.Fatal(err)
						}
					}
					h.start()
					h.slash(alice, "contoso.onmicrosoft.com "+plainUPN) // warm tokens, caches, connections
					b.StartTimer()
				}
				before := graph()
				if r := h.slash(alice, "contoso.onmicrosoft.com "+plainUPN); !strings.Contains(r, "was reset") {
					b.Fatalf("reply %q", r)
				}
				calls += graph() - before
			}
			b.ReportMetric(float64(calls)/float64(b.N), "graph-calls/op")
		})
	}
}
