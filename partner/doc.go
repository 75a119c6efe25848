// Package partner is locksmith's Partner Center client: App+User authentication
// with a rotating refresh token, customer and user lookups, a user's directory
// roles, and the password reset itself, plus the two rules that belong next to
// them: which GDAP role a reset needs (RequiredRole) and how a temporary password
// is made (GeneratePassword).
//
// Wire facts and their sources are in docs/partner-center.md; the section
// numbers (§) in comments refer to it.
//
// Guarantees this package keeps (guarantee 1 of docs/architecture.md):
//   - A password leaves the process only in the PATCH body; its response, which
//     echoes the password, is drained and discarded, never decoded or logged.
//   - No log record and no Error() text contains a password, an access token, a
//     refresh token or the client secret; descriptions that come back from a
//     server are scrubbed of the secrets of the call they answer.
//   - Every call is bounded: by its context, by Config.MaxAttempts and by
//     Config.AttemptTimeout per attempt.
package partner
