package commands

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/internal/dbtest"
)

// Tests of velocity limits.

func TestLimits_PerRequesterCountsEverythingAndReportsOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarnessOn(t, true, dsn)
		h.setPolicy(func(p *Policy) { p.Limits.PerRequester = Limit{N: 3, Window: time.Hour} })
		// A request, a dry run and a refusal all count.
		h.slash(requester, slashText)
		h.slash(requester, "check "+slashText[:len(slashText)-len(" INC-4711")])
		h.slash(requester, "nosuch.onmicrosoft.com "+aliceUPN)
		before := len(h.events())
		for i := 0; i < 3; i++ {
			reply := h.slash(requester, slashText)
			wantContains(t, "reply over the limit", reply, "Too many password resets", "you reached 3 in the last 1h0m0s", "the limit is 3 per 1h0m0s")
		}
		if n := len(h.msg.Posted()); n != 1 {
			t.Errorf("%d cards; want only the first request's", n)
		}
		// One refusal row for the window, not one per attempt.
		evs := h.events()[before:]
		if len(evs) != 1 || evs[0].Outcome != approvals.OutcomeRefused || !strings.Contains(evs[0].Detail, "velocity limit: you reached 3 attempts in 1h0m0s (limit 3 per 1h0m0s)") {
			t.Fatalf("rows after the limit = %+v", evs)
		}
		h.svc.Wait(context.Background())
		posts := 0
		for _, p := range h.msg.ChannelPosts() {
			if strings.Contains(p, "velocity limit") {
				posts++
			}
		}
		if posts != 1 {
			t.Errorf("%d audit-channel posts about the limit; want 1", posts)
		}
		// Someone else is not limited by it; and after the window it lifts.
		if reply := h.slash(approver, slashText); !strings.Contains(reply, "Request sent") {
			t.Errorf("another requester: %q", reply)
		}
		h.clock.Advance(time.Hour + time.Second)
		if reply := h.slash(requester, slashText); !strings.Contains(reply, "Request sent") {
			t.Errorf("after the window: %q", reply)
		}
	})
}

// People without any grant are counted too: past the limit their attempts
// leave one audit row per window instead of one each.
func TestLimits_RefusalsOfStrangersAreBounded(t *testing.T) {
	h := newHarness(t, true)
	h.setPolicy(func(p *Policy) { p.Limits.PerRequester = Limit{N: 5, Window: 10 * time.Minute} })
	for i := 0; i < 50; i++ {
		h.slash(stranger, slashText)
	}
	refused := 0
	for _, e := range h.events() {
		if e.ActorID == stranger {
			refused++
		}
	}
	if refused != 6 { // five "no grant" rows, then one for the limit
		t.Errorf("%d audit rows for 50 attempts by someone without a grant; want 6", refused)
	}
	if n := h.pc.totalCalls(); n != 0 {
		t.Errorf("%d Partner Center calls", n)
	}
}

// Two replicas share the per-customer limit: of many requests for one
// customer made at once through both, exactly the limit get through.
func TestLimits_PerCustomerSharedByTwoReplicas(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarnessOn(t, true, dsn)
		h.setPolicy(func(p *Policy) { p.Limits.PerCustomer = Limit{N: 4, Window: time.Hour} })
		services := []*Service{h.svc, h.replica()}
		var wg sync.WaitGroup
		var mu sync.Mutex
		sent, limited := 0, 0
		for i := 0; i < 10; i++ {
			svc := services[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := svc.SlashCommand(context.Background(), Invocation{UserID: requester, UserName: "req", Text: slashText, CorrelationID: fmt.Sprintf("corr-%d", i)})
				mu.Lock()
				defer mu.Unlock()
				switch {
				// Recorded either way; "queued" when its card took longer
				// than the reply waits (ten cards at once on a loaded machine).
				case strings.Contains(r.Text, "Request sent"), strings.Contains(r.Text, "Request recorded. Slack is pacing"):
					sent++
				case strings.Contains(r.Text, "requests for "+custName+" reached 4"):
					limited++
				default:
					t.Errorf("reply %q", r.Text)
				}
			}()
		}
		wg.Wait()
		if sent != 4 || limited != 6 {
			t.Fatalf("%d sent, %d limited; want 4 and 6", sent, limited)
		}
		if n := h.requestCount(); n != 4 {
			t.Errorf("%d requests recorded; want 4", n)
		}
	})
}

func TestLimits_RefusalInJapanese(t *testing.T) {
	h := newHarness(t, true)
	withLocales(h, map[string]string{requester: "ja-JP"})
	h.setPolicy(func(p *Policy) { p.Limits.PerRequester = Limit{N: 1, Window: time.Hour} })
	h.slash(requester, slashText)
	reply := h.slash(requester, slashText)
	wantContains(t, "ja reply over the limit", reply, "パスワード リセットの回数が上限に達しました", "あなたのリクエストが直近 1h0m0s で 1 回に達しました", "上限は 1h0m0s あたり 1 回")
}
