// Package locales holds the kk, ru and en message files, embedded in the
// binary, and the code that picks and formats them.
package locales

import (
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"unicode"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Supported lists the languages of the bot, the state language first.
var Supported = []string{"kk", "ru", "en"}

// Default is the language used when the client's language is not supported.
const Default = "kk"

//go:embed *.toml
var files embed.FS

// Catalog formats the bot's messages in the supported languages.
type Catalog struct {
	bundle     *i18n.Bundle
	localizers map[string]*i18n.Localizer
	ids        []string
	words      map[string]string // normalised button label → message id
	// plain holds each message formatted without data, by language and
	// id: most texts and every button label are asked for that way, and
	// go-i18n matches the language tags again on every call.
	plain map[string]map[string]string
}

// Load reads the embedded message files.
func Load() (*Catalog, error) {
	return LoadFS(files)
}

// LoadFS reads message files named NAME.LANG.toml from fsys.
func LoadFS(fsys fs.FS) (*Catalog, error) {
	bundle := i18n.NewBundle(language.Kazakh)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	names, err := fs.Glob(fsys, "*.toml")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, name := range names {
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		mf, err := bundle.ParseMessageFileBytes(buf, name)
		if err != nil {
			return nil, fmt.Errorf("locales: %s: %w", name, err)
		}
		for _, m := range mf.Messages {
			seen[m.ID] = true
		}
	}
	c := &Catalog{bundle: bundle, localizers: map[string]*i18n.Localizer{}, words: map[string]string{}}
	for _, lang := range Supported {
		c.localizers[lang] = i18n.NewLocalizer(bundle, lang)
	}
	for id := range seen {
		c.ids = append(c.ids, id)
	}
	sort.Strings(c.ids)
	c.plain = map[string]map[string]string{}
	for _, lang := range Supported {
		c.plain[lang] = map[string]string{}
		for _, id := range c.ids {
			if s, err := c.localizers[lang].Localize(&i18n.LocalizeConfig{MessageID: id}); err == nil {
				c.plain[lang][id] = s
			}
		}
	}
	return c, nil
}

// IDs returns every message id of the catalog, sorted.
func (c *Catalog) IDs() []string { return c.ids }

// Bundle exposes the underlying go-i18n bundle (used by completeness tests).
func (c *Catalog) Bundle() *i18n.Bundle { return c.bundle }

// Lang returns lang when it is supported, otherwise Default. It accepts
// Telegram language codes such as "ru-RU".
func Lang(code string) string {
	code = strings.ToLower(strings.TrimSpace(code))
	if i := strings.IndexAny(code, "-_"); i > 0 {
		code = code[:i]
	}
	for _, l := range Supported {
		if l == code {
			return l
		}
	}
	return Default
}

// IsSupported tells whether code is exactly one of the supported languages.
func IsSupported(code string) bool {
	for _, l := range Supported {
		if l == code {
			return true
		}
	}
	return false
}

// T formats message id in lang. data fills the message's placeholders
// ({{.Name}}). A missing message is logged and its id returned, so a user
// never sees an empty reply and the process never panics.
func (c *Catalog) T(lang, id string, data map[string]any) string {
	if data == nil {
		if s, ok := c.plain[lang][id]; ok {
			return s
		}
	}
	return c.localize(lang, &i18n.LocalizeConfig{MessageID: id, TemplateData: data})
}

// N formats a plural message id for count in lang; {{.Count}} is available
// to the message.
func (c *Catalog) N(lang, id string, count int, data map[string]any) string {
	d := map[string]any{"Count": count}
	for k, v := range data {
		d[k] = v
	}
	return c.localize(lang, &i18n.LocalizeConfig{MessageID: id, PluralCount: count, TemplateData: d})
}

func (c *Catalog) localize(lang string, cfg *i18n.LocalizeConfig) string {
	l, ok := c.localizers[lang]
	if !ok {
		l = c.localizers[Default]
	}
	s, err := l.Localize(cfg)
	if err != nil {
		slog.Error("locales: message missing", "id", cfg.MessageID, "lang", lang, "err", err)
		if s == "" {
			return cfg.MessageID
		}
	}
	return s
}

// All returns message id formatted in every supported language.
func (c *Catalog) All(id string) []string {
	out := make([]string, 0, len(Supported))
	for _, l := range Supported {
		out = append(out, c.T(l, id, nil))
	}
	return out
}

// RegisterWords makes the labels of the given message ids, in every
// language, recognisable by Word. Button labels are registered this way so
// that typing "Дома дружбы" works for a user whose interface is Kazakh. A
// message ID_also, where a language has it, lists other words people type
// for the same thing, separated by "|" (the singular "Дом дружбы").
func (c *Catalog) RegisterWords(ids ...string) {
	for _, id := range ids {
		for _, label := range c.All(id) {
			c.words[normWord(label)] = id
		}
		for _, w := range c.Also(id) {
			if w := normWord(w); w != "" {
				c.words[w] = id
			}
		}
	}
}

// Also returns the other words for message id (message ID_also, "|"
// separated) in every language that has them.
func (c *Catalog) Also(id string) []string {
	var out []string
	for _, lang := range Supported {
		if also, ok := c.plain[lang][id+"_also"]; ok {
			out = append(out, strings.Split(also, "|")...)
		}
	}
	return out
}

// Word returns the message id whose label in any language is text.
func (c *Catalog) Word(text string) (string, bool) {
	id, ok := c.words[normWord(text)]
	return id, ok
}

// normWord folds case, drops emoji and punctuation at the edges, and
// collapses spaces, so that "🏠 Houses of Friendship" and "houses of
// friendship" match.
func normWord(s string) string {
	s = strings.ToLower(s)
	s = strings.TrimFunc(s, func(r rune) bool {
		return !unicode.IsDigit(r) && !unicode.In(r, unicode.Latin, unicode.Cyrillic)
	})
	return strings.Join(strings.Fields(s), " ")
}
