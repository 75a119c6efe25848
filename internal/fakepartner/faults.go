package fakepartner

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is an injected failure. It applies to requests whose method matches
// (""= any) and whose path, followed by "?query" when there is one, contains
// PathContains, for the next Times such requests (0 = until ClearFaults). Faults
// also apply to the token endpoint (PathContains "/oauth2/"). The first matching
// fault, in the order added, is the one used.
//
// The request is delayed by Delay first (released early if the client gives up or
// the server closes). Then DropConnection closes the TCP connection without an
// answer, after reading the request but before acting on it; HandleThenDrop acts
// on it (a reset is applied) and then closes the connection instead of
// answering, as when a gateway or the network loses a response Partner Center
// sent. Otherwise a non-zero Status is answered with an error body, and a zero
// Status lets the request through to normal handling (a pure slow-down).
// HandleThenDrop applies to Partner Center routes, not the token endpoint.
type Fault struct {
	Method, PathContains string
	Status               int
	// RetryAfter is the raw Retry-After header value; "" sends none.
	RetryAfter string
	// Location, with a 3xx Status, is sent as the Location header: a redirect
	// (here or from the token endpoint) that a client must not follow.
	Location string
	// Code and Description fill the ApiFault body. A nil Code picks the usual one
	// for Status (401→400 "Access denied", 403→20002, 404→1000, else the status
	// as a string). A 429 always uses the gateway body, with Description, when set,
	// as its message.
	Code        any
	Description string
	// DescriptionFrom, when set, writes the description from the request body
	// instead (for a server that echoes what it was sent, e.g. the password).
	DescriptionFrom func(body []byte) string
	Delay           time.Duration
	Times           int
	DropConnection  bool
	HandleThenDrop  bool
}

type faultState struct {
	Fault
	left int
}

// AddFault installs f after the faults already present.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f, left: f.Times})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// RequireMFA makes every Partner Center route answer 401 with code 900421, as
// Partner Center does for an App+User token whose amr claim lacks "mfa" (§1.4).
func (s *Server) RequireMFA(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mfaRequired = on
}

// takeFault consumes one use of the first fault matching r.
func (s *Server) takeFault(r *http.Request) (Fault, bool) {
	target := r.URL.Path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if !strings.Contains(target, f.PathContains) {
			continue
		}
		if f.Times > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return f.Fault, true
	}
	return Fault{}, false
}

// applyFault runs the first matching fault; done reports whether the request
// has been dealt with (answered, dropped or abandoned), dropAfter that it is to
// be handled and its answer then dropped (Fault.HandleThenDrop).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, body []byte, token bool) (done, dropAfter bool) {
	f, ok := s.takeFault(r)
	if !ok {
		return false, false
	}
	if f.Delay > 0 && !s.sleep(r.Context(), f.Delay) {
		return true, false
	}
	if f.HandleThenDrop && !token {
		return false, true
	}
	if f.DropConnection {
		dropConnection(w)
		return true, false
	}
	if f.Status == 0 {
		return false, false
	}
	if f.DescriptionFrom != nil {
		f.Description = f.DescriptionFrom(body)
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Location != "" {
		w.Header().Set("Location", f.Location)
	}
	switch {
	case token:
		writeTokenFault(w, r, f)
	case f.Status == http.StatusTooManyRequests:
		msg := f.Description
		if msg == "" {
			msg = "Rate limit is exceeded. Try again later."
			if n, err := strconv.Atoi(f.RetryAfter); err == nil {
				msg = fmt.Sprintf("Rate limit is exceeded. Try again in %d seconds.", n)
			}
		}
		b := mustMarshal(throttled{StatusCode: http.StatusTooManyRequests, Message: msg})
		writeRaw(w, f.Status, "application/json", b)
	default:
		code, desc := f.Code, f.Description
		if code == nil {
			code, desc = defaultFault(f.Status, desc)
		}
		writeFault(w, f.Status, code, desc)
	}
	return true, false
}

// dropConnection closes the client's TCP connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// defaultFault is the usual ApiFault code and description for an HTTP status.
func defaultFault(status int, desc string) (any, string) {
	var code any
	def := http.StatusText(status)
	switch status {
	case http.StatusUnauthorized:
		code, def = 400, "Access denied"
	case http.StatusForbidden:
		code, def = 20002, "No relationship between caller and account."
	case http.StatusNotFound:
		code, def = 1000, "Not found"
	default:
		code = strconv.Itoa(status)
	}
	if desc == "" {
		desc = def
	}
	return code, desc
}

// writeTokenFault answers an injected token-endpoint failure in Entra's shape.
func writeTokenFault(w http.ResponseWriter, r *http.Request, f Fault) {
	name := "invalid_request"
	if f.Status >= 500 {
		name = "temporarily_unavailable"
	}
	code := 0
	switch c := f.Code.(type) {
	case string:
		name = c
	case int:
		code = c
	}
	desc := f.Description
	if desc == "" {
		desc = http.StatusText(f.Status)
	}
	writeEntraError(w, r, f.Status, name, code, "", desc)
}
