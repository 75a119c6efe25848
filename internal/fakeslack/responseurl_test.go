package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// slashResponseURL runs a slash command through slack-go and returns its envelope
// ID and response_url.
func slashResponseURL(ctx context.Context, t *testing.T, s *Server, c *client) (string, string) {
	t.Helper()
	envID, err := s.SlashCommand(ctx, alice, approvals, "/reset-password", "")
	if err != nil {
		t.Fatal(err)
	}
	evt := c.waitEvent(ctx, t, socketmode.EventTypeSlashCommand, byEnvelope(envID))
	return envID, evt.Data.(slack.SlashCommand).ResponseURL
}

func TestResponseURLPostFromSlashCommand(t *testing.T) {
	tests := []struct {
		name        string
		post        func(ctx context.Context, api *slack.Client, url string) error
		wantEph     int
		wantHistory int
	}{
		{
			name: "PostWebhookContext defaults to ephemeral",
			post: func(ctx context.Context, _ *slack.Client, url string) error {
				return slack.PostWebhookContext(ctx, url, &slack.WebhookMessage{Text: "usage: /reset-password <customer> <user>"})
			},
			wantEph: 1,
		},
		{
			name: "MsgOptionResponseURL (blocks null, metadata) ephemeral",
			post: func(ctx context.Context, api *slack.Client, url string) error {
				_, _, err := api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(url, slack.ResponseTypeEphemeral), slack.MsgOptionText("usage", false))
				return err
			},
			wantEph: 1,
		},
		{
			name: "in_channel goes to history",
			post: func(ctx context.Context, _ *slack.Client, url string) error {
				return slack.PostWebhookContext(ctx, url, &slack.WebhookMessage{Text: "public", ResponseType: slack.ResponseTypeInChannel})
			},
			wantHistory: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			ctx := testContext(t)
			c := startClient(t, s, clientOptions{})
			envID, url := slashResponseURL(ctx, t, s, c)

			if err := tt.post(ctx, c.api, url); err != nil {
				t.Fatalf("response_url POST: %v", err)
			}
			posts := s.ResponseURLPosts()
			if len(posts) != 1 || posts[0].EnvelopeID != envID || !json.Valid(posts[0].Body) {
				t.Fatalf("ResponseURLPosts() = %+v, want one for %s", posts, envID)
			}
			call, err := s.WaitCall(ctx, "response_url", nil)
			if err != nil {
				t.Fatal(err)
			}
			if call.Token != "" || call.TokenVia != "" || call.Status != 200 {
				t.Errorf("response_url call: via %q, status %d; want no token and 200", call.TokenVia, call.Status)
			}
			if got := len(s.Ephemerals(approvals, alice)); got != tt.wantEph {
				t.Errorf("ephemerals = %d, want %d", got, tt.wantEph)
			}
			if got := len(s.Messages(approvals)); got != tt.wantHistory {
				t.Errorf("history = %d, want %d", got, tt.wantHistory)
			}
			noUnexpected(t, s)
		})
	}
}

func TestResponseURLFromClickEditsTheMessage(t *testing.T) {
	tests := []struct {
		name  string
		msg   slack.WebhookMessage
		check func(t *testing.T, m Message, found bool)
	}{
		{
			name: "replace_original",
			msg:  slack.WebhookMessage{Text: "Approved by <@U0BOB>", ReplaceOriginal: true},
			check: func(t *testing.T, m Message, found bool) {
				if !found || m.Text != "Approved by <@U0BOB>" || m.Blocks != nil || m.Updates != 1 {
					t.Errorf("message = %+v (found %v), want replaced text and no blocks", m, found)
				}
			},
		},
		{
			name: "delete_original",
			msg:  slack.WebhookMessage{DeleteOriginal: true},
			check: func(t *testing.T, m Message, found bool) {
				if found {
					t.Errorf("message still in history: %+v", m)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			ctx := testContext(t)
			c := startClient(t, s, clientOptions{})
			_, ts, err := c.api.PostMessageContext(ctx, approvals, slack.MsgOptionText("pending", false), approvalBlocks())
			if err != nil {
				t.Fatal(err)
			}
			envID, err := s.Click(ctx, bob, MessageRef{approvals, ts}, "approve", "")
			if err != nil {
				t.Fatal(err)
			}
			evt := c.waitEvent(ctx, t, socketmode.EventTypeInteractive, byEnvelope(envID))
			msg := tt.msg
			if err := slack.PostWebhookContext(ctx, evt.Data.(slack.InteractionCallback).ResponseURL, &msg); err != nil {
				t.Fatal(err)
			}
			m, found := s.Message(approvals, ts)
			tt.check(t, m, found)
		})
	}
}

func TestResponseURLLimits(t *testing.T) {
	t.Run("uses", func(t *testing.T) {
		s := newServer(t)
		ctx := testContext(t)
		c := startClient(t, s, clientOptions{})
		s.SetResponseURLLimits(2, time.Hour)
		_, url := slashResponseURL(ctx, t, s, c)
		for i := range 2 {
			if err := slack.PostWebhookContext(ctx, url, &slack.WebhookMessage{Text: "ok"}); err != nil {
				t.Fatalf("use %d: %v", i+1, err)
			}
		}
		var sc slack.StatusCodeError
		if err := slack.PostWebhookContext(ctx, url, &slack.WebhookMessage{Text: "too many"}); !errors.As(err, &sc) || sc.Code != 404 {
			t.Errorf("third use: err = %v, want StatusCodeError 404", err)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		s := newServer(t)
		ctx := testContext(t)
		c := startClient(t, s, clientOptions{})
		s.SetResponseURLLimits(5, -time.Second) // every URL is already expired
		_, url := slashResponseURL(ctx, t, s, c)
		if err := slack.PostWebhookContext(ctx, url, &slack.WebhookMessage{Text: "late"}); err == nil {
			t.Error("POST to an expired response_url succeeded")
		}
	})
	t.Run("unknown URL", func(t *testing.T) {
		s := newServer(t)
		err := slack.PostWebhookContext(testContext(t), s.srv.URL+"/response/nope", &slack.WebhookMessage{Text: "x"})
		if err == nil || len(s.Unexpected()) != 1 {
			t.Errorf("err = %v, Unexpected() = %q; want an error and one entry", err, s.Unexpected())
		}
	})
}

func TestResponseURLFault(t *testing.T) {
	s := newServer(t)
	ctx := testContext(t)
	c := startClient(t, s, clientOptions{})
	_, url := slashResponseURL(ctx, t, s, c)
	s.Fail("response_url", Failure{Status: 500})
	var sc slack.StatusCodeError
	if err := slack.PostWebhookContext(ctx, url, &slack.WebhookMessage{Text: "x"}); !errors.As(err, &sc) || sc.Code != 500 {
		t.Errorf("err = %v, want StatusCodeError 500", err)
	}
}
