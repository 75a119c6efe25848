package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode"

	"github.com/locksmithbot/locksmith/internal/dbtest"
)

// ack returns the text of the immediate acknowledgement of a slash command.
func (h *harness) ackText(user, text string) (ack, reply string) {
	h.t.Helper()
	env, err := h.slack.SlashCommand(h.ctx(), user, helpdeskChannel, "/reset-password", text)
	if err != nil {
		h.t.Fatalf("slash command: %v", err)
	}
	a, err := h.slack.WaitAck(h.ctx(), env)
	if err != nil {
		h.t.Fatalf("no ack: %v", err)
	}
	var body struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(a.Payload, &body)
	return body.Text, h.replyTo(env)
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Fatalf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func hasJapanese(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Han) {
			return true
		}
	}
	return false
}

// TestE2E_JapaneseRequesterEnglishApprover: a requester whose Slack is in
// Japanese gets the whole flow in Japanese, the approver (en-US) and the
// channels get English, and the password still travels in exactly one
// ephemeral message.
func TestE2E_JapaneseRequesterEnglishApprover(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
		h.slack.SetLocale(alice, "ja-JP")
		h.slack.SetLocale(bob, "en-US")
		h.start()
		defer h.use(t)()

		if r := h.slash(alice, "contoso.onmicrosoft.com "+helpdeskUPN+" INC-4711"); !strings.Contains(r, "承認を申請しました") {
			t.Fatalf("request reply = %q", r)
		}
		h.waitFor("approval card", func() bool { return len(h.slack.Messages(approvalsChannel)) > 0 })
		card := h.card()
		mustContain(t, "card", plain(card.Blocks), "Password reset request", "Helpdesk Administrator", "User Administrator", "Approve", "Deny")
		if hasJapanese(plain(card.Blocks)) {
			t.Fatalf("card in the channel is not English: %s", card.Blocks)
		}

		pending := h.dmWithButton(alice, actCancel)
		mustContain(t, "pending DM", plain(pending.Blocks), "承認を待っています", "申請を取り下げ")

		if r := h.click(bob, card, actApprove); !strings.HasPrefix(r, "Approved. <@"+alice+">") {
			t.Fatalf("approver's reply = %q", r)
		}
		mustContain(t, "card after approval", plain(h.refreshed(card).Blocks), "Approved by <@"+bob+">")

		resetDM := h.dmWithButton(alice, actReset)
		mustContain(t, "approval DM", plain(resetDM.Blocks), "承認しました", "今すぐパスワードをリセット", "有効期限")
		if r := h.click(alice, resetDM, actReset); !strings.Contains(r, "完了しました") {
			t.Fatalf("reset reply = %q", r)
		}
		pw := h.lastResetPassword()
		h.assertPasswordOnlyInEphemeral(alice, pw)
		var delivery []string
		for _, e := range h.slack.Ephemerals(h.slack.DMChannel(alice), alice) {
			if m := plain(e.Blocks) + e.Text; strings.Contains(m, pw) {
				delivery = append(delivery, m)
			}
		}
		if len(delivery) != 1 {
			t.Fatalf("%d ephemerals carry the password, want 1", len(delivery))
		}
		mustContain(t, "password message", delivery[0], "の一時パスワード", "次回サインイン時")
		h.dmContaining(alice, "リセットしました")
		h.waitFor("card says done", func() bool { return strings.Contains(plain(h.refreshed(card).Blocks), "Reset done by") })

		// The approver's own DMs (none expected) and the audit channel stay English.
		h.waitFor("audit lines", func() bool { return len(h.slack.Messages(auditChannel)) >= 4 })
		for _, m := range h.slack.Messages(auditChannel) {
			if hasJapanese(m.Text) || !strings.HasPrefix(m.Text, "`") {
				t.Errorf("audit channel line %q", m.Text)
			}
		}

		// The next acknowledgement is already in the requester's language.
		ack, reply := h.ackText(alice, "")
		mustContain(t, "ack", ack, "確認しています")
		mustContain(t, "usage", reply, "*使い方:*", "`/reset-password <顧客> <ユーザー> [理由…]`")
		if ack, _ := h.ackText(bob, ""); ack != "⏳ Looking up…" {
			t.Errorf("approver's ack = %q", ack)
		}

		// A refusal is as specific in Japanese: which role, which customer.
		r := h.slash(alice, "contoso.onmicrosoft.com "+globalUPN)
		mustContain(t, "refusal", r, "*ユーザー管理者*", "の管理者ロール (グローバル管理者)", "*特権認証管理者*", "Contoso")
	})
}

// TestE2E_LanguageChoiceOverridesSlack: /reset-password language sets a
// person's language whatever Slack says, survives a restart, and "auto"
// hands the choice back to Slack.
func TestE2E_LanguageChoiceOverridesSlack(t *testing.T) {
	dsn := dbtest.SQLite(t)
	h := newHarness(t, harnessOptions{approval: true, dsn: dsn})
	h.slack.SetLocale(alice, "ja-JP")
	h.start()

	if r := h.slash(alice, "language en"); !strings.Contains(r, "in English from now on") {
		t.Fatalf("language en reply = %q", r)
	}
	if r := h.slash(alice, "help"); !strings.HasPrefix(r, "*Usage:*") {
		t.Fatalf("after choosing English: %q", r)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h.start()
	if r := h.slash(alice, "help"); !strings.HasPrefix(r, "*Usage:*") {
		t.Fatalf("after a restart: %q", r)
	}
	if r := h.slash(alice, "language auto"); !strings.Contains(r, "Slack の言語設定") {
		t.Fatalf("language auto reply = %q", r)
	}
	if r := h.slash(alice, "help"); !strings.HasPrefix(r, "*使い方:*") {
		t.Fatalf("after auto: %q", r)
	}
	if r := h.slash(bob, "language ja"); !strings.Contains(r, "日本語で表示します") {
		t.Fatalf("bob's language ja reply = %q", r)
	}
	if r := h.slash(bob, "language fr"); !strings.Contains(r, "`ja` / `en` / `auto`") {
		t.Fatalf("unsupported language reply = %q", r)
	}
}

// TestE2E_AuditExportSameInEveryLanguage runs the same flow with everyone in
// English and with everyone (people and channels) in Japanese: the exported
// trails differ only in IDs, times and hashes.
func TestE2E_AuditExportSameInEveryLanguage(t *testing.T) {
	export := func(japanese bool) []map[string]any {
		h := newHarness(t, harnessOptions{approval: true})
		if japanese {
			for _, u := range []string{alice, bob} {
				h.slack.SetLocale(u, "ja-JP")
			}
			f, err := os.OpenFile(h.env["LOCKSMITH_CONFIG"], os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = f.WriteString("locale:\n  default: ja\n  channel: ja\n")
			f.Close()
		}
		h.start()
		defer h.use(t)()
		_ = h.slash(mallory, "contoso.onmicrosoft.com "+helpdeskUPN) // refused: no grant
		_ = h.slash(alice, "contoso.onmicrosoft.com "+helpdeskUPN+" INC-1")
		h.waitFor("approval card", func() bool { return len(h.slack.Messages(approvalsChannel)) > 0 })
		card := h.card()
		if japanese {
			mustContain(t, "card with locale.channel ja", plain(card.Blocks), "パスワード リセットの申請", "ヘルプデスク管理者")
		}
		_ = h.click(bob, card, actApprove)
		_ = h.click(alice, h.dmWithButton(alice, actReset), actReset)
		h.waitFor("card says done", func() bool {
			b := plain(h.refreshed(card).Blocks)
			return strings.Contains(b, "Reset done") || strings.Contains(b, "リセット完了")
		})
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := runAuditExport(context.Background(), nil, h.getenv, &out, &out); err != nil {
			t.Fatalf("audit export: %v", err)
		}
		var rows []map[string]any
		dec := json.NewDecoder(&out)
		for dec.More() {
			var r map[string]any
			if err := dec.Decode(&r); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"time", "request_id", "correlation_id", "prev_hash", "hash"} {
				delete(r, k)
			}
			rows = append(rows, r)
		}
		return rows
	}
	en, ja := export(false), export(true)
	if len(en) < 5 {
		t.Fatalf("only %d audit rows", len(en))
	}
	want, _ := json.MarshalIndent(en, "", " ")
	got, _ := json.MarshalIndent(ja, "", " ")
	if !bytes.Equal(want, got) {
		t.Fatalf("audit export differs with Japanese readers:\nEnglish:\n%s\nJapanese:\n%s", want, got)
	}
}
