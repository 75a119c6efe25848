package signin

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// callback is what the browser brought back to the loopback listener.
type callback struct {
	q     url.Values
	reply chan page // the page the browser is shown, once the outcome is known
}

type page struct {
	ok  bool
	msg string
}

// browser runs the authorization code flow with PKCE on a loopback redirect.
// It listens on a random port of 127.0.0.1 (and ::1 when it can: browsers may
// resolve localhost to either), sends http://localhost:<port> as the redirect
// URI (Entra ignores the port of a registered http://localhost), serves one
// redirect and closes. finish shows the outcome in the browser tab.
func (s *session) browser(ctx context.Context) (_ *oauth2.Token, finish func(ok bool, msg string), err error) {
	noop := func(bool, string) {}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, noop, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	listeners := []net.Listener{ln}
	if ln6, err := net.Listen("tcp", fmt.Sprintf("[::1]:%d", port)); err == nil {
		listeners = append(listeners, ln6)
	}

	conf := s.config(fmt.Sprintf("http://localhost:%d", port), s.o.ClientSecret)
	verifier, state := oauth2.GenerateVerifier(), randomState()
	params := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier),
		// The operator is often signed in as themselves; the service account
		// must be chosen deliberately.
		oauth2.SetAuthURLParam("prompt", "select_account")}
	if s.o.Account != "" {
		params = append(params, oauth2.SetAuthURLParam("login_hint", s.o.Account))
	}
	authURL := conf.AuthCodeURL(state, params...)

	got := make(chan callback, 1)
	var once sync.Once
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/" || (q.Get("code") == "" && q.Get("error") == "") {
			http.NotFound(w, r) // favicon.ico and the like
			return
		}
		served := false
		once.Do(func() {
			served = true
			cb := callback{q: q, reply: make(chan page, 1)}
			got <- cb
			var p page
			select {
			case p = <-cb.reply:
			case <-time.After(2 * time.Minute):
				p = page{msg: "locksmith did not answer in time; look at the terminal."}
			}
			writePage(w, p)
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			// One redirect is all this listener is for. Shutdown, unlike
			// Close, lets this response reach the browser first.
			go func() {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
			}()
		})
		if !served {
			w.WriteHeader(http.StatusGone)
			writePage(w, page{msg: "This sign-in was already received; look at the terminal."})
		}
	})
	for _, l := range listeners {
		go func() { _ = srv.Serve(l) }()
	}
	closeAll := func() {
		_ = srv.Close()
		for _, l := range listeners {
			_ = l.Close()
		}
	}

	out := s.o.Out
	fmt.Fprintf(out, "Sign in as the Partner Center service account, with MFA, at:\n\n  %s\n\n", authURL)
	if s.o.OpenBrowser != nil {
		if err := s.o.OpenBrowser(authURL); err != nil {
			fmt.Fprintf(out, "(Could not open a browser: %v. Open the address above yourself.)\n", err)
		} else {
			fmt.Fprintln(out, "A browser window should have opened; if not, open the address above yourself.")
		}
	}
	fmt.Fprintf(out, "Waiting for the sign-in to come back to http://localhost:%d …\n", port)

	var cb callback
	select {
	case cb = <-got:
	case <-ctx.Done():
		closeAll()
		return nil, noop, ctx.Err()
	}
	var finishOnce sync.Once
	finish = func(ok bool, msg string) {
		finishOnce.Do(func() { cb.reply <- page{ok: ok, msg: msg} })
	}
	fail := func(e error) (*oauth2.Token, func(bool, string), error) {
		finish(false, "The sign-in failed: "+e.Error())
		return nil, noop, e
	}
	if cb.q.Get("state") != state {
		return fail(&Error{Code: "state_mismatch", Advice: "the browser brought back a sign-in response for a different login attempt (state mismatch), perhaps from an old tab; nothing was saved: run `locksmith login` again"})
	}
	if name := cb.q.Get("error"); name != "" {
		o := oauthError{name: name, description: cb.q.Get("error_description")}.withDescriptionCodes()
		return fail(explainOAuth(flowBrowser, o, s.secrets))
	}
	tok, err := conf.Exchange(ctx, cb.q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return fail(explain(flowBrowser, err, s.secretsWith(tok)))
	}
	return tok, finish, nil
}

func writePage(w http.ResponseWriter, p page) {
	title := "locksmith: sign-in not saved"
	if p.ok {
		title = "locksmith: signed in"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, "<!doctype html><html><head><meta charset=\"utf-8\"><title>%s</title></head>"+
		"<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>%s</h1><p>%s</p>"+
		"<p>You can close this tab and return to the terminal.</p></body></html>",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(p.msg))
}
