package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/locksmithbot/locksmith/approvals"
	"github.com/locksmithbot/locksmith/bot"
	"github.com/locksmithbot/locksmith/internal/fakepartner"
	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// The local workspace: two people and three channels.
const (
	Requester = "U0DEMORILEY" // Riley, a helpdesk technician
	Approver  = "U0DEMOAVERY" // Avery, a team lead

	HelpdeskChannel = "C0DEMOHELPDESK"
	ApprovalChannel = "C0DEMOAPPROVALS"
	AuditChannel    = "C0DEMOAUDIT"
)

// LocalPolicy is the locksmith.yaml of `locksmith demo --local`: sign-off
// required, both people may reset users without admin roles (and approve such
// resets) at every customer, and every outcome is mirrored to #audit.
const LocalPolicy = `approval:
  required: true
  channel: ` + ApprovalChannel + `
  expires_after: 30m
  use_within: 15m
grants:
  - slack_users: [` + Requester + `, ` + Approver + `]
    roles: ["User Administrator"]
    customers: ["*"]
audit:
  channel: ` + AuditChannel + `
`

// The request the walkthrough plays.
const (
	demoCustomer = "contoso.onmicrosoft.com"
	demoTarget   = "alice.user@contoso.onmicrosoft.com"
	demoCommand  = "/reset-password"
	demoText     = demoCustomer + " " + demoTarget + " INC-1001 locked out after holiday"
)

var (
	people   = map[string]string{Requester: "Riley", Approver: "Avery", fakeslack.BotUserID: "locksmith"}
	channels = map[string]string{HelpdeskChannel: "helpdesk", ApprovalChannel: "approvals", AuditChannel: "audit"}
)

// StartSlack starts the fake Slack workspace of the local demo. The bot
// connects to it with fakeslack.AppToken and fakeslack.BotToken at APIURL().
// The caller must Close it.
func StartSlack() *fakeslack.Server {
	s := fakeslack.New()
	s.AddUser(Requester, "riley")
	s.AddUser(Approver, "avery")
	s.AddChannel(HelpdeskChannel, "helpdesk", Requester, Approver)
	s.AddChannel(ApprovalChannel, "approvals", Requester, Approver)
	s.AddChannel(AuditChannel, "audit", Requester, Approver)
	return s
}

// AuditTrail is what the walkthrough reads from the store.
type AuditTrail interface {
	Events(ctx context.Context, f approvals.EventFilter, fn func(approvals.Event) error) error
	Verify(ctx context.Context) (approvals.VerifyReport, error)
}

// Walkthrough plays one request against a running bot connected to Slack (a
// StartSlack workspace) and Partner Center (a StartPartner), then reports.
type Walkthrough struct {
	Slack   *fakeslack.Server
	Partner *fakepartner.Server
	Out     io.Writer
}

// Play makes the request, approves it and resets the password, as Riley and
// Avery would by typing and clicking, and waits for each effect. ctx bounds
// the whole play.
func (w *Walkthrough) Play(ctx context.Context) error {
	fmt.Fprintf(w.Out, "1. Riley, a technician, types in #helpdesk:\n     %s %s\n", demoCommand, demoText)
	if _, err := w.Slack.SlashCommand(ctx, Requester, HelpdeskChannel, demoCommand, demoText); err != nil {
		return err
	}
	card, err := w.waitMessage(ctx, "the approval card in #approvals", ApprovalChannel, func(m fakeslack.Message) bool {
		return hasButton(m.Blocks, bot.ActionIDApprove)
	})
	if err != nil {
		return err
	}

	fmt.Fprintln(w.Out, "2. locksmith posts an approval card in #approvals; Avery, a team lead, clicks Approve.")
	if err := w.click(ctx, Approver, card, bot.ActionIDApprove); err != nil {
		return err
	}
	dm := w.Slack.DMChannel(Requester)
	notice, err := w.waitMessage(ctx, "Riley's DM with the reset button", dm, func(m fakeslack.Message) bool {
		return hasButton(m.Blocks, bot.ActionIDReset)
	})
	if err != nil {
		return err
	}

	fmt.Fprintln(w.Out, "3. Riley gets a DM with \"Reset password now\" and clicks it, with Alice on the phone.")
	if err := w.click(ctx, Requester, notice, bot.ActionIDReset); err != nil {
		return err
	}
	if err := waitFor(ctx, "the password in Riley's DM", func() bool {
		return slices.ContainsFunc(w.Slack.Ephemerals(dm, Requester), isDelivery)
	}); err != nil {
		return err
	}
	if err := waitFor(ctx, "the reset in #audit", func() bool {
		return slices.ContainsFunc(w.Slack.Messages(AuditChannel), func(m fakeslack.Message) bool {
			return strings.Contains(m.Text, string(approvals.OutcomeResetDone))
		})
	}); err != nil {
		return err
	}
	fmt.Fprintln(w.Out, "4. Partner Center sets a temporary password (change required at next sign-in); locksmith shows it to Riley only.")
	return nil
}

// Report prints what each person saw and the audit trail, verified. Call it
// once the bot has stopped, so nothing is still being written. It fails when
// the trail does not verify.
func (w *Walkthrough) Report(ctx context.Context, trail AuditTrail) error {
	p := &printer{out: w.Out, secrets: w.passwords()}
	dm := w.Slack.DMChannel(Requester)
	avery := w.Slack.DMChannel(Approver)

	p.heading("What Riley (the requester) saw")
	p.timeline(w.personal(Requester, dm))
	p.heading("What Avery (the approver) saw")
	p.timeline(w.personal(Approver, avery))
	p.heading("What the approval channel #approvals shows (the card, as it reads now)")
	p.timeline(w.shared(ApprovalChannel))
	p.heading("What the audit channel #audit shows")
	p.timeline(w.shared(AuditChannel))

	p.heading("The audit trail (database)")
	err := trail.Events(ctx, approvals.EventFilter{}, func(e approvals.Event) error {
		line := fmt.Sprintf("#%d %s %-12s by %s", e.Seq, e.Time.UTC().Format("15:04:05"), e.Outcome, e.ActorName)
		if e.TargetUPN != "" {
			line += " for " + e.TargetUPN
		}
		if e.Detail != "" {
			line += ": " + e.Detail
		}
		p.line("  " + line)
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the audit trail: %w", err)
	}
	rep, err := trail.Verify(ctx)
	if err != nil {
		return fmt.Errorf("verifying the audit trail: %w", err)
	}
	if !rep.OK {
		return fmt.Errorf("audit trail broken at row %d: %s", rep.BadSeq, rep.Problem)
	}
	p.line(fmt.Sprintf("audit trail verified: %d rows, hash chain intact; last row %d, hash %s", rep.Rows, rep.LastSeq, rep.LastHash))
	p.line("")
	p.line("The password was shown once, to Riley only, in an ephemeral message; this walkthrough masks it.")
	return p.err
}

// seen is one message as a person saw it.
type seen struct {
	where string
	msg   fakeslack.Message
}

// personal is what one person saw, oldest first: the ephemeral messages shown
// to them in any channel and their DM with the bot.
func (w *Walkthrough) personal(user, dm string) []seen {
	var out []seen
	for _, ch := range []string{HelpdeskChannel, ApprovalChannel, AuditChannel} {
		for _, m := range w.Slack.Ephemerals(ch, user) {
			out = append(out, seen{where: "in #" + channels[ch] + ", only " + people[user] + " sees it", msg: m})
		}
	}
	for _, m := range w.Slack.Messages(dm) {
		out = append(out, seen{where: "DM from locksmith", msg: m})
	}
	for _, m := range w.Slack.Ephemerals(dm, user) {
		out = append(out, seen{where: "DM from locksmith, only " + people[user] + " sees it", msg: m})
	}
	slices.SortStableFunc(out, func(a, b seen) int { return strings.Compare(a.msg.TS, b.msg.TS) })
	return out
}

func (w *Walkthrough) shared(channel string) []seen {
	var out []seen
	for _, m := range w.Slack.Messages(channel) {
		where := "#" + channels[channel]
		if m.Updates > 0 {
			where += fmt.Sprintf(", updated %d times", m.Updates)
		}
		out = append(out, seen{where: where, msg: m})
	}
	return out
}

// passwords are the ones the sample Partner Center set: the printer masks
// them wherever they might appear.
func (w *Walkthrough) passwords() []string {
	var out []string
	for _, r := range w.Partner.Resets() {
		if r.Password != "" {
			out = append(out, r.Password)
		}
	}
	return out
}

func (w *Walkthrough) click(ctx context.Context, user string, m fakeslack.Message, actionID string) error {
	_, err := w.Slack.Click(ctx, user, fakeslack.MessageRef{Channel: m.Channel, TS: m.TS}, actionID, "")
	return err
}

// waitMessage waits for the newest message in channel that satisfies match.
func (w *Walkthrough) waitMessage(ctx context.Context, what, channel string, match func(fakeslack.Message) bool) (fakeslack.Message, error) {
	var found fakeslack.Message
	err := waitFor(ctx, what, func() bool {
		msgs := w.Slack.Messages(channel)
		for i := len(msgs) - 1; i >= 0; i-- {
			if match(msgs[i]) {
				found = msgs[i]
				return true
			}
		}
		return false
	})
	return found, err
}

// waitFor polls cond: the fake's history is the only signal of the bot's
// background work.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

func hasButton(blocks json.RawMessage, actionID string) bool {
	return strings.Contains(string(blocks), `"action_id":"`+actionID+`"`)
}

// isDelivery tells the password message apart from other ephemerals.
func isDelivery(m fakeslack.Message) bool {
	return strings.HasPrefix(stripLabel(m.Text), "Temporary password")
}

func stripLabel(s string) string { return strings.TrimPrefix(s, "["+Label+"] ") }
