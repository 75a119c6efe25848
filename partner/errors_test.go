package partner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"nil is unknown", nil, KindUnknown},
		{"foreign error is unknown", errors.New("boom"), KindUnknown},
		{"direct", &Error{Kind: KindForbidden}, KindForbidden},
		{"wrapped", fmt.Errorf("resolve: %w", &Error{Kind: KindThrottled}), KindThrottled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestError_AsAndIs(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &Error{Kind: KindUnavailable, Op: "get user", Err: context.DeadlineExceeded})
	var e *Error
	if !errors.As(err, &e) || e.Op != "get user" {
		t.Fatalf("errors.As did not find the *Error")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(err, DeadlineExceeded) = false, want true through Unwrap")
	}
}

func TestError_Text(t *testing.T) {
	e := &Error{Kind: KindThrottled, Status: 429, Code: "", Description: "Rate limit is exceeded.",
		Op: "get user", RequestID: "r1", CorrelationID: "c1", RetryAfter: 57 * time.Second}
	got := e.Error()
	for _, want := range []string{"partner: get user: throttled", "HTTP 429", "Rate limit is exceeded.", "retry after 57s", "request r1", "correlation c1"} {
		if !strings.Contains(got, want) {
			t.Errorf("Error() = %q, want it to contain %q", got, want)
		}
	}
}

func TestKind_String(t *testing.T) {
	for k := KindUnknown; k <= KindUnavailable; k++ {
		if s := k.String(); s == "" || (k != KindUnknown && s == "unknown") {
			t.Errorf("Kind(%d).String() = %q", int(k), s)
		}
	}
}

func TestKindForStatus(t *testing.T) {
	tests := []struct {
		status int
		want   Kind
	}{
		{400, KindRejected}, {401, KindUnauthorised}, {403, KindForbidden}, {404, KindNotFound},
		{405, KindRejected}, {409, KindRejected}, {429, KindThrottled}, {500, KindUnavailable}, {503, KindUnavailable},
	}
	for _, tt := range tests {
		if got := kindForStatus(tt.status); got != tt.want {
			t.Errorf("kindForStatus(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}

func TestDecodeFault(t *testing.T) {
	tests := []struct {
		name, body         string
		secrets            []string
		wantCode, wantDesc string
	}{
		{"numeric code", `{"code":20002,"description":"No relationship between caller and account.","data":[],"source":"PartnerFD"}`,
			nil, "20002", "No relationship between caller and account."},
		{"string code", `{"code":"800002","description":"Invalid request input"}`, nil, "800002", "Invalid request input"},
		{"BOM before JSON", "\ufeff{\"code\":60002,\"description\":\"User object ID is not found\"}", nil, "60002", "User object ID is not found"},
		{"gateway 429 body", `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 57 seconds."}`,
			nil, "", "Rate limit is exceeded. Try again in 57 seconds."},
		{"not JSON", `<html>Not Found</html>`, nil, "", ""},
		{"empty", ``, nil, "", ""},
		{"secret scrubbed", `{"code":"800002","description":"password Xy9!secret fails policy"}`, []string{"Xy9!secret"},
			"800002", "password [redacted] fails policy"},
		{"second line dropped", `{"code":1,"description":"first\r\nTrace ID: x"}`, nil, "1", "first"},
		{"object code dropped", `{"code":{"a":1},"description":"d"}`, nil, "", "d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, desc := decodeFault([]byte(tt.body), tt.secrets)
			if code != tt.wantCode || desc != tt.wantDesc {
				t.Errorf("decodeFault = (%q, %q), want (%q, %q)", code, desc, tt.wantCode, tt.wantDesc)
			}
		})
	}
}

func TestClean_CapsLength(t *testing.T) {
	got := clean(strings.Repeat("é", 400), nil)
	if len(got) > maxDescription+len("…") {
		t.Errorf("len(clean) = %d, want ≤ %d", len(got), maxDescription+len("…"))
	}
	if !strings.HasSuffix(got, "…") {
		t.Errorf("a capped description should end with an ellipsis")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// clean is secret.Scrub at Partner Center's length cap: a JSON-escaped echo of
// the password is redacted (secret.Scrub's own test covers every other form).
func TestClean_RedactsTransformedEchoes(t *testing.T) {
	const pw = "Ab3/x{Q9]p:N7,#m"
	if got := clean(`password "Ab3\/x{Q9]p:N7,#m" fails policy`, []string{pw}); strings.Contains(got, "Q9]p") || !strings.Contains(got, "[redacted]") {
		t.Errorf("clean kept an echo of the password: %q", got)
	}
}
