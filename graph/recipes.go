package graph

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"github.com/locksmithbot/locksmith/internal/secret"
)

const (
	forbiddenRevoke = "the GDAP relationship gives locksmith's service account no role that can revoke this user's sessions: it needs User Administrator (Privileged Authentication Administrator for admins); if it has one, run `locksmith consent` to grant User.RevokeSessions.All"
	forbiddenEnable = "the GDAP relationship gives locksmith's service account no role that can enable this account: it needs User Administrator (Privileged Authentication Administrator for admins); if it has one, run `locksmith consent` to grant User.EnableDisableAccount.All"
	forbiddenTAP    = "locksmith's service account may not create a Temporary Access Pass for this user: it needs Authentication Administrator (Privileged Authentication Administrator for admins) in the GDAP relationship, the tenant's Temporary Access Pass policy must be enabled and include the user, and `locksmith consent` must have granted UserAuthenticationMethod.ReadWrite.All"
)

// RevokeSessions invalidates every refresh token and session cookie of the
// user (POST /users/{id}/revokeSignInSessions). It takes effect within minutes.
func (c *Client) RevokeSessions(ctx context.Context, tenantID, userID string) error {
	return c.do(ctx, &call{
		op: "revoke sign-in sessions", endpoint: "POST /users/{id}/revokeSignInSessions", tenant: tenantID,
		method: "POST", idempotent: true, forbidden: forbiddenRevoke,
		url: c.endpointURL("/users/"+url.PathEscape(userID)+"/revokeSignInSessions", nil),
		// The action takes no parameters; an empty body keeps Content-Length set.
		body: []byte("{}"),
	})
}

// EnableAccount sets accountEnabled to true (PATCH /users/{id}).
func (c *Client) EnableAccount(ctx context.Context, tenantID, userID string) error {
	return c.do(ctx, &call{
		op: "enable account", endpoint: "PATCH /users/{id}", tenant: tenantID,
		method: "PATCH", idempotent: true, forbidden: forbiddenEnable,
		url:  c.endpointURL("/users/"+url.PathEscape(userID), nil),
		body: []byte(`{"accountEnabled":true}`),
	})
}

// TAPOptions are the Temporary Access Pass settings from locksmith.yaml.
type TAPOptions struct {
	Lifetime   time.Duration // whole minutes; the tenant policy allows 10 min to 30 days
	UsableOnce bool
}

// TemporaryAccessPass is a created pass. Pass exists only in memory, between
// this call and the one ephemeral Slack message that shows it.
type TemporaryAccessPass struct {
	Pass       secret.Password
	Start      time.Time
	Lifetime   time.Duration
	UsableOnce bool
}

type tapResponse struct {
	Pass              string    `json:"temporaryAccessPass"`
	StartDateTime     time.Time `json:"startDateTime"`
	LifetimeInMinutes int       `json:"lifetimeInMinutes"`
	IsUsableOnce      bool      `json:"isUsableOnce"`
}

// CreateTemporaryAccessPass creates a pass for the user, replacing any
// existing one (a user has at most one). It is not retried after a transport
// failure or a 5xx other than 503: the first attempt may have created a pass,
// and a second would silently replace the one the requester never saw.
func (c *Client) CreateTemporaryAccessPass(ctx context.Context, tenantID, userID string, o TAPOptions) (TemporaryAccessPass, error) {
	body, _ := json.Marshal(struct {
		LifetimeInMinutes int  `json:"lifetimeInMinutes"`
		IsUsableOnce      bool `json:"isUsableOnce"`
	}{int(o.Lifetime / time.Minute), o.UsableOnce})
	var raw json.RawMessage
	err := c.do(ctx, &call{
		op: "create temporary access pass", endpoint: "POST /users/{id}/authentication/temporaryAccessPassMethods", tenant: tenantID,
		method: "POST", idempotent: false, forbidden: forbiddenTAP,
		url:  c.endpointURL("/users/"+url.PathEscape(userID)+"/authentication/temporaryAccessPassMethods", nil),
		body: body, out: &raw,
	})
	if err != nil {
		return TemporaryAccessPass{}, err
	}
	var r tapResponse
	if err := json.Unmarshal(raw, &r); err != nil || r.Pass == "" {
		clear(raw)
		return TemporaryAccessPass{}, &Error{Kind: KindUnavailable, Op: "create temporary access pass", TenantID: tenantID,
			Message: "the response holds no temporaryAccessPass; a pass may exist that nobody has seen: create a new one"}
	}
	clear(raw)
	tap := TemporaryAccessPass{Pass: secret.NewPassword(r.Pass), Start: r.StartDateTime,
		Lifetime: time.Duration(r.LifetimeInMinutes) * time.Minute, UsableOnce: r.IsUsableOnce}
	r.Pass = ""
	return tap, nil
}
