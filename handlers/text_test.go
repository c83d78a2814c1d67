package handlers

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Сәлем, Dostyq!", "Сәлем, Dostyq!"},
		{"NFD to NFC", "Cafe\u0301 Алматы", "Caf\u00e9 Алматы"},
		{"NFD Kazakh letter", "\u0418\u0306", "\u0419"},
		{"newlines and tabs kept", "line one\nline two\n\tindented", "line one\nline two\n\tindented"},
		{"CR and other controls removed", "a\rb\x00c\x07d\x1be\u0085f", "abcdef"},
		{"bidi embeddings and overrides", "\u202aa\u202bb\u202cc\u202dd\u202ee", "abcde"},
		{"bidi isolates", "\u2066a\u2067b\u2068c\u2069d", "abcd"},
		{"zero width", "a\u200bb\u200cc\u200dd", "abcd"},
		{"byte order mark", "\ufeffhello", "hello"},
		{"leading and trailing space", "  \n hello \t ", "hello"},
		{"invalid UTF-8 dropped", "ok\xff\xfeok", "okok"},
		{"emoji kept", "🏠 Достық үйі", "🏠 Достық үйі"},
		{"only invisible", "\u200b\u202e\ufeff", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CleanText(tc.in); got != tc.want {
				t.Errorf("CleanText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTruncateRunes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"Қазақстан", 5, "Қаза…"},
		{"Ассамблея народа", 9, "Ассамбле…"},
		{"🏠🏠🏠🏠", 3, "🏠🏠…"},
		{"Қазақстан", 1, "…"},
		{"Қазақстан", 0, ""},
	} {
		got := truncateRunes(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("truncateRunes(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > tc.n {
			t.Errorf("truncateRunes(%q, %d) = %q: invalid UTF-8 or longer than %d runes", tc.in, tc.n, got, tc.n)
		}
	}
	long := strings.Repeat("ү", 5000)
	if got := truncateRunes(long, 190); utf8.RuneCountInString(got) != 190 || !strings.HasSuffix(got, "…") {
		t.Errorf("5,000 runes cut to 190: got %d runes", utf8.RuneCountInString(got))
	}
}

func TestLeadingCount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"5", 5, true}, {" 12 ", 12, true}, {"5 адам", 5, true}, {"5 человек", 5, true},
		{"3 people", 3, true}, {"4адам", 4, true},
		{"", 0, false}, {"3-4", 0, false}, {"2 adults 3 children", 0, false},
		{"-1", 0, false}, {"5.5", 0, false},
		// In words, as a grandmother writes it.
		{"бес", 5, true}, {"Бесеуміз", 5, true}, {"бесеумиз", 5, true}, {"біз алтауымыз", 6, true},
		{"бес адам", 5, true}, {"он бір", 11, true}, {"Біз он екеуміз.", 12, true}, {"жиырма", 20, true},
		{"нас пятеро", 5, true}, {"Семь человек", 7, true}, {"двое", 2, true}, {"five", 5, true},
		{"we are five", 5, true}, {"five of us", 5, true}, {"alone", 1, true}, {"жалғызбын", 0, false},
		{"үш бала және екеуміз", 0, false}, {"двое взрослых и трое детей", 0, false},
		{"көп", 0, false}, {"много", 0, false}, {"он", 10, true}, {"бес 5", 0, false},
		// A number word inside a sentence is not the family's size.
		{"Я одна с двумя детьми", 0, false}, {"Я и трое детей", 0, false}, {"У меня пятеро детей", 0, false},
		{"Бес балам бар", 0, false}, {"Я и он", 0, false}, {"он один", 0, false}, {"No one works", 0, false},
		{"I live alone", 0, false},
		// A number after "we" or "we are", the words of a count after it.
		{"нас 5 человек", 5, true}, {"Біз 5 адамбыз", 5, true}, {"we are 5", 5, true}, {"пятеро нас", 5, true},
		{"Бізде алты адам", 6, true}, {"алтаумыз", 6, true}, {"сегизбиз", 8, true},
		{"у нас 5 детей", 0, false}, {"мне 75 лет", 0, false}, {"нас 2 и 3 детей", 0, false},
	} {
		got, err := leadingCount(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("leadingCount(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
