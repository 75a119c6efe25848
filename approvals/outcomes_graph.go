package approvals

// Outcomes of the Microsoft Graph side of locksmith: application consent in
// customer tenants and the reset recipes. Each recipe is its own row, so a
// recipe that fails after a successful reset never hides the reset.
const (
	OutcomeConsentGranted Outcome = "consent_granted" // `locksmith consent` registered the app in a customer tenant (or found it there)
	OutcomeConsentFailed  Outcome = "consent_failed"  // Partner Center refused the consent

	OutcomeRecipeIntent      Outcome = "recipe_intent"       // about to run a recipe through Graph (written before the call)
	OutcomeSessionsRevoked   Outcome = "sessions_revoked"    // revokeSignInSessions succeeded
	OutcomeAccountEnabled    Outcome = "account_enabled"     // accountEnabled set to true
	OutcomeTAPIssued         Outcome = "tap_issued"          // a Temporary Access Pass was created and shown by ephemeral DM
	OutcomeTAPDeliveryFailed Outcome = "tap_delivery_failed" // a pass was created but the ephemeral DM failed; the pass is gone
	OutcomeRecipeFailed      Outcome = "recipe_failed"       // Graph refused or did not answer a recipe
)
