package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

// invisibleCodePoints are the characters locksmith must never let into Slack
// (commands.isNeutralised): bidirectional embeddings, overrides, isolates and
// marks, zero-width and other invisible format characters, line and paragraph
// separators, and C0/C1 controls.
var invisibleCodePoints = []rune{
	'\u202a', '\u202b', '\u202c', '\u202d', '\u202e',
	'\u2066', '\u2067', '\u2068', '\u2069',
	'\u200e', '\u200f', '\u061c',
	'\u200b', '\ufeff',
	'\u2028', '\u2029',
	'\u00ad', '\u2060', '\u2064', '\u206a', '\u180e', '\ufff9', '\U000e0001', '\U000e0041',
	'\x07', '\x1b', '\x7f', '\u0085', '\u009b',
}

// slackText is one piece of text locksmith sent to Slack, and where.
type slackText struct{ where, text string }

// sentToSlack is every string locksmith sent to Slack: each Web API call's
// form fields and JSON body (and the strings inside JSON-valued fields such
// as blocks, decoded, so escapes like \u2028 count too) and each
// response_url reply.
func sentToSlack(h *harness) []slackText {
	var out []slackText
	var add func(where, s string)
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case string:
			add(where, v)
		case []any:
			for _, e := range v {
				walk(where, e)
			}
		case map[string]any:
			for _, e := range v {
				walk(where, e)
			}
		}
	}
	add = func(where, s string) {
		out = append(out, slackText{where, s})
		var v any
		if strings.ContainsAny(s, "[{") && json.Unmarshal([]byte(s), &v) == nil {
			walk(where, v)
		}
	}
	for _, c := range h.slack.Calls() {
		where := c.Method + " to " + c.Form.Get("channel")
		for _, vs := range c.Form {
			for _, v := range vs {
				add(where, v)
			}
		}
		if c.JSON != nil {
			add(where, string(c.JSON))
		}
	}
	for _, p := range h.slack.ResponseURLPosts() {
		add("reply (response_url)", string(p.Body))
	}
	return out
}

// TestSlackText_DirectoryTextNeutralised: customer, user and role names from
// Partner Center that carry invisible or direction-changing characters reach
// no Slack message with them: not the candidates list, the approval card,
// the requester's DMs, the password message or the audit channel.
func TestSlackText_DirectoryTextNeutralised(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: true})
	bad := string(invisibleCodePoints)
	const (
		acmeOne = "a1000000-0000-4000-8000-000000000001"
		acmeTwo = "a1000000-0000-4000-8000-000000000002"
		bobID   = "b1000000-0000-4000-8000-000000000001"
		bobUPN  = "bob@acmeone.onmicrosoft.com"
	)
	h.pc.AddCustomer(fakepartner.Customer{TenantID: acmeOne, Name: "Acme" + bad + "One", Domain: "acmeone.onmicrosoft.com", Relationship: "reseller"})
	h.pc.AddCustomer(fakepartner.Customer{TenantID: acmeTwo, Name: "Acme" + bad + "Two", Domain: "acmetwo.onmicrosoft.com", Relationship: "reseller"})
	h.pc.AddUser(acmeOne, fakepartner.User{ObjectID: bobID, UPN: bobUPN, FirstName: "Bob", LastName: "Smith",
		DisplayName: "Bob" + bad + "Smith", State: "active",
		Roles: []fakepartner.Role{{TemplateID: "5d6b6bb7-de71-4623-b4af-96380a352509", Name: "Acme" + bad + "Role"}}})
	h.start()

	// The candidates list.
	list := h.slash(carol, "Acme "+bobUPN)
	if !strings.Contains(list, "matches 2 customers") {
		t.Fatalf("candidates reply = %q", list)
	}
	// The card, the DMs, the password message and the audit channel.
	card := h.request(carol, "acmeone.onmicrosoft.com "+bobUPN+" INC-77")
	h.click(erin, card, actApprove)
	dm := h.dmWithButton(carol, actReset)
	if r := h.click(carol, dm, actReset); !strings.Contains(r, "Done") {
		t.Fatalf("reset reply = %q", r)
	}
	h.waitFor("the audit channel's reset_done line", func() bool {
		for _, m := range h.slack.Messages(auditChannel) {
			if strings.Contains(m.Text, "reset_done") {
				return true
			}
		}
		return false
	})

	sent := sentToSlack(h)
	// Every path carried the directory text, minus the neutralised characters.
	for _, path := range []string{"reply (response_url)", "chat.postMessage to " + approvalsChannel,
		"chat.postMessage to " + h.slack.DMChannel(carol), "chat.postEphemeral to " + h.slack.DMChannel(carol)} {
		found := false
		for _, s := range sent {
			if s.where == path && strings.Contains(s.text, "Acme") {
				found = true
			}
		}
		if !found {
			t.Errorf("no text naming the customer went out by %s", path)
		}
	}
	audit := 0
	for _, s := range sent {
		if strings.HasPrefix(s.where, "chat.postMessage to "+auditChannel) {
			audit++
		}
	}
	if audit == 0 {
		t.Errorf("nothing was posted to the audit channel")
	}
	for _, r := range invisibleCodePoints {
		t.Run(fmt.Sprintf("%U", r), func(t *testing.T) {
			seen := map[string]bool{}
			for _, s := range sent {
				if strings.ContainsRune(s.text, r) && !seen[s.where] {
					seen[s.where] = true
					t.Errorf("%U reached Slack in %s", r, s.where)
				}
			}
		})
	}
}

// TestSlackText_TypedTextRefused: typed text carrying any of those characters
// is refused with a reply naming it, and nothing is looked up or recorded.
func TestSlackText_TypedTextRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: true})
	h.start()
	for _, r := range invisibleCodePoints {
		for _, text := range []string{
			"contoso.onmicrosoft.com " + plainUPN + " INC" + string(r) + "-1",
			"contoso" + string(r) + ".onmicrosoft.com " + plainUPN,
			"contoso.onmicrosoft.com alice" + string(r) + ".user@contoso.onmicrosoft.com",
		} {
			reply := h.slash(alice, text)
			if !strings.Contains(reply, fmt.Sprintf("%U", r)) || strings.ContainsRune(reply, r) {
				t.Errorf("%U: reply = %q; want it named, not echoed", r, reply)
			}
		}
	}
	if n := len(h.pc.Calls()); n != 0 {
		t.Errorf("%d Partner Center calls for refused text", n)
	}
	if n := len(h.slack.Messages(approvalsChannel)); n != 0 {
		t.Errorf("%d approval cards for refused text", n)
	}
}
