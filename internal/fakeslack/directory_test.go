package fakeslack

import (
	"errors"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// users.info reports deactivated users, bots and both kinds of guest with the
// flags Slack documents, through slack-go's own User type.
func TestUsersInfo_AccountKinds(t *testing.T) {
	s := newServer(t)
	api := newAPI(s)
	ctx := testContext(t)
	s.AddUser("U0GONE", "gone")
	s.SetAccount("U0GONE", Account{Deleted: true})
	s.AddUser("U0HOOK", "hook")
	s.SetAccount("U0HOOK", Account{Bot: true})
	s.AddUser("U0GUEST", "guest")
	s.SetAccount("U0GUEST", Account{Restricted: true})
	s.AddUser("U0SINGLE", "single")
	s.SetAccount("U0SINGLE", Account{UltraRestricted: true})
	s.SetAccount(alice, Account{RealName: "Alice Liddell"})

	for id, check := range map[string]func(u *slack.User) bool{
		"U0GONE":   func(u *slack.User) bool { return u.Deleted && !u.IsBot && !u.IsRestricted },
		"U0HOOK":   func(u *slack.User) bool { return u.IsBot && !u.Deleted },
		"U0GUEST":  func(u *slack.User) bool { return u.IsRestricted && !u.IsUltraRestricted },
		"U0SINGLE": func(u *slack.User) bool { return u.IsRestricted && u.IsUltraRestricted },
		alice: func(u *slack.User) bool {
			return u.RealName == "Alice Liddell" && u.Profile.RealName == "Alice Liddell" && u.Name == "alice"
		},
		BotUserID: func(u *slack.User) bool { return u.IsBot },
	} {
		u, err := api.GetUserInfoContext(ctx, id)
		if err != nil {
			t.Fatalf("users.info %s: %v", id, err)
		}
		if !check(u) {
			t.Errorf("users.info %s = %+v", id, u)
		}
	}
	var se slack.SlackErrorResponse
	if _, err := api.GetUserInfoContext(ctx, "U0NOBODY"); !errors.As(err, &se) || se.Err != "user_not_found" {
		t.Errorf("unknown user: %v, want user_not_found", err)
	}
}

func TestConversationsInfo(t *testing.T) {
	s := newServer(t)
	api := newAPI(s)
	ctx := testContext(t)
	s.AddChannel("C0OUT", "outside")
	s.SetBotMember("C0OUT", false)
	s.AddChannel("G0SECRET", "secret")
	s.SetPrivate("G0SECRET", true)
	s.SetBotMember("G0SECRET", false)

	ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: approvals})
	if err != nil || ch.Name != "approvals" || !ch.IsMember || ch.IsPrivate {
		t.Fatalf("conversations.info approvals = %+v, %v", ch, err)
	}
	ch, err = api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "C0OUT"})
	if err != nil || ch.IsMember {
		t.Fatalf("public channel without the bot = %+v, %v; want is_member false", ch, err)
	}
	var se slack.SlackErrorResponse
	if _, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "G0SECRET"}); !errors.As(err, &se) || se.Err != "channel_not_found" {
		t.Errorf("private channel without the bot: %v, want channel_not_found", err)
	}
	if _, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "C0NONE"}); !errors.As(err, &se) || se.Err != "channel_not_found" {
		t.Errorf("unknown channel: %v, want channel_not_found", err)
	}
}

func TestChatDelete(t *testing.T) {
	s := newServer(t)
	api := newAPI(s)
	ctx := testContext(t)
	ch, ts, err := api.PostMessageContext(ctx, approvals, slack.MsgOptionText("test", false))
	if err != nil {
		t.Fatal(err)
	}
	if gotCh, gotTS, err := api.DeleteMessageContext(ctx, ch, ts); err != nil || gotCh != ch || gotTS != ts {
		t.Fatalf("chat.delete = %s %s %v", gotCh, gotTS, err)
	}
	if n := len(s.Messages(approvals)); n != 0 {
		t.Errorf("%d messages left after chat.delete", n)
	}
	var se slack.SlackErrorResponse
	if _, _, err := api.DeleteMessageContext(ctx, ch, ts); !errors.As(err, &se) || se.Err != "message_not_found" {
		t.Errorf("second delete: %v, want message_not_found", err)
	}
	if _, _, err := api.DeleteMessageContext(ctx, "C0NONE", ts); !errors.As(err, &se) || se.Err != "channel_not_found" {
		t.Errorf("unknown channel: %v, want channel_not_found", err)
	}
}

// apps.connections.open can hand out a URL whose WebSocket then refuses the
// dial, as an unreachable Slack edge would.
func TestRefuseSockets(t *testing.T) {
	s := newServer(t)
	api := newAPI(s)
	ctx := testContext(t)
	s.RefuseSockets(1)
	for i, want := range []int{http.StatusServiceUnavailable, http.StatusSwitchingProtocols} {
		_, url, err := api.StartSocketModeContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conn, resp, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
		if resp == nil || resp.StatusCode != want {
			t.Fatalf("dial %d: response %v, err %v; want status %d", i, resp, err, want)
		}
		if conn != nil {
			conn.Close()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.unexpected) != 0 {
		t.Errorf("unexpected: %v", s.unexpected)
	}
}
