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

// SetAccount changes who access tokens issued from now on are for.
func (s *Server) SetAccount(a SignedInAccount) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.account = a
}

// accessTokenLocked mints an access token shaped like Entra's: a JWT whose
// claims name the signed-in account. The signature is random bytes: the fake
// recognises its tokens by value, as it always has.
func (s *Server) accessTokenLocked() string {
	a := s.account
	if a.TenantID == "" {
		a.TenantID = TenantID
	}
	amr := []string{"pwd", "mfa"}
	if a.NoMFA {
		amr = []string{"pwd"}
	}
	header, _ := json.Marshal(map[string]any{"typ": "JWT", "alg": "RS256", "kid": "fake"})
	claims, _ := json.Marshal(map[string]any{
		"aud": pcResource, "iss": "https://sts.windows.net/" + a.TenantID + "/",
		"tid": a.TenantID, "name": a.Name, "upn": a.UPN, "unique_name": a.UPN,
		"amr": amr, "appid": ClientID, "scp": "user_impersonation",
	})
	enc := base64.RawURLEncoding
	return enc.EncodeToString(header) + "." + enc.EncodeToString(claims) + "." + randomToken("")
}
