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
	"sync"
	"unicode"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// Supported lists the languages of the bot, the state language first.
var Supported = []string{"kk", "ru", "en"}

// Default is the language used when the client's language is not supported.
const Default = "kk"

//go:embed *.toml
var files embed.FS

// Catalog formats the bot's messages in the supported languages.
type Catalog struct {
	// msgs holds each message's forms, parsed, by language and id.
	msgs  map[string]map[string]*message
	ids   []string
	words map[string]string // normalised button label → message id
	// clashes are the words RegisterWords found registered to another id
	// (WordClashes).
	clashes []string
	// labels holds, by message id, its labels and other words as IsWord
	// compares them (map[string]bool), folded once at the first use
	// instead of at every typed text.
	labels sync.Map
}

// message is one message in one language: its text for each plural form
// it has ("other" alone when it has no plural). An "other" that uses no
// data is kept only as its text, formatted at load (isPlain): most texts
// and every button label are such, and are asked for that way. (A map of
// forms and the parsed pieces of every plain text made the catalog 1.5 MB
// of the bot's heap; 0.5 MB this way.)
type message struct {
	forms   *[numForms]text // nil when the message is a plain "other" alone
	plain   string
	isPlain bool
}

// form returns the text of plural form f and whether the message has it;
// a plain "other" is (nil, true), its text being m.plain.
func (m *message) form(f int) (text, bool) {
	if f == formOther && m.isPlain {
		return nil, true
	}
	if m.forms == nil {
		return nil, false
	}
	return m.forms[f], m.forms[f] != nil
}

// Load reads the embedded message files.
func Load() (*Catalog, error) {
	return LoadFS(files)
}

// LoadFS reads message files named NAME.LANG.toml from fsys. go-i18n
// parses the files; the catalog formats the messages itself (format.go).
func LoadFS(fsys fs.FS) (*Catalog, error) {
	names, err := fs.Glob(fsys, "*.toml")
	if err != nil {
		return nil, err
	}
	c := &Catalog{msgs: map[string]map[string]*message{}, words: map[string]string{}}
	seen := map[string]bool{}
	for _, name := range names {
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		mf, err := i18n.ParseMessageFileBytes(buf, name, map[string]i18n.UnmarshalFunc{"toml": toml.Unmarshal})
		if err != nil {
			return nil, fmt.Errorf("locales: %s: %w", name, err)
		}
		base, _ := mf.Tag.Base()
		lang := base.String()
		if c.msgs[lang] == nil {
			c.msgs[lang] = map[string]*message{}
		}
		for _, m := range mf.Messages {
			if m.LeftDelim != "" || m.RightDelim != "" {
				return nil, fmt.Errorf("locales: %s: %s: delimiters other than {{ }} are not supported", name, m.ID)
			}
			var forms [numForms]text
			plural := false
			for form, src := range [numForms]string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other} {
				if src == "" {
					continue
				}
				t, err := parseText(src)
				if err != nil {
					return nil, fmt.Errorf("locales: %s: %s (%s): %w", name, m.ID, formNames[form], err)
				}
				forms[form] = t
				plural = plural || form != formOther
			}
			msg := &message{}
			if forms[formOther] != nil {
				if msg.plain, msg.isPlain = forms[formOther].plain(); msg.isPlain {
					forms[formOther] = nil
				}
			}
			if plural || !msg.isPlain {
				msg.forms = &forms
			}
			c.msgs[lang][m.ID] = msg
			seen[m.ID] = true
		}
	}
	for id := range seen {
		c.ids = append(c.ids, id)
	}
	sort.Strings(c.ids)
	return c, nil
}

// IDs returns every message id of the catalog, sorted.
func (c *Catalog) IDs() []string { return c.ids }

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
// ({{.Name}}). A message missing in lang is taken from the default
// language, one missing everywhere is its id: either is logged, and a user
// never sees an empty reply.
func (c *Catalog) T(lang, id string, data map[string]any) string {
	if data == nil {
		if m := c.msgs[lang][id]; m != nil && m.isPlain {
			return m.plain
		}
	}
	return c.format(lang, id, nil, data)
}

// N formats a plural message id for count in lang; {{.Count}} is available
// to the message.
func (c *Catalog) N(lang, id string, count int, data map[string]any) string {
	d := make(map[string]any, len(data)+1)
	d["Count"] = count
	for k, v := range data {
		d[k] = v
	}
	return c.format(lang, id, &count, d)
}

// format formats message id in lang (else in the default language), in the
// plural form of count when there is one (a form the message lacks: its
// "other").
func (c *Catalog) format(lang, id string, count *int, data map[string]any) string {
	m := c.msgs[lang][id]
	if m == nil {
		slog.Error("locales: message missing", "id", id, "lang", lang)
		lang = Default
		if m = c.msgs[lang][id]; m == nil {
			return id
		}
	}
	form := formOther
	if count != nil {
		form = pluralForm(lang, *count)
	}
	t, ok := m.form(form)
	if !ok {
		slog.Error("locales: plural form missing", "id", id, "lang", lang, "form", formNames[form])
		if t, ok = m.form(formOther); !ok {
			return id
		}
	}
	if t == nil {
		return m.plain
	}
	var b strings.Builder
	t.format(&b, data)
	return b.String()
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
//
// Registering a word again is only a read: handlers made again on the same
// catalog (a restart in the tests) do not write to what others read.
func (c *Catalog) RegisterWords(ids ...string) {
	for _, id := range ids {
		for _, label := range c.All(id) {
			c.registerWord(normWord(label), id)
		}
		for _, w := range c.Also(id) {
			if w := normWord(w); w != "" {
				c.registerWord(w, id)
			}
		}
	}
}

func (c *Catalog) registerWord(w, id string) {
	switch old := c.words[w]; old {
	case id:
	case "":
		c.words[w] = id
	default:
		// The last registration wins, and a typed word reaches one button
		// only: a clash is a mistake in the message files (WordClashes).
		c.clashes = append(c.clashes, w+": "+old+" and "+id)
		c.words[w] = id
	}
}

// WordClashes lists the words registered for two message ids, each as
// "word: first id and second id". The handlers' tests fail on any.
func (c *Catalog) WordClashes() []string { return c.clashes }

// Also returns the other words for message id (message ID_also, "|"
// separated) in every language that has them.
func (c *Catalog) Also(id string) []string {
	var out []string
	for _, lang := range Supported {
		if also := c.msgs[lang][id+"_also"]; also != nil && also.isPlain {
			out = append(out, strings.Split(also.plain, "|")...)
		}
	}
	return out
}

// IsWord tells whether text is the label of message id in any language,
// or one of its other words (ID_also), as Word compares them: a button's
// label typed, whether or not id was registered.
func (c *Catalog) IsWord(text, id string) bool {
	labels, ok := c.labels.Load(id)
	if !ok {
		folded := map[string]bool{}
		for _, l := range append(c.All(id), c.Also(id)...) {
			if f := normWord(l); f != "" {
				folded[f] = true
			}
		}
		labels, _ = c.labels.LoadOrStore(id, folded)
	}
	return labels.(map[string]bool)[normWord(text)]
}

// Word returns the message id whose label in any language is text.
func (c *Catalog) Word(text string) (string, bool) {
	id, ok := c.words[normWord(text)]
	return id, ok
}

// Fold is how typed words are compared with labels: case folded, emoji
// and punctuation at the edges dropped, spaces collapsed, so that "🏠
// Houses of Friendship" and "houses of friendship" match; and the letters
// of Kazakh that a Russian keyboard lacks taken for the ones typed in
// their place (ә а, ғ г, қ к, ң н, ө о, ұ ү у, һ х, і и; ё е; and a Latin
// i in a Cyrillic word), so that "Отбасылык" typed on a phone without
// Kazakh letters is "Отбасылық".
func Fold(s string) string { return normWord(s) }

// kazakhLetters maps what Fold takes as typed for each Kazakh letter.
var kazakhLetters = strings.NewReplacer("ә", "а", "ғ", "г", "қ", "к", "ң", "н", "ө", "о", "ұ", "у", "ү", "у",
	"һ", "х", "і", "и", "ё", "е")

func normWord(s string) string {
	s = kazakhLetters.Replace(strings.ToLower(s))
	if strings.ContainsRune(s, 'i') && strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Cyrillic, r) }) {
		s = strings.ReplaceAll(s, "i", "и") // a Latin i typed for і in a Cyrillic word ("Сәлеметсiз")
	}
	s = strings.TrimFunc(s, func(r rune) bool {
		return !unicode.IsDigit(r) && !unicode.In(r, unicode.Latin, unicode.Cyrillic)
	})
	return strings.Join(strings.Fields(s), " ")
}
