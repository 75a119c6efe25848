package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/locksmithbot/locksmith/internal/secret"
)

// Error is a sign-in that did not end with a usable token. Its text is a
// sentence for the operator that says what to change; it never holds a token,
// a code or the client secret.
type Error struct {
	Code   string // "AADSTS700025", "expired_token", "tenant_mismatch", …
	Advice string
	Entra  string // the first line of Entra's description, scrubbed
}

func (e *Error) Error() string {
	if e.Entra == "" {
		return e.Advice
	}
	return e.Advice + " (Entra: " + e.Entra + ")"
}

// The flows, for advice that differs between them.
type flow int

const (
	flowBrowser flow = iota
	flowDevice
)

// oauthError is an OAuth error from either the token endpoint (JSON body) or
// the authorize redirect (query parameters).
type oauthError struct {
	name, description string
	codes             []int
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

func (o oauthError) has(codes ...int) bool {
	for _, c := range codes {
		if slices.Contains(o.codes, c) {
			return true
		}
	}
	return false
}

// fromRetrieveError reads what x/oauth2 kept of the token endpoint's answer.
func fromRetrieveError(re *oauth2.RetrieveError) oauthError {
	o := oauthError{name: re.ErrorCode, description: re.ErrorDescription}
	var body struct {
		Codes []int `json:"error_codes"`
	}
	if json.Unmarshal(re.Body, &body) == nil {
		o.codes = body.Codes
	}
	return o.withDescriptionCodes()
}

func (o oauthError) withDescriptionCodes() oauthError {
	for _, m := range aadstsRE.FindAllStringSubmatch(o.description, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil && !slices.Contains(o.codes, n) {
			o.codes = append(o.codes, n)
		}
	}
	return o
}

// Advice, by cause. Each names the setting to change and where.
const (
	adviceConsent = "the app has no consent for Partner Center: in the app registration (PARTNER_CLIENT_ID) open API permissions, add Microsoft Partner Center → delegated user_impersonation, press \"Grant admin consent\" for the partner tenant, then run `locksmith login` again"
	advicePublic  = "Entra treats this sign-in as coming from a public client and refuses the client secret locksmith sends: http://localhost is registered under \"Mobile and desktop applications\". In the app registration → Authentication, remove it there and add http://localhost under the platform \"Web\", then run `locksmith login` again"
	adviceSecret  = "PARTNER_CLIENT_SECRET was refused (wrong, expired, or the secret's ID instead of its value): create a new client secret under Certificates & secrets, set PARTNER_CLIENT_SECRET to its value, and run `locksmith login` again"
	adviceDevice  = "the device-code flow is not allowed for this app: in the app registration → Authentication → Advanced settings, set \"Allow public client flows\" to Yes, then run `locksmith login --device` again (or sign in with a browser: `locksmith login`)"
	adviceConf    = "Entra wants the client secret for this sign-in, which means the redirect URI is registered as confidential (Web) while this flow is public: check the app registration → Authentication"
	adviceRedir   = "the redirect URI does not match the app registration: add http://localhost under the platform \"Web\" (app registration → Authentication → Add a platform → Web; the port does not matter), then run `locksmith login` again"
	adviceMFA     = "the sign-in needs MFA that was not completed: sign in again and complete the MFA prompt (the service account may first have to register a method at https://aka.ms/mfasetup), then run `locksmith login` again"
	adviceExpired = "the sign-in took too long and its code expired: run `locksmith login` again and finish the sign-in within a few minutes"
	adviceDecline = "the sign-in was declined in the browser (Cancel, or No on the consent screen): run `locksmith login` again and accept"
	adviceApp     = "PARTNER_CLIENT_ID is not an app registration in PARTNER_TENANT_ID: check both values (App registrations → Overview)"
	adviceTenant  = "PARTNER_TENANT_ID was not found at AZURE_AUTHORITY_HOST: check the tenant ID and, for a sovereign cloud, the authority host"
	adviceForeign = "the account is not a member of the partner tenant PARTNER_TENANT_ID: sign in as the partner service account"
)

// explain turns a failed sign-in into an *Error. secrets are scrubbed from
// anything Entra echoed.
func explain(f flow, err error, secrets []string) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return explainOAuth(f, fromRetrieveError(re), secrets)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		if f == flowDevice {
			return &Error{Code: "expired_token", Advice: adviceExpired + " (`locksmith login --device`)"}
		}
		return &Error{Code: "timeout", Advice: "no sign-in came back to locksmith in time. If the browser showed AADSTS50011, " + adviceRedir + "; otherwise run `locksmith login` again and finish the sign-in sooner (or raise --timeout)"}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Code: "canceled", Advice: "the sign-in was interrupted; nothing was saved"}
	}
	return &Error{Code: "transport", Advice: "could not reach the Entra sign-in endpoints at AZURE_AUTHORITY_HOST: " + scrub(err.Error(), secrets)}
}

func explainOAuth(f flow, o oauthError, secrets []string) *Error {
	e := &Error{Code: o.name, Entra: scrub(firstLine(o.description), secrets)}
	if len(o.codes) > 0 {
		e.Code = fmt.Sprintf("AADSTS%d", o.codes[0])
	}
	switch {
	case o.has(65001) || o.name == "consent_required":
		e.Advice = adviceConsent
	case o.has(700025):
		e.Advice = advicePublic
	case o.has(7000218) && f == flowDevice:
		e.Advice = adviceDevice
	case o.has(7000218):
		e.Advice = adviceConf
	case o.has(7000215, 7000222):
		e.Advice = adviceSecret
	case o.has(50011):
		e.Advice = adviceRedir
	case o.has(50076, 50079, 50072, 50074):
		e.Advice = adviceMFA
	case o.name == "expired_token" || o.has(70020, 70008, 70019):
		e.Advice = adviceExpired
		if f == flowDevice {
			e.Advice += " (`locksmith login --device`)"
		}
	case o.name == "authorization_declined" || o.name == "access_denied":
		e.Advice = adviceDecline
	case o.has(700016):
		e.Advice = adviceApp
	case o.has(90002):
		e.Advice = adviceTenant
	case o.has(50020, 50034):
		e.Advice = adviceForeign
	case o.has(501481):
		e.Advice = "Entra refused the PKCE verifier: this is a locksmith bug, please report it"
	default:
		e.Advice = "Entra refused the sign-in; check PARTNER_TENANT_ID, PARTNER_CLIENT_ID and the app registration (see docs/signin.md)"
	}
	if e.Code == "" {
		e.Code = "oauth_error"
	}
	return e
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	return strings.TrimSpace(s)
}

// scrub redacts echoes of secrets from Entra's text (secret.RedactEchoes).
func scrub(s string, secrets []string) string {
	for _, x := range secrets {
		s = secret.RedactEchoes(s, x)
	}
	return s
}
