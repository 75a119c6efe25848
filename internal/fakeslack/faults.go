package fakeslack

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Failure is a fault injected into the next calls of one method (see Fail).
//
//   - Error alone: HTTP 200 {"ok":false,"error":Error} (slack.SlackErrorResponse).
//   - Status 429 with RetryAfter > 0: a Retry-After header (slack-go returns
//     *slack.RateLimitedError); without it slack-go returns a plain StatusCodeError.
//     The body is {"ok":false,"error":"ratelimited"} (slack-go ignores it).
//   - Any other non-200 Status: that status with an HTML body, as Slack's edge sends
//     (slack.StatusCodeError).
//   - Status 3xx with Location: a redirect to Location (an HTML body, as an edge
//     proxy would send); a client must not follow it.
//   - Delay: the answer is held back this long first (bounded by the request's
//     context); with no Error or Status, the call then proceeds normally.
//
// Times is how many calls it applies to: 0 means once, a negative value means every
// call until ClearFailures. Channel, when set, limits the fault to calls whose
// channel argument is that channel (e.g. one user's DM); other calls of the method
// pass it by.
type Failure struct {
	Error      string
	Status     int
	RetryAfter int
	Location   string
	Delay      time.Duration
	Times      int
	Channel    string
}

type pendingFailure struct {
	f    Failure
	left int // < 0: forever
}

// Fail queues a fault for method ("chat.postMessage", "apps.connections.open", …, or
// "response_url"). Faults queued for the same method apply one after another.
func (s *Server) Fail(method string, f Failure) {
	left := f.Times
	if left == 0 {
		left = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], &pendingFailure{f: f, left: left})
}

// ClearFailures drops every fault still queued for method.
func (s *Server) ClearFailures(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.failures, method)
}

// takeFailure consumes one use of the first fault queued for method that applies
// to channel.
func (s *Server) takeFailure(method, channel string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.failures[method]
	for i, p := range q {
		if p.f.Channel != "" && p.f.Channel != channel {
			continue
		}
		if p.left > 0 {
			p.left--
			if p.left == 0 {
				s.failures[method] = append(q[:i:i], q[i+1:]...)
			}
		}
		return p.f, true
	}
	return Failure{}, false
}

// delay waits d unless the request or the server ends first; it reports whether
// the full delay elapsed.
func (s *Server) delay(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.ctx.Done():
		return false
	}
}

// faultReply builds the answer for an injected fault, or reports false when the
// fault is a pure delay.
func faultReply(f Failure) (reply, bool) {
	switch {
	case f.Status == http.StatusTooManyRequests:
		r := jsonReply(http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
		if f.RetryAfter > 0 {
			r.header = http.Header{"Retry-After": {strconv.Itoa(f.RetryAfter)}}
		}
		return r, true
	case f.Status != 0 && f.Status != http.StatusOK:
		r := reply{
			status:      f.Status,
			contentType: "text/html; charset=utf-8",
			body:        []byte("<html><body>" + http.StatusText(f.Status) + "</body></html>"),
		}
		if f.Location != "" {
			r.header = http.Header{"Location": {f.Location}}
		}
		return r, true
	case f.Error != "":
		return jsonReply(http.StatusOK, map[string]any{"ok": false, "error": f.Error}), true
	}
	return reply{}, false
}
