package locales

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"text/template"
	"time"
	"unicode"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// pluralForms are the CLDR plural forms each language needs (go-i18n's
// rules: kk and en one/other, ru one/few/many/other).
var pluralForms = map[string][]string{
	"kk": {"one", "other"},
	"ru": {"one", "few", "many", "other"},
	"en": {"one", "other"},
}

var placeholderRe = regexp.MustCompile(`\{\{\s*\.(\w+)`)

// catalogProblems lists what is wrong with the message files in fsys: a
// message missing in a language, placeholders that differ between
// languages, a plural message lacking a form its language needs, a feature
// without a file in every language.
func catalogProblems(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "*.toml")
	if err != nil {
		return nil, err
	}
	var problems []string
	msgs := map[string]map[string]*i18n.Message{} // id → lang → message
	features := map[string]map[string]bool{}      // NAME → langs with a file
	for _, name := range names {
		parts := strings.Split(path.Base(name), ".")
		if len(parts) != 3 || pluralForms[parts[1]] == nil {
			problems = append(problems, fmt.Sprintf("%s: name must be NAME.LANG.toml with LANG one of kk, ru, en", name))
			continue
		}
		feature, lang := parts[0], parts[1]
		if features[feature] == nil {
			features[feature] = map[string]bool{}
		}
		features[feature][lang] = true
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		mf, err := i18n.ParseMessageFileBytes(buf, name, map[string]i18n.UnmarshalFunc{"toml": toml.Unmarshal})
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		for _, m := range mf.Messages {
			if msgs[m.ID] == nil {
				msgs[m.ID] = map[string]*i18n.Message{}
			}
			if _, dup := msgs[m.ID][lang]; dup {
				problems = append(problems, fmt.Sprintf("%s: %s is defined twice in %s", name, m.ID, lang))
			}
			msgs[m.ID][lang] = m
		}
	}
	for feature, langs := range features {
		for _, lang := range Supported {
			if !langs[lang] {
				problems = append(problems, fmt.Sprintf("%s.%s.toml is missing", feature, lang))
			}
		}
	}
	for id, byLang := range msgs {
		plural := false
		for _, m := range byLang {
			plural = plural || m.Zero != "" || m.One != "" || m.Two != "" || m.Few != "" || m.Many != ""
		}
		var want map[string]bool
		var wantLang string
		for _, lang := range Supported {
			m, ok := byLang[lang]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s is missing in %s", id, lang))
				continue
			}
			forms := messageForms(m)
			if plural {
				for _, f := range pluralForms[lang] {
					if forms[f] == "" {
						problems = append(problems, fmt.Sprintf("%s (plural) lacks the %q form in %s", id, f, lang))
					}
				}
			} else if strings.TrimSpace(m.Other) == "" {
				problems = append(problems, fmt.Sprintf("%s is empty in %s", id, lang))
			}
			got := placeholders(forms)
			if want == nil {
				want, wantLang = got, lang
			} else if !sameSet(want, got) {
				problems = append(problems, fmt.Sprintf("%s: placeholders differ: %s has %v, %s has %v",
					id, wantLang, sortedKeys(want), lang, sortedKeys(got)))
			}
		}
	}
	sort.Strings(problems)
	return problems, nil
}

func messageForms(m *i18n.Message) map[string]string {
	return map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many, "other": m.Other}
}

// placeholders returns the {{.Name}} fields used by any form. Count is left
// out: a plural form may spell the number ("один дом") instead.
func placeholders(forms map[string]string) map[string]bool {
	out := map[string]bool{}
	for _, s := range forms {
		for _, m := range placeholderRe.FindAllStringSubmatch(s, -1) {
			if m[1] != "Count" {
				out[m[1]] = true
			}
		}
	}
	return out
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The shipped message files are complete in kk, ru and en.
func TestCatalogIsComplete(t *testing.T) {
	problems, err := catalogProblems(files)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if _, err := Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
}

// The completeness check finds each kind of mistake (so that
// TestCatalogIsComplete can fail).
func TestCatalogProblemsAreFound(t *testing.T) {
	fsys := fstest.MapFS{
		"a.kk.toml": {Data: []byte(`
hello = "Сәлем, {{.Name}}"
only_kk = "бар"
[house]
one = "{{.Count}} үй"
other = "{{.Count}} үй"
`)},
		"a.ru.toml": {Data: []byte(`
hello = "Привет, {{.Nmae}}"
only_kk_missing = "нет"
[house]
one = "{{.Count}} дом"
few = "{{.Count}} дома"
other = "{{.Count}} дома"
`)},
		"a.en.toml": {Data: []byte(`
hello = "Hello, {{.Name}}"
only_kk = "yes"
only_kk_missing = "no"
[house]
one = "one house"
other = "{{.Count}} houses"
`)},
		"b.kk.toml": {Data: []byte(`x = "x"`)},
	}
	problems, err := catalogProblems(fsys)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(problems, "\n")
	for _, want := range []string{
		"b.ru.toml is missing",
		"b.en.toml is missing",
		"x is missing in ru",
		"only_kk is missing in ru",
		"only_kk_missing is missing in kk",
		`house (plural) lacks the "many" form in ru`,
		"hello: placeholders differ: kk has [Name], ru has [Nmae]",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problem not found: %q; found:\n%s", want, all)
		}
	}
	for _, p := range problems {
		if strings.HasPrefix(p, "house") && strings.HasSuffix(p, "in en") {
			t.Errorf("en house has one and other, yet %q was reported", p)
		}
	}
}

// Every shipped message renders in every language without error.
func TestEveryMessageRenders(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range c.IDs() {
		for _, lang := range Supported {
			if got := c.T(lang, id, nil); got == "" || got == id {
				t.Errorf("%s in %s rendered as %q", id, lang, got)
			}
		}
	}
	if got := Lang("ru-RU"); got != "ru" {
		t.Errorf(`Lang("ru-RU") = %q`, got)
	}
	if got := Lang("de"); got != Default {
		t.Errorf(`Lang("de") = %q, want the default %q`, got, Default)
	}
}

// Plural messages take the form the count needs in each language.
func TestPluralForms(t *testing.T) {
	c, err := LoadFS(fstest.MapFS{
		"p.kk.toml": {Data: []byte("[house]\none = \"{{.Count}} үй\"\nother = \"{{.Count}} үй\"\n")},
		"p.ru.toml": {Data: []byte("[house]\none = \"{{.Count}} дом\"\nfew = \"{{.Count}} дома\"\nmany = \"{{.Count}} домов\"\nother = \"{{.Count}} дома\"\n")},
		"p.en.toml": {Data: []byte("[house]\none = \"{{.Count}} house\"\nother = \"{{.Count}} houses\"\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang  string
		count int
		want  string
	}{
		{"ru", 1, "1 дом"}, {"ru", 2, "2 дома"}, {"ru", 5, "5 домов"}, {"ru", 11, "11 домов"},
		{"ru", 21, "21 дом"}, {"ru", 24, "24 дома"}, {"en", 1, "1 house"}, {"en", 2, "2 houses"},
		{"kk", 3, "3 үй"},
	} {
		if got := c.N(tc.lang, "house", tc.count, nil); got != tc.want {
			t.Errorf("N(%s, %d) = %q, want %q", tc.lang, tc.count, got, tc.want)
		}
	}
}

// Every message, in every language, with its fields filled and empty
// and, for a plural message, for counts from 0 to 1,100, is formatted as
// go-i18n formats it (text/template, CLDR plural rules); T without data
// answers from the texts formatted at load.
func TestTextsAreWhatGoI18nFormats(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	bundle := i18n.NewBundle(language.Kazakh)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	names, _ := fs.Glob(files, "*.toml")
	for _, name := range names {
		if _, err := bundle.LoadMessageFileFS(files, name); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, lang := range Supported {
		l := i18n.NewLocalizer(bundle, lang)
		for _, id := range c.ids {
			m := c.msgs[lang][id]
			fields := map[string]bool{}
			for _, src := range *cmp.Or(m.forms, &[numForms]text{}) {
				for _, f := range fieldsOf(src) {
					fields[f] = true
				}
			}
			filled, empty := map[string]any{}, map[string]any{}
			for f := range fields {
				filled[f], empty[f] = "‹"+f+"›", ""
			}
			plural := m.forms != nil && m.forms[formOne] != nil
			for _, data := range []map[string]any{nil, filled, empty} {
				if !plural {
					want, err := l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
					if err != nil {
						t.Fatalf("go-i18n: %s in %s: %v", id, lang, err)
					}
					if got := c.T(lang, id, data); got != want {
						t.Fatalf("T(%s, %s, %v) = %q, go-i18n formats %q", lang, id, data, got, want)
					}
					continue
				}
				for count := range 1100 {
					d := map[string]any{"Count": count}
					for k, v := range data {
						d[k] = v
					}
					want, err := l.Localize(&i18n.LocalizeConfig{MessageID: id, PluralCount: count, TemplateData: d})
					if err != nil {
						t.Fatalf("go-i18n: %s in %s for %d: %v", id, lang, count, err)
					}
					if got := c.N(lang, id, count, data); got != want {
						t.Fatalf("N(%s, %s, %d, %v) = %q, go-i18n formats %q", lang, id, count, data, got, want)
					}
				}
			}
			if m.isPlain {
				n++
			}
		}
	}
	if n < len(c.ids) {
		t.Fatalf("%d texts formatted at load for %d messages in %d languages", n, len(c.ids), len(Supported))
	}
	if got, want := c.T("kk", "menu.main", nil), c.T("ru", "menu.main", nil); got == want {
		t.Fatalf("menu.main is %q in kk and ru", got)
	}
}

// fieldsOf lists the fields a text reads.
func fieldsOf(t text) []string {
	var out []string
	for _, n := range t {
		switch {
		case n.field != "":
			out = append(out, n.field)
		case n.cond != nil:
			out = append(out, n.cond.name)
			out = append(out, fieldsOf(n.cond.then)...)
			out = append(out, fieldsOf(n.cond.els)...)
		}
	}
	return out
}

// The template language is parsed as text/template parses it, for what
// the message files use; anything else fails at load.
func TestTextFormatsAsTextTemplate(t *testing.T) {
	n, name := 12, "Дәулет"
	data := map[string]any{"Name": "Айгүл", "N": 3, "Zero": 0, "Empty": "", "Yes": true, "No": false,
		"List": []string{"a"}, "None": []string{}, "Nil": nil, "F": 2.5, "I64": int64(-7),
		"PN": &n, "PName": &name, "When": time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), "Err": errors.New("oops")}
	for _, src := range []string{
		"plain", "{{.Name}}", "Hi, {{ .Name }}!", "{{.N}} {{.F}} {{.I64}} {{.Missing}} {{.Nil}}",
		"{{if .Name}}yes{{end}}", "{{if .Missing}}yes{{else}}no{{end}}",
		"{{if .Zero}}a{{else}}b{{end}}{{if .Empty}}c{{else}}d{{end}}{{if .Yes}}e{{end}}{{if .No}}f{{end}}",
		"{{if .List}}g{{end}}{{if .None}}h{{else}}i{{end}}{{if .Nil}}j{{end}}{{if .F}}k{{end}}",
		"{{if .Name}}{{if .N}}both {{.N}}{{else}}one{{end}}{{else}}none{{end}}.",
		"line one\nline two {{.Name}}", "{{.PN}} {{.PName}} {{.When}} {{.Err}}",
	} {
		parsed, err := parseText(src)
		if err != nil {
			t.Fatalf("parse %q: %v", src, err)
		}
		var got strings.Builder
		parsed.format(&got, data)
		var want strings.Builder
		if err := template.Must(template.New("").Parse(src)).Execute(&want, data); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%q: %q, text/template gives %q", src, got.String(), want.String())
		}
	}
	for _, src := range []string{
		"{{.Name", "{{if .Name}}open", "{{end}}", "{{else}}", "{{range .List}}x{{end}}",
		"{{.Name | printf \"%s\"}}", "{{- .Name}}", "{{template \"x\"}}", "{{if not .Name}}x{{end}}", "{{.A.B}}",
	} {
		if _, err := parseText(src); err == nil {
			t.Errorf("%q was accepted", src)
		}
	}
	if _, err := LoadFS(fstest.MapFS{"p.en.toml": {Data: []byte("[x]\nother = \"{{range .L}}{{end}}\"\n")}}); err == nil {
		t.Error("a message file with {{range}} loaded")
	}
}

// A message missing in a language comes from the default one (kk), in the
// plural form kk's rules give: ru's "one" of 21 is kk's "other".
func TestMissingMessageFallsBackWithItsOwnPluralRules(t *testing.T) {
	c, err := LoadFS(fstest.MapFS{
		"p.kk.toml": {Data: []byte("[x]\none = \"{{.Count}} үй\"\nother = \"{{.Count}} үйлер\"\n")},
		"p.ru.toml": {Data: []byte("[y]\nother = \"y\"\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for count, want := range map[int]string{1: "1 үй", 21: "21 үйлер", 3: "3 үйлер"} {
		if got := c.N("ru", "x", count, nil); got != want {
			t.Errorf("N(ru, x, %d) = %q, want kk's %q", count, got, want)
		}
	}
}

// Typed words without Kazakh letters match the labels that have them
// ("Отбасылык" is "Отбасылық", "Казакша" is "Қазақша"), and taking a
// Kazakh letter for its Russian-keyboard stand-in makes no two different
// labels, or other words, of the shipped catalog the same word where they
// were not before.
func TestFoldTakesRussianKeyboardStandInsForKazakhLetters(t *testing.T) {
	for typed, label := range map[string]string{"Отбасылык": "Отбасылық", "КАЗАКША": "Қазақша", "иа": "Иә",
		"Жок!": "Жоқ", "ракмет": "Рақмет", "Салеметсиз бе": "Сәлеметсіз бе", "тандау": "Таңдау", "Уй": "Үй",
		"Сәлеметсiз бе": "Сәлеметсіз бе", "ӘҒҚҢӨҰҮҺІЁ": "әғқңөұүһіё"} {
		if Fold(typed) != Fold(label) {
			t.Errorf("%q folds to %q, %q to %q", typed, Fold(typed), label, Fold(label))
		}
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	plainFold := func(s string) string { // Fold without the stand-ins
		s = strings.ToLower(s)
		s = strings.TrimFunc(s, func(r rune) bool { return !unicode.IsDigit(r) && !unicode.In(r, unicode.Latin, unicode.Cyrillic) })
		return strings.Join(strings.Fields(s), " ")
	}
	// The pairs of messages (a label with its other words) that share a
	// word or short phrase, folded either way: the stand-ins may add none.
	pairs := func(fold func(string) string) map[[2]string]string {
		by := map[string]map[string]bool{}
		for _, lang := range Supported {
			for id, m := range c.msgs[lang] {
				if !m.isPlain {
					continue
				}
				words := []string{m.plain}
				if base, ok := strings.CutSuffix(id, "_also"); ok {
					id, words = base, strings.Split(m.plain, "|")
				}
				for _, w := range words {
					if len(strings.Fields(w)) > 4 {
						continue // a sentence, not a word typed for a button
					}
					if by[fold(w)] == nil {
						by[fold(w)] = map[string]bool{}
					}
					by[fold(w)][id] = true
				}
			}
		}
		out := map[[2]string]string{}
		for w, ids := range by {
			for a := range ids {
				for b := range ids {
					if a < b {
						out[[2]string{a, b}] = w
					}
				}
			}
		}
		return out
	}
	before := pairs(plainFold)
	for p, w := range pairs(Fold) {
		if _, ok := before[p]; !ok {
			t.Errorf("%s and %s are the same word %q only by the stand-ins", p[0], p[1], w)
		}
	}
}

// BenchmarkCatalogMemory loads the catalog and reports the heap one
// catalog keeps (live-KB) besides the time to load it.
func BenchmarkCatalogMemory(b *testing.B) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	kept, err := Load()
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(kept)
	for b.Loop() {
		if _, err := Load(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1024, "live-KB")
}
