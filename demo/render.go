package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/locksmithbot/locksmith/internal/fakeslack"
)

// printer writes the walkthrough's report, rendering Slack messages as plain
// text and masking every password.
type printer struct {
	out     io.Writer
	secrets []string
	err     error
}

const mask = "••••••••••••"

func (p *printer) line(s string) {
	if p.err != nil {
		return
	}
	for _, pw := range p.secrets {
		s = strings.ReplaceAll(s, pw, mask)
	}
	_, p.err = fmt.Fprintln(p.out, s)
}

func (p *printer) heading(s string) {
	p.line("")
	p.line("== " + s + " ==")
}

func (p *printer) timeline(msgs []seen) {
	if len(msgs) == 0 {
		p.line("  (nothing)")
	}
	for _, s := range msgs {
		text := readable(s.msg)
		if isDelivery(s.msg) {
			text = codeSpan.ReplaceAllString(text, "`"+mask+"` (masked here)")
		}
		p.line("  - " + s.where + ":")
		for _, l := range strings.Split(text, "\n") {
			if strings.TrimSpace(l) != "" {
				p.line("      " + l)
			}
		}
	}
}

var codeSpan = regexp.MustCompile("`[^`\n]+`")

// readable renders a message's blocks (or, without blocks, its text) as the
// plain text a person would read.
func readable(m fakeslack.Message) string {
	var blocks []struct {
		Type     string           `json:"type"`
		Text     *textObj         `json:"text"`
		Fields   []textObj        `json:"fields"`
		Elements []map[string]any `json:"elements"`
	}
	if len(m.Blocks) == 0 || json.Unmarshal(m.Blocks, &blocks) != nil || len(blocks) == 0 {
		return slackText(m.Text)
	}
	var b strings.Builder
	for _, bl := range blocks {
		switch bl.Type {
		case "header", "section":
			if bl.Text != nil {
				b.WriteString(slackText(bl.Text.Text) + "\n")
			}
			for _, f := range bl.Fields {
				b.WriteString(strings.ReplaceAll(slackText(f.Text), "\n", " · ") + "\n")
			}
		case "context":
			var parts []string
			for _, e := range bl.Elements {
				if t, ok := e["text"].(string); ok {
					parts = append(parts, slackText(t))
				}
			}
			b.WriteString(strings.Join(parts, " ") + "\n")
		case "actions":
			var buttons []string
			for _, e := range bl.Elements {
				if t, ok := e["text"].(map[string]any); ok {
					buttons = append(buttons, fmt.Sprintf("[%v]", t["text"]))
				}
			}
			b.WriteString(strings.Join(buttons, " ") + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

type textObj struct {
	Text string `json:"text"`
}

var markup = regexp.MustCompile(`<([^<>|]+)(?:\|([^<>]*))?>`)

// slackText turns Slack markup into what a reader sees: mentions become
// @name or #channel, dates and links their label, entities their character.
func slackText(s string) string {
	s = markup.ReplaceAllStringFunc(s, func(tag string) string {
		sm := markup.FindStringSubmatch(tag)
		target, label := sm[1], sm[2]
		switch {
		case strings.HasPrefix(target, "@"):
			if n, ok := people[target[1:]]; ok {
				return "@" + n
			}
			return target
		case strings.HasPrefix(target, "#"):
			if n, ok := channels[target[1:]]; ok {
				return "#" + n
			}
			return target
		case label != "":
			return label
		}
		return target
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
