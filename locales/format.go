package locales

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// A text is one form of a message, parsed once at load: literal text,
// fields of the data ({{.Name}}) and conditionals ({{if .Name}} … {{else}}
// … {{end}}), the whole of the template language the message files use,
// formatted as text/template formats them (go-i18n's own formatting, which
// the tests compare it with). Formatting through text/template cost a
// parse-free but reflective walk per message, and its reflection made the
// linker keep every method of every type behind an interface: 8 MB of the
// executable (docs/BENCHMARKS.md, sixth round).
type text []node

// node is one piece of a text: lit, or a field, or a conditional.
type node struct {
	lit   string
	field string // {{.field}}
	cond  *cond
}

// cond is {{if .name}}then{{else}}els{{end}}.
type cond struct {
	name      string
	then, els text
}

// The plural forms, as indices of a message's forms.
const (
	formZero = iota
	formOne
	formTwo
	formFew
	formMany
	formOther
	numForms
)

var formNames = [numForms]string{"zero", "one", "two", "few", "many", "other"}

// parseText parses src, refusing any action the message files do not use,
// so that a translator's typo fails at load, not in front of a citizen.
func parseText(src string) (text, error) {
	t, rest, end, err := parseUntil(src, false)
	if err != nil {
		return nil, err
	}
	if end != "" || rest != "" {
		return nil, fmt.Errorf("{{%s}} without {{if}}", end)
	}
	return t, nil
}

// parseUntil parses src up to an {{else}} or {{end}} when inIf (returned
// as end, with what follows it as rest), or to the end of src.
func parseUntil(src string, inIf bool) (t text, rest, end string, err error) {
	for src != "" {
		i := strings.Index(src, "{{")
		if i < 0 {
			t = append(t, node{lit: src})
			break
		}
		if i > 0 {
			t = append(t, node{lit: src[:i]})
		}
		j := strings.Index(src[i:], "}}")
		if j < 0 {
			return nil, "", "", fmt.Errorf("unclosed action %q", src[i:])
		}
		action := strings.TrimSpace(src[i+2 : i+j])
		src = src[i+j+2:]
		switch {
		case action == "else" || action == "end":
			if !inIf {
				return nil, "", "", fmt.Errorf("{{%s}} without {{if}}", action)
			}
			return t, src, action, nil
		case strings.HasPrefix(action, "if "):
			name, ok := fieldName(strings.TrimSpace(action[3:]))
			if !ok {
				return nil, "", "", fmt.Errorf("unsupported condition {{%s}}", action)
			}
			c := &cond{name: name}
			var end string
			c.then, src, end, err = parseUntil(src, true)
			if err != nil {
				return nil, "", "", err
			}
			if end == "else" {
				c.els, src, end, err = parseUntil(src, true)
				if err != nil {
					return nil, "", "", err
				}
			}
			if end != "end" {
				return nil, "", "", fmt.Errorf("{{if %s}} without {{end}}", name)
			}
			t = append(t, node{cond: c})
		default:
			name, ok := fieldName(action)
			if !ok {
				return nil, "", "", fmt.Errorf("unsupported action {{%s}}", action)
			}
			t = append(t, node{field: name})
		}
	}
	if inIf {
		return nil, "", "", fmt.Errorf("{{if}} without {{end}}")
	}
	return t, "", "", nil
}

// fieldName reads ".Name".
func fieldName(s string) (string, bool) {
	if len(s) < 2 || s[0] != '.' {
		return "", false
	}
	for _, r := range s[1:] {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return "", false
		}
	}
	return s[1:], true
}

// format writes t with data into b.
func (t text) format(b *strings.Builder, data map[string]any) {
	for _, n := range t {
		switch {
		case n.field != "":
			b.WriteString(printed(data[n.field]))
		case n.cond != nil:
			if truth(data[n.cond.name]) {
				n.cond.then.format(b, data)
			} else {
				n.cond.els.format(b, data)
			}
		default:
			b.WriteString(n.lit)
		}
	}
}

// plain is t's text when it has no fields or conditionals.
func (t text) plain() (string, bool) {
	var b strings.Builder
	for _, n := range t {
		if n.field != "" || n.cond != nil {
			return "", false
		}
		b.WriteString(n.lit)
	}
	return b.String(), true
}

// printed is v as text/template prints it: a missing value as "<no value>".
func printed(v any) string {
	switch v := v.(type) {
	case nil:
		return "<no value>"
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case fmt.Stringer, error:
		return fmt.Sprint(v)
	}
	// A pointer prints what it points to, as in text/template.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return printed(rv.Elem().Interface())
	}
	return fmt.Sprint(v)
}

// truth is text/template's truth of v: false for a missing value, zero
// numbers, false, and empty strings, slices and maps.
func truth(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case int:
		return v != 0
	case bool:
		return v
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return rv.Len() > 0
	case reflect.Bool:
		return rv.Bool()
	case reflect.Complex64, reflect.Complex128:
		return rv.Complex() != 0
	case reflect.Chan, reflect.Func, reflect.Pointer, reflect.Interface:
		return !rv.IsNil()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() != 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint() != 0
	}
	return true
}

// pluralForm is the CLDR plural category of the whole number n in lang
// (kk and en: one, other; ru: one, few, many).
func pluralForm(lang string, n int) int {
	if n < 0 {
		n = -n
	}
	switch lang {
	case "ru":
		switch d, dd := n%10, n%100; {
		case d == 1 && dd != 11:
			return formOne
		case d >= 2 && d <= 4 && (dd < 12 || dd > 14):
			return formFew
		default:
			return formMany
		}
	default:
		if n == 1 {
			return formOne
		}
		return formOther
	}
}
