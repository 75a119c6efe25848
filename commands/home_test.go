package commands

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
)

// Tests of the App Home model and /reset-password status.

// fakeHomes records published Homes.
type fakeHomes struct {
	mu        sync.Mutex
	published map[string][]Home
}

func (f *fakeHomes) PublishHome(_ context.Context, h Home) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.published == nil {
		f.published = map[string][]Home{}
	}
	f.published[h.UserID] = append(f.published[h.UserID], h)
	return nil
}

func (f *fakeHomes) last(userID string) (Home, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hs := f.published[userID]
	if len(hs) == 0 {
		return Home{}, 0
	}
	return hs[len(hs)-1], len(hs)
}

func (h *harness) home(userID string) Home {
	h.t.Helper()
	home, err := h.svc.HomeFor(context.Background(), userID)
	if err != nil {
		h.t.Fatalf("HomeFor: %v", err)
	}
	return home
}

func buttonsOf(items []HomeItem, id string) []ActionKind {
	for _, it := range items {
		if it.RequestID == id {
			if it.Buttons == nil {
				return []ActionKind{}
			}
			return it.Buttons
		}
	}
	return nil
}

func TestHome_ListsAndButtonsFollowTheRequest(t *testing.T) {
	h := newHarness(t, true)
	id := h.request()

	mine := h.home(requester)
	if got := buttonsOf(mine.Mine, id); !reflect.DeepEqual(got, []ActionKind{ActionCancel}) {
		t.Fatalf("requester's buttons while pending = %v", got)
	}
	if buttonsOf(mine.Waiting, id) != nil {
		t.Fatal("the requester is asked to decide their own request")
	}
	wantContains(t, "line", mine.Mine[0].Text, "*"+aliceUPN+"* at *"+custName+"*", "waiting for approval")

	// Who may decide sees Approve and Deny; who may not, nothing.
	for _, u := range []string{approver, uaApprover, groupUser} {
		if got := buttonsOf(h.home(u).Waiting, id); !reflect.DeepEqual(got, []ActionKind{ActionApprove, ActionDeny}) {
			t.Errorf("%s: waiting buttons = %v", u, got)
		}
	}
	if got := h.home(stranger); len(got.Waiting)+len(got.Mine)+len(got.History) != 0 {
		t.Errorf("stranger's Home = %+v", got)
	}

	h.click(ActionApprove, id, approver)
	mine = h.home(requester)
	if it := mine.Mine[0]; !reflect.DeepEqual(it.Buttons, []ActionKind{ActionReset}) || !it.ValidUntil.Equal(h.get(id).UseBy) {
		t.Fatalf("requester's item after approval = %+v", it)
	}
	if len(h.home(uaApprover).Waiting) != 0 {
		t.Error("a decided request still waits")
	}
	hist := h.home(approver).History
	if len(hist) != 1 || hist[0].RequestID != id {
		t.Fatalf("approver's history = %+v", hist)
	}
	// Past use_within the Reset button is gone, even before the sweep.
	h.clock.Advance(16 * time.Minute)
	if got := buttonsOf(h.home(requester).Mine, id); len(got) != 0 {
		t.Errorf("buttons past use_within = %v", got)
	}
}

func TestHome_TwoApprovalsAndBreakGlass(t *testing.T) {
	h := newHarness(t, true)
	rule := adminsRule()
	rule.BreakGlass = true
	withLeads(h, rule)
	h.slash(requester, custDomain+" "+aliceUPN+" INC-4711")
	id := h.msg.Posted()[0].RequestID
	h.click(ActionApprove, id, lead1)
	if buttonsOf(h.home(lead1).Waiting, id) != nil {
		t.Error("a lead who approved is asked again")
	}
	w := h.home(lead2).Waiting
	if len(w) != 1 || !strings.Contains(w[0].Text, "(1 of 2)") || !strings.Contains(w[0].Text, "ticket <https://psa.example.com/tickets/INC-4711|INC-4711>") {
		t.Fatalf("lead2 waiting = %+v", w)
	}

	withBreakGlass(h)
	h.clock.Advance(time.Minute) // newest first needs distinct times
	if r := h.slash(requester, breakGlassText+" INC-4712"); !strings.Contains(r, "Done") {
		t.Fatalf("break-glass: %q", r)
	}
	bg := h.msg.Posted()[1].RequestID
	if got := buttonsOf(h.home(ciso).Waiting, bg); !reflect.DeepEqual(got, []ActionKind{ActionReview}) {
		t.Errorf("security contact's buttons = %v", got)
	}
	if got := buttonsOf(h.home(lead3).Waiting, bg); !reflect.DeepEqual(got, []ActionKind{ActionReview}) {
		t.Errorf("an approver's buttons on a break-glass reset = %v", got)
	}
	wantContains(t, "requester's line", h.home(requester).Mine[0].Text, ":rotating_light: break-glass", "not yet reviewed")
}

func TestStatus_IsTheHomeAsText(t *testing.T) {
	h := newHarness(t, true)
	id := h.request()
	reply := h.slash(requester, "status")
	wantContains(t, "requester status", reply, "*Your requests*", aliceUPN, "waiting for approval", "(Withdraw: in locksmith's Home tab)", "*Waiting for you*\n_nothing_")
	reply = h.slash(approver, "STATUS")
	wantContains(t, "approver status", reply, "*Waiting for you*\n• <@"+requester+">: *"+aliceUPN+"*", "(Approve, Deny…")
	h.click(ActionApprove, id, approver)
	wantContains(t, "after approval", h.slash(requester, "status"), "approved, reset before", "(Reset password now:")
	// status changes nothing and writes no audit row.
	if got := h.outcomes(); !reflect.DeepEqual(got, []approvals.Outcome{approvals.OutcomeRequested, approvals.OutcomeApproved}) {
		t.Errorf("outcomes = %v", got)
	}
}

// Transitions republish the Homes of the people concerned; when the DM with
// the Reset button cannot be delivered, the requester still has it there.
func TestHome_RefreshedOnTransitions(t *testing.T) {
	h := newHarness(t, true)
	homes := &fakeHomes{}
	h.svc.homes = homes
	if err := h.svc.HomeOpened(context.Background(), uaApprover); err != nil {
		t.Fatal(err)
	}
	id := h.request()
	h.svc.Wait(context.Background())
	if home, _ := homes.last(uaApprover); buttonsOf(home.Waiting, id) == nil {
		t.Fatalf("an approver's open Home did not get the new request: %+v", home)
	}
	h.msg.notifyFn = func(context.Context, string, Notice) error {
		return errors.New("slack: chat.postMessage: channel_not_found")
	}
	h.click(ActionApprove, id, approver)
	// The DM is retried in the background until the approval runs out (the
	// test clock does not move), so wait for the Homes, not for the retries.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mine, _ := homes.last(requester)
		other, _ := homes.last(uaApprover)
		if reflect.DeepEqual(buttonsOf(mine.Mine, id), []ActionKind{ActionReset}) && buttonsOf(other.Waiting, id) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after approval: requester's Home %+v, another approver's %+v", mine, other)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The button in the Home works like the one in the DM.
	reply := h.click(ActionReset, id, requester)
	wantContains(t, "reset from Home", reply, "Done")
}

// Homes of people a request does not concern are not republished.
func TestHome_RefreshOnlyForThoseConcerned(t *testing.T) {
	h := newHarness(t, true)
	homes := &fakeHomes{}
	h.svc.homes = homes
	for _, u := range []string{uaApprover, stranger} {
		if err := h.svc.HomeOpened(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	h.request()
	h.svc.Wait(context.Background())
	if _, n := homes.last(uaApprover); n != 2 {
		t.Errorf("an approver's Home was published %d times; want at opening and for the request", n)
	}
	if _, n := homes.last(stranger); n != 1 {
		t.Errorf("a stranger's Home was published %d times; want only at opening", n)
	}
}

// A Japanese reader gets the status, and the Home it is built from, in
// Japanese; the English approver of the same request still reads English.
func TestStatus_Japanese(t *testing.T) {
	h := newHarness(t, true)
	withLocales(h, map[string]string{requester: "ja-JP", approver: "en-US"})
	id := h.request()
	reply := h.slash(requester, "status")
	wantContains(t, "ja requester status", reply, "*あなたの申請*", "の *"+aliceUPN+"* · 承認待ち、期限 <!date^",
		"(locksmith のホーム タブから: 取り下げ)", "*あなたの判断待ち*\n_なし_")
	if strings.Contains(reply, "Your requests") || strings.Contains(reply, "waiting for approval") {
		t.Errorf("English in a Japanese status: %q", reply)
	}
	wantContains(t, "en approver status", h.slash(approver, "status"), "*Waiting for you*", "(Approve, Deny…")
	h.click(ActionApprove, id, approver)
	wantContains(t, "ja after approval", h.slash(requester, "status"), "承認済み、<!date^", "までにリセットしてください", "(locksmith のホーム タブから: 今すぐパスワードをリセット)")
}
