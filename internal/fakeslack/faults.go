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

// SetChannelRateLimit makes the fake refuse, as Slack does, a chat.postMessage or
// chat.postEphemeral to a channel (a DM too, by its D… ID, whether the post named
// the channel or the user) sooner than interval after the last accepted post to
// that channel by the same method (each method has its own limit, as in Slack):
// HTTP 429 with Retry-After: retryAfter and
// {"ok":false,"error":"ratelimited"} (slack-go returns *slack.RateLimitedError),
// and nothing is posted. A refused post does not restart the interval. Slack
// allows about one post per second per channel, tolerating short bursts; the fake
// tolerates none, so a bot that paces itself passes both. chat.update is not
// limited. interval 0 turns the limit off (the default).
func (s *Server) SetChannelRateLimit(interval time.Duration, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.postInterval = interval
	s.postRetryAfter = retryAfter
	clear(s.lastPost)
}

// RateLimited counts the calls of method refused by the channel limit.
func (s *Server) RateLimited(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limitedByMethod[method]
}

// RateLimitedIn counts the posts to channel (its ID; a DM's D… ID) refused by the
// channel limit.
func (s *Server) RateLimitedIn(channel string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limitedByChan[channel]
}

// postLimitedLocked reports whether a post of method to channelID must be
// refused now, counting the refusal; a post it lets through must be recorded
// with postedLocked once it is accepted.
func (s *Server) postLimitedLocked(method, channelID string) (reply, bool) {
	if s.postInterval <= 0 {
		return reply{}, false
	}
	last, seen := s.lastPost[method+" "+channelID]
	if !seen || s.now().Sub(last) >= s.postInterval {
		return reply{}, false
	}
	s.limitedByMethod[method]++
	s.limitedByChan[channelID]++
	rep, _ := faultReply(Failure{Status: http.StatusTooManyRequests, RetryAfter: s.postRetryAfter})
	return rep, true
}

func (s *Server) postedLocked(method, channelID string) {
	if s.postInterval > 0 {
		s.lastPost[method+" "+channelID] = s.now()
	}
}
