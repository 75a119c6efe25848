// Package bot is locksmith's Slack transport: the Socket Mode connection, the
// acks, a bounded worker pool that runs the workflow, the one wrapper every Web
// API call goes through, and the Block Kit rendering of what the workflow wants
// shown.
//
// It implements commands.Messenger and commands.Groups and calls a
// commands.Workflow; it never imports partner or approvals, so the transport can
// reach Partner Center and request state only through the workflow (docs/architecture.md).
//
// Guarantees this package upholds:
//   - Every envelope is acked as soon as it is read, before any slow work (the 3 s
//     rule); the read loop never blocks on the workflow, because slack-go stops
//     reading the socket (and answering pings) while its Events channel is full.
//   - The only place a password leaves the process is the chat.postEphemeral call
//     made by DeliverPassword (render.go calls Reveal exactly once). Logs carry
//     method names, channels, error codes and correlation IDs, never message text.
//   - Every piece of user or directory text in a Card is escaped with
//     commands.Escape and truncated; Notice.Text, Card.Status and Reply.Text arrive
//     already escaped and are not escaped again.
package bot
