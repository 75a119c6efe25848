package fakepartner

import (
	"encoding/base64"
	"encoding/json"
)

// SignedInAccount is the partner user the fake's tokens are issued for: what
// the access token's claims say (name, upn, tid, amr).
type SignedInAccount struct {
	Name string
	UPN  string
	// TenantID is the tid claim; "" means TenantID.
	TenantID string
	// NoMFA leaves "mfa" out of the amr claim, as a token from a sign-in
	// without multi-factor authentication would.
	NoMFA bool
}

// DefaultAccount is who the fake's tokens are issued for unless SetAccount
// says otherwise.
var DefaultAccount = SignedInAccount{Name: "Locksmith Service", UPN: "locksmith@partner.onmicrosoft.com"}

// SetAccount changes who access tokens issued from now on are for, and who
// later interactive sign-ins (authorize, device approval) sign in as. Tokens
// from a sign-in keep its account through every refresh.
func (s *Server) SetAccount(a SignedInAccount) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.account = a
}

// accessTokenLocked mints an access token for the account SetAccount names.
func (s *Server) accessTokenLocked() string { return accessTokenFor(s.account) }

// accessTokenFor mints an access token shaped like Entra's v1 tokens for
// Partner Center: a JWT whose claims name the signed-in account. The signature
// is random bytes: nothing may rely on verifying it, and the fake recognises
// its tokens by value, as it always has.
func accessTokenFor(a SignedInAccount) string {
	a = a.withDefaults()
	amr := []string{"pwd", "mfa"}
	if a.NoMFA {
		amr = []string{"pwd"}
	}
	return jwt(map[string]any{
		"aud": pcResource, "iss": "https://sts.windows.net/" + a.TenantID + "/",
		"tid": a.TenantID, "name": a.Name, "upn": a.UPN, "unique_name": a.UPN,
		"amr": amr, "appid": ClientID, "scp": "user_impersonation", "uti": randomToken("")[:22], "ver": "1.0",
	})
}

// idTokenFor mints a v2 ID token. It has no amr claim: Entra's v2 ID tokens
// carry none, which is why MFA is read from the access token.
func idTokenFor(a SignedInAccount) string {
	a = a.withDefaults()
	return jwt(map[string]any{
		"aud": ClientID, "iss": "https://login.microsoftonline.com/" + a.TenantID + "/v2.0",
		"name": a.Name, "preferred_username": a.UPN, "sub": randomToken("")[:43], "tid": a.TenantID, "ver": "2.0",
	})
}

func (a SignedInAccount) withDefaults() SignedInAccount {
	if a.TenantID == "" {
		a.TenantID = TenantID
	}
	return a
}

func jwt(claims map[string]any) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": "fake"})
	payload, _ := json.Marshal(claims)
	return enc.EncodeToString(header) + "." + enc.EncodeToString(payload) + "." + randomToken("")
}
