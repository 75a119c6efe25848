package messages

import (
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// readFile returns the messages of one language file: ID → plural form →
// template ("other" for a text without plural forms).
func readFile(t *testing.T, l Lang) map[string]map[string]string {
	t.Helper()
	raw, err := files.ReadFile(string(l) + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s.yaml: %v", l, err)
	}
	out := make(map[string]map[string]string, len(doc))
	for id, v := range doc {
		switch v := v.(type) {
		case string:
			out[id] = map[string]string{"other": v}
		case map[string]any:
			forms := make(map[string]string)
			for form, text := range v {
				s, ok := text.(string)
				if !ok {
					t.Fatalf("%s.yaml: %s.%s is not a string", l, id, form)
				}
				forms[form] = s
			}
			out[id] = forms
		default:
			t.Fatalf("%s.yaml: %s has unexpected type %T", l, id, v)
		}
	}
	return out
}

// declaredIDs returns the values of the ID constants in ids.go.
func declaredIDs(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "ids.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 {
			return true
		}
		if ident, ok := vs.Type.(*ast.Ident); !ok || ident.Name != "ID" {
			return true
		}
		lit, ok := vs.Values[0].(*ast.BasicLit)
		if !ok {
			t.Fatalf("ID %s is not a string literal", vs.Names[0].Name)
		}
		s, _ := strconv.Unquote(lit.Value)
		ids = append(ids, s)
		return true
	})
	return ids
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var placeholderRE = regexp.MustCompile(`\{\{[^}]*\}\}`)
var fieldRE = regexp.MustCompile(`\.([A-Za-z_][A-Za-z0-9_]*)`)

// placeholders returns the fields a message's templates use, over all its
// plural forms.
func placeholders(forms map[string]string) []string {
	set := map[string]bool{}
	for _, text := range forms {
		for _, action := range placeholderRE.FindAllString(text, -1) {
			for _, m := range fieldRE.FindAllStringSubmatch(action, -1) {
				set[m[1]] = true
			}
		}
	}
	return keys(set)
}

// TestEveryMessageInEveryLanguage fails when a text lacks a translation, when
// ids.go and the files disagree, or when a translation uses other
// placeholders than English.
func TestEveryMessageInEveryLanguage(t *testing.T) {
	en := readFile(t, English)
	declared := declaredIDs(t)
	if len(declared) < 100 {
		t.Fatalf("ids.go declares only %d IDs; parsing it went wrong", len(declared))
	}
	for _, id := range declared {
		if _, ok := en[id]; !ok {
			t.Errorf("ids.go declares %q but en.yaml has no such text", id)
		}
	}
	for id := range en {
		if !strings.HasPrefix(id, "role.") && !slices.Contains(declared, id) {
			t.Errorf("en.yaml has %q but ids.go does not declare it", id)
		}
	}
	for _, l := range Langs[1:] {
		other := readFile(t, l)
		for _, id := range keys(en) {
			tr, ok := other[id]
			if !ok {
				t.Errorf("%s.yaml lacks %q", l, id)
				continue
			}
			if want, got := placeholders(en[id]), placeholders(tr); !slices.Equal(want, got) {
				t.Errorf("%s.yaml %q uses placeholders %v; en.yaml uses %v", l, id, got, want)
			}
			for form, text := range tr {
				if strings.TrimSpace(text) == "" {
					t.Errorf("%s.yaml %q (%s) is empty", l, id, form)
				}
			}
		}
		for id := range other {
			if _, ok := en[id]; !ok {
				t.Errorf("%s.yaml has %q, which en.yaml lacks", l, id)
			}
		}
	}
}

// sampleData fills every placeholder of a text with a word.
func sampleData(forms map[string]string) Data {
	d := Data{}
	for _, p := range placeholders(forms) {
		d[p] = "値"
	}
	return d
}

// TestEveryTextRenders executes every template in every language, so a
// template syntax error cannot reach a person.
func TestEveryTextRenders(t *testing.T) {
	c, err := load()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Langs {
		for id, forms := range readFile(t, l) {
			var got string
			if len(forms) > 1 || forms["one"] != "" {
				got = c.Count(l, ID(id), 2, sampleData(forms))
			} else {
				got = c.Text(l, ID(id), sampleData(forms))
			}
			if got == id || strings.Contains(got, "{{") || strings.Contains(got, "<no value>") {
				t.Errorf("%s %q rendered as %q", l, id, got)
			}
		}
	}
}

// TestJapaneseMarkupHasBoundaries: Slack only formats *bold* and `code` whose
// markers touch a space, a line end or ASCII punctuation; Japanese has no
// spaces between words, so a marker glued to a kana would show as a literal
// asterisk or backtick.
func TestJapaneseMarkupHasBoundaries(t *testing.T) {
	c := Default()
	for _, l := range Langs {
		for id, forms := range readFile(t, l) {
			text := c.Count(l, ID(id), 2, sampleData(forms))
			if bad := unformattable(text); bad != "" {
				t.Errorf("%s %q: marker without a boundary near %q in %q", l, id, bad, text)
			}
		}
	}
}

func isBoundary(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune("()[]:;,.!?/-'\"“”…", r)
}

// unformattable returns the neighbourhood of the first marker pair that Slack
// would not format, or "".
func unformattable(s string) string {
	rs := []rune(s)
	at := func(i int) rune {
		if i < 0 || i >= len(rs) {
			return ' '
		}
		return rs[i]
	}
	for i := 0; i < len(rs); i++ {
		m := rs[i]
		if m != '*' && m != '`' {
			continue
		}
		j := i + 1
		for j < len(rs) && rs[j] != m && rs[j] != '\n' {
			j++
		}
		if j >= len(rs) || rs[j] != m {
			continue // a lone marker is shown as it is, which is intended
		}
		if !isBoundary(at(i-1)) || !isBoundary(at(j+1)) {
			return string(rs[max(0, i-3):min(len(rs), j+4)])
		}
		i = j
	}
	return ""
}

func TestUnformattableCatchesGluedMarkers(t *testing.T) {
	for s, want := range map[string]bool{
		"ロールは *ユーザー管理者* です": false,
		"ロールは*ユーザー管理者*です":   true,
		"(`a`) ok":    false,
		"値`コード`値":     true,
		"*Status:* x": false,
	} {
		if got := unformattable(s) != ""; got != want {
			t.Errorf("unformattable(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestPluralForms(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		l    Lang
		id   ID
		n    int
		want string
	}{
		{English, PartnerWaitSeconds, 1, "1 second"},
		{English, PartnerWaitSeconds, 2, "2 seconds"},
		{English, PartnerWaitSeconds, 0, "0 seconds"},
		{Japanese, PartnerWaitSeconds, 1, "1 秒"},
		{Japanese, PartnerWaitSeconds, 5, "5 秒"},
		{English, RolesSome, 1, "the admin role X"},
		{English, RolesSome, 3, "the admin roles X"},
		{Japanese, RolesSome, 1, "X"},
	} {
		if got := c.Count(tc.l, tc.id, tc.n, Data{"Roles": "X"}); got != tc.want {
			t.Errorf("Count(%s, %s, %d) = %q, want %q", tc.l, tc.id, tc.n, got, tc.want)
		}
	}
}

func TestTextFillsValuesVerbatim(t *testing.T) {
	// The catalogue never escapes: values arrive escaped, and escaping again
	// would show &amp;lt; to people.
	got := Default().Text(English, ReplyWithdrawNotRequester, Data{"Requester": "U1&lt;"})
	if want := "Only <@U1&lt;>, who made this request, can withdraw it."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := Default().Text(Lang("fr"), ReplyWithdrawn, nil); got != "Your request was withdrawn." {
		t.Errorf("an unknown language should read English, got %q", got)
	}
	if got := Default().Text(Japanese, ID("no.such.text"), nil); got != "no.such.text" {
		t.Errorf("an unknown ID should show itself, got %q", got)
	}
}

func TestParseLang(t *testing.T) {
	for in, want := range map[string]Lang{
		"ja": Japanese, "ja-JP": Japanese, "ja_JP": Japanese, "JA": Japanese,
		"en": English, "en-US": English, "en-GB": English, " en ": English,
		"fr-FR": "", "": "", "jp": "", "english": "",
	} {
		got, ok := ParseLang(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseLang(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got := Lang("").Or(Japanese); got != Japanese {
		t.Errorf("Or: %q", got)
	}
}

func TestDate(t *testing.T) {
	c := Default()
	at := time.Date(2026, 11, 30, 14, 5, 0, 0, time.FixedZone("JST", 9*3600))
	for _, tc := range []struct {
		l    Lang
		id   ID
		want string
	}{
		{English, DateAt, "<!date^1796015100^{date_short_pretty} at {time}|2026-11-30 05:05 UTC>"},
		{English, DatePlain, "<!date^1796015100^{date_short_pretty} {time}|2026-11-30 05:05 UTC>"},
		{Japanese, DateAt, "<!date^1796015100^{date_short_pretty} {time}|2026-11-30 05:05 UTC>"},
	} {
		if got := c.Date(tc.l, tc.id, at); got != tc.want {
			t.Errorf("Date(%s, %s) = %q, want %q", tc.l, tc.id, got, tc.want)
		}
	}
	if got := c.Date(English, DateAt, time.Time{}); got != "—" {
		t.Errorf("zero time: %q", got)
	}
}

func TestRoleNames(t *testing.T) {
	c := Default()
	for en, ja := range map[string]string{
		"User Administrator":                      "ユーザー管理者",
		"Privileged Authentication Administrator": "特権認証管理者",
		"Helpdesk Administrator":                  "ヘルプデスク管理者",
		"Password Administrator":                  "パスワード管理者",
		"Global Administrator":                    "グローバル管理者",
	} {
		if got := c.RoleName(Japanese, en); got != ja {
			t.Errorf("RoleName(ja, %q) = %q, want %q", en, got, ja)
		}
		if got := c.RoleName(English, en); got != en {
			t.Errorf("RoleName(en, %q) = %q", en, got)
		}
	}
	if got := c.RoleName(Japanese, "Brand New Administrator"); got != "Brand New Administrator" {
		t.Errorf("unknown role: %q", got)
	}
	if got := c.List(Japanese, []string{"a", "b"}); got != "a、b" {
		t.Errorf("List: %q", got)
	}
}

// BenchmarkText is the cost of one rendered text with placeholders, paid a
// few times per Slack message.
func BenchmarkText(b *testing.B) {
	c := Default()
	d := Data{"Approver": "U0BOB", "User": "alice@contoso.com", "Customer": "Contoso Ltd", "UseBy": "<!date^1^{time}|x>"}
	for _, l := range Langs {
		b.Run(string(l), func(b *testing.B) {
			for b.Loop() {
				_ = c.Text(l, NoticeApproved, d)
			}
		})
	}
}
