// Package messages owns every text locksmith shows a person in Slack, in
// English and Japanese. The texts live in en.yaml and ja.yaml, embedded in the
// binary and read with go-i18n, which brings CLDR plural rules; callers ask for
// a text by a typed ID (ids.go) in a Lang.
//
// Escaping stays with the callers: every value put into a text must already be
// escaped for Slack (commands.Escape), and the catalogue's own texts are
// trusted mrkdwn. docs/i18n.md explains the design.
package messages

import (
	"embed"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

//go:embed en.yaml ja.yaml
var files embed.FS

// ID names one text of the catalogue.
type ID string

// Data holds the values a text's placeholders ({{.Name}}) are filled with.
// Strings must already be escaped for Slack.
type Data map[string]any

// Catalog renders texts. It is safe for concurrent use.
type Catalog struct {
	localizers map[Lang]*i18n.Localizer
}

// load reads the embedded message files. They are part of the binary and
// checked by the package's tests, so a failure is a build defect.
func load() (*Catalog, error) {
	bundle := i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	for _, l := range Langs {
		name := string(l) + ".yaml"
		if _, err := bundle.LoadMessageFileFS(files, name); err != nil {
			return nil, fmt.Errorf("messages: %s: %w", name, err)
		}
	}
	c := &Catalog{localizers: make(map[Lang]*i18n.Localizer, len(Langs))}
	for _, l := range Langs {
		c.localizers[l] = i18n.NewLocalizer(bundle, string(l))
	}
	return c, nil
}

var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := load()
	if err != nil {
		panic(err)
	}
	return c
})

// Default returns the catalogue built into the binary.
func Default() *Catalog { return defaultCatalog() }

func (c *Catalog) localizer(l Lang) *i18n.Localizer {
	if loc, ok := c.localizers[l]; ok {
		return loc
	}
	return c.localizers[English]
}

// Text returns the text id in language l with data filled in. A text missing
// in l falls back to English (the tests make sure none is missing); an ID
// missing everywhere comes back as the ID itself, so the mistake shows.
func (c *Catalog) Text(l Lang, id ID, data Data) string {
	return c.render(l, id, data, nil)
}

// Count is Text for a text with plural forms: count chooses the form by the
// language's CLDR rules and is available to the text as {{.Count}}.
func (c *Catalog) Count(l Lang, id ID, count int, data Data) string {
	d := make(Data, len(data)+1)
	for k, v := range data {
		d[k] = v
	}
	d["Count"] = count
	return c.render(l, id, d, count)
}

func (c *Catalog) render(l Lang, id ID, data Data, count any) string {
	cfg := &i18n.LocalizeConfig{MessageID: string(id), PluralCount: count}
	if data != nil {
		cfg.TemplateData = map[string]any(data)
	}
	s, err := c.localizer(l).Localize(cfg)
	if s == "" && err != nil {
		return string(id)
	}
	return s
}

// Date renders t for Slack's <!date> syntax in the style id (DateAt or
// DatePlain): Slack shows it in each reader's own time zone and language. The
// fallback, for clients that cannot format dates, is UTC. The zero time is a
// dash.
func (c *Catalog) Date(l Lang, id ID, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return fmt.Sprintf("<!date^%d^%s|%s>", t.Unix(), c.Text(l, id, nil), t.UTC().Format("2006-01-02 15:04 UTC"))
}

// List joins already-escaped items with the language's list separator.
func (c *Catalog) List(l Lang, items []string) string {
	return strings.Join(items, c.Text(l, ListSeparator, nil))
}

// RoleName returns an Entra role's name as Microsoft writes it in l, given its
// English name. A role the catalogue does not know keeps its English name:
// Partner Center may report roles newer than this list.
func (c *Catalog) RoleName(l Lang, english string) string {
	id := ID("role." + english)
	s, err := c.localizer(l).Localize(&i18n.LocalizeConfig{MessageID: string(id)})
	if err != nil && s == "" {
		return english
	}
	return s
}
