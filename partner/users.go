package partner

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// User is a customer's user (§4.1).
type User struct {
	ObjectID          string // Entra object ID
	UserPrincipalName string
	DisplayName       string
	State             string // "active", or "inactive" for a soft-deleted user
	// LastDirectorySyncTime is set for a user synced from on-premises AD,
	// whose cloud password reset needs password writeback (§6.2).
	LastDirectorySyncTime *time.Time
	UserDomainType        string // none, managed or federated
}

// Synced reports whether the user is synced from on-premises AD.
func (u User) Synced() bool { return u.LastDirectorySyncTime != nil }

// userJSON is the wire shape of a CustomerUser. The password profile is not
// part of it: a response that echoes a password is never decoded.
type userJSON struct {
	ID                    string    `json:"id"`
	UserPrincipalName     string    `json:"userPrincipalName"`
	DisplayName           string    `json:"displayName"`
	State                 string    `json:"state"`
	LastDirectorySyncTime *flexTime `json:"lastDirectorySyncTime"`
	UserDomainType        string    `json:"userDomainType"`
}

func (j userJSON) user() User {
	u := User{ObjectID: j.ID, UserPrincipalName: j.UserPrincipalName, DisplayName: j.DisplayName,
		State: j.State, UserDomainType: j.UserDomainType}
	if j.LastDirectorySyncTime != nil && !time.Time(*j.LastDirectorySyncTime).IsZero() {
		t := time.Time(*j.LastDirectorySyncTime)
		u.LastDirectorySyncTime = &t
	}
	return u
}

// flexTime reads Partner Center timestamps: RFC 3339 with up to 7 fractional
// digits (§2.2), and, defensively, the zone-less form .NET writes for a UTC
// DateTime of unspecified kind. An empty string is the zero time.
type flexTime time.Time

func (f *flexTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = flexTime{}
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			*f = flexTime(t.UTC())
			return nil
		}
	}
	return fmt.Errorf("unreadable timestamp")
}

// User returns the user with object ID objectID in the customer tenantID.
func (c *Client) User(ctx context.Context, tenantID, objectID string) (User, error) {
	const op = "get user"
	if err := checkGUID(op, "tenant ID", tenantID); err != nil {
		return User{}, err
	}
	if err := checkGUID(op, "user object ID", objectID); err != nil {
		return User{}, err
	}
	var j userJSON
	err := c.do(ctx, &call{op: op, endpoint: "GET /v1/customers/{id}/users/{id}", method: http.MethodGet,
		path: "/v1/customers/" + tenantID + "/users/" + objectID, out: &j})
	if err != nil {
		return User{}, err
	}
	return j.user(), nil
}

// missRecheck is how old a tenant's cached user list must be before a UPN it
// does not hold is worth a new paging: long enough that a typo does not page
// a large tenant twice, short enough that a user created a minute ago is found.
const missRecheck = 30 * time.Second

// listTimeout bounds one paging of a tenant's users, which runs detached from
// any one caller so that concurrent lookups can share it.
const listTimeout = 3 * time.Minute

// userCache holds, per tenant, the UPN → user map learned by paging.
type userCache struct {
	mu      sync.Mutex
	tenants map[string]*tenantUsers
	flight  singleflight.Group
}

type tenantUsers struct {
	byUPN   map[string]User // lower-cased UPN
	fetched time.Time
}

func newUserCache() *userCache { return &userCache{tenants: make(map[string]*tenantUsers)} }

// UserByUPN finds a user by UPN, compared case-insensitively. Partner Center
// has no UPN filter (§4.2), so the tenant's users are paged and remembered for
// Config.UserCacheTTL. A UPN missing from a list fetched less than 30 s ago is
// KindNotFound without paging again; an older list is paged once more first.
// Concurrent lookups in one tenant share one paging.
func (c *Client) UserByUPN(ctx context.Context, tenantID, upn string) (User, error) {
	const op = "find user by UPN"
	if err := checkGUID(op, "tenant ID", tenantID); err != nil {
		return User{}, err
	}
	upn = strings.TrimSpace(upn)
	if upn == "" {
		return User{}, &Error{Kind: KindRejected, Op: op, Description: "empty UPN"}
	}
	key := strings.ToLower(upn)
	notFound := &Error{Kind: KindNotFound, Op: op, Description: "no user with this UPN in the tenant"}

	c.users.mu.Lock()
	tu := c.users.tenants[tenantID]
	c.users.mu.Unlock()
	if tu != nil {
		age := c.now().Sub(tu.fetched)
		if age < c.cfg.UserCacheTTL {
			if u, ok := tu.byUPN[key]; ok {
				return u, nil
			}
			if age < missRecheck {
				return User{}, notFound
			}
		}
	}

	ch := c.users.flight.DoChan(tenantID, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listTimeout)
		defer cancel()
		return c.pageUsers(fctx, op, tenantID)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return User{}, r.Err
		}
		if u, ok := r.Val.(*tenantUsers).byUPN[key]; ok {
			return u, nil
		}
		return User{}, notFound
	case <-ctx.Done():
		return User{}, &Error{Kind: KindUnavailable, Op: op, CorrelationID: CorrelationID(ctx), Err: ctx.Err()}
	}
}

// pageUsers lists all of a tenant's users and caches them.
func (c *Client) pageUsers(ctx context.Context, op, tenantID string) (*tenantUsers, error) {
	tu := &tenantUsers{byUPN: make(map[string]User)}
	err := list(ctx, c, call{op: op, endpoint: "GET /v1/customers/{id}/users", method: http.MethodGet,
		path: "/v1/customers/" + tenantID + "/users"}, func(items []userJSON) bool {
		for _, j := range items {
			if j.UserPrincipalName != "" {
				tu.byUPN[strings.ToLower(j.UserPrincipalName)] = j.user()
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	tu.fetched = c.now()
	c.users.mu.Lock()
	defer c.users.mu.Unlock()
	for id, old := range c.users.tenants {
		if tu.fetched.Sub(old.fetched) >= c.cfg.UserCacheTTL {
			delete(c.users.tenants, id)
		}
	}
	c.users.tenants[tenantID] = tu
	return tu, nil
}

// DirectoryRole is an Entra directory role held by a user. ID is what Partner
// Center returns, the role template ID (§5); Name is Partner Center's name,
// often a legacy one ("User Account Administrator").
type DirectoryRole struct{ ID, Name string }

// UserRoles returns the directory roles the user holds. Partner Center
// probably lists only active, direct, tenant-wide assignments (§5): an empty
// result does not prove that the user has no privilege, and the reset may
// still come back KindForbidden.
func (c *Client) UserRoles(ctx context.Context, tenantID, objectID string) ([]DirectoryRole, error) {
	const op = "get user roles"
	if err := checkGUID(op, "tenant ID", tenantID); err != nil {
		return nil, err
	}
	if err := checkGUID(op, "user object ID", objectID); err != nil {
		return nil, err
	}
	roles := []DirectoryRole{}
	err := list(ctx, c, call{op: op, endpoint: "GET /v1/customers/{id}/users/{id}/directoryroles", method: http.MethodGet,
		path: "/v1/customers/" + tenantID + "/users/" + objectID + "/directoryroles"}, func(items []DirectoryRole) bool {
		roles = append(roles, items...)
		return true
	})
	if err != nil {
		return nil, err
	}
	return roles, nil
}
