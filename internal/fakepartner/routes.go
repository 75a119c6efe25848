package fakepartner

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// Partner Center request handling shared by every route: recording, faults,
// routing, bearer check, MFA check and the response headers (§2.1, §2.3).

// route is a matched Partner Center route with its path parameters.
type route struct {
	handle   func(s *Server, w http.ResponseWriter, r *http.Request, body []byte, rt route)
	cid, uid string
}

// matchRoute maps method and path to a route. Paths are matched exactly and in
// lower case as documented; anything else is unexpected.
func matchRoute(method, path string) (route, bool) {
	seg := splitPath(path)
	if len(seg) < 2 || seg[0] != "v1" || seg[1] != "customers" {
		return route{}, false
	}
	for _, s := range seg[2:] {
		if s == "" {
			return route{}, false
		}
	}
	get, patch := method == http.MethodGet, method == http.MethodPatch
	switch {
	case len(seg) == 2 && get:
		return route{handle: (*Server).listCustomers}, true
	case len(seg) == 3 && get:
		return route{handle: (*Server).getCustomer, cid: seg[2]}, true
	case len(seg) == 4 && seg[3] == "users" && get:
		return route{handle: (*Server).listUsers, cid: seg[2]}, true
	case len(seg) == 5 && seg[3] == "users" && get:
		return route{handle: (*Server).getUser, cid: seg[2], uid: seg[4]}, true
	case len(seg) == 5 && seg[3] == "users" && patch:
		// The older documented reset path, still what the .NET SDK uses (§6.1).
		return route{handle: (*Server).resetPassword, cid: seg[2], uid: seg[4]}, true
	case len(seg) == 6 && seg[3] == "users" && seg[5] == "directoryroles" && get:
		return route{handle: (*Server).userRoles, cid: seg[2], uid: seg[4]}, true
	case len(seg) == 4 && seg[3] == "applicationconsents" && method == http.MethodPost:
		return route{handle: (*Server).addConsent, cid: seg[2]}, true
	case len(seg) == 6 && seg[3] == "users" && seg[5] == "resetpassword" && patch:
		return route{handle: (*Server).resetPassword, cid: seg[2], uid: seg[4]}, true
	}
	return route{}, false
}

func (s *Server) servePartner(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	idx := len(s.calls)
	s.calls = append(s.calls, Call{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, At: time.Now(),
	})
	s.notifyLocked()
	s.mu.Unlock()

	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		s.calls[idx].Status = rec.status
		s.notifyLocked()
		s.mu.Unlock()
	}()

	// Partner Center echoes the request and correlation IDs, inventing them when
	// the client sent none.
	h := rec.Header()
	h.Set("MS-RequestId", headerOr(r, "MS-RequestId"))
	h.Set("MS-CorrelationId", headerOr(r, "MS-CorrelationId"))
	h.Set("MS-CV", randomToken("")[:22]+".0")
	h.Set("MS-ServerId", "fakepartner")

	rt, known := matchRoute(r.Method, r.URL.Path)
	if !known {
		s.recordUnexpected(r)
	}
	done, dropAfter := s.applyFault(rec, r, body, false)
	switch {
	case done:
		return
	case dropAfter:
		// Act on the request, then lose the answer on the way back.
		s.handlePartner(httptest.NewRecorder(), r, body, rt, known)
		dropConnection(w)
		return
	}
	s.handlePartner(rec, r, body, rt, known)
}

// handlePartner answers a Partner Center request once faults are dealt with.
func (s *Server) handlePartner(rec http.ResponseWriter, r *http.Request, body []byte, rt route, known bool) {
	if !known {
		writeFault(rec, http.StatusNotFound, 1000, "Not found")
		return
	}
	if !s.bearerValid(r) {
		rec.Header().Set("WWW-Authenticate", "OAuth realm=urn:cpsvc:cpid:"+TenantID)
		writeFault(rec, http.StatusUnauthorized, 400, "Access denied")
		return
	}
	s.mu.Lock()
	mfa := s.mfaRequired
	s.mu.Unlock()
	if mfa {
		rec.Header().Set("WWW-Authenticate", "OAuth realm=urn:cpsvc:cpid:"+TenantID)
		writeFault(rec, http.StatusUnauthorized, 900421,
			"Multi-factor authentication is required: the access token's amr claim must contain 'mfa'.")
		return
	}
	rt.handle(s, rec, r, body, rt)
}

// bearerValid reports whether r carries "Authorization: Bearer <token>" with an
// access token this fake issued and that has not expired.
func (s *Server) bearerValid(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, issued := s.accessTokens[tok]
	return issued && time.Now().Before(exp)
}

func headerOr(r *http.Request, name string) string {
	if v := r.Header.Get(name); v != "" {
		return v
	}
	return newGUID()
}

// writeFault writes an ApiFault; code may be a number or a string (§2.3).
func writeFault(w http.ResponseWriter, status int, code any, desc string) {
	writeJSON(w, status, faultBody(code, desc))
}

func faultBody(code any, desc string) apiFault {
	return apiFault{Code: code, Description: desc, Data: []any{}, Source: "PartnerFD"}
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fakepartner: marshal: " + err.Error())
	}
	return b
}
