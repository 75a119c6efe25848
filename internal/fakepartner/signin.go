package fakepartner

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The fake's interactive sign-in: the authorize endpoint (authorization code
// with PKCE), the device-code endpoint, and what they hand to the token
// endpoint. Entra decides whether a request comes from a public or a
// confidential client by the platform the redirect URI is registered under
// (Web: confidential; Mobile and desktop: public) and, for flows without a
// redirect URI such as the device code, by "Allow public client flows"; the
// fake models exactly those two settings.

// Platforms under which the fake app registration lists http://localhost.
const (
	PlatformWeb    = "web"    // confidential: the code is redeemed with the client secret
	PlatformMobile = "mobile" // "Mobile and desktop applications": public, no secret allowed
)

// AppRegistration is the part of the app registration's Authentication blade
// that decides how sign-ins are treated.
type AppRegistration struct {
	// LocalhostPlatform is the platform http://localhost is registered under
	// (PlatformWeb, PlatformMobile), or "" when it is not registered at all.
	LocalhostPlatform string
	// AllowPublicClientFlows is Advanced settings → "Allow public client flows".
	AllowPublicClientFlows bool
}

// DeviceCode is a device authorization the fake has issued.
type DeviceCode struct {
	UserCode string
	Scope    string
	Expires  time.Time
}

// authCode is an issued authorization code and what redeeming it must match.
type authCode struct {
	account     SignedInAccount
	redirectURI string
	challenge   string
	scope       string
	public      bool
	expires     time.Time
	used        bool
}

// deviceState is one device code's progress.
type deviceState struct {
	DeviceCode
	deviceCode string
	account    *SignedInAccount // set once approved
	declined   bool
}

// signInError is an OAuth error the authorize endpoint answers instead of a code.
type signInError struct {
	name string
	code int
}

// SetAppRegistration changes the app registration's platform settings. The
// default has http://localhost under Web and public client flows allowed.
func (s *Server) SetAppRegistration(a AppRegistration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app = a
}

// FailSignIn makes the authorize endpoint redirect back with this OAuth error
// and AADSTS code instead of a code (e.g. "consent_required", 65001), until
// called with "".
func (s *Server) FailSignIn(errName string, aadsts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errName == "" {
		s.signInErr = nil
		return
	}
	s.signInErr = &signInError{name: errName, code: aadsts}
}

// SetDeviceCodeTiming sets the expires_in and interval of device codes issued
// from now on (Entra's defaults: 15 minutes and 5 seconds).
func (s *Server) SetDeviceCodeTiming(expiresIn, interval time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deviceExpiresIn, s.deviceInterval = expiresIn, interval
}

// SlowDownDevicePolls makes the next n device-code polls answer slow_down.
func (s *Server) SlowDownDevicePolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deviceSlowDowns = n
}

// ApproveDevice completes the sign-in for userCode as the SetAccount account,
// as a person entering the code and signing in would.
func (s *Server) ApproveDevice(userCode string) error {
	return s.updateDevice(userCode, func(d *deviceState) { a := s.account; d.account = &a })
}

// DeclineDevice makes the device code's next poll answer authorization_declined.
func (s *Server) DeclineDevice(userCode string) error {
	return s.updateDevice(userCode, func(d *deviceState) { d.declined = true })
}

// ExpireDeviceCodes makes every device code issued so far expired.
func (s *Server) ExpireDeviceCodes() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		d.Expires = time.Now().Add(-time.Second)
	}
}

func (s *Server) updateDevice(userCode string, f func(*deviceState)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		if d.UserCode == userCode {
			f(d)
			return nil
		}
	}
	return fmt.Errorf("fakepartner: no device code with user code %q", userCode)
}

// DeviceCodes returns the device codes issued so far, oldest first.
func (s *Server) DeviceCodes() []DeviceCode {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DeviceCode, 0, len(s.devices))
	for _, d := range s.devices {
		out = append(out, d.DeviceCode)
	}
	return out
}

// AuthorizeRequests returns the query of every authorize request so far.
func (s *Server) AuthorizeRequests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]url.Values, len(s.authorizeCalls))
	for i, v := range s.authorizeCalls {
		out[i] = cloneValues(v)
	}
	return out
}

// signInPath recognises "/{tenant}/oauth2/v2.0/authorize" and ".../devicecode".
func signInPath(p string) (tenant, endpoint string, ok bool) {
	seg := splitPath(p)
	if len(seg) == 4 && seg[0] != "" && seg[1] == "oauth2" && seg[2] == "v2.0" && (seg[3] == "authorize" || seg[3] == "devicecode") {
		return seg[0], seg[3], true
	}
	return "", "", false
}

// serveAuthorize answers a browser's authorization request: an error page for
// what Entra shows without redirecting (unknown tenant or app, unregistered
// redirect URI), else a redirect back with a code or an OAuth error.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request, tenant string) {
	q := r.URL.Query()
	s.mu.Lock()
	s.authorizeCalls = append(s.authorizeCalls, cloneValues(q))
	app, failure, account := s.app, s.signInErr, s.account
	s.mu.Unlock()

	page := func(code int, text string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<html><body><h1>Sign in</h1><p>AADSTS%d: %s</p></body></html>", code, html.EscapeString(text))
	}
	switch {
	case r.Method != http.MethodGet:
		s.recordUnexpected(r)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	case !strings.EqualFold(tenant, TenantID):
		page(90002, fmt.Sprintf("Tenant '%s' not found.", tenant))
		return
	case q.Get("client_id") != ClientID:
		page(700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", q.Get("client_id"), TenantID))
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !isLocalhost(redirect) || app.LocalhostPlatform == "" {
		page(50011, fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", q.Get("redirect_uri"), ClientID))
		return
	}
	back := func(v url.Values) {
		v.Set("state", q.Get("state"))
		u := *redirect
		if u.Path == "" {
			u.Path = "/" // a redirect URI without a path comes back with a trailing slash
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	oauthErr := func(name string, code int, text string) {
		back(url.Values{"error": {name}, "error_description": {fmt.Sprintf("AADSTS%d: %s", code, text)}})
	}
	switch {
	case q.Get("response_type") != "code":
		oauthErr("unsupported_response_type", 700054, "response_type 'code' is required.")
		return
	// Stricter than Entra for Web apps, where PKCE is optional: a client that
	// drops PKCE should fail a test, not pass one.
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		oauthErr("invalid_request", 501491, "Invalid size of Code_Challenge parameter or a code_challenge_method other than S256.")
		return
	case failure != nil:
		oauthErr(failure.name, failure.code, revokedText(failure.code))
		return
	}
	code := randomToken("code-")
	s.mu.Lock()
	s.codes[code] = &authCode{account: account, redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
		scope: q.Get("scope"), public: app.LocalhostPlatform == PlatformMobile, expires: time.Now().Add(10 * time.Minute)}
	s.mu.Unlock()
	back(url.Values{"code": {code}, "session_state": {newGUID()}})
}

// isLocalhost reports whether u matches the registered http://localhost: Entra
// ignores the port of loopback redirect URIs (RFC 8252 §7.3).
func isLocalhost(u *url.URL) bool {
	return u.Scheme == "http" && u.Hostname() == "localhost" && (u.Path == "" || u.Path == "/") && u.RawQuery == ""
}

// serveDeviceCode answers the device authorization request (RFC 8628 §3.1).
func (s *Server) serveDeviceCode(w http.ResponseWriter, r *http.Request, form url.Values, tenant string) {
	switch {
	case r.Method != http.MethodPost:
		s.recordUnexpected(r)
		writeEntraError(w, r, http.StatusNotFound, "invalid_request", 0, "", "The requested endpoint does not exist.")
		return
	case !strings.EqualFold(tenant, TenantID):
		writeEntraError(w, r, http.StatusBadRequest, "invalid_request", 90002, "", fmt.Sprintf("Tenant '%s' not found.", tenant))
		return
	case form.Get("client_id") != ClientID:
		writeEntraError(w, r, http.StatusBadRequest, "unauthorized_client", 700016, "",
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", form.Get("client_id"), TenantID))
		return
	case form.Get("scope") == "":
		writeEntraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "", "The request body must contain the following parameter: 'scope'.")
		return
	}
	s.mu.Lock()
	expiresIn, interval := s.deviceExpiresIn, s.deviceInterval
	d := &deviceState{deviceCode: randomToken("dc-"), DeviceCode: DeviceCode{
		UserCode: strings.ToUpper(randomToken("")[:9]), Scope: form.Get("scope"), Expires: time.Now().Add(expiresIn)}}
	s.devices = append(s.devices, d)
	s.notifyLocked()
	s.mu.Unlock()
	verification := "https://microsoft.com/devicelogin"
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": d.deviceCode, "user_code": d.UserCode, "verification_uri": verification,
		"expires_in": int(expiresIn / time.Second), "interval": int(interval / time.Second),
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verification, d.UserCode),
	})
}

// redeemCode answers the authorization_code grant: the code must be unused and
// unexpired, the redirect URI the one authorized, the PKCE verifier must hash
// to the challenge (S256), and the client must authenticate as the platform of
// the redirect URI requires.
func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request, form url.Values) (issued string) {
	s.mu.Lock()
	c, ok := s.codes[form.Get("code")]
	var used bool
	if ok {
		used, c.used = c.used, true
	}
	s.mu.Unlock()
	switch {
	case !ok:
		writeEntraError(w, r, http.StatusBadRequest, "invalid_grant", 9002313, "", "Invalid request. Request is malformed or invalid.")
		return ""
	case used:
		writeEntraError(w, r, http.StatusBadRequest, "invalid_grant", 54005, "", "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
		return ""
	case time.Now().After(c.expires):
		writeEntraError(w, r, http.StatusBadRequest, "invalid_grant", 70008, "", "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
		return ""
	case form.Get("redirect_uri") != c.redirectURI:
		writeEntraError(w, r, http.StatusBadRequest, "invalid_grant", 500112, "", "The reply address does not match the reply address provided when requesting Authorization code.")
		return ""
	case pkceS256(form.Get("code_verifier")) != c.challenge:
		writeEntraError(w, r, http.StatusBadRequest, "invalid_grant", 501481, "", "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		return ""
	}
	if !s.clientAuthenticates(w, r, form, c.public) {
		return ""
	}
	return s.issueTokens(w, c.account, c.scope, c.public)
}

// redeemDevice answers one device-code poll (RFC 8628 §3.5).
func (s *Server) redeemDevice(w http.ResponseWriter, r *http.Request, form url.Values) (issued string) {
	s.mu.Lock()
	var d *deviceState
	for _, x := range s.devices {
		if x.deviceCode == form.Get("device_code") {
			d = x
		}
	}
	app := s.app
	slow := s.deviceSlowDowns > 0
	if slow {
		s.deviceSlowDowns--
	}
	var st deviceState
	if d != nil {
		st = *d
	}
	s.mu.Unlock()
	// Entra decides the client type of a flow without a redirect URI by "Allow
	// public client flows": off, the app is confidential and must send its secret.
	if !app.AllowPublicClientFlows && form.Get("client_secret") == "" {
		writeEntraError(w, r, http.StatusUnauthorized, "invalid_client", 7000218, "", "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return ""
	}
	if !s.clientAuthenticates(w, r, form, app.AllowPublicClientFlows) {
		return ""
	}
	switch {
	case d == nil:
		writeEntraError(w, r, http.StatusBadRequest, "bad_verification_code", 70019, "", "The provided value for the input parameter 'device_code' is not valid.")
	case time.Now().After(st.Expires):
		writeEntraError(w, r, http.StatusBadRequest, "expired_token", 70020, "", "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
	case st.declined:
		writeEntraError(w, r, http.StatusBadRequest, "authorization_declined", 0, "", "The end user denied the authorization request.")
	case slow:
		writeEntraError(w, r, http.StatusBadRequest, "slow_down", 0, "", "The client is polling too quickly and should back off.")
	case st.account == nil:
		writeEntraError(w, r, http.StatusBadRequest, "authorization_pending", 70016, "", "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	default:
		s.mu.Lock()
		d.Expires = time.Now().Add(-time.Second) // a device code is redeemed once
		s.mu.Unlock()
		return s.issueTokens(w, *st.account, st.Scope, app.AllowPublicClientFlows)
	}
	return ""
}

// clientAuthenticates checks the client credentials for a public or a
// confidential client and writes Entra's error when they do not fit.
func (s *Server) clientAuthenticates(w http.ResponseWriter, r *http.Request, form url.Values, public bool) bool {
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, secret = u, p
	}
	switch {
	case clientID == "":
		writeEntraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "", "The request body must contain the following parameter: 'client_id'.")
	case !matchesEncoded(clientID, ClientID):
		writeEntraError(w, r, http.StatusBadRequest, "unauthorized_client", 700016, "",
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, TenantID))
	case public && secret != "":
		writeEntraError(w, r, http.StatusUnauthorized, "invalid_client", 700025, "", "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
	case public:
		return true
	case secret == "":
		writeEntraError(w, r, http.StatusUnauthorized, "invalid_client", 7000218, "", "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	case !matchesEncoded(secret, ClientSecret):
		writeEntraError(w, r, http.StatusUnauthorized, "invalid_client", 7000215, "",
			fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", ClientID))
	default:
		return true
	}
	return false
}

// issueTokens answers a successful interactive grant: a JWT access token for
// Partner Center, an ID token when openid was asked for, and a refresh token
// that remembers the account and the client type.
func (s *Server) issueTokens(w http.ResponseWriter, account SignedInAccount, scope string, public bool) string {
	now := time.Now()
	s.mu.Lock()
	lifetime := s.tokenLifetime
	access := accessTokenFor(account)
	s.accessTokens[access] = now.Add(lifetime)
	refresh := randomToken("rt-")
	s.refreshTokens[refresh] = &refreshState{account: &account, public: public}
	s.mu.Unlock()
	body := map[string]any{
		"token_type": "Bearer", "scope": grantedScope(scope), "expires_in": int(lifetime / time.Second),
		"ext_expires_in": int(lifetime / time.Second), "access_token": access,
	}
	fields := strings.Fields(scope)
	if contains(fields, "offline_access") {
		body["refresh_token"] = refresh
	}
	if contains(fields, "openid") {
		body["id_token"] = idTokenFor(account)
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, body)
	if _, ok := body["refresh_token"]; !ok {
		return ""
	}
	return refresh
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pkceS256 is BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2).
func pkceS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// IssueRefreshTokenFor mints a valid refresh token for account, as a finished
// interactive sign-in would; public makes it a public client's token.
func (s *Server) IssueRefreshTokenFor(account SignedInAccount, public bool) string {
	rt := randomToken("rt-")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshTokens[rt] = &refreshState{account: &account, public: public}
	return rt
}

// Credentials returns every secret value the fake knows: the client secret,
// the refresh and access tokens it issued, and the codes, verifiers and
// device codes it was sent. Tests scan output and logs for them.
func (s *Server) Credentials() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{ClientSecret}
	for rt := range s.refreshTokens {
		out = append(out, rt)
	}
	for at := range s.accessTokens {
		out = append(out, at)
	}
	for code := range s.codes {
		out = append(out, code)
	}
	for _, d := range s.devices {
		out = append(out, d.deviceCode)
	}
	for _, c := range s.tokenCalls {
		out = append(out, c.Form.Get("code_verifier"))
	}
	return out
}
