package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const canary = "Canary-Pa55w0rd!"

func TestPassword_NeverPrints(t *testing.T) {
	p := NewPassword(canary)
	type wrapper struct {
		P Password
		T Token
	}
	w := wrapper{P: p, T: NewToken(canary)}
	forms := map[string]string{
		"%v":  fmt.Sprintf("%v", p),
		"%s":  fmt.Sprintf("%s", p),
		"%q":  fmt.Sprintf("%q", p),
		"%x":  fmt.Sprintf("%x", p),
		"%+v": fmt.Sprintf("%+v", w),
		"%#v": fmt.Sprintf("%#v", w),
		"ptr": fmt.Sprintf("%v", &p),
		"err": fmt.Errorf("wrapped: %v", p).Error(),
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("msg", "password", p, "token", NewToken(canary), "struct", w)
	forms["slog"] = buf.String()
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("msg", "password", p, "any", any(p))
	forms["slog-text"] = buf.String()
	for name, got := range forms {
		if strings.Contains(got, canary) {
			t.Errorf("%s form leaks the secret: %s", name, got)
		}
		if !strings.Contains(got, Redacted) {
			t.Errorf("%s form lacks the redaction marker: %s", name, got)
		}
	}
	if _, err := json.Marshal(w); err == nil {
		t.Error("json.Marshal of a secret succeeded; want an error")
	}
	if p.Reveal() != canary || NewToken(canary).Reveal() != canary {
		t.Error("Reveal does not return the value")
	}
}
