package handlers

import (
	"slices"
	"strings"
	"unicode"

	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// A kind of place named in a sentence: "Достық үйі қайда?", "Шымкент
// достық үйі", "где дом дружбы в Таразе", "совет матерей Актобе". The
// menu's buttons and their _also words are whole messages; these are the
// words of each kind inside one, with a town or small words around them.

// kindPatterns are, for each kind of the directory, the ways people name
// it: each a set of word beginnings that must all be in the message, next
// to each other or one word apart, in any order ("достық" and "үйі":
// "Достық үйі", "үйі достық"; "house" and "friendship": "House of
// Friendship"). A stem with "=" before it is a whole word only, as in
// ethnicStems: "совет" and "матерей", not "Нужен совет, мама болеет" nor
// "совет по материальной помощи". Compared folded (locales.Fold), so
// Kazakh "үйі" (its house), not "үй", which "ұйымы" (organisation) folds
// to begin too.
var kindPatterns = map[string][][]string{
	storage.KindHouse: {{"достық", "үйі"}, {"достық", "үйлер"}, {"достық", "=үй"}, {"дом", "дружб"}, {"house", "friendship"},
		{"dostyq", "=ui"}, {"dostyk", "=ui"}},
	storage.KindMediation: {{"медиация", "кабинет"}, {"кабинет", "медиаци"}, {"медиатор", "кабинет"}, {"mediation", "office"},
		{"mediation", "centre"}, {"mediation", "center"}},
	storage.KindCouncilAccord: {{"қоғамдық", "келісім"}, {"общественн", "согласи"}, {"public", "accord"}},
	storage.KindCouncilMothers: {{"аналар", "кеңес"}, {"совет", "=матерей"}, {"совет", "=мам"}, {"mothers", "council"},
		{"council", "=mothers"}},
	storage.KindAssociation: {{"этномәдени"}, {"этнокультур"}, {"ethnocultural"}, {"ethno-cultural"}, {"бірлестік"},
		{"объединени"}, {"ассоциаци"}, {"association"}, {"диаспор"}, {"diaspora"}, {"мәдени", "орталы"},
		{"культурн", "центр"}, {"cultural", "centre"}, {"cultural", "center"}},
	storage.KindYouth:   {{"жастар"}, {"молодёж"}, {"молодеж"}, {"youth"}},
	storage.KindTheatre: {{"театр"}, {"theatre"}, {"theater"}},
}

// kindWordsMax is at most how many words a message naming a kind of place
// has ("где ближайший дом дружбы в городе Тараз"): a longer one is about
// something else.
const kindWordsMax = 8

// words splits a message into its words (letters, digits and hyphens).
func words(text string) []string {
	return strings.FieldsFunc(text, func(c rune) bool { return !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '-' })
}

// foldWords is each of ws folded as labels are (locales.Fold).
func foldWords(ws []string) []string {
	folded := make([]string, len(ws))
	for i, w := range ws {
		folded[i] = locales.Fold(w)
	}
	return folded
}

// placeKindIn finds the kind of place a short message names and returns
// it with the message's other words; "" when it names none or two (youth
// and theatre words together name the one found first in PlaceKinds'
// order, which a person rarely types). A kind's pattern takes the words it
// matched; a word may begin two patterns' stems only once.
func placeKindIn(text string) (kind string, rest []string) {
	ws := words(text)
	if len(ws) == 0 || len(ws) > kindWordsMax {
		return "", nil
	}
	folded := foldWords(ws)
	for _, k := range storage.PlaceKinds {
		for _, pattern := range kindPatterns[k] {
			used := make([]bool, len(ws))
			if !matchPattern(folded, pattern, used) {
				continue
			}
			for i, w := range ws {
				if !used[i] {
					rest = append(rest, w)
				}
			}
			return k, rest
		}
	}
	return "", nil
}

// matchPattern marks in used, for each stem of pattern, a word of folded
// it begins (or is, for a stem with "="), and reports whether every stem
// found one, the words at most two apart ("Достық үйі", "House of
// Friendship", "Нужна срочная финансовая помощь"). Every word a stem
// begins is tried: "Мой дом далеко, где дом дружбы?" pairs the second
// "дом" with "дружбы".
func matchPattern(folded, pattern []string, used []bool) bool {
	stems := make([]string, len(pattern))
	whole := make([]bool, len(pattern))
	for i, p := range pattern {
		whole[i] = strings.HasPrefix(p, "=")
		stems[i] = locales.Fold(strings.TrimPrefix(p, "="))
	}
	var try func(k, first, last int) bool
	try = func(k, first, last int) bool {
		if k == len(stems) {
			return last-first <= len(pattern)+1
		}
		for i, w := range folded {
			if used[i] || !(w == stems[k] || !whole[k] && strings.HasPrefix(w, stems[k])) {
				continue
			}
			used[i] = true
			if try(k+1, min(first, i), max(last, i)) {
				return true
			}
			used[i] = false
		}
		return false
	}
	return try(0, len(folded), -1)
}

// townIn finds a town or village among words: all of them ("Усть-
// Каменогорск", "Сайрам ауылы"), or two side by side ("Кызыл Орда"), or
// one (townNamed). It returns the town's name, or "".
func (h *Handlers) townIn(ws []string, lang string) string {
	if len(ws) > 2 {
		if all := strings.Join(ws, " "); len(h.gaz.Exact(all, 1)) > 0 {
			return all
		}
	}
	for n := min(2, len(ws)); n >= 1; n-- {
		for i := 0; i+n <= len(ws); i++ {
			if town := h.townNamed(ws[i:i+n], lang); town != "" {
				return town
			}
		}
	}
	return ""
}

// townNamed is the town words name together, one or two of them, as the
// gazetteer names it or, a single word, in a case form (townInflected; the
// name is then in lang when the gazetteer has it); or "". A single word of
// fewer than four letters is not taken ("в", "Аса": a town, and "very" in
// Kazakh), nor an everyday word ("Жақсы").
func (h *Handlers) townNamed(ws []string, lang string) string {
	if len(ws) == 0 || len(ws) > 2 {
		return ""
	}
	t := strings.Join(ws, " ")
	if len(ws) == 1 && (len([]rune(t)) < 4 || everydayWord(t)) || storage.NamesDistrict(t) {
		return "" // a district ("Сайрам ауданы") is no town
	}
	if len(h.gaz.Exact(t, 1)) > 0 {
		return t
	}
	if len(ws) == 1 {
		return h.townInflected(t, lang)
	}
	return ""
}

// townEndings are the case endings a town's name takes in a sentence,
// with what the name ends in instead: Kazakh "Шымкентте", "Астанада",
// "Таразға", "Алматыдағы"; Russian "в Таразе", "в Астане".
var townEndings = [][2]string{
	{"дағы", ""}, {"дегі", ""}, {"тағы", ""}, {"тегі", ""}, {"нда", ""}, {"нде", ""},
	{"да", ""}, {"де", ""}, {"та", ""}, {"те", ""}, {"ға", ""}, {"ге", ""}, {"қа", ""}, {"ке", ""},
	{"е", "а"}, {"е", ""}, {"у", "а"},
}

// townInflected is the name of the town a word names with one of
// townEndings ("в Таразе": "Тараз"), in lang when the gazetteer has it,
// or "". Only words of five letters or more: the stem left must be a
// name, not a syllable; and not an everyday word ("Жақсыда").
func (h *Handlers) townInflected(w, lang string) string {
	if len([]rune(w)) < 5 {
		return ""
	}
	folded := locales.Fold(w)
	for _, e := range townEndings {
		end := locales.Fold(e[0])
		if !strings.HasSuffix(folded, end) {
			continue
		}
		stem := folded[:len(folded)-len(end)] + e[1]
		if everydayWord(stem) {
			continue
		}
		if ms := h.gaz.Exact(stem, 1); len(ms) > 0 {
			return nameIn(ms[0].Name, lang)
		}
	}
	return ""
}

// What a citizen asks for in a sentence of their own, at the menu: a
// mediator ("Алматыда медиатор бар ма?", "у меня конфликт с соседом"),
// to volunteer ("Как стать волонтером?"), help ("Сәлеметсіз бе, маған
// көмек керек, зейнеткермін", "нужна помощь с продуктами"). The button's
// label and its _also words are whole messages; these patterns
// (kindPatterns' rules) find the same requests inside one. The first
// that matches wins: a mediator's help is mediation, not charity.
var intentPatterns = []struct {
	word     string // the label of the menu's button (Handlers.word)
	patterns [][]string
}{
	{"menu.mediation", [][]string{{"медиатор"}, {"медиаци"}, {"mediator"}, {"mediation"}, {"конфликт"}, {"жанжал"},
		{"conflict"}, {"dispute"},
		// A conflict told without the word: "не можем договориться",
		// "келісе алмай жүрміз", "we keep quarrelling" (before help:
		// "…, помогите" is the mediator's help).
		{"=не", "договори"}, {"ссор"}, {"поссор"}, {"рассор"}, {"скандал"}, {"=спор"}, {"=споры"}, {"=дау"}, {"дау-дамай"},
		{"даулас"}, {"=келісе", "алма"}, {"келісімге", "=келе", "алма"}, {"ұрсыс"}, {"ұрыс"}, {"төбелес"}, {"quarrel"}, {"=argue"},
		{"arguing"}, {"=argument"},
		// A neighbour and the water: the irrigation ditch closed ("Көршім
		// суды бермей жатыр").
		{"көрші", "=суды"}, {"көрші", "=суын"}, {"көрші", "арық"}, {"сосед", "=воду"}, {"сосед", "=воды"}, {"сосед", "арык"}}},
	{"charity.volunteer", [][]string{{"волонтер"}, {"волонтёр"}, {"ерікті"}, {"volunteer"}}},
	{"charity.need_help", [][]string{{"көмек", "керек"}, {"көмек", "қажет"}, {"көмег", "керек"}, {"көмег", "қажет"},
		{"көмектесіңіз"}, {"көмек", "=сұраймын"}, {"нужна", "помощ"}, {"нужен", "помощ"}, {"помогите"}, {"прошу", "помощ"},
		{"need", "=help"}, {"=help", "=me"}, {"ask", "=help"},
		// What is needed, named: food, medicine ("тамақ керек", "дәрі
		// керек", "нет еды", "нужны лекарства").
		{"=тамақ", "керек"}, {"азық", "керек"}, {"=дәрі", "керек"}, {"=нет", "=еды"}, {"=нечего", "=есть"},
		{"нужн", "лекарств"}, {"нужн", "продукт"}, {"нужна", "=еда"}, {"need", "=food"}, {"need", "medicine"}}},
}

// negations are the words that turn a request for help into its opposite
// ("Мне не нужна помощь", "Маған көмек керек емес", "I don't need help
// anymore"): a message with one is no request for help. ("don't" is two
// words: "don", "t".)
var negations = foldedSet(strings.Fields(`не нет ни емес жоқ not no never dont don doesn didn`)...)

// intentWordsMax is at most how many words a message asking for one of
// intentPatterns has: a citizen may tell their whole conflict in one
// message ("У меня конфликт с соседом из-за забора уже два года, что
// делать?"), which the mediation menu answers well; a longer text is
// left alone.
const intentWordsMax = 60

// intentIn is the menu button a message asks for in its own words
// (intentPatterns), or "".
func intentIn(text string) string {
	// "don't" is "don" and "t": the "t" would stand between the
	// negation and what it negates.
	ws := slices.DeleteFunc(words(text), func(w string) bool { return w == "t" || w == "T" })
	if len(ws) == 0 || len(ws) > intentWordsMax {
		return ""
	}
	folded := foldWords(ws)
	for _, in := range intentPatterns {
		for _, p := range in.patterns {
			used := make([]bool, len(ws))
			if matchPattern(folded, p, used) && !(in.word == "charity.need_help" && negatedNextTo(folded, used)) {
				return in.word
			}
		}
	}
	return ""
}

// negatedNextTo tells whether a negation stands right before or after
// the words used by a match ("не нужна помощь", "көмек керек емес", "don't
// need help"), which it turns into its opposite; one further away negates
// something else ("Помогите, нет еды", "Көмек керек, тамақ жоқ").
func negatedNextTo(folded []string, used []bool) bool {
	for i, u := range used {
		if !u {
			continue
		}
		for _, j := range []int{i - 1, i + 1} {
			if j >= 0 && j < len(folded) && !used[j] && negations[folded[j]] {
				return true
			}
		}
	}
	return false
}
