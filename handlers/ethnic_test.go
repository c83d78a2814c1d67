package handlers

import (
	"strings"
	"testing"
)

// Each ethnic group of the directory, as its name reads in each language
// (locales [ethnic]), is found by ethnicGroupIn, and every group has stems.
func TestEveryEthnicGroupIsFoundByItsNames(t *testing.T) {
	c := newChatTest(t, "en")
	groups := 0
	for _, id := range c.h.cat.IDs() {
		code, ok := strings.CutPrefix(id, "ethnic.")
		if !ok {
			continue
		}
		groups++
		if _, ok := ethnicStems[code]; !ok {
			t.Errorf("no stems for ethnic group %q", code)
		}
		for _, lang := range []string{"kk", "ru", "en"} {
			name := c.h.cat.T(lang, id, nil)
			if got, _ := ethnicGroupIn(words(name)); got != code {
				t.Errorf("%s name %q of %s: found %q", lang, name, code, got)
			}
		}
	}
	if groups != len(ethnicStems) {
		t.Errorf("%d groups in the catalog, %d with stems", groups, len(ethnicStems))
	}
}

func TestEthnicGroupIn(t *testing.T) {
	for _, tc := range []struct{ text, group, rest string }{
		{"корейцы", "korean", ""},
		{"Кореец", "korean", ""},
		{"Корейский культурный центр", "korean", "культурный центр"},
		{"корейлер Алматы", "korean", "Алматы"},
		{"Uyghur association", "uighur", "association"},
		{"өзбектер", "uzbek", ""},
		{"озбектер", "uzbek", ""}, // without Kazakh letters
		{"немцы", "german", ""},
		{"Немецкий", "german", ""},
		{"турки", "turkish", ""},
		{"орыс", "russian", ""},
		// Not a group: a town, a language, food, two groups, a long message.
		{"Туркестан", "", ""},
		{"орысша", "", ""},
		{"нужна гречка", "", ""},
		// Words that begin like a group's: difficult, your mother,
		// Turkmen, pork loin.
		{"күрделі жағдай", "", ""},
		{"Отбасымда күрделі жағдай", "", ""},
		{"шешеңіз қайда", "", ""},
		{"түрікмен", "", ""},
		{"корейка", "", ""},
		{"курды", "kurdish", ""},
		{"күрдтер", "kurdish", ""},
		{"шешендер", "chechen", ""},
		{"русские и корейцы", "", ""},
		{"мой сосед русский и мы спорим из-за забора уже год", "", ""},
		{"", "", ""},
	} {
		group, others := ethnicGroupIn(words(tc.text))
		if rest := strings.Join(others, " "); group != tc.group || rest != tc.rest {
			t.Errorf("ethnicGroupIn(%q) = %q, %q; want %q, %q", tc.text, group, others, tc.group, tc.rest)
		}
	}
}

// An ethnic group typed at the main menu starts the search for that
// group's associations; a town typed with it is the place; typed at the
// "where?" of associations or theatres it sets the filter. A town whose
// name begins like a group stays the town.
func TestEthnicGroupTyped(t *testing.T) {
	c := newChatTest(t, "ru")
	c.loadDirectory()
	out := c.say("корейцы")
	c.expect(out, "Этнокультурные объединения: отправьте свою геопозицию", "Только: корейцы")
	out = c.say("Алматы")
	c.expect(out, "Корейский культурный центр", "Только: корейцы")
	c.reject(out, "Русский культурный центр", "Уйгурский")

	out = c.say("@as 2 kk\nөзбектер Шымкент")
	c.expect(out, "Өзбек мәдени орталығы", "Тек: өзбектер")
	c.reject(out, "Корей", "Орыс")

	c.say("@as 3 en\n🎭 Associations\n@press 🎬 Ethnic theatres")
	out = c.say("Korean")
	c.expect(out, "Only: Korean", "share your location")
	out = c.say("@location 43.25 76.91")
	c.expect(out, "Korean Theatre")
	c.reject(out, "Uyghur")

	// Houses of Friendship's "where?" takes no group: "немцы" there is
	// a town it does not know.
	out = c.say("@as 4 en\n🏠 Houses of Friendship\nнемцы")
	c.reject(out, "Only:")
	c.expect(c.say("@as 5 ru\nТуркестан"), "Дома дружбы")
	// A group with other words than a town and small ones is about
	// something else: a matter for a mediator, not the directory.
	out = c.say("@as 7 ru\nЯ узбек, меня обижают соседи")
	c.expect(out, "Я не понял")
	c.reject(out, "Только:")
	out = c.say("где узбеки в Шымкенте")
	c.expect(out, "Только: узбеки", "Узбекский культурный центр")

	// A Russian group with a town or a kind of place is the search, not
	// the languages.
	out = c.say("@as 8 en\nRussian community Almaty")
	c.expect(out, "Only: Russian", "Russian cultural centre")
	out = c.say("@as 9 ru\nМой сосед русский")
	c.reject(out, "Қазақша", "Только:")

	// A language's name, alone or with a word or two, is the bot's
	// language, switched to at once, not the group; two named, the
	// buttons.
	c.say("@as 6 kk\n/start")
	for _, typed := range []struct{ text, changed string }{
		{"Русский", "Теперь язык — русский."}, {"English", "The language is now English."},
		{"қазақ тілі", "Енді тіл — қазақша."}, {"русский язык", "Теперь язык — русский."},
		{"Казакша", "Енді тіл — қазақша."}, {"English please", "The language is now English."},
		{"орысша", "Теперь язык — русский."}, {"in kazakh", "Енді тіл — қазақша."},
		{"можно на русском?", "Теперь язык — русский."},
	} {
		out := c.say(typed.text)
		c.expect(out, typed.changed)
		c.reject(out, "Только:", "Only:", "Тек:", "Қазақша  (2)")
	}
	out = c.say("казахский или русский")
	c.expect(out, "(1) Қазақша  (2) Русский  (3) English")
	c.reject(out, "Теперь язык", "Енді тіл")
}
