package graph

import (
	"context"
	"testing"

	"github.com/locksmithbot/locksmith/internal/fakegraph"
)

// BenchmarkFacts_WarmToken is the latency Graph adds to each request (and
// again at reset time): every read Facts makes, with the tenant's token
// already cached, against the in-process fake. A user in one role-assignable
// group, so both rounds of reads run.
func BenchmarkFacts_WarmToken(b *testing.B) {
	f := newFixture(b)
	tn := f.fg.AddTenant(tenantA)
	addAlice(tn)
	tn.AddGroup(fakegraph.Group{ID: "g-admins", DisplayName: "Admins", IsAssignableToRole: true, Members: []string{"u-alice"}})
	tn.Assign(fakegraph.Assignment{PrincipalID: "g-admins", RoleDefinitionID: tmplPAA})
	tn.MakeEligible(fakegraph.Assignment{PrincipalID: "u-alice", RoleDefinitionID: tmplGA})
	ctx := context.Background()
	if _, err := f.c.Facts(ctx, tenantA, "u-alice"); err != nil { // warm the token
		b.Fatal(err)
	}
	tokenCalls := len(f.fg.TokenCalls())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		facts, err := f.c.Facts(ctx, tenantA, "u-alice")
		if err != nil || len(facts.Roles) != 2 {
			b.Fatalf("facts %+v, %v", facts, err)
		}
	}
	b.StopTimer()
	if n := len(f.fg.TokenCalls()); n != tokenCalls {
		b.Fatalf("token redeemed %d more times; the benchmark must run with a warm token", n-tokenCalls)
	}
	b.ReportMetric(float64(len(f.fg.Calls()))/float64(b.N+1), "graph-calls/op")
}
