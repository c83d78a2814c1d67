package handlers

import (
	"strings"

	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// An ethnic group typed: "корейцы", "Корейский культурный центр",
// "өзбектер", "Uyghur association". Outside any flow it starts the search
// for ethno-cultural associations with that group's filter on; at the
// "where?" of associations, youth organisations or theatres it sets the
// filter (and a town typed with it, "корейцы Алматы", is the place).

// ethnicStems are the beginnings of the words for the ethnic groups of the
// directory (locales [ethnic]) in Kazakh, Russian and English: a noun or
// an adjective, one or many ("корейцы", "кореец", "корейский", "корейлер",
// "Korean"). A stem with "=" before it is a whole word only: "турки" also
// begins "Туркестан", "орыс" "орысша" (in Russian), "күрд" "күрделі"
// (difficult), "шешен" "шешеңіз" (your mother), "түрік" "түрікмен",
// "корей" "корейка". Stems are compared folded (locales.Fold: "өзбек" is
// "озбек", "күрд" is "курд"), so a Russian stem must not begin a folded
// Kazakh word either.
var ethnicStems = map[string][]string{
	"russian":     {"=орыс", "орыстар", "русск", "russian"},
	"uzbek":       {"узбек", "өзбек", "uzbek"},
	"ukrainian":   {"украин", "ukrain"},
	"uighur":      {"уйгур", "ұйғыр", "uyghur", "uighur", "uygur"},
	"german":      {"немц", "немец", "неміс", "german"},
	"tatar":       {"татар", "tatar"},
	"korean":      {"=корей", "корейц", "корейск", "кореец", "кореян", "корейлер", "кәріс", "korean"},
	"azerbaijani": {"азербайджан", "әзербайжан", "әзірбайжан", "azerbaijan", "azeri"},
	"turkish":     {"=турки", "турок", "турец", "=түрік", "түріктер", "turkish", "=turks"},
	"dungan":      {"дунган", "дүнген", "dungan"},
	"belarusian":  {"белорус", "беларус", "belarus"},
	"polish":      {"поляк", "польск", "polish", "=poles"},
	"chechen":     {"чечен", "=шешен", "шешендер", "chechen"},
	"kurdish":     {"=курд", "=курды", "курдск", "=күрд", "күрдтер", "=kurd", "kurdish", "=kurds"},
	"tajik":       {"таджик", "тәжік", "tajik"},
	"bashkir":     {"башкир", "башқұрт", "bashkir"},
	"greek":       {"=греки", "грек", "греческ", "greek"},
	"jewish":      {"еврей", "=евреи", "jewish", "=jews"},
	"armenian":    {"армян", "армен", "armenian"},
	"kyrgyz":      {"кыргыз", "киргиз", "қырғыз", "kyrgyz", "kirgiz"},
}

// ethnicStem is one of ethnicStems, folded.
type ethnicStem struct {
	stem, group string
	whole       bool
}

var foldedEthnicStems = func() []ethnicStem {
	var all []ethnicStem
	for group, stems := range ethnicStems {
		for _, s := range stems {
			whole := strings.HasPrefix(s, "=")
			all = append(all, ethnicStem{stem: locales.Fold(strings.TrimPrefix(s, "=")), group: group, whole: whole})
		}
	}
	return all
}()

// ethnicWords is at most how many words a message naming an ethnic group
// outside any flow has ("Корейский культурный центр в Алматы"): a longer
// one that mentions a group is about something else.
const ethnicWords = 6

// ethnicGroupAlone tells whether the message names an ethnic group with
// at most a town and small words beside it ("корейцы", "өзбектер
// Шымкент", "где узбеки в Таразе"): a search for that group's
// associations. With other words it is about something else ("Я узбек,
// меня обижают соседи" is a matter for a mediator, not a directory).
func (h *Handlers) ethnicGroupAlone(r *Request) bool {
	group, others := ethnicGroupIn(words(r.Text))
	if group == "" {
		return false
	}
	var rest []string
	for _, w := range others {
		if !smallWords[locales.Fold(w)] {
			rest = append(rest, w)
		}
	}
	return len(rest) == 0 || h.townNamed(rest, r.Lang) != ""
}

// smallWords are the words around a search typed as a sentence: where,
// in, near, find, please, society... (folded, as locales.Fold).
var smallWords = foldedSet(strings.Fields(`қайда бар ма ме ба бе па пе жақын ең табу іздеймін керек қоғамы қауымдастығы
	орталығы мекенжайы қаласы қаласында облысы ауылы
	где в во на есть ли найти ищу адрес ближайший ближайшая ближайшее ближайшие общество общины община
	центр пожалуйста подскажите город городе г
	where is are the a an in near nearest find please community centre center society of`)...)

// ethnicGroupIn finds the ethnic group a short message (its words) names
// and returns its code, and the message's other words (a town typed with
// it: "корейцы Алматы" leaves "Алматы"); "" when it names none, or two.
func ethnicGroupIn(ws []string) (group string, rest []string) {
	if len(ws) == 0 || len(ws) > ethnicWords {
		return "", nil
	}
	var others []string
	for _, w := range ws {
		g := ethnicGroupOfWord(locales.Fold(w))
		switch {
		case g == "":
			others = append(others, w)
		case group != "" && g != group:
			return "", nil // two groups: "русские и корейцы"
		default:
			group = g
		}
	}
	if group == "" {
		return "", nil
	}
	return group, others
}

// ethnicGroupOfWord is the group whose stem begins the folded word w.
func ethnicGroupOfWord(w string) string {
	for _, s := range foldedEthnicStems {
		if w == s.stem || !s.whole && strings.HasPrefix(w, s.stem) {
			return s.group
		}
	}
	return ""
}

// ethnicKinds are the kinds of places whose search takes an ethnic group.
var ethnicKinds = []string{storage.KindAssociation, storage.KindYouth, storage.KindTheatre}
