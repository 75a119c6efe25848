package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
)

// This file answers questions about the workspace: who a user is, what a
// channel is, and whether the tokens work. `locksmith check` asks all of them;
// the workflow asks Person on every request.

var _ commands.People = (*Bot)(nil)

// Workspace is what auth.test says about the bot token.
type Workspace struct {
	Team, TeamID string // the workspace the token belongs to
	BotUserID    string
}

// AuthTest calls auth.test with the bot token.
func (b *Bot) AuthTest(ctx context.Context) (Workspace, error) {
	var resp *slack.AuthTestResponse
	err := b.call(ctx, "auth.test", func(ctx context.Context) error {
		var err error
		resp, err = b.api.AuthTestContext(ctx)
		return err
	})
	if err != nil {
		return Workspace{}, err
	}
	return Workspace{Team: resp.Team, TeamID: resp.TeamID, BotUserID: resp.UserID}, nil
}

// personEntry is one cached users.info answer.
type personEntry struct {
	p  commands.Person
	at time.Time
}

// Person describes a user (users.info), cached for PeopleCacheTTL: every
// request and click asks, and a deactivation should still take effect within
// a minute. Errors are not cached.
func (b *Bot) Person(ctx context.Context, userID string) (commands.Person, error) {
	b.peopleMu.Lock()
	e, ok := b.people[userID]
	b.peopleMu.Unlock()
	if ok && time.Since(e.at) < b.cfg.PeopleCacheTTL {
		return e.p, nil
	}
	var u *slack.User
	err := b.call(ctx, "users.info", func(ctx context.Context) error {
		var err error
		u, err = b.api.GetUserInfoContext(ctx, userID, slack.GetUserInfoOptionIncludeLocale(true))
		return err
	})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Code == "missing_scope" {
			return commands.Person{}, fmt.Errorf("%w: %w", commands.ErrPeopleNotReadable, err)
		}
		return commands.Person{}, err
	}
	p := commands.Person{
		ID: u.ID, RealName: u.RealName, Deleted: u.Deleted, Bot: u.IsBot,
		Restricted: u.IsRestricted || u.IsUltraRestricted, UltraRestricted: u.IsUltraRestricted,
		Locale: u.Locale,
	}
	if p.RealName == "" {
		p.RealName = u.Profile.RealName
	}
	b.peopleMu.Lock()
	b.people[userID] = personEntry{p: p, at: time.Now()}
	b.peopleMu.Unlock()
	return p, nil
}

// Channel is what conversations.info says about a channel.
type Channel struct {
	Name     string
	Private  bool
	IsMember bool // the bot is in it
}

// ChannelInfo calls conversations.info. A private channel the bot is not in
// answers channel_not_found.
func (b *Bot) ChannelInfo(ctx context.Context, channelID string) (Channel, error) {
	var ch *slack.Channel
	err := b.call(ctx, "conversations.info", func(ctx context.Context) error {
		var err error
		ch, err = b.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channelID})
		return err
	})
	if err != nil {
		return Channel{}, err
	}
	return Channel{Name: ch.Name, Private: ch.IsPrivate, IsMember: ch.IsMember}, nil
}

// PostTest posts text to a channel and deletes it again (chat.postMessage,
// chat.delete): proof that locksmith can post there.
func (b *Bot) PostTest(ctx context.Context, channelID, text string) error {
	var ch, ts string
	err := b.call(ctx, "chat.postMessage", func(ctx context.Context) error {
		var err error
		ch, ts, err = b.api.PostMessageContext(ctx, channelID, slack.MsgOptionText(text, false))
		return err
	})
	if err != nil {
		return err
	}
	if ch == "" {
		ch = channelID
	}
	return b.call(ctx, "chat.delete", func(ctx context.Context) error {
		_, _, err := b.api.DeleteMessageContext(ctx, ch, ts)
		return err
	})
}

// ProbeSocket proves that the app-level token opens a Socket Mode connection:
// apps.connections.open, a WebSocket dial, Slack's hello, and a clean close.
// It holds the connection for as short a time as it can, because Slack may
// route an envelope of a running bot to it.
func (b *Bot) ProbeSocket(ctx context.Context) error {
	var wsURL string
	err := b.call(ctx, "apps.connections.open", func(ctx context.Context) error {
		var err error
		_, wsURL, err = b.api.StartSocketModeContext(ctx)
		return err
	})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && (isAuthFailure(ae.Code) || ae.Code == "not_allowed_token_type") {
			return fmt.Errorf("apps.connections.open: %s: Slack refused SLACK_APP_TOKEN", ae.Code)
		}
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	dialer := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: b.cfg.CallTimeout}
	conn, resp, err := dialer.DialContext(dctx, wsURL, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return fmt.Errorf("socket mode WebSocket: HTTP %d", resp.StatusCode)
		}
		// The error names the URL, which carries a single-use ticket; keep the cause only.
		return errors.New("socket mode WebSocket: connection failed")
	}
	defer conn.Close()
	deadline, _ := dctx.Deadline()
	_ = conn.SetReadDeadline(deadline)
	var hello struct {
		Type string `json:"type"`
	}
	_, frame, err := conn.ReadMessage()
	if err == nil {
		err = json.Unmarshal(frame, &hello)
	}
	if err != nil || hello.Type != "hello" {
		return fmt.Errorf("socket mode WebSocket: no hello from Slack (got %q, %v)", hello.Type, err)
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
	return nil
}
