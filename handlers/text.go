package handlers

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/dostyq/dostyq/locales"
)

// CleanText normalises user text to NFC and removes control characters
// (except newline and tab), bidi overrides and isolates (U+202A–U+202E,
// U+2066–U+2069) and zero-width characters. Leading and trailing space goes.
func CleanText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	s = norm.NFC.String(s)
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return -1
		case r == 0x200B || r == 0x200C || r == 0x200D || r == 0x2060 || r == 0xFEFF || r == 0x200E || r == 0x200F:
			return -1
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// truncateRunes cuts s to at most n runes, marking the cut with "…".
func truncateRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// hasWords tells whether s has a letter or a digit: a description of
// emoji, punctuation or symbols only tells a mediator or a coordinator
// nothing.
func hasWords(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// leadingCount reads a count typed alone or followed by a word: "5",
// "5 адам", "5 человек", "5 people", after "we" ("нас 5 человек", "we are
// 5": countLead), or written in words without a digit: "бесеу", "бес
// адам", "біз он біреуміз", "нас пятеро", "пятеро нас", "five"
// (countInWords). Text with another number ("3-4", "2 adults 3 children", "үш бала және
// екеуміз") is not a count.
func leadingCount(s string) (int, error) {
	s = strings.TrimSpace(s)
	if !strings.ContainsFunc(s, unicode.IsDigit) {
		if n, ok := countInWords(s); ok {
			return n, nil
		}
		return 0, strconv.ErrSyntax
	}
	if start := strings.IndexFunc(s, unicode.IsDigit); start > 0 {
		// "нас 5 человек", "біз 5 адамбыз", "we are 5": only countLead
		// words before the number.
		lead := strings.FieldsFunc(locales.Fold(s[:start]), func(r rune) bool { return !unicode.IsLetter(r) })
		if len(lead) == 0 || len(lead) > 2 || slices.ContainsFunc(lead, func(w string) bool { return !countLead[w] }) {
			return 0, strconv.ErrSyntax
		}
		s = s[start:]
	}
	end := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(s)
	}
	if strings.ContainsFunc(s[end:], unicode.IsDigit) {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s[:end])
}

// countNames are the numbers from 1 to 20 as people write a count in
// words, by number: in Kazakh (first) the cardinal, the collective
// ("бесеу", five of them) and the collective with "we" ("бесеуміз", the
// five of us); in Russian (second) the cardinal and the collective
// ("пятеро"), and in English the cardinal. Kazakh writes 11 to 19 in two
// words, "он бір": countInWords adds them.
var countNames = [...][2][]string{
	1:  {{"бір", "біреу", "біреуміз", "жалғыз"}, {"один", "одна", "one", "alone"}},
	2:  {{"екі", "екеу", "екеуміз"}, {"два", "две", "двое", "two"}},
	3:  {{"үш", "үшеу", "үшеуміз"}, {"три", "трое", "three"}},
	4:  {{"төрт", "төртеу", "төртеуміз"}, {"четыре", "четверо", "four"}},
	5:  {{"бес", "бесеу", "бесеуміз"}, {"пять", "пятеро", "five"}},
	6:  {{"алты", "алтау", "алтауымыз", "алтаумыз"}, {"шесть", "шестеро", "six"}},
	7:  {{"жеті", "жетеу", "жетеуміз"}, {"семь", "семеро", "seven"}},
	8:  {{"сегіз", "сегізеу", "сегізеуміз", "сегізбіз"}, {"восемь", "восьмеро", "eight"}},
	9:  {{"тоғыз", "тоғызау", "тоғызауымыз"}, {"девять", "девятеро", "nine"}},
	10: {{"он", "онау", "онауымыз"}, {"десять", "десятеро", "ten"}},
	11: {nil, {"одиннадцать", "eleven"}},
	12: {nil, {"двенадцать", "twelve"}},
	13: {nil, {"тринадцать", "thirteen"}},
	14: {nil, {"четырнадцать", "fourteen"}},
	15: {nil, {"пятнадцать", "fifteen"}},
	16: {nil, {"шестнадцать", "sixteen"}},
	17: {nil, {"семнадцать", "seventeen"}},
	18: {nil, {"восемнадцать", "eighteen"}},
	19: {nil, {"девятнадцать", "nineteen"}},
	20: {{"жиырма"}, {"двадцать", "twenty"}},
}

// countWords is countNames folded as locales.Fold folds (Kazakh letters
// as a Russian keyboard types them), word → number; kazakhUnits are its
// Kazakh words for 1 to 9, which follow "он" (ten) in 11 to 19 ("он бір",
// "он екеуміз"; Russian "он один" is "he is alone").
var countWords, kazakhUnits = func() (map[string]int, map[string]bool) {
	words, units := map[string]int{}, map[string]bool{}
	for n, names := range countNames {
		for _, w := range slices.Concat(names[0], names[1]) {
			words[locales.Fold(w)] = n
		}
		if n < 10 {
			for _, w := range names[0] {
				units[locales.Fold(w)] = true
			}
		}
	}
	return words, units
}()

// countLead are the words a count in words may follow ("біз бесеуміз",
// "нас пятеро", "we are five"), and countUnit those it may be followed by
// ("бес адам", "семь человек", "five people", "five of us"); folded.
var countLead, countUnit = foldedSet("біз", "бізде", "мы", "нас", "we", "are", "there"),
	foldedSet("адам", "адамбыз", "человек", "человека", "people", "persons", "of", "us", "нас", "біз")

func foldedSet(words ...string) map[string]bool {
	m := map[string]bool{}
	for _, w := range words {
		m[locales.Fold(w)] = true
	}
	return m
}

// countInWords reads a count written in words, as the whole answer: the
// number ("бесеу", "пятеро", "five"; "он" and a Kazakh unit for 11 to 19),
// after at most two of countLead and before at most two of countUnit.
// Anything else around it ("я одна с двумя детьми", "бес балам бар",
// "я и он") is no count: the question is asked again.
func countInWords(s string) (int, bool) {
	words := strings.FieldsFunc(locales.Fold(s), func(r rune) bool { return !unicode.IsLetter(r) })
	i := 0
	for i < len(words) && i < 2 && countLead[words[i]] {
		i++
	}
	if i == len(words) {
		return 0, false
	}
	n, ok := countWords[words[i]]
	if !ok {
		return 0, false
	}
	if words[i] == "он" && i+1 < len(words) && kazakhUnits[words[i+1]] {
		n, i = 10+countWords[words[i+1]], i+1
	}
	rest := words[i+1:]
	if len(rest) > 2 || slices.ContainsFunc(rest, func(w string) bool { return !countUnit[w] }) {
		return 0, false
	}
	return n, true
}

// labelMatches tells whether typed text is the label of message id in any
// language, or one of its other words (ID_also), compared as
// locales.Fold does: without case, emoji or punctuation at the edges, with
// Russian letters typed for Kazakh ones (locales.Catalog.IsWord).
func (h *Handlers) labelMatches(text, id string) bool { return h.cat.IsWord(text, id) }

// refuseLong answers a text refused for its length with key and sends the
// text back, so that nothing typed is lost: the user copies it and
// shortens it (a mediator answering from a bus does not type it again).
func refuseLong(r *Request, key string, data map[string]any, text string) (string, error) {
	if err := r.ReplyKey(key, data); err != nil {
		return Stay, err
	}
	return Stay, r.Reply(text)
}

// typedLabel tells whether text is the label of button id in some
// language, not only one of its other words (ID_also: "да" for Confirm).
func (h *Handlers) typedLabel(text, id string) bool {
	f := locales.Fold(text)
	for _, l := range h.cat.All(id) {
		if f != "" && locales.Fold(l) == f {
			return true
		}
	}
	return false
}

// typedButton is the data of the button (label message id → data) whose
// label, or one of its other words (ID_also), in any language, is text; ""
// when none is.
func (h *Handlers) typedButton(text string, buttons map[string]string) string {
	for id, data := range buttons {
		if h.labelMatches(text, id) {
			return data
		}
	}
	return ""
}
