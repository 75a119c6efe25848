package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"
)

var tsPattern = regexp.MustCompile(`^\d{10}\.\d{6}$`)

func TestWebAPIMethodsThroughSlackGo(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		tokenVia string
		run      func(ctx context.Context, t *testing.T, s *Server, api *slack.Client)
	}{
		{
			name: "auth.test", method: "auth.test", tokenVia: "form",
			run: func(ctx context.Context, t *testing.T, _ *Server, api *slack.Client) {
				r, err := api.AuthTestContext(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if r.UserID != BotUserID || r.TeamID != TeamID || r.BotID != BotID {
					t.Errorf("auth.test = %+v", r)
				}
			},
		},
		{
			name: "users.info", method: "users.info", tokenVia: "form",
			run: func(ctx context.Context, t *testing.T, _ *Server, api *slack.Client) {
				u, err := api.GetUserInfoContext(ctx, alice)
				if err != nil {
					t.Fatal(err)
				}
				if u.ID != alice || u.Name != "alice" || u.IsBot || u.Profile.Email == "" {
					t.Errorf("users.info = %+v", u)
				}
			},
		},
		{
			name: "users.info with the locale", method: "users.info", tokenVia: "form",
			run: func(ctx context.Context, t *testing.T, s *Server, api *slack.Client) {
				s.SetLocale(alice, "ja-JP")
				u, err := api.GetUserInfoContext(ctx, alice, slack.GetUserInfoOptionIncludeLocale(true))
				if err != nil {
					t.Fatal(err)
				}
				if u.Locale != "ja-JP" {
					t.Errorf("locale = %q, want ja-JP", u.Locale)
				}
				u, err = api.GetUserInfoContext(ctx, alice, slack.GetUserInfoOptionIncludeLocale(false))
				if err != nil {
					t.Fatal(err)
				}
				if u.Locale != "" {
					t.Errorf("locale without include_locale = %q, want none", u.Locale)
				}
			},
		},
		{
			name: "usergroups.users.list", method: "usergroups.users.list", tokenVia: "form",
			run: func(ctx context.Context, t *testing.T, _ *Server, api *slack.Client) {
				m, err := api.GetUserGroupMembersContext(ctx, helpdesk)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(m, ",") != alice+","+bob {
					t.Errorf("members = %q", m)
				}
			},
		},
		{
			name: "conversations.open is idempotent", method: "conversations.open", tokenVia: "form",
			run: func(ctx context.Context, t *testing.T, s *Server, api *slack.Client) {
				p := &slack.OpenConversationParameters{Users: []string{alice}}
				ch, noOp, already, err := api.OpenConversationContext(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				if ch.ID != s.DMChannel(alice) || !strings.HasPrefix(ch.ID, "D") || noOp || already {
					t.Errorf("first open = %q noOp=%v already=%v, want %q", ch.ID, noOp, already, s.DMChannel(alice))
				}
				ch2, _, already, err := api.OpenConversationContext(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				if ch2.ID != ch.ID || !already {
					t.Errorf("second open = %q already=%v, want %q already", ch2.ID, already, ch.ID)
				}
			},
		},
		{
			name: "chat.postMessage stores history", method: "chat.postMessage", tokenVia: "form",
			run: func(ctx context.Context, t *testing.T, s *Server, api *slack.Client) {
				ch, ts, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("fallback <&>", false), approvalBlocks())
				if err != nil {
					t.Fatal(err)
				}
				if ch != approvals || !tsPattern.MatchString(ts) {
					t.Errorf("posted to %q at %q", ch, ts)
				}
				m, ok := s.Message(approvals, ts)
				if !ok || m.Text != "fallback <&>" || m.User != BotUserID {
					t.Fatalf("stored message = %+v, %v", m, ok)
				}
				var blocks []map[string]any
				if err := json.Unmarshal(m.Blocks, &blocks); err != nil || len(blocks) != 2 || blocks[1]["block_id"] != "approval:REQ1" {
					t.Errorf("stored blocks = %s (%v)", m.Blocks, err)
				}
			},
		},
		{
			name: "chat.postMessage to a user ID lands in the DM", method: "chat.postMessage", tokenVia: "form",
			run: func(ctx context.Context, t *testing.T, s *Server, api *slack.Client) {
				ch, ts, err := api.PostMessageContext(ctx, bob, slack.MsgOptionText("hi", false))
				if err != nil {
					t.Fatal(err)
				}
				if ch != s.DMChannel(bob) {
					t.Errorf("channel = %q, want the DM %q", ch, s.DMChannel(bob))
				}
				if _, ok := s.Message(ch, ts); !ok {
					t.Error("message not in the DM's history")
				}
			},
		},
		{
			name: "chat.postEphemeral stays out of history", method: "chat.postEphemeral", tokenVia: "form",
			run: func(ctx context.Context, t *testing.T, s *Server, api *slack.Client) {
				dm := s.DMChannel(alice)
				ts, err := api.PostEphemeralContext(ctx, dm, alice, slack.MsgOptionText("temporary password", false))
				if err != nil {
					t.Fatal(err)
				}
				eph := s.Ephemerals(dm, alice)
				if !tsPattern.MatchString(ts) || len(eph) != 1 || eph[0].Text != "temporary password" || eph[0].TS != ts {
					t.Errorf("ts %q, ephemerals %+v", ts, eph)
				}
				if n := len(s.Messages(dm)); n != 0 {
					t.Errorf("history has %d messages, want 0", n)
				}
			},
		},
		{
			name: "chat.update replaces text and clears blocks", method: "chat.update", tokenVia: "form",
			run: func(ctx context.Context, t *testing.T, s *Server, api *slack.Client) {
				_, ts, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("pending", false), approvalBlocks())
				if err != nil {
					t.Fatal(err)
				}
				_, uts, text, err := api.UpdateMessageContext(ctx, approvals, ts, slack.MsgOptionText("Approved by <@U0BOB>", false), slack.MsgOptionBlocks())
				if err != nil {
					t.Fatal(err)
				}
				m, _ := s.Message(approvals, ts)
				if uts != ts || text != "Approved by <@U0BOB>" || m.Text != text || m.Blocks != nil || m.Updates != 1 {
					t.Errorf("update answered ts %q text %q; stored %+v", uts, text, m)
				}
			},
		},
		{
			name: "chat.getPermalink", method: "chat.getPermalink", tokenVia: "header",
			run: func(ctx context.Context, t *testing.T, s *Server, api *slack.Client) {
				_, ts, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("x", false))
				if err != nil {
					t.Fatal(err)
				}
				link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: approvals, Ts: ts})
				if err != nil {
					t.Fatal(err)
				}
				want := "https://fake.slack.com/archives/" + approvals + "/p" + strings.ReplaceAll(ts, ".", "")
				if link != want {
					t.Errorf("permalink = %q, want %q", link, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			ctx := testContext(t)
			tt.run(ctx, t, s, newAPI(s))

			calls := 0
			for _, c := range s.Calls() {
				if c.Method != tt.method {
					continue
				}
				calls++
				if c.Status != http.StatusOK || c.Token != BotToken || c.TokenVia != tt.tokenVia {
					t.Errorf("%s call: status %d, via %q, bot token %v; want 200 with the bot token via %s",
						c.Method, c.Status, c.TokenVia, c.Token == BotToken, tt.tokenVia)
				}
			}
			if calls == 0 || calls != s.CallCount(tt.method) {
				t.Errorf("recorded %d %s calls, CallCount = %d", calls, tt.method, s.CallCount(tt.method))
			}
			noUnexpected(t, s)
		})
	}
}

func TestWebAPIErrorsAsSlackGoSeesThem(t *testing.T) {
	long := strings.Repeat("x", maxTextChars+1)
	tooMany := make([]slack.Block, maxBlocks+1)
	for i := range tooMany {
		tooMany[i] = slack.NewDividerBlock()
	}
	tests := []struct {
		name string
		call func(ctx context.Context, s *Server, api *slack.Client) error
		want string
	}{
		{"post to a channel without the bot", func(ctx context.Context, s *Server, api *slack.Client) error {
			s.AddChannel("C0NOBOT", "nobot", alice)
			s.SetBotMember("C0NOBOT", false)
			_, _, err := api.PostMessageContext(ctx, "C0NOBOT", slack.MsgOptionText("x", false))
			return err
		}, "not_in_channel"},
		{"post to an unknown channel", func(ctx context.Context, _ *Server, api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, "C0NOPE", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"post with no text or blocks", func(ctx context.Context, _ *Server, api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, approvals)
			return err
		}, "no_text"},
		{"text over 40,000 characters", func(ctx context.Context, _ *Server, api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText(long, false))
			return err
		}, "msg_too_long"},
		{"more than 50 blocks", func(ctx context.Context, _ *Server, api *slack.Client) error {
			_, _, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionBlocks(tooMany...))
			return err
		}, "invalid_blocks"},
		{"ephemeral to a user outside the channel", func(ctx context.Context, _ *Server, api *slack.Client) error {
			_, err := api.PostEphemeralContext(ctx, approvals, carol, slack.MsgOptionText("x", false))
			return err
		}, "user_not_in_channel"},
		{"ephemeral in someone else's DM", func(ctx context.Context, s *Server, api *slack.Client) error {
			_, err := api.PostEphemeralContext(ctx, s.DMChannel(alice), bob, slack.MsgOptionText("x", false))
			return err
		}, "user_not_in_channel"},
		{"update of an unknown message", func(ctx context.Context, _ *Server, api *slack.Client) error {
			_, _, _, err := api.UpdateMessageContext(ctx, approvals, "1700000000.000001", slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"update of an ephemeral message", func(ctx context.Context, s *Server, api *slack.Client) error {
			ts, err := api.PostEphemeralContext(ctx, approvals, alice, slack.MsgOptionText("x", false))
			if err != nil {
				return err
			}
			_, _, _, err = api.UpdateMessageContext(ctx, approvals, ts, slack.MsgOptionText("y", false))
			return err
		}, "message_not_found"},
		{"permalink of an unknown message", func(ctx context.Context, _ *Server, api *slack.Client) error {
			_, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: approvals, Ts: "1700000000.000001"})
			return err
		}, "message_not_found"},
		{"users.info for an unknown user", func(ctx context.Context, _ *Server, api *slack.Client) error {
			_, err := api.GetUserInfoContext(ctx, "U0NOBODY")
			return err
		}, "user_not_found"},
		{"conversations.open for an unknown user", func(ctx context.Context, _ *Server, api *slack.Client) error {
			_, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U0NOBODY"}})
			return err
		}, "user_not_found"},
		{"unknown user group", func(ctx context.Context, _ *Server, api *slack.Client) error {
			_, err := api.GetUserGroupMembersContext(ctx, "S0NOPE")
			return err
		}, "no_such_subteam"},
		{"app token on a bot method", func(ctx context.Context, s *Server, _ *slack.Client) error {
			_, err := slack.New(AppToken, slack.OptionAPIURL(s.APIURL())).AuthTestContext(ctx)
			return err
		}, "not_allowed_token_type"},
		{"bot token on apps.connections.open", func(ctx context.Context, s *Server, _ *slack.Client) error {
			_, _, err := slack.New(BotToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(BotToken)).StartSocketModeContext(ctx)
			return err
		}, "not_allowed_token_type"},
		{"unknown token", func(ctx context.Context, s *Server, _ *slack.Client) error {
			_, err := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL())).AuthTestContext(ctx)
			return err
		}, "invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			err := tt.call(testContext(t), s, newAPI(s))
			var se slack.SlackErrorResponse
			if !errors.As(err, &se) || se.Err != tt.want {
				t.Errorf("err = %v, want SlackErrorResponse %q", err, tt.want)
			}
		})
	}
}

// rawCall posts a form to the fake without slack-go, for inputs slack-go never
// produces.
func rawCall(t *testing.T, s *Server, method string, form url.Values, header http.Header) map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, s.APIURL()+method, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s answered %d %q: %v", method, resp.StatusCode, body, err)
	}
	return out
}

func TestWebAPIRawInputs(t *testing.T) {
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	tests := []struct {
		name       string
		method     string
		form       url.Values
		header     http.Header
		wantErr    string // "" = ok:true
		unexpected bool
	}{
		{name: "unknown method", method: "chat.scheduleMessage", form: url.Values{"token": {BotToken}}, wantErr: "unknown_method", unexpected: true},
		{name: "blocks not an array", method: "chat.postMessage", form: url.Values{"token": {BotToken}, "channel": {approvals}, "blocks": {`{"type":"divider"}`}}, wantErr: "invalid_blocks_format"},
		{name: "blocks not JSON", method: "chat.postMessage", form: url.Values{"token": {BotToken}, "channel": {approvals}, "blocks": {`[{"type":`}}, wantErr: "invalid_blocks_format"},
		{name: "block without type", method: "chat.postMessage", form: url.Values{"token": {BotToken}, "channel": {approvals}, "blocks": {`[{"text":"x"}]`}}, wantErr: "invalid_blocks"},
		{name: "no token", method: "auth.test", wantErr: "not_authed"},
		{name: "bot token in a Bearer header", method: "auth.test", header: bearer(BotToken)},
		{name: "app token in the form for apps.connections.open", method: "apps.connections.open", form: url.Values{"token": {AppToken}}, wantErr: "not_authed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			out := rawCall(t, s, tt.method, tt.form, tt.header)
			if tt.wantErr == "" {
				if out["ok"] != true {
					t.Errorf("answer = %v, want ok", out)
				}
			} else if out["ok"] != false || out["error"] != tt.wantErr {
				t.Errorf("answer = %v, want error %q", out, tt.wantErr)
			}
			if got := len(s.Unexpected()) > 0; got != tt.unexpected {
				t.Errorf("Unexpected() = %q, want entries: %v", s.Unexpected(), tt.unexpected)
			}
		})
	}
}

func TestWaitCallSeesEarlierAndLaterCalls(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	api := newAPI(s)
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitCall(ctx, "auth.test", nil); err != nil {
		t.Fatalf("already-recorded call: %v", err)
	}
	go func() { _, _ = api.PostEphemeralContext(ctx, approvals, bob, slack.MsgOptionText("for bob", false)) }()
	c, err := s.WaitCall(ctx, "chat.postEphemeral", func(c Call) bool { return c.Form.Get("user") == bob })
	if err != nil {
		t.Fatal(err)
	}
	if c.Form.Get("text") != "for bob" || c.Form.Get("channel") != approvals {
		t.Errorf("text %q in channel %q, want \"for bob\" in %q", c.Form.Get("text"), c.Form.Get("channel"), approvals)
	}
}

func TestConcurrentPostsGetUniqueOrderedTS(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	api := newAPI(s)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if _, _, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText(fmt.Sprintf("%d-%d", w, i), false)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	msgs := s.Messages(approvals)
	if len(msgs) != workers*each {
		t.Fatalf("history has %d messages, want %d", len(msgs), workers*each)
	}
	for i := 1; i < len(msgs); i++ {
		if msgs[i].TS <= msgs[i-1].TS {
			t.Fatalf("ts not strictly increasing: %q then %q", msgs[i-1].TS, msgs[i].TS)
		}
	}
}

func TestTrafficHoldsEveryBodyAndFrame(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	c := startClient(t, s, clientOptions{})
	const marker = "marker-Zq7"
	if _, err := c.api.PostEphemeralContext(ctx, s.DMChannel(alice), alice, slack.MsgOptionText(marker, false)); err != nil {
		t.Fatal(err)
	}
	envID, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitAck(ctx, envID); err != nil {
		t.Fatal(err)
	}
	traffic := string(s.Traffic())
	if n := strings.Count(traffic, marker); n != 1 {
		t.Errorf("marker appears %d times in traffic, want 1 (the postEphemeral body)", n)
	}
	if n := strings.Count(traffic, envID); n < 2 {
		t.Errorf("envelope ID appears %d times, want the envelope and its ack", n)
	}
	if !strings.Contains(traffic, `"type":"hello"`) {
		t.Error("traffic lacks hello")
	}
}
