package partner

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkClient_UserRoles measures one logical call against the fake over
// loopback, with a cached access token: the client's per-call overhead
// (headers, IDs, retry bookkeeping, decode) plus the fake's handling.
func BenchmarkClient_UserRoles(b *testing.B) {
	h := newHarness(b, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil)) // info level, as in production
		c.Observe = nil
	})
	ctx := ctxTimeout(b, time.Hour)
	if _, err := h.c.UserRoles(ctx, tenantA, userID(4)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.c.UserRoles(ctx, tenantA, userID(4)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClient_UserByUPNCached is the second lookup in a tenant: no HTTP.
func BenchmarkClient_UserByUPNCached(b *testing.B) {
	h := newHarness(b)
	ctx := ctxTimeout(b, time.Hour)
	if _, err := h.c.UserByUPN(ctx, tenantA, "user7@contoso.com"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.c.UserByUPN(ctx, tenantA, "user7@contoso.com"); err != nil {
			b.Fatal(err)
		}
	}
}
