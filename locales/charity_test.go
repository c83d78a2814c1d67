package locales

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

var placeholder = regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)

// flatMessages reads NAME.LANG.toml into message id → text.
func flatMessages(t *testing.T, name string) map[string]string {
	t.Helper()
	buf, err := files.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := toml.Unmarshal(buf, &raw); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				walk(strings.TrimPrefix(prefix+"."+k, "."), sub)
			}
		default:
			out[prefix] = fmt.Sprint(v)
		}
	}
	walk("", raw)
	return out
}

func charityPlaceholders(s string) string {
	var names []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// The charity messages exist in kk, ru and en with the same placeholders.
func TestCharityMessagesInEveryLanguage(t *testing.T) {
	en := flatMessages(t, "charity.en.toml")
	if len(en) < 100 {
		t.Fatalf("only %d charity messages in English", len(en))
	}
	for _, lang := range []string{"kk", "ru"} {
		other := flatMessages(t, "charity."+lang+".toml")
		for id, text := range en {
			tr, ok := other[id]
			if !ok {
				t.Errorf("%s: %s missing", lang, id)
				continue
			}
			if strings.TrimSpace(tr) == "" {
				t.Errorf("%s: %s empty", lang, id)
			}
			if charityPlaceholders(tr) != charityPlaceholders(text) {
				t.Errorf("%s: %s has placeholders %q, English %q", lang, id, charityPlaceholders(tr), charityPlaceholders(text))
			}
		}
		for id := range other {
			if _, ok := en[id]; !ok {
				t.Errorf("%s: %s is not in English", lang, id)
			}
		}
	}
}
