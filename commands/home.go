package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/messages"
	"github.com/locksmithbot/locksmith/partner"
)

// Home is one person's view of locksmith: the App Home tab, and the text of
// /reset-password status. Text fields are mrkdwn, already escaped.
type Home struct {
	UserID  string
	Lang    messages.Lang // the language the texts are in, the user's
	Mine    []HomeItem    // your requests, newest first
	Waiting []HomeItem    // what you may decide (approve/deny, or review), oldest first
	History []HomeItem    // what you decided, newest first
	// More counts what did not fit, per list.
	MoreMine, MoreWaiting int
}

// HomeItem is one request in a Home list, with the buttons that apply to this
// person now.
type HomeItem struct {
	RequestID string
	Text      string
	Buttons   []ActionKind
	// ValidUntil is when the Reset button stops working (zero without one).
	ValidUntil time.Time
}

// Home list sizes: together they keep a Home tab well under Slack's 100
// blocks (each item is at most two).
const (
	homeMine    = 10
	homeWaiting = 15
	homeHistory = 8
)

// HomePublisher shows a Home to its user (views.publish). *bot.Bot
// implements it; without one, Homes are built only on request.
type HomePublisher interface {
	PublishHome(ctx context.Context, h Home) error
}

// HomeFor builds userID's Home from the store and the policy as they are now.
func (s *Service) HomeFor(ctx context.Context, userID string) (Home, error) {
	pol := s.currentPolicy()
	h := Home{UserID: userID, Lang: s.langOf(ctx, userID)}
	l := h.Lang
	now := s.now()

	mine, err := s.store.RequestsOf(ctx, userID, homeMine+1)
	if err != nil {
		return Home{}, err
	}
	if len(mine) > homeMine {
		mine, h.MoreMine = mine[:homeMine], 1
	}
	for _, r := range mine {
		it := HomeItem{RequestID: r.ID, Text: homeLine(l, r, true)}
		switch {
		case r.State == approvals.StatePending:
			it.Buttons = []ActionKind{ActionCancel}
		case r.State == approvals.StateApproved && now.Before(r.UseBy):
			it.Buttons, it.ValidUntil = []ActionKind{ActionReset}, r.UseBy
		}
		h.Mine = append(h.Mine, it)
	}

	pending, err := s.store.Pending(ctx)
	if err != nil {
		return Home{}, err
	}
	unreviewed, err := s.store.Unreviewed(ctx)
	if err != nil {
		return Home{}, err
	}
	for _, r := range append(pending, unreviewed...) {
		if r.RequesterID == userID || (r.State == approvals.StatePending && !now.Before(r.ExpiresAt)) {
			continue
		}
		if r.State != approvals.StatePending && contains(pol.BreakGlass.SecurityContacts, userID) {
			h.addWaiting(HomeItem{RequestID: r.ID, Text: homeLine(l, r, false), Buttons: []ActionKind{ActionReview}})
			continue
		}
		rule, reply := pol.ruleOfRequest(s.channelLang(), r)
		if reply != "" {
			continue
		}
		full, err := s.store.Get(ctx, r.ID) // with its approvals
		if err != nil {
			return Home{}, err
		}
		if approvedBy(full, userID) {
			continue
		}
		el, err := s.mayDecide(ctx, pol, rule, full, userID, "approve")
		if errors.As(err, new(*AccountError)) {
			return Home{}, err
		}
		if err != nil {
			// A user group that cannot be read hides this request only; the
			// click itself is checked again anyway.
			s.log.Warn("home: eligibility not known", "slack_user", userID, "request_id", r.ID, "err", err)
			continue
		}
		if !el.ok {
			continue
		}
		buttons := []ActionKind{ActionApprove, ActionDeny}
		if r.State != approvals.StatePending {
			buttons = []ActionKind{ActionReview}
		}
		h.addWaiting(HomeItem{RequestID: r.ID, Text: homeLine(l, full, false), Buttons: buttons})
	}

	decided, err := s.store.DecidedBy(ctx, userID, homeHistory)
	if err != nil {
		return Home{}, err
	}
	for _, r := range decided {
		h.History = append(h.History, HomeItem{RequestID: r.ID, Text: homeLine(l, r, false)})
	}
	return h, nil
}

func (h *Home) addWaiting(it HomeItem) {
	if len(h.Waiting) == homeWaiting {
		h.MoreWaiting++
		return
	}
	h.Waiting = append(h.Waiting, it)
}

func approvedBy(r approvals.Request, userID string) bool {
	for _, a := range r.Approvals {
		if a.ApproverID == userID {
			return true
		}
	}
	return false
}

// homeLine is one request in a line, in l: who, whom, where, and where it
// stands.
func homeLine(l messages.Lang, r approvals.Request, mine bool) string {
	d := messages.Data{
		"User":     Escape(r.TargetUPN, 120),
		"Customer": Escape(r.CustomerName, 100),
		"State":    homeState(l, r),
	}
	id := messages.HomeLine
	if !mine {
		id = messages.HomeLineOf
		d["Requester"] = Escape(r.RequesterID, 20)
	}
	line := texts.Text(l, id, d)
	if r.BreakGlass {
		line = texts.Text(l, messages.HomeBreakGlass, messages.Data{"Line": line})
	}
	if r.Ticket != "" {
		line += texts.Text(l, messages.HomeTicket, messages.Data{"Ticket": ticketText(r.Ticket, r.TicketURL)})
	}
	return line
}

// homeState says where a request stands, in a few words, in l.
func homeState(l messages.Lang, r approvals.Request) string {
	switch r.State {
	case approvals.StatePending:
		when := slackTime(l, r.ExpiresAt)
		if r.ApprovalsRequired > 1 {
			return texts.Text(l, messages.HomeStatePendingOf, messages.Data{
				"Have": r.ApprovalsCount, "Required": r.ApprovalsRequired, "When": when})
		}
		return texts.Text(l, messages.HomeStatePending, messages.Data{"When": when})
	case approvals.StateApproved:
		return texts.Text(l, messages.HomeStateApproved, messages.Data{"When": slackTime(l, r.UseBy)})
	case approvals.StateDenied:
		d := messages.Data{"Decider": Escape(r.DeciderID, 20), "When": slackTime(l, r.DecidedAt)}
		if r.Detail != "" {
			d["Detail"] = Escape(r.Detail, 200)
			return texts.Text(l, messages.HomeStateDeniedWhy, d)
		}
		return texts.Text(l, messages.HomeStateDenied, d)
	case approvals.StateCancelled:
		return texts.Text(l, messages.HomeStateWithdrawn, messages.Data{"When": slackTime(l, r.DecidedAt)})
	case approvals.StateExpired:
		return texts.Text(l, messages.HomeStateExpired, nil)
	case approvals.StateResetting:
		return texts.Text(l, messages.HomeStateResetting, nil)
	case approvals.StateDone:
		d := messages.Data{"When": slackTime(l, r.FinishedAt)}
		if r.BreakGlass && r.ReviewedAt.IsZero() {
			return texts.Text(l, messages.HomeStateDoneUnreviewed, d)
		}
		return texts.Text(l, messages.HomeStateDone, d)
	case approvals.StateFailed:
		return texts.Text(l, messages.HomeStateFailed, messages.Data{"Detail": Escape(r.Detail, 200)})
	}
	return string(r.State)
}

// statusText is a Home as text, in the Home's language: /reset-password status.
func statusText(h Home) string {
	l := h.Lang
	var b strings.Builder
	section := func(title messages.ID, items []HomeItem, more int, empty messages.ID) {
		b.WriteString(texts.Text(l, title, nil))
		if len(items) == 0 {
			b.WriteString("\n" + texts.Text(l, empty, nil))
		}
		for _, it := range items {
			b.WriteString("\n• " + it.Text)
			if len(it.Buttons) > 0 {
				var names []string
				for _, k := range it.Buttons {
					names = append(names, buttonLabel(l, k))
				}
				b.WriteString(texts.Text(l, messages.StatusButtons, messages.Data{"Buttons": texts.List(l, names)}))
			}
		}
		if more > 0 {
			b.WriteString("\n" + texts.Text(l, messages.StatusMore, nil))
		}
		b.WriteString("\n")
	}
	section(messages.StatusMine, h.Mine, h.MoreMine, messages.StatusMineNone)
	section(messages.StatusWaiting, h.Waiting, h.MoreWaiting, messages.StatusNothing)
	section(messages.StatusHistory, h.History, 0, messages.StatusNothing)
	return strings.TrimSuffix(b.String(), "\n")
}

// buttonLabel is what a button says, in l, where the status text names it.
func buttonLabel(l messages.Lang, k ActionKind) string {
	switch k {
	case ActionApprove:
		return texts.Text(l, messages.ButtonApprove, nil)
	case ActionDeny:
		return texts.Text(l, messages.ButtonDeny, nil)
	case ActionCancel:
		return texts.Text(l, messages.StatusWithdraw, nil)
	case ActionReset:
		return texts.Text(l, messages.ButtonReset, nil)
	case ActionReview:
		return texts.Text(l, messages.ButtonAcknowledge, nil)
	}
	return string(k)
}

// HomeOpened publishes userID's Home (app_home_opened) and remembers that they
// use it, so later transitions that concern them refresh it.
func (s *Service) HomeOpened(ctx context.Context, userID string) error {
	s.homeUsers.add(userID)
	return s.publishHome(ctx, userID)
}

func (s *Service) publishHome(ctx context.Context, userID string) error {
	if s.homes == nil {
		return nil
	}
	h, err := s.HomeFor(ctx, userID)
	if err != nil {
		return fmt.Errorf("build the Home of %s: %w", userID, err)
	}
	return s.homes.PublishHome(ctx, h)
}

// refreshHomes republishes, in the background, the Homes of everyone a change
// to r concerns: its requester and approvers always (their Reset button lives
// there too), and the others who may decide it when they have opened their
// Home on this replica (an opened Home is rebuilt anyway).
func (s *Service) refreshHomes(r approvals.Request) {
	if s.homes == nil {
		return
	}
	users := []string{r.RequesterID}
	for _, a := range r.Approvals {
		users = append(users, a.ApproverID)
	}
	if r.DeciderID != "" {
		users = append(users, r.DeciderID)
	}
	if r.ReviewedBy != "" {
		users = append(users, r.ReviewedBy)
	}
	pol := s.currentPolicy()
	seen := map[string]bool{}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		ctx, cancel := context.WithTimeout(context.Background(), mustFinishWithin)
		defer cancel()
		// Of the others who opened their Home here, those this request
		// concerns: who may decide or review it.
		if rule, reply := pol.ruleOfRequest(s.channelLang(), r); reply == "" {
			may := eligiblePrincipals(pol, rule, customerOf(r), partner.Role(r.RoleNeeded), r.RequesterID)
			if r.BreakGlass {
				may.Users = append(may.Users, pol.BreakGlass.SecurityContacts...)
			}
			for _, u := range s.homeUsers.list() {
				if ok, err := s.principalsName(ctx, may, u); err == nil && ok {
					users = append(users, u)
				}
			}
		}
		for _, u := range users {
			if seen[u] || u == "" || u == systemActor.ID {
				continue
			}
			seen[u] = true
			if err := s.publishHome(ctx, u); err != nil {
				s.log.Warn("home refresh failed", "slack_user", u, "request_id", r.ID, "err", err)
			}
		}
	}()
}

// userSet is the users who opened their Home on this replica, bounded: a
// Home not refreshed is still rebuilt when its user opens it.
type userSet struct {
	mu    sync.Mutex
	order []string
	in    map[string]bool
}

const maxHomeUsers = 200

func (u *userSet) add(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.in == nil {
		u.in = map[string]bool{}
	}
	if u.in[id] {
		return
	}
	if len(u.order) == maxHomeUsers {
		delete(u.in, u.order[0])
		u.order = u.order[1:]
	}
	u.order = append(u.order, id)
	u.in[id] = true
}

func (u *userSet) list() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.order...)
}
