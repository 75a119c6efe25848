package fakepartner

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The fake Entra token endpoint (§1.2, §1.3): refresh-token grant only, with the
// rotation, error bodies and v1/v2 number encodings of the real one.

const (
	pcResource = "https://api.partnercenter.microsoft.com"
	pcScope    = pcResource + "/user_impersonation"
)

// TokenCall is one request to the token endpoint. Form holds the form fields as
// sent (client_secret and refresh_token included: this is a test double).
type TokenCall struct {
	Form      url.Values
	BasicAuth bool
	// Version is "v2.0" or "v1", from the path.
	Version string
	Status  int
	// IssuedRefreshToken is the rotated refresh token handed out ("" on failure).
	IssuedRefreshToken string
	At                 time.Time
}

// refreshState is what the fake knows of one refresh token it issued.
type refreshState struct {
	revokedCode int // an AADSTS code; 0 = valid
	// account is who a sign-in signed in as; nil for tokens that stand for
	// the account SetAccount names (the operator's initial token).
	account *SignedInAccount
	// public: issued to a public client (a Mobile and desktop redirect, or the
	// device code with public client flows allowed). Entra then refuses a
	// client secret when it is redeemed (AADSTS700025), and a confidential
	// token without one (AADSTS7000218).
	public bool
}

// SetTokenLifetime sets the lifetime of access tokens issued from now on (and the
// expires_in they announce). The default is 3599 s, as Entra's v2 example shows.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenLifetime = d
}

// RevokeRefreshTokens makes every refresh token issued so far fail with
// invalid_grant and the given AADSTS code (700082 expired from inactivity, 50173
// grant revoked, 50076 MFA required, …). Tokens issued later are valid again,
// as after an operator re-consents.
func (s *Server) RevokeRefreshTokens(aadstsCode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.refreshTokens {
		st.revokedCode = aadstsCode
	}
}

// IssueRefreshToken mints a new valid refresh token, as an operator's fresh
// interactive consent would (after RevokeRefreshTokens, say).
func (s *Server) IssueRefreshToken() string {
	rt := randomToken("rt-")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshTokens[rt] = &refreshState{}
	return rt
}

// ExpireAccessTokens makes every access token issued so far expired, so the next
// Partner Center call with one gets 401; tests use it instead of waiting.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for tok := range s.accessTokens {
		s.accessTokens[tok] = past
	}
}

// tokenPath recognises "/{tenant}/oauth2/v2.0/token" and "/{tenant}/oauth2/token".
func tokenPath(p string) (tenant, version string, ok bool) {
	seg := splitPath(p)
	switch {
	case len(seg) == 4 && seg[1] == "oauth2" && seg[2] == "v2.0" && seg[3] == "token" && seg[0] != "":
		return seg[0], "v2.0", true
	case len(seg) == 3 && seg[1] == "oauth2" && seg[2] == "token" && seg[0] != "":
		return seg[0], "v1", true
	}
	return "", "", false
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, body []byte, tenant, version string) {
	form := url.Values{}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		form, _ = url.ParseQuery(string(body))
	}
	_, _, basic := r.BasicAuth()

	s.mu.Lock()
	idx := len(s.tokenCalls)
	s.tokenCalls = append(s.tokenCalls, TokenCall{Form: form, BasicAuth: basic, Version: version, At: time.Now()})
	s.mu.Unlock()

	rec := &statusRecorder{ResponseWriter: w}
	issued := ""
	defer func() {
		s.mu.Lock()
		s.tokenCalls[idx].Status = rec.status
		s.tokenCalls[idx].IssuedRefreshToken = issued
		s.mu.Unlock()
	}()

	if r.Method != http.MethodPost {
		s.recordUnexpected(r)
		writeEntraError(rec, r, http.StatusNotFound, "invalid_request", 0, "", "The requested endpoint does not exist.")
		return
	}
	if done, _ := s.applyFault(rec, r, body, true); done {
		return
	}
	issued = s.redeem(rec, r, form, tenant, version)
}

// redeem checks a token request the way Entra does and answers it. It
// returns the new refresh token, or "" after writing an error.
func (s *Server) redeem(w http.ResponseWriter, r *http.Request, form url.Values, tenant, version string) string {
	if !strings.EqualFold(tenant, TenantID) {
		writeEntraError(w, r, http.StatusBadRequest, "invalid_request", 90002, "",
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return ""
	}
	grant := form.Get("grant_type")
	if grant == "" {
		writeEntraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "", "The request body must contain the following parameter: 'grant_type'.")
		return ""
	}
	switch grant {
	case "refresh_token":
	case "authorization_code":
		return s.redeemCode(w, r, form)
	case "urn:ietf:params:oauth:grant-type:device_code":
		return s.redeemDevice(w, r, form)
	default:
		writeEntraError(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003, "", fmt.Sprintf("The app requested an unsupported grant type '%s'.", grant))
		return ""
	}

	rt := form.Get("refresh_token")
	s.mu.Lock()
	st, known := s.refreshTokens[rt]
	var revoked int
	var public bool
	var account *SignedInAccount
	if known {
		revoked, public, account = st.revokedCode, st.public, st.account
	}
	s.mu.Unlock()
	// Client credentials come from the form or from HTTP Basic (§1.6). RFC 6749
	// §2.3.1 has Basic credentials form-encoded first, as x/oauth2 does; a raw value
	// is accepted too.
	if !s.clientAuthenticates(w, r, form, public) {
		return ""
	}
	if rt == "" {
		writeEntraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "", "The request body must contain the following parameter: 'refresh_token'.")
		return ""
	}
	if !known || revoked != 0 {
		if !known {
			writeEntraError(w, r, http.StatusBadRequest, "invalid_grant", 9002313, "", "Invalid request. Request is malformed or invalid.")
		} else {
			writeEntraError(w, r, http.StatusBadRequest, "invalid_grant", revoked, revokedSuberror(revoked), revokedText(revoked))
		}
		return ""
	}
	s.mu.Lock()
	now := time.Now()
	lifetime := s.tokenLifetime
	access := s.accessTokenLocked()
	if account != nil {
		access = accessTokenFor(*account)
	}
	refresh := randomToken("rt-")
	s.accessTokens[access] = now.Add(lifetime)
	// Rotation: a new refresh token every time, for the same account and
	// client type; the old one stays valid (§1.3).
	s.refreshTokens[refresh] = &refreshState{account: account, public: public}
	s.mu.Unlock()

	secs := int(lifetime / time.Second)
	w.Header().Set("Cache-Control", "no-store, no-cache")
	if version == "v1" {
		resource := form.Get("resource")
		if resource == "" {
			resource = pcResource
		}
		writeJSON(w, http.StatusOK, tokenV1{
			TokenType: "Bearer", Scope: "user_impersonation",
			ExpiresIn: strconv.Itoa(secs), ExtExpiresIn: strconv.Itoa(secs),
			ExpiresOn: strconv.FormatInt(now.Add(lifetime).Unix(), 10), NotBefore: strconv.FormatInt(now.Add(-5*time.Minute).Unix(), 10),
			Resource: resource, AccessToken: access, RefreshToken: refresh,
		})
		return refresh
	}
	writeJSON(w, http.StatusOK, tokenV2{
		TokenType: "Bearer", Scope: grantedScope(form.Get("scope")),
		ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: access, RefreshToken: refresh,
	})
	return refresh
}

// matchesEncoded compares a received credential with the expected one, also after
// form-decoding it (HTTP Basic credentials are form-encoded by RFC 6749 clients).
func matchesEncoded(got, want string) bool {
	if got == want {
		return true
	}
	dec, err := url.QueryUnescape(got)
	return err == nil && dec == want
}

// grantedScope is the scope echoed on v2: the requested resource scopes without
// the OIDC ones, or user_impersonation when none was asked for (Entra then issues
// the token for the originally consented scopes).
func grantedScope(requested string) string {
	var kept []string
	for _, sc := range strings.Fields(requested) {
		switch sc {
		case "offline_access", "openid", "profile", "email":
		default:
			kept = append(kept, sc)
		}
	}
	if len(kept) == 0 {
		return pcScope
	}
	return strings.Join(kept, " ")
}

// revokedText is the error_description for a revoked grant, per the Entra error
// code reference (§1.2).
func revokedText(code int) string {
	switch code {
	case 700082:
		return "The refresh token has expired due to inactivity. The token was issued on 2025-01-01T00:00:00.0000000Z and was inactive for 90.00:00:00."
	case 50173:
		return "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."
	case 70043:
		return "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access."
	case 50076:
		return "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource."
	case 50079:
		return "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access the resource."
	case 65001:
		return "The user or administrator has not consented to use the application."
	case 50132, 50133:
		return "Session is invalid due to expiration or recent password change."
	case 50055:
		return "The password is expired."
	}
	return "The provided grant has been revoked."
}

// revokedSuberror mirrors Entra's suberror hints for interaction-required codes.
func revokedSuberror(code int) string {
	switch code {
	case 50076, 50079:
		return "basic_action"
	case 65001:
		return "consent_required"
	}
	return ""
}

// writeEntraError writes Entra's error body. The description starts "AADSTSnnn: "
// and ends with the trace lines Entra appends; code 0 omits both the prefix and
// error_codes.
func writeEntraError(w http.ResponseWriter, r *http.Request, status int, errName string, code int, suberror, text string) {
	now := time.Now()
	trace, corr := newGUID(), r.Header.Get("client-request-id")
	if corr == "" {
		corr = newGUID()
	}
	desc := text
	var codes []int
	uri := ""
	if code != 0 {
		desc = fmt.Sprintf("AADSTS%d: %s", code, text)
		codes = []int{code}
		uri = "https://login.microsoftonline.com/error?code=" + strconv.Itoa(code)
	}
	desc += "\r\nTrace ID: " + trace + "\r\nCorrelation ID: " + corr + "\r\nTimestamp: " + entraTime(now)
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, status, entraError{
		Error: errName, ErrorDescription: desc, ErrorCodes: codes, Timestamp: entraTime(now),
		TraceID: trace, CorrelationID: corr, ErrorURI: uri, Suberror: suberror,
	})
}
