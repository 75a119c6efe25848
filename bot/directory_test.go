package bot

import (
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

func TestPerson_KindsAndCache(t *testing.T) {
	b, fake, _, ctx := messengerBot(t, nil)
	fake.SetAccount(alice, fakeslack.Account{RealName: "Alice Liddell"})
	fake.AddUser("U0GUEST", "guest")
	fake.SetAccount("U0GUEST", fakeslack.Account{UltraRestricted: true})

	p, err := b.Person(ctx, alice)
	if err != nil || p.RealName != "Alice Liddell" || p.Problem() != "" {
		t.Fatalf("Person(alice) = %+v, %v", p, err)
	}
	g, err := b.Person(ctx, "U0GUEST")
	if err != nil || g.Problem() != "a single-channel guest" {
		t.Fatalf("Person(guest) = %+v (%q), %v", g, g.Problem(), err)
	}
	// Cached: a second look-up within the TTL makes no call.
	before := fake.CallCount("users.info")
	if _, err := b.Person(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if fake.CallCount("users.info") != before {
		t.Error("users.info called again within the cache TTL")
	}
	// Errors are not cached, and are returned (the workflow fails closed on them).
	fake.Fail("users.info", fakeslack.Failure{Error: "internal_error"})
	if _, err := b.Person(ctx, bob); err == nil {
		t.Fatal("Person succeeded while users.info failed")
	}
	if p, err := b.Person(ctx, bob); err != nil || p.ID != bob {
		t.Fatalf("Person(bob) after the fault = %+v, %v", p, err)
	}
}

func TestChannelInfoAndPostTest(t *testing.T) {
	b, fake, _, ctx := messengerBot(t, nil)
	ch, err := b.ChannelInfo(ctx, approvalsCh)
	if err != nil || ch.Name != "approvals" || !ch.IsMember {
		t.Fatalf("ChannelInfo = %+v, %v", ch, err)
	}
	if err := b.PostTest(ctx, approvalsCh, "locksmith check"); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Messages(approvalsCh)); n != 0 {
		t.Errorf("the test message was not deleted: %d messages", n)
	}
	if fake.CallCount("chat.delete") != 1 {
		t.Errorf("chat.delete calls = %d", fake.CallCount("chat.delete"))
	}
	fake.SetBotMember(approvalsCh, false)
	if err := b.PostTest(ctx, approvalsCh, "locksmith check"); err == nil || !strings.Contains(err.Error(), "not_in_channel") {
		t.Fatalf("PostTest without membership = %v, want not_in_channel", err)
	}
}

func TestProbeSocket(t *testing.T) {
	b, fake, _, ctx := messengerBot(t, nil)
	if err := b.ProbeSocket(ctx); err != nil {
		t.Fatalf("ProbeSocket: %v", err)
	}
	if fake.Connections() != 1 {
		t.Errorf("connections opened = %d, want 1", fake.Connections())
	}

	fake.Fail("apps.connections.open", fakeslack.Failure{Error: "invalid_auth"})
	if err := b.ProbeSocket(ctx); err == nil || !strings.Contains(err.Error(), "SLACK_APP_TOKEN") {
		t.Fatalf("ProbeSocket with a refused token = %v, want it to name SLACK_APP_TOKEN", err)
	}

	fake.RefuseSockets(1)
	err := b.ProbeSocket(ctx)
	if err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("ProbeSocket with a refused dial = %v", err)
	}
	if strings.Contains(err.Error(), "ticket") {
		t.Errorf("error carries the WebSocket URL: %v", err)
	}
	if u := fake.Unexpected(); len(u) > 0 {
		t.Errorf("unexpected: %v", u)
	}
}
