package signin

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/locksmithbot/locksmith/internal/secret"
)

// device runs the device authorization grant (RFC 8628) as a public client:
// no client secret is sent, as Entra requires for this flow. x/oauth2 polls at
// the announced interval, adds 5 s on every slow_down, and stops at the code's
// expiry.
func (s *session) device(ctx context.Context) (*oauth2.Token, error) {
	conf := s.config("", secret.Token{})
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		return nil, err
	}
	out := s.o.Out
	uri := da.VerificationURI
	fmt.Fprintf(out, "On any device with a browser, open\n\n  %s\n\nand enter the code\n\n  %s\n\n", uri, da.UserCode)
	fmt.Fprintln(out, "Sign in as the Partner Center service account and complete MFA.")
	if !da.Expiry.IsZero() {
		fmt.Fprintf(out, "The code expires at %s (in %s).\n", da.Expiry.Local().Format("15:04:05"), time.Until(da.Expiry).Round(time.Second))
	}
	fmt.Fprintln(out, "Waiting for the sign-in …")
	return conf.DeviceAccessToken(ctx, da)
}
