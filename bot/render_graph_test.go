package bot

import (
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/locksmithbot/locksmith/commands"
	"github.com/locksmithbot/locksmith/internal/secret"
)

// TestRender_GraphGolden pins what Microsoft Graph adds to the messages: the
// card's facts section, the recipe buttons and a Temporary Access Pass.
func TestRender_GraphGolden(t *testing.T) {
	card := pendingCard()
	card.AdminRoles = []string{"Global Administrator (eligible)", "Security Administrator (active via group Tier0 Admins)"}
	card.RoleNeeded = "Privileged Authentication Administrator"
	card.Facts = []string{
		"*Account:* *disabled* · password last changed <!date^1796047920^{date_short_pretty} at {time}|2026-11-30 14:12 UTC>",
		"*Roles (Microsoft Graph):* Global Administrator (eligible), Security Administrator (active via group Tier0 Admins)",
		"*Approval covers:* reset the password, issue a Temporary Access Pass, revoke all sign-in sessions, re-enable the account",
	}
	tests := []struct {
		name   string
		render func(t *testing.T) ([]slack.Block, string)
	}{
		{"card_graph", func(*testing.T) ([]slack.Block, string) { return renderCard(card) }},
		{"notice_recipes", func(*testing.T) ([]slack.Block, string) {
			return renderNotice(commands.Notice{
				Text:         "Your reset of *jdoe@contoso.com* was approved by <@U0BOB>.",
				OfferRequest: "REQ01HZX3", ValidUntil: expires,
				Offer: []commands.Recipe{commands.RecipeResetPassword, commands.RecipeTemporaryAccessPass, commands.RecipeRevokeSessions, commands.RecipeEnableAccount},
			})
		}},
		{"delivery_tap", func(t *testing.T) ([]slack.Block, string) {
			blocks, fallback, err := renderDelivery(commands.Delivery{
				Password: secret.NewPassword(fakePassword), UserPrincipalName: "jdoe@contoso.com", UserDisplayName: "Jane Doe",
				CustomerName: "Contoso Ltd", TAP: &commands.TAPDetails{Lifetime: 90 * time.Minute, UsableOnce: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			return blocks, fallback
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocks, fallback := tt.render(t)
			checkGolden(t, tt.name, blocks, fallback)
		})
	}
}
