package commands

import (
	"github.com/locksmithbot/locksmith/messages"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const tid = "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"
	tests := []struct {
		name      string
		text      string
		wantReply string // substring of the reply; "" means a command
		cust      CustomerRef
		user      UserRef
		reason    string
	}{
		{name: "empty; usage", text: "", wantReply: "Usage"},
		{name: "blank; usage", text: "   ", wantReply: "Usage"},
		{name: "help; usage", text: "HELP", wantReply: "Usage"},
		{name: "one argument; asks for both", text: "contoso.com", wantReply: "both the customer and the user"},
		{name: "domain and upn", text: "Contoso.onmicrosoft.com alice@contoso.com INC-4711",
			cust: CustomerRef{RefDomain, "contoso.onmicrosoft.com"}, user: UserRef{RefUPN, "alice@contoso.com"}, reason: "INC-4711"},
		{name: "tenant and object id", text: tid + " " + strings.ToLower(tid),
			cust: CustomerRef{RefID, strings.ToLower(tid)}, user: UserRef{RefID, strings.ToLower(tid)}},
		{name: "quoted name with spaces", text: `"Contoso Ltd" alice@contoso.com locked out after holiday`,
			cust: CustomerRef{RefName, "Contoso Ltd"}, user: UserRef{RefUPN, "alice@contoso.com"}, reason: "locked out after holiday"},
		{name: "curly quotes from a phone", text: "“Contoso Ltd” alice@contoso.com",
			cust: CustomerRef{RefName, "Contoso Ltd"}, user: UserRef{RefUPN, "alice@contoso.com"}},
		{name: "unclosed quote", text: `"Contoso Ltd alice@contoso.com`, wantReply: "quote is not closed"},
		{name: "slack-linked email is unwrapped", text: "contoso.com <mailto:alice@contoso.com|alice@contoso.com>",
			cust: CustomerRef{RefDomain, "contoso.com"}, user: UserRef{RefUPN, "alice@contoso.com"}},
		{name: "slack-linked domain is unwrapped", text: "<http://contoso.com|contoso.com> alice@contoso.com",
			cust: CustomerRef{RefDomain, "contoso.com"}, user: UserRef{RefUPN, "alice@contoso.com"}},
		{name: "link whose label differs; refused", text: "contoso.com <mailto:mallory@evil.com|alice@contoso.com>", wantReply: "link whose text differs"},
		{name: "user not a upn", text: "contoso.com alice", wantReply: "not a valid user"},
		{name: "upn with bad characters", text: "contoso.com al(ice)@contoso.com", wantReply: "may only hold"},
		{name: "upn dot before at", text: "contoso.com alice.@contoso.com", wantReply: "cannot start or end with a dot"},
		{name: "upn local part too long", text: "contoso.com " + strings.Repeat("a", 65) + "@contoso.com", wantReply: "1 to 64"},
		{name: "bad domain", text: "contoso..com alice@contoso.com", wantReply: "not a valid domain"},
		{name: "channel mention in reason; refused", text: "contoso.com alice@contoso.com <!channel> urgent", wantReply: "can't contain mentions"},
		{name: "disguised link in reason; refused", text: "contoso.com alice@contoso.com see <http://x|y>", wantReply: "can't contain mentions"},
		{name: "escaped angle brackets in reason are text", text: "contoso.com alice@contoso.com a &lt;b&gt; &amp; c",
			cust: CustomerRef{RefDomain, "contoso.com"}, user: UserRef{RefUPN, "alice@contoso.com"}, reason: "a <b> & c"},
		{name: "control character; refused", text: "contoso.com alice@contoso.com a\x07b", wantReply: "control characters"},
		{name: "newline; refused", text: "contoso.com alice@contoso.com a\nb", wantReply: "control characters"},
		{name: "bidi override; refused", text: "contoso.com alice@contoso.com \u202eabc", wantReply: "control characters"},
		{name: "10 KB; refused", text: "contoso.com alice@contoso.com " + strings.Repeat("x", 10*1024), wantReply: "too long"},
		{name: "reason too long", text: "contoso.com alice@contoso.com " + strings.Repeat("x", 501), wantReply: "reason is too long"},
		{name: "one-letter name prefix", text: "c alice@contoso.com", wantReply: "at least 2"},
		{name: "invalid utf8", text: "contoso.com alice@contoso.com \xff", wantReply: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(tt.text, messages.English)
			if tt.wantReply != "" {
				if !strings.Contains(got.Reply, tt.wantReply) {
					t.Fatalf("reply = %q, want it to contain %q", got.Reply, tt.wantReply)
				}
				return
			}
			if got.Reply != "" {
				t.Fatalf("unexpected reply %q", got.Reply)
			}
			if got.Customer != tt.cust || got.User != tt.user || got.Reason != tt.reason {
				t.Fatalf("got %+v / %+v / %q, want %+v / %+v / %q", got.Customer, got.User, got.Reason, tt.cust, tt.user, tt.reason)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<!channel> & <http://x|y>", "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"},
		{"line\nbreak\ttab", "line break tab"},
		{"bell\x07", "bell"},
		{"\u202eevil", "evil"},
		{"abcdef", "abc…"},
	}
	for _, tt := range tests {
		max := 0
		if tt.in == "abcdef" {
			max = 3
		}
		if got := Escape(tt.in, max); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseLanguageCommand(t *testing.T) {
	for text, want := range map[string]string{
		"language ja":   "ja",
		"Language EN":   "EN",
		"language auto": "auto",
		"language":      "",
		"language xx":   "xx",
	} {
		got := Parse(text, messages.English)
		if got.Language == nil || *got.Language != want || got.Reply != "" {
			t.Errorf("Parse(%q, messages.English) = %+v, want language %q", text, got, want)
		}
	}
	// A customer whose name starts with "language" is still a customer.
	for _, text := range []string{
		"language alice@contoso.com",
		"language 99999999-8888-7777-6666-555555555555",
		"language ja extra words",
		`"language school" alice@contoso.com`,
	} {
		if got := Parse(text, messages.English); got.Language != nil {
			t.Errorf("Parse(%q, messages.English) read a language command: %+v", text, got)
		}
	}
}

func TestParseAnswersInTheGivenLanguage(t *testing.T) {
	for _, tc := range []struct{ text, en, ja string }{
		{"", "*Usage:*", "*使い方:*"},
		{"contoso.com", "Give both the customer and the user.", "顧客とユーザーの両方を指定してください。"},
		{"contoso.com alice", "is neither a sign-in name nor an object ID", "サインイン名でもオブジェクト ID でもありません"},
		{"contoso.com " + strings.Repeat("a", 65) + "@contoso.com", "1 to 64 characters", "1～64 文字"},
	} {
		if got := Parse(tc.text, messages.English).Reply; !strings.Contains(got, tc.en) {
			t.Errorf("English reply to %q = %q, want %q in it", tc.text, got, tc.en)
		}
		if got := Parse(tc.text, messages.Japanese).Reply; !strings.Contains(got, tc.ja) {
			t.Errorf("Japanese reply to %q = %q, want %q in it", tc.text, got, tc.ja)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("contoso.com alice@contoso.com INC-1")
	f.Add(`"Contoso Ltd" <mailto:a@b.c|a@b.c> <!here>`)
	f.Add("language ja")
	f.Fuzz(func(t *testing.T, s string) {
		got := Parse(s, messages.Japanese)
		if got.Reply == "" && got.Language == nil && (got.Customer.Kind == 0 || got.User.Kind == 0) {
			t.Fatalf("command without customer or user: %+v", got)
		}
		if strings.ContainsAny(got.Reason, "\x00\n") {
			t.Fatalf("reason kept a control character")
		}
	})
}
