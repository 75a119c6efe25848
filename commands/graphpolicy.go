package commands

import "time"

// Recipe is something a grant lets a technician do to a target. Without
// grants[].actions a grant allows only RecipeResetPassword, which is what
// every grant meant before recipes existed.
type Recipe string

const (
	RecipeResetPassword       Recipe = "reset_password"
	RecipeRevokeSessions      Recipe = "revoke_sessions"
	RecipeEnableAccount       Recipe = "enable_account"
	RecipeTemporaryAccessPass Recipe = "temporary_access_pass"
)

// Recipes lists every recipe, in the order the DM offers them.
var Recipes = []Recipe{RecipeResetPassword, RecipeTemporaryAccessPass, RecipeRevokeSessions, RecipeEnableAccount}

// NeedsGraph reports whether the recipe runs through Microsoft Graph.
func (r Recipe) NeedsGraph() bool { return r != RecipeResetPassword }

// WhenUnavailable is what locksmith does when Graph cannot say something a
// decision needs about a target.
type WhenUnavailable string

const (
	// RequirePrivileged treats the target as a privileged admin: only a
	// Privileged Authentication Administrator pair may reset.
	RequirePrivileged WhenUnavailable = "require_privileged"
	// RefuseUnknown refuses the request.
	RefuseUnknown WhenUnavailable = "refuse"
)

// GraphPolicy is locksmith.yaml's graph section.
type GraphPolicy struct {
	Enabled         bool
	WhenUnavailable WhenUnavailable // default RequirePrivileged
	TAPLifetime     time.Duration   // default 1h
	TAPUsableOnce   bool
}
