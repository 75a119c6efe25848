package fakegraph

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tokenPath recognises "/{tenant}/oauth2/v2.0/token".
func tokenPath(p string) (string, bool) {
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if len(seg) == 4 && seg[0] != "" && seg[1] == "oauth2" && seg[2] == "v2.0" && seg[3] == "token" {
		return seg[0], true
	}
	return "", false
}

// serveToken is the refresh-token grant at a customer tenant's authority.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, body []byte, tenantID string) {
	f, _ := url.ParseQuery(string(body))
	tc := TokenCall{Tenant: tenantID, Scope: f.Get("scope"), RefreshToken: f.Get("refresh_token")}
	rec := &statusWriter{ResponseWriter: w}
	defer func() {
		tc.Status = rec.status
		s.mu.Lock()
		s.tokenCalls = append(s.tokenCalls, tc)
		s.notifyLocked()
		s.mu.Unlock()
	}()
	if s.applyFault(rec, r) {
		return
	}
	fail := func(status int, errCode string, code int, desc string) {
		tc.ErrorCodes = []int{code}
		writeJSON(rec, status, map[string]any{
			"error":             errCode,
			"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", code, desc, newGUID(), newGUID(), time.Now().UTC().Format("2006-01-02 15:04:05Z")),
			"error_codes":       []int{code},
			"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
			"trace_id":          newGUID(),
			"correlation_id":    newGUID(),
		})
	}
	switch {
	case r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	case f.Get("grant_type") != "refresh_token":
		fail(http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
		return
	case f.Get("client_id") != s.opts.ClientID:
		fail(http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+f.Get("client_id")+"' was not found in the directory.")
		return
	}
	public := s.opts.RefreshTokenPublic != nil && s.opts.RefreshTokenPublic(f.Get("refresh_token"))
	switch {
	case public && f.Has("client_secret"):
		fail(http.StatusUnauthorized, "invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
		return
	case !public && f.Get("client_secret") != s.opts.ClientSecret:
		fail(http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided.")
		return
	}
	// .default cannot be combined with another resource's scopes; OIDC scopes may ride along.
	for _, sc := range strings.Fields(f.Get("scope")) {
		if sc != GraphScope && sc != "openid" && sc != "profile" && sc != "offline_access" {
			fail(http.StatusBadRequest, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid.")
			return
		}
	}
	if !strings.Contains(" "+f.Get("scope")+" ", " "+GraphScope+" ") {
		fail(http.StatusBadRequest, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid.")
		return
	}
	rt := f.Get("refresh_token")
	if rt == "" || (s.opts.RefreshTokenValid != nil && !s.opts.RefreshTokenValid(rt)) {
		fail(http.StatusBadRequest, "invalid_grant", 700082, "The refresh token has expired due to inactivity.")
		return
	}
	s.mu.Lock()
	t, ok := s.tenants[lower(tenantID)]
	var consented, norel bool
	if ok {
		consented, norel = t.consented, t.noRelationship
	}
	s.mu.Unlock()
	switch {
	case !ok || norel:
		fail(http.StatusBadRequest, "invalid_grant", 50020, "User account from identity provider does not exist in tenant and cannot access the application in that tenant.")
		return
	case !consented:
		fail(http.StatusBadRequest, "invalid_grant", 65001, "The user or administrator has not consented to use the application with ID '"+s.opts.ClientID+"'. Send an interactive authorization request for this user and resource.")
		return
	}
	tok := randomToken("gt-")
	s.mu.Lock()
	s.tokens[tok] = issued{tenant: lower(tenantID), expiry: time.Now().Add(3599 * time.Second)}
	s.mu.Unlock()
	writeJSON(rec, http.StatusOK, map[string]any{
		"token_type": "Bearer", "scope": "User.Read.All RoleManagement.Read.Directory", "expires_in": 3599, "ext_expires_in": 3599,
		"access_token": tok,
		// Entra may return a refresh token here; a client that stored it would fork
		// the partner's chain, which the tests check it does not.
		"refresh_token": randomToken("rt-customer-"),
	})
}
