package bot

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/secret"
	"github.com/locksmithbot/locksmith/messages"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current rendering")

// fakePassword is a fixed, obviously fake password for golden files and leak
// checks; it contains & and > to show they are escaped inside the code span.
const fakePassword = "Xq7&Rv>2mK9#tLw4"

var expires = time.Date(2025, 3, 14, 10, 30, 0, 0, time.UTC)

func pendingCard() commands.Card {
	return commands.Card{
		RequestID:         "REQ01HZX3",
		RequesterID:       "U0ALICE",
		CustomerName:      "Contoso Ltd",
		CustomerDomain:    "contoso.com",
		TenantID:          "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		UserDisplayName:   "Jane Doe",
		UserPrincipalName: "jdoe@contoso.com",
		UserObjectID:      "9a8b7c6d-5e4f-3a2b-1c0d-9e8f7a6b5c4d",
		AdminRoles:        nil,
		RoleNeeded:        "User Administrator",
		Reason:            "INC-4711 locked out after holiday",
		ExpiresAt:         expires,
		Buttons:           true,
	}
}

func decidedCard() commands.Card {
	c := pendingCard()
	c.AdminRoles = []string{"Helpdesk Administrator", "Reports Reader"}
	c.Status = "Approved by <@U0BOB> at 10:02"
	c.Buttons = false
	return c
}

// goldenCases are the main card and DMs in language l. The English notice
// texts are the ones the golden files were first written with; the Japanese
// ones are the catalogue's, as the workflow sends them.
func goldenCases(l messages.Lang) []struct {
	name   string
	render func(t *testing.T) ([]slack.Block, string)
} {
	suffix := ""
	if l != messages.English {
		suffix = "_" + string(l)
	}
	delivery := commands.Delivery{
		Lang:              l,
		Password:          secret.NewPassword(fakePassword),
		UserPrincipalName: "jdoe@contoso.com",
		UserDisplayName:   "Jane Doe",
		CustomerName:      "Contoso Ltd",
	}
	pending, decided := pendingCard(), decidedCard()
	pending.Lang, decided.Lang = l, l
	resetText := "Your reset of *jdoe@contoso.com* was approved by <@U0BOB>."
	withdrawText := "Your request is waiting for approval: <https://acme.slack.com/archives/C0APPROVALS/p1|approval message>"
	if l != messages.English {
		decided.Status = texts.Text(l, messages.StatusApproved, messages.Data{"Deciders": "<@U0BOB>", "When": texts.Date(l, messages.DateAt, expires.Add(-28*time.Minute))})
		resetText = texts.Text(l, messages.NoticeApproved, messages.Data{
			"Approvers": "<@U0BOB>", "User": "jdoe@contoso.com", "Customer": "Contoso Ltd", "UseBy": texts.Date(l, messages.DateAt, expires)})
		withdrawText = texts.Text(l, messages.NoticePending, messages.Data{
			"User": "jdoe@contoso.com", "Customer": "Contoso Ltd", "Expires": texts.Date(l, messages.DateAt, expires),
			"Where": texts.Text(l, messages.NoticeChannelLink, messages.Data{"URL": "https://acme.slack.com/archives/C0APPROVALS/p1"})})
	}
	return []struct {
		name   string
		render func(t *testing.T) ([]slack.Block, string)
	}{
		{"card_pending" + suffix, func(*testing.T) ([]slack.Block, string) { return renderCard(pending) }},
		{"card_decided" + suffix, func(*testing.T) ([]slack.Block, string) { return renderCard(decided) }},
		{"notice_reset" + suffix, func(*testing.T) ([]slack.Block, string) {
			return renderNotice(commands.Notice{Lang: l, Text: resetText, ResetButton: "REQ01HZX3", ValidUntil: expires})
		}},
		{"notice_withdraw" + suffix, func(*testing.T) ([]slack.Block, string) {
			return renderNotice(commands.Notice{Lang: l, Text: withdrawText, CancelButton: "REQ01HZX3"})
		}},
		{"card_policy" + suffix, func(*testing.T) ([]slack.Block, string) {
			c := pending
			c.ApprovalsRequired, c.Approvers = 2, []string{"U0BOB"}
			c.Ticket, c.TicketURL = "INC-4711", "https://psa.example.com/tickets/INC-4711?a=1&b=<2>"
			c.PolicyName = "contoso-admins"
			c.Status = "Waiting for approval: 1 of 2"
			return renderCard(c)
		}},
		{"card_break_glass" + suffix, func(*testing.T) ([]slack.Block, string) {
			c := decided
			c.BreakGlass, c.Review = true, true
			c.Status = "<!here> :rotating_light: *Break-glass:* <@U0ALICE> is resetting this password *without approval*."
			return renderCard(c)
		}},
		{"card_reviewed" + suffix, func(*testing.T) ([]slack.Block, string) {
			c := decided
			c.BreakGlass, c.ReviewedBy = true, "U0BOB"
			c.Status = "Break-glass reset by <@U0ALICE>; reviewed by <@U0BOB>."
			return renderCard(c)
		}},
		{"delivery" + suffix, func(t *testing.T) ([]slack.Block, string) {
			blocks, fallback, err := renderDelivery(delivery)
			if err != nil {
				t.Fatalf("renderDelivery: %v", err)
			}
			return blocks, fallback
		}},
	}
}

func TestRender_Golden(t *testing.T) {
	var tests []struct {
		name   string
		render func(t *testing.T) ([]slack.Block, string)
	}
	for _, l := range messages.Langs {
		tests = append(tests, goldenCases(l)...)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocks, fallback := tt.render(t)
			checkGolden(t, tt.name, blocks, fallback)
		})
	}
}

// checkGolden compares a rendering with testdata/<name>.golden.json, or
// rewrites the file with -update.
func checkGolden(t *testing.T, name string, blocks []slack.Block, fallback string) {
	t.Helper()
	checkLimits(t, blocks)
	got := goldenJSON(t, blocks, fallback)
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -run TestRender -update)", err)
	}
	if !bytes.Equal(got, want) {
		// The delivery golden files hold only the fixed fake password.
		t.Errorf("rendering differs from %s; got:\n%s", path, got)
	}
}

func goldenJSON(t *testing.T, blocks []slack.Block, fallback string) []byte {
	t.Helper()
	// Unescaped HTML keeps < > & readable in the golden files; what Slack
	// receives is the same JSON either way.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		Text   string        `json:"text"`
		Blocks []slack.Block `json:"blocks"`
	}{fallback, blocks}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkLimits fails when a rendering breaks a Block Kit limit Slack enforces
// with invalid_blocks.
func checkLimits(t *testing.T, blocks []slack.Block) {
	t.Helper()
	if len(blocks) > maxBlocks {
		t.Errorf("%d blocks; Slack allows %d", len(blocks), maxBlocks)
	}
	for _, b := range blocks {
		switch b := b.(type) {
		case *slack.SectionBlock:
			if b.Text != nil {
				checkText(t, b.Text, maxSectionText)
			}
			if len(b.Fields) > 10 {
				t.Errorf("%d section fields; Slack allows 10", len(b.Fields))
			}
			for _, f := range b.Fields {
				checkText(t, f, maxFieldText)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if tb, ok := e.(*slack.TextBlockObject); ok {
					checkText(t, tb, maxContextText)
				}
			}
		case *slack.HeaderBlock:
			checkText(t, b.Text, 150)
		case *slack.ActionBlock:
			if b.BlockID == "" {
				t.Error("actions block without block_id: slack-go would not see clicks as block actions")
			}
			for _, e := range b.Elements.ElementSet {
				btn, ok := e.(*slack.ButtonBlockElement)
				if !ok {
					continue
				}
				checkText(t, btn.Text, 75)
				if c := btn.Confirm; c != nil {
					checkText(t, c.Title, 100)
					checkText(t, c.Text, 300)
					checkText(t, c.Confirm, 30)
					checkText(t, c.Deny, 30)
				}
				if _, known := actionKinds[btn.ActionID]; !known {
					t.Errorf("button with unknown action ID %q", btn.ActionID)
				}
				if btn.Value == "" || len(btn.Value) > 2000 {
					t.Errorf("button %q value length %d", btn.ActionID, len(btn.Value))
				}
			}
		}
	}
}

func checkText(t *testing.T, tb *slack.TextBlockObject, limit int) {
	t.Helper()
	if err := tb.Validate(); err != nil {
		t.Errorf("text object invalid: %v", err)
	}
	if n := utf8.RuneCountInString(tb.Text); n > limit {
		t.Errorf("text of %d chars; limit %d", n, limit)
	}
}

func TestRenderCard_EscapesUserText(t *testing.T) {
	c := pendingCard()
	c.Reason = "<!channel> see <http://evil.example|your bank> & <@U0EVE>"
	c.CustomerName = "Evil <!here> Corp"
	c.UserDisplayName = "<@U0ADMIN>"
	c.AdminRoles = []string{"<!everyone>"}
	c.RequesterID = "<!channel>"
	blocks, fallback := renderCard(c)
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	all := fallback + collectText(decoded)
	for _, bad := range []string{"<!channel>", "<!here>", "<!everyone>", "<http://", "<@U0EVE>", "<@U0ADMIN>"} {
		if strings.Contains(all, bad) {
			t.Errorf("rendered card contains unescaped %q", bad)
		}
	}
	for _, want := range []string{"&lt;!channel&gt;", "&lt;http://evil.example|your bank&gt; &amp;"} {
		if !strings.Contains(all, want) {
			t.Errorf("rendered card lacks escaped %q", want)
		}
	}
}

// collectText concatenates every string in decoded JSON.
func collectText(v any) string {
	var sb strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			sb.WriteString(v)
			sb.WriteByte('\n')
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	return sb.String()
}

func TestRender_LongInputsStayWithinLimits(t *testing.T) {
	for _, l := range messages.Langs {
		t.Run(string(l), func(t *testing.T) { longInputsStayWithinLimits(t, l) })
	}
}

func longInputsStayWithinLimits(t *testing.T, l messages.Lang) {
	long := strings.Repeat("<&>é", 2000)
	roles := make([]string, 40)
	for i := range roles {
		roles[i] = long
	}
	roles[0] = "Privileged Authentication Administrator" // a name the catalogue translates
	c := commands.Card{
		Lang:      l,
		RequestID: "REQ1", RequesterID: long, CustomerName: long, CustomerDomain: long, TenantID: long,
		UserDisplayName: long, UserPrincipalName: long, UserObjectID: long, AdminRoles: roles,
		RoleNeeded: long, Reason: long, ExpiresAt: expires, Status: long, Buttons: true,
	}
	blocks, fallback := renderCard(c)
	checkLimits(t, blocks)
	if utf8.RuneCountInString(fallback) > maxFallback {
		t.Errorf("fallback of %d chars", utf8.RuneCountInString(fallback))
	}
	nb, nfallback := renderNotice(commands.Notice{Lang: l, Text: long, ResetButton: "REQ1", ValidUntil: expires, CancelButton: "REQ1"})
	checkLimits(t, nb)
	if utf8.RuneCountInString(nfallback) > maxFallback {
		t.Errorf("notice fallback of %d chars", utf8.RuneCountInString(nfallback))
	}
	db, _, err := renderDelivery(commands.Delivery{Lang: l, Password: secret.NewPassword(fakePassword), UserPrincipalName: long, UserDisplayName: long, CustomerName: long})
	if err != nil {
		t.Fatal(err)
	}
	checkLimits(t, db)
	if !strings.Contains(collectBlocks(t, db), "`"+escapeEntities(fakePassword)+"`") {
		t.Error("long names pushed the password out of the message")
	}
}

func collectBlocks(t *testing.T, blocks []slack.Block) string {
	t.Helper()
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return collectText(v)
}

func TestClip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short text untouched", "abc", 5, "abc"},
		{"cut with ellipsis", "abcdef", 4, "abc…"},
		{"no half entity", "ab&amp;cd", 5, "ab…"},
		{"no half mention", "hi <@U0BOB> there", 8, "hi …"},
		{"whole entity kept", "a&lt;bcdef", 7, "a&lt;b…"},
		{"runes not bytes", "ééééé", 3, "éé…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clip(tt.in, tt.max); got != tt.want {
				t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestRenderDelivery_RefusesUnshowablePassword(t *testing.T) {
	for _, name := range []string{"backtick", "newline", "empty"} {
		t.Run(name, func(t *testing.T) {
			pw := map[string]string{"backtick": "abc`def", "newline": "abc\ndef", "empty": ""}[name]
			_, _, err := renderDelivery(commands.Delivery{Password: secret.NewPassword(pw), UserPrincipalName: "a@b.c"})
			if err == nil {
				t.Fatal("rendered a password a code span cannot show")
			}
			if pw != "" && strings.Contains(err.Error(), pw) {
				t.Error("error text contains the password")
			}
		})
	}
}

func TestMention(t *testing.T) {
	tests := []struct{ in, want string }{
		{"U0ALICE", "<@U0ALICE>"},
		{"W012A3CDE", "<@W012A3CDE>"},
		{"<!channel>", "&lt;!channel&gt;"},
		{"U0ALICE> <!here", "U0ALICE&gt; &lt;!here"},
		{"", "—"},
	}
	for _, tt := range tests {
		if got := mention(tt.in); got != tt.want {
			t.Errorf("mention(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// DESIGN guarantee 1 in code: bot reveals a password in exactly one place, the
// rendering of the ephemeral delivery.
func TestPasswordRevealedInOnePlace(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var sites []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, "Password.Reveal()") {
				sites = append(sites, f+":"+strconv.Itoa(i+1))
			}
		}
	}
	if len(sites) != 1 || !strings.HasPrefix(sites[0], "render.go:") {
		t.Errorf("password revealed at %v; want exactly one place, in render.go", sites)
	}
}

func TestRenderDelivery_TemporaryAccessPass(t *testing.T) {
	const pass = "Tap-Canary-Q7x9"
	blocks, fallback, err := renderDelivery(commands.Delivery{
		Password: secret.NewPassword(pass), UserPrincipalName: "alice@contoso.com", CustomerName: "Contoso",
		TAP: &commands.TAPDetails{Lifetime: 2 * time.Hour, UsableOnce: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(blocks)
	if !strings.Contains(string(raw), "Temporary Access Pass for") || !strings.Contains(string(raw), "2 hours from now, usable once") || !strings.Contains(string(raw), pass) {
		t.Fatalf("blocks: %s", raw)
	}
	if strings.Contains(fallback, pass) {
		t.Fatal("the pass is in the notification fallback")
	}
	if strings.Contains(string(raw), "must change it at next sign-in") {
		t.Fatal("a pass is described as a password")
	}
}

func TestRenderNotice_RecipeButtons(t *testing.T) {
	blocks, _ := renderNotice(commands.Notice{Text: "approved", OfferRequest: "req-1",
		Offer: []commands.Recipe{commands.RecipeResetPassword, commands.RecipeTemporaryAccessPass, commands.RecipeRevokeSessions, commands.RecipeEnableAccount}})
	raw, _ := json.Marshal(blocks)
	for _, id := range []string{ActionIDReset, ActionIDTAP, ActionIDRevoke, ActionIDEnable} {
		if !strings.Contains(string(raw), `"action_id":"`+id+`"`) {
			t.Errorf("no %s button: %s", id, raw)
		}
	}
	for _, id := range []string{ActionIDTAP, ActionIDRevoke, ActionIDEnable} {
		if actionKinds[id] == "" {
			t.Errorf("%s is not dispatched", id)
		}
	}
}

// A Japanese requester's Temporary Access Pass arrives in Japanese, with the
// pass itself untouched and out of the notification fallback.
func TestRenderDelivery_TemporaryAccessPassJapanese(t *testing.T) {
	const pass = "Tap-Canary-Q7x9"
	blocks, fallback, err := renderDelivery(commands.Delivery{
		Lang: messages.Japanese, Password: secret.NewPassword(pass), UserPrincipalName: "jdoe@contoso.com", UserDisplayName: "Jane Doe",
		CustomerName: "Contoso Ltd", TAP: &commands.TAPDetails{Lifetime: 90 * time.Minute, UsableOnce: false},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(blocks)
	for _, want := range []string{"*Jane Doe の一時アクセス パス* (jdoe@contoso.com、Contoso Ltd)", "有効期間は今から 90 分で、複数回使用できます。", "`" + pass + "`"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("blocks lack %q: %s", want, raw)
		}
	}
	if fallback != "jdoe@contoso.com の一時アクセス パス" {
		t.Errorf("fallback = %q", fallback)
	}
	if strings.Contains(string(raw), "Temporary Access Pass") || strings.Contains(string(raw), "次回サインイン時にパスワードを変更") {
		t.Errorf("English, or the password's rules, in a Japanese pass delivery: %s", raw)
	}
	blocks, fallback, err = renderDelivery(commands.Delivery{
		Lang: messages.Japanese, Password: secret.NewPassword(fakePassword), UserPrincipalName: "jdoe@contoso.com", UserDisplayName: "Jane Doe",
		CustomerName: "Contoso Ltd", TAP: &commands.TAPDetails{Lifetime: 2 * time.Hour, UsableOnce: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "delivery_tap_ja", blocks, fallback)
}
