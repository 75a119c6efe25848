package fakegraph

import (
	"net/http"
	"strings"
)

// Fault is an injected failure for the next Times requests (0 = until
// ClearFaults) whose method matches (""= any) and whose path plus "?query"
// contains PathContains. It applies to the token endpoint too.
type Fault struct {
	Method, PathContains string
	Status               int
	RetryAfter           string // raw Retry-After header; "" sends none
	Code, Message        string // Graph error body; defaults by status
	Times                int
	// Location, with a 3xx Status, is where the redirect points.
	Location string
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

func (s *Server) applyFault(w http.ResponseWriter, r *http.Request) bool {
	target := r.URL.Path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	s.mu.Lock()
	var hit *Fault
	for i, f := range s.faults {
		if (f.Method != "" && !strings.EqualFold(f.Method, r.Method)) || !strings.Contains(target, f.PathContains) {
			continue
		}
		ff := f.Fault
		hit = &ff
		if f.Times > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		break
	}
	s.mu.Unlock()
	if hit == nil {
		return false
	}
	if hit.RetryAfter != "" {
		w.Header().Set("Retry-After", hit.RetryAfter)
	}
	if hit.Status >= 300 && hit.Status < 400 {
		w.Header().Set("Location", hit.Location)
		w.WriteHeader(hit.Status)
		return true
	}
	code, msg := "generalException", http.StatusText(hit.Status)
	switch hit.Status {
	case http.StatusTooManyRequests:
		code, msg = "TooManyRequests", "Too many requests."
	case http.StatusForbidden:
		code, msg = "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
	}
	if hit.Code != "" {
		code = hit.Code
	}
	if hit.Message != "" {
		msg = hit.Message
	}
	writeError(w, r, hit.Status, code, msg)
	return true
}
