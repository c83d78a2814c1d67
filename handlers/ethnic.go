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
// begins "Туркестан", "орыс" "орысша" (in Russian). Stems are compared
// folded (locales.Fold: "өзбек" is "озбек").
var ethnicStems = map[string][]string{
	"russian":     {"=орыс", "орыстар", "русск", "russian"},
	"uzbek":       {"узбек", "өзбек", "uzbek"},
	"ukrainian":   {"украин", "ukrain"},
	"uighur":      {"уйгур", "ұйғыр", "uyghur", "uighur", "uygur"},
	"german":      {"немц", "немец", "неміс", "german"},
	"tatar":       {"татар", "tatar"},
	"korean":      {"корей", "кореец", "кореян", "кәріс", "korean"},
	"azerbaijani": {"азербайджан", "әзербайжан", "әзірбайжан", "azerbaijan", "azeri"},
	"turkish":     {"=турки", "турок", "турец", "түрік", "turkish", "=turks"},
	"dungan":      {"дунган", "дүнген", "dungan"},
	"belarusian":  {"белорус", "беларус", "belarus"},
	"polish":      {"поляк", "польск", "polish", "=poles"},
	"chechen":     {"чечен", "шешен", "chechen"},
	"kurdish":     {"курд", "күрд", "kurd"},
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

// ethnicGroupIn finds the ethnic group a short message names and returns
// its code, and the message without that word (a town typed with it:
// "корейцы Алматы" is "Алматы"); "" when it names none, or two.
func ethnicGroupIn(text string) (group, rest string) {
	group, others := ethnicGroupInWords(words(text))
	return group, strings.Join(others, " ")
}

// namesEthnicGroup tells whether a short message names an ethnic group.
func namesEthnicGroup(text string) bool {
	group, _ := ethnicGroupIn(text)
	return group != ""
}

// ethnicGroupInWords is ethnicGroupIn on a message's words.
func ethnicGroupInWords(ws []string) (group string, rest []string) {
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
