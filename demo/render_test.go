package demo

import (
	"bytes"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

func TestSlackText(t *testing.T) {
	in := "<@" + Approver + "> approved in <#" + ApprovalChannel + "> at <!date^1764500000^{date_short_pretty} {time}|2025-11-30 10:53 UTC>; see <https://example.com/x|the card>, &lt;b&gt; &amp; <@U0OTHER>"
	want := "@Avery approved in #approvals at 2025-11-30 10:53 UTC; see the card, <b> & @U0OTHER"
	if got := slackText(in); got != want {
		t.Errorf("slackText =\n %q\nwant\n %q", got, want)
	}
}

// A password the sample Partner Center set never reaches the output, whatever
// message it turns up in; the delivery's code span is masked even if unknown.
func TestPrinter_MasksPasswords(t *testing.T) {
	var out bytes.Buffer
	p := &printer{out: &out, secrets: []string{"Kx7-known-Pw"}}
	p.timeline([]seen{
		{where: "DM", msg: fakeslack.Message{TS: "1", Text: "[DEMO] Temporary password for a@b.c", Blocks: []byte(`[{"type":"section","text":{"type":"mrkdwn","text":"*Temporary password for A*\n` + "`Unknown-Pw-9`" + `"}}]`)}},
		{where: "#audit", msg: fakeslack.Message{TS: "2", Text: "[DEMO] leaked Kx7-known-Pw here, `reset_done` stays"}},
	})
	got := out.String()
	if strings.Contains(got, "Kx7-known-Pw") || strings.Contains(got, "Unknown-Pw-9") {
		t.Errorf("a password was printed:\n%s", got)
	}
	if !strings.Contains(got, "`reset_done` stays") || !strings.Contains(got, "`"+mask+"` (masked here)") {
		t.Errorf("masking went too far or not far enough:\n%s", got)
	}
}
