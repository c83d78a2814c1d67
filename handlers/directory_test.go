package handlers

import (
	"context"
	"encoding/csv"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// Labels of the directory's buttons in each language.
var dirWords = map[string]struct{ houses, councils, associations, more, prev, filter, all string }{
	"kk": {"Достық үйлері", "Кеңестер", "Бірлестіктер", "Тағы ▶️", "◀️ Алдыңғы", "🔎 Этнос бойынша", "Барлық этностар"},
	"ru": {"Дома дружбы", "Советы", "Объединения", "Ещё ▶️", "◀️ Назад", "🔎 По этносу", "Все этносы"},
	"en": {"Houses of Friendship", "Councils", "Associations", "More ▶️", "◀️ Previous", "🔎 By ethnic group", "All groups"},
}

// placeIDs maps every name of the test directory's places, in any
// language, to the place's external id.
func placeIDs(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("../testdata/directory-test.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, rec := range recs[1:] {
		for _, name := range rec[2:5] {
			ids[name] = rec[1]
		}
	}
	return ids
}

var resultLine = regexp.MustCompile(`(?m)^(\d+)\. (.+) — (\S+ \S+)$`)

// results lists the external ids of the places in a results message, in
// order.
func results(t *testing.T, out string) []string {
	t.Helper()
	ids := placeIDs(t)
	var got []string
	for _, m := range resultLine.FindAllStringSubmatch(out, -1) {
		id, ok := ids[m[2]]
		if !ok {
			t.Fatalf("result %q is not a place of the test directory", m[2])
		}
		got = append(got, id)
	}
	return got
}

func firstResult(t *testing.T, out string) string {
	t.Helper()
	r := results(t, out)
	if len(r) == 0 {
		t.Fatalf("no results in:\n%s", out)
	}
	return r[0]
}

func newDirectoryTest(t *testing.T, lang string) *chatTest {
	t.Helper()
	c := newChatTest(t, lang)
	c.loadDirectory()
	return c
}

func TestHousesNearASharedLocation(t *testing.T) {
	var orders []string
	for _, tc := range []struct{ lang, near, dist string }{
		{"kk", "Достық үйлері — сізге ең жақындары:", "Алматы Достық үйі — 120 м"},
		{"ru", "Дома дружбы рядом с вами:", "Алматинский Дом дружбы — 120 м"},
		{"en", "Houses of Friendship nearest to you:", "Almaty House of Friendship — 120 m"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			c := newDirectoryTest(t, tc.lang)
			out := c.say(dirWords[tc.lang].houses)
			c.expect(out, "[📍", "[◀️") // the request_location button and Back
			out = c.say("@location 43.2389 76.8897")
			c.expect(out, tc.near, tc.dist, "(1) 📍 1", dirWords[tc.lang].more)
			if got := results(t, out); len(got) != 5 || got[0] != "t-h-almaty" || got[1] != "t-h-konaev" {
				t.Errorf("results %v, want five, the Almaty then the Konaev house first", got)
			}
			// Fields only when known: the Almaty house has all, Konaev none.
			c.expect(out, "☎️ +7 000 000 00 01", "🕒 09:00–18:00", "🌐 https://example.org/almaty")
			if strings.Count(out, "☎️") != 1 {
				t.Errorf("phone lines for places without a phone:\n%s", out)
			}
			orders = append(orders, strings.Join(results(t, out), " "))
		})
	}
	if len(orders) == 3 && (orders[0] != orders[1] || orders[1] != orders[2]) {
		t.Errorf("results differ between languages:\n%s", strings.Join(orders, "\n"))
	}
}

func TestDistancesAreWrittenInTheUsersLanguage(t *testing.T) {
	for _, tc := range []struct{ lang, short, mid, far string }{
		{"kk", "850 м", "1,2 км", "1\u00a0234 км"},
		{"ru", "850 м", "1,2 км", "1\u00a0234 км"},
		{"en", "850 m", "1.2 km", "1,234 km"},
	} {
		c := newChatTest(t, tc.lang)
		r := &Request{h: c.h, Lang: tc.lang}
		for km, want := range map[float64]string{0.851: tc.short, 1.234: tc.mid, 1234.4: tc.far} {
			if got := formatDistance(r, km); got != want {
				t.Errorf("%s: %v km = %q, want %q", tc.lang, km, got, want)
			}
		}
	}
}

func TestTypedTownsInEveryScript(t *testing.T) {
	cases := map[string][]string{
		"t-h-astana":   {"Астана", "astana", "Nur-Sultan", "Нур-Султан", "Акмола", "Ақмола", "Целиноград"},
		"t-h-oskemen":  {"Өскемен", "Oskemen", "Ust-Kamenogorsk", "Усть-Каменогорск", "Оскемен"},
		"t-h-almaty":   {"Алматы", "Almaty", "Алма-Ата", "алма ата", "Alma-Ata", "Алмати"},
		"t-h-shymkent": {"Шымкент", "Shymkent", "Шымкен", "Chimkent", "Чимкент", "Shymkemt"},
		"t-h-oral":     {"Орал", "Oral", "Uralsk", "Уральск"},
		"t-h-konaev":   {"Қонаев", "Конаев", "Kapchagay", "Капчагай", "Қапшағай", "Капшагай"},
		"t-h-semey":    {"Семей", "Semey", "Semipalatinsk", "Семипалатинск"},
	}
	for _, lang := range locales.Supported {
		t.Run(lang, func(t *testing.T) {
			c := newDirectoryTest(t, lang)
			c.say(dirWords[lang].houses)
			for want, typed := range cases {
				for _, name := range typed {
					if got := firstResult(t, c.say(name)); got != want {
						t.Errorf("%s: %q lists %s first, want %s", lang, name, got, want)
					}
				}
			}
		})
	}
}

func TestTownHeaderNamesTheTownInTheUsersLanguage(t *testing.T) {
	for lang, want := range map[string]string{
		"kk": "Достық үйлері — Өскемен (Шығыс Қазақстан облысы) маңындағы ең жақындары:",
		"ru": "Дома дружбы рядом с населённым пунктом Усть-Каменогорск (Восточно-Казахстанская область):",
		"en": "Houses of Friendship nearest to Oskemen (East Kazakhstan Region):",
	} {
		c := newDirectoryTest(t, lang)
		c.say(dirWords[lang].houses)
		c.expect(c.say("Oskemen"), want)
	}
}

func TestNamesakesAskWhichRegion(t *testing.T) {
	for _, tc := range []struct{ lang, ask, pavlodar, akmola string }{
		{"kk", "«Ақсу» деген бірнеше жер бар.", "Павлодар облысы", "Ақмола облысы"},
		{"ru", "Есть несколько мест с названием «Аксу».", "Павлодарская область", "Акмолинская область"},
		{"en", "There are several places called “Aksu”.", "Pavlodar Region", "Akmola Region"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			c := newDirectoryTest(t, tc.lang)
			c.say(dirWords[tc.lang].houses)
			typed := map[string]string{"kk": "Ақсу", "ru": "Аксу", "en": "Aksu"}[tc.lang]
			out := c.say(typed)
			c.expect(out, tc.ask, tc.pavlodar, tc.akmola)
			if r := results(t, out); len(r) != 0 {
				t.Fatalf("results before the region was chosen: %v", r)
			}
			if got := firstResult(t, c.say("@press "+tc.pavlodar)); got != "t-h-pavlodar" {
				t.Errorf("Aksu in Pavlodar region lists %s first", got)
			}
			c.say(typed)
			if got := firstResult(t, c.say("@press "+tc.akmola)); got != "t-h-astana" {
				t.Errorf("Aksu in Akmola region lists %s first", got)
			}
			// Made-up namesakes (no such real village) work the same way.
			c.expect(c.say("Достыктау"), tc.akmola, map[string]string{"kk": "Түркістан облысы", "ru": "Туркестанская область", "en": "Turkistan Region"}[tc.lang])
		})
	}
}

func TestUnknownTownsGetSuggestions(t *testing.T) {
	for _, tc := range []struct{ lang, unknown, none string }{
		{"kk", "«Тарраззз» деген қала не ауылды білмеймін. Мыналардың бірі ме?", "«Xqxqxqxq» деген қала не ауылды білмеймін."},
		{"ru", "Я не знаю города или села «Тарраззз». Может быть, одно из этих?", "Я не знаю города или села «Xqxqxqxq»."},
		{"en", "I do not know a town or village called “Тарраззз”. Did you mean one of these?", "I do not know a town or village called “Xqxqxqxq”."},
	} {
		c := newDirectoryTest(t, tc.lang)
		c.say(dirWords[tc.lang].houses)
		out := c.say("Тарраззз")
		c.expect(out, tc.unknown, "(1) ")
		if got := firstResult(t, c.say("@press 1")); got != "t-h-taraz" {
			t.Errorf("%s: the suggestion lists %s first, want the Taraz house", tc.lang, got)
		}
		c.expect(c.say("Xqxqxqxq"), tc.none)
		// A 5,000-character message is answered, not searched.
		c.expect(c.say(strings.Repeat("я", 5000)), map[string]string{"kk": "қала не ауыл атауын жазыңыз", "ru": "напишите название города", "en": "type the name of a town"}[tc.lang])
	}
}

func TestMorePagesByEditingTheMessage(t *testing.T) {
	for _, lang := range locales.Supported {
		c := newDirectoryTest(t, lang)
		w := dirWords[lang]
		c.say(w.houses)
		first := c.say("@location 43.2389 76.8897")
		out := c.say("@press " + w.more)
		c.expect(out, "(edited) ", "6. ", "(1) 📍 6", w.prev, w.more)
		second := results(t, out)
		out = c.say("@press " + w.more)
		third := results(t, out)
		if len(second) != 5 || len(third) != 2 || strings.Contains(out, w.more) {
			t.Errorf("%s: pages of %d and %d results (want 5 and the last 2, with no More):\n%s", lang, len(second), len(third), out)
		}
		c.say("@press " + w.prev)
		out = c.say("@press " + w.prev)
		if strings.Join(results(t, out), " ") != strings.Join(results(t, first), " ") || strings.Contains(out, w.prev) {
			t.Errorf("%s: back on the first page:\n%s", lang, out)
		}
		// Every place once over the pages, nearest first.
		seen := map[string]bool{}
		for _, id := range append(append(results(t, first), second...), third...) {
			if seen[id] {
				t.Errorf("%s: %s on two pages", lang, id)
			}
			seen[id] = true
		}
	}
}

func TestMapPinSendsAVenue(t *testing.T) {
	for lang, want := range map[string]string{
		"kk": "📍 Алматы Достық үйі — Тест көшесі 1 (43.24000, 76.89000)",
		"ru": "📍 Алматинский Дом дружбы — ул. Тестовая 1 (43.24000, 76.89000)",
		"en": "📍 Almaty House of Friendship — 1 Test Street (43.24000, 76.89000)",
	} {
		c := newDirectoryTest(t, lang)
		c.say(dirWords[lang].houses)
		c.say("Алматы")
		c.expect(c.say("@press 📍 1"), want)
		// A place without an address is pinned with its town and region, in
		// the reader's language whatever script the CSV wrote the town in.
		c.expect(c.say("@press 📍 2"), "📍 ", map[string]string{"kk": "Қонаев, Алматы облысы", "ru": "Конаев, Алматинская область", "en": "Konaev, Almaty Region"}[lang])
	}
}

func TestCouncilsShowTheirLevel(t *testing.T) {
	for _, tc := range []struct{ lang, accord, mothers, city, district, region string }{
		{"kk", "Қоғамдық келісім кеңестері", "Аналар кеңестері", "Деңгейі: қалалық", "Деңгейі: аудандық", "Деңгейі: облыстық"},
		{"ru", "Советы общественного согласия", "Советы матерей", "Уровень: городской", "Уровень: районный", "Уровень: областной"},
		{"en", "Councils of Public Accord", "Councils of Mothers", "Level: city", "Level: district", "Level: region"},
	} {
		c := newDirectoryTest(t, tc.lang)
		c.expect(c.say(dirWords[tc.lang].councils), tc.accord, tc.mothers)
		c.say("@press 🏛 " + tc.accord)
		out := c.say("@location 43.2389 76.8897")
		c.expect(out, tc.city, tc.district)
		if got := results(t, out); len(got) != 4 || got[0] != "t-ca-almaty" {
			t.Errorf("%s: councils of public accord %v", tc.lang, got)
		}
		c.say(dirWords[tc.lang].councils)
		c.say("@press 👩 " + tc.mothers)
		out = c.say("Karaganda")
		c.expect(out, tc.region)
		if got := results(t, out); strings.Join(got, " ") != "t-cm-karaganda t-cm-astana" {
			t.Errorf("%s: councils of mothers %v", tc.lang, got)
		}
	}
}

// The kinds offered under Councils and Associations typed instead of
// pressed, as their buttons say or in fewer words ("Аналар кеңесі",
// "Mothers", "Театр"), in any interface language, ask where and list
// that kind: not "I did not understand", and the town typed next is not
// taken for Houses of Friendship.
func TestCouncilAndAssociationKindsTyped(t *testing.T) {
	for _, tc := range []struct{ lang, typed, want string }{
		{"kk", "Аналар кеңесі", "t-cm-karaganda t-cm-astana"},
		{"en", "Mothers", "t-cm-karaganda t-cm-astana"},
		{"ru", "👩 Советы матерей", "t-cm-karaganda t-cm-astana"},
		{"kk", "Councils of Mothers", "t-cm-karaganda t-cm-astana"},
	} {
		c := newDirectoryTest(t, tc.lang)
		c.say(dirWords[tc.lang].councils)
		out := c.say(tc.typed)
		c.reject(out, "Түсінбедім", "не понял", "did not understand")
		if got := results(t, c.say("Karaganda")); strings.Join(got, " ") != tc.want {
			t.Errorf("%s %q then Karaganda: %v, want %s", tc.lang, tc.typed, got, tc.want)
		}
	}
	c := newDirectoryTest(t, "ru")
	c.say("Театр")
	if got := results(t, c.say("@location 43.2389 76.8897")); len(got) == 0 || !strings.HasPrefix(got[0], "t-t-") {
		t.Errorf("Театр: %v, want theatres", got)
	}
}

func TestAssociationsFilterByEthnicGroup(t *testing.T) {
	for _, tc := range []struct{ lang, korean, only string }{
		{"kk", "корейлер", "Тек: корейлер"},
		{"ru", "корейцы", "Только: корейцы"},
		{"en", "Korean", "Only: Korean"},
	} {
		c := newDirectoryTest(t, tc.lang)
		w := dirWords[tc.lang]
		c.say(w.associations)
		c.say("@press 1")
		out := c.say("@location 43.2389 76.8897")
		c.expect(out, w.filter)
		if got := results(t, out); len(got) != 5 || got[0] != "t-a-tatar" {
			t.Fatalf("%s: associations %v", tc.lang, got)
		}
		out = c.say("@press " + w.filter)
		c.expect(out, "(edited) ", tc.korean, w.all)
		out = c.say("@press " + tc.korean)
		c.expect(out, tc.only)
		if got := results(t, out); strings.Join(got, " ") != "t-a-korean" {
			t.Errorf("%s: Korean associations %v", tc.lang, got)
		}
		c.say("@press " + w.filter)
		if got := results(t, c.say("@press "+w.all)); len(got) != 5 {
			t.Errorf("%s: all groups again: %v", tc.lang, got)
		}
		// Theatres too.
		c.say(w.associations)
		c.say("@press 3")
		c.say("Shymkent")
		c.say("@press " + w.filter)
		out = c.say("@press " + map[string]string{"kk": "өзбектер", "ru": "узбеки", "en": "Uzbek"}[tc.lang])
		if got := results(t, out); strings.Join(got, " ") != "t-t-uzbek" {
			t.Errorf("%s: Uzbek theatres %v", tc.lang, got)
		}
	}
}

func TestLocationOutsideKazakhstan(t *testing.T) {
	for lang, want := range map[string]string{
		"kk": "Бұл нүкте Қазақстаннан тыс сияқты.",
		"ru": "Похоже, эта точка за пределами Казахстана.",
		"en": "This location seems to be outside Kazakhstan.",
	} {
		c := newDirectoryTest(t, lang)
		c.say(dirWords[lang].houses)
		out := c.say("@location 45.0 50.0") // the Caspian Sea
		c.expect(out, want)
		if got := firstResult(t, out); got != "t-h-atyrau" {
			t.Errorf("%s: nearest to the Caspian is %s", lang, got)
		}
		out = c.say("@location 0 0") // the Gulf of Guinea
		c.expect(out, want, map[string]string{"kk": " км", "ru": " км", "en": " km"}[lang])
		if !strings.Contains(c.say("@location 43.2389 76.8897"), "1. ") {
			t.Errorf("%s: no results inside Kazakhstan after a location outside", lang)
		}
	}
}

func TestForgedOrOutdatedDirectoryButtons(t *testing.T) {
	c := newDirectoryTest(t, "en")
	press := func(data string) string {
		c.h.HandleUpdate(context.Background(), tgbotapi.Update{UpdateID: 1000, CallbackQuery: &tgbotapi.CallbackQuery{
			ID: "forged", From: &tgbotapi.User{ID: 1, LanguageCode: "en"}, Data: data,
			Message: &tgbotapi.Message{MessageID: 1, Chat: &tgbotapi.Chat{ID: 1, Type: "private"}},
		}})
		return c.out.take()
	}
	for _, data := range []string{
		"dir", "dir:", "dir:x", "dir:k:zz", "dir:v:abc", "dir:v:999999", "dir:p:h:1:2", "dir:p:zz:43.2:76.9:0::",
		"dir:p:h:430:76.9:0::", "dir:p:h:43.2:76.9:3::", "dir:p:h:43.2:76.9:-5::", "dir:p:h:43.2:76.9:0:Robert');DROP:",
		"dir:p:h:43.2:76.9:0::12345", "dir:g:h:43.2:76.9:0::x", "f:where:s99000001",
		"dir:p:h:43.2:76.9:0::" + strings.Repeat("9", 40),
	} {
		out := press(data)
		if !strings.Contains(out, "This button is no longer active.") || strings.Contains(out, "went wrong") {
			t.Errorf("%q: %s", data, out)
		}
	}
	// Forged values of the town buttons inside the flow.
	c.say("Houses of Friendship")
	for _, data := range []string{"f:where:s1", "f:where:x", "f:where:s99000001x", "f:where:"} {
		out := press(data)
		if !strings.Contains(out, "This button is no longer active.") || strings.Contains(out, "1. ") {
			t.Errorf("%q: %s", data, out)
		}
	}
	// A place removed by a re-import since the results were shown.
	c.say("Houses of Friendship")
	c.say("@location 43.2389 76.8897")
	if _, err := c.db.ImportPlaces(context.Background(), strings.NewReader(
		"kind,external_id,name_kk,name_ru,name_en,region,locality,level,address_kk,address_ru,address_en,lat,lon,phone,hours,website,ethnic_group,languages\n"+
			"house,t-h-astana,Астана,,,astana,,,,,,51.17,71.43,,,,,\n"), c.h.gaz, storage.ImportOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	c.expect(c.say("@press 📍 1"), "This button is no longer active.")
}

func TestDirectoryFlowEdges(t *testing.T) {
	c := newChatTest(t, "ru")
	c.say("Дома дружбы")
	// The directory is empty.
	c.expect(c.say("Алматы"), "Таких мест в справочнике пока нет.")
	c.loadDirectory()
	// A sticker in the middle is answered and the step kept.
	c.h.HandleUpdate(context.Background(), tgbotapi.Update{UpdateID: 2000, Message: &tgbotapi.Message{
		MessageID: 500, From: &tgbotapi.User{ID: 1, LanguageCode: "ru"}, Chat: &tgbotapi.Chat{ID: 1, Type: "private"},
		Sticker: &tgbotapi.Sticker{FileID: "x"}}})
	c.expect(c.out.take(), "Я не умею читать такие сообщения")
	if got := firstResult(t, c.say("Алматы")); got != "t-h-almaty" {
		t.Errorf("after a sticker: %s", got)
	}
	// Back leaves for the main menu.
	c.expect(c.say("◀️ Назад"), "[🏠 Дома дружбы]")
	// A town typed at the main menu lists the Houses near it; other text
	// is not understood.
	c.expect(c.say("Шымкент"), "Дома дружбы рядом с населённым пунктом Шымкент")
	c.expect(c.say("◀️ Назад"), "[🏠 Дома дружбы]")
	c.expect(c.say("Привет, внучок"), "Я не понял")

	// The mediation offices are found from the Mediation menu: Back, at
	// their question or after their results, goes back there.
	c.say("🤝 Медиация")
	c.expect(c.say("📍 Найти кабинет медиации"), "Кабинеты медиации: отправьте")
	out := c.say("◀️ Назад")
	c.expect(out, "[📍 Найти кабинет медиации] [🙋 Обратиться к медиатору]")
	c.reject(out, "[🏠 Дома дружбы]")
	c.say("📍 Найти кабинет медиации")
	c.expect(c.say("Шымкент"), "Кабинеты медиации рядом с населённым пунктом Шымкент")
	c.expect(c.say("◀️ Назад"), "[📍 Найти кабинет медиации] [🙋 Обратиться к медиатору]")
	// Cancel is the main menu, as everywhere.
	c.say("📍 Найти кабинет медиации")
	c.expect(c.say("✖️ Отмена"), "[🏠 Дома дружбы]")

	// A district: named after a town, that town offered (Astana's Есиль
	// district is not the town of Есиль in Akmola); else told it is a
	// district, at the menu as at the question, and asked for a village.
	out = c.say("Сайрамский район")
	c.expect(out, "это район", "(1) Сайрам — Туркестанская область")
	c.reject(out, "Дома дружбы рядом")
	c.expect(c.say("@press 1"), "Дома дружбы рядом с населённым пунктом Сайрам")
	c.say("/cancel")
	c.expect(c.say("🏠 Дома дружбы\nСайрам ауданы Аксукент ауылы"), "Дома дружбы рядом с населённым пунктом Аксукент")
	c.say("/cancel")
	for _, typed := range []string{"Толебийский район", "Төле би ауданы"} {
		out := c.say(typed)
		c.expect(out, "это район, а я ищу по городам и сёлам")
		c.reject(out, "Я не понял", "(1)")
	}
	c.expect(c.say("Шымкент"), "Дома дружбы рядом с населённым пунктом Шымкент")
	c.say("🏠 Дома дружбы")
	c.expect(c.say("Толебийский район"), "это район")
	// A town beside the district is the town.
	c.expect(c.say("Шымкент каласы Абай ауданы"), "Дома дружбы рядом с населённым пунктом Шымкент")
	// A region is its main town, after results too (the village
	// "Казахстан" is no town inside "North Kazakhstan Region").
	c.expect(c.say("Туркестанская область"), "рядом с населённым пунктом Туркестан (Туркестанская область)")
	c.expect(c.say("Алматинская обл."), "рядом с населённым пунктом Конаев (Алматинская область)")
	c.expect(c.say("North Kazakhstan Region"), "рядом с населённым пунктом Петропавловск")
	c.expect(c.say("Түркістан облысы"), "рядом с населённым пунктом Туркестан")
}

func TestDirectoryResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	states := storagetest.States(t, time.Hour)
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	start := func() *chatTest {
		c := &chatTest{t: t, db: storagetest.DBAt(t, dir+"/dostyq.db", time.Now), states: states, out: &syncBuffer{}}
		c.console = bot.NewConsole(c.out, 1, "en")
		c.h = New(Deps{DB: c.db, States: states, Sender: checkedSender{c.console, t}, Catalog: cat, Gazetteer: testGazetteer(t)})
		c.console.SetHandler(c.h)
		return c
	}
	c := start()
	c.loadDirectory()
	c.say("Houses of Friendship")
	c.say("Semey")
	c.db.Close()
	c = start()
	if got := firstResult(t, c.say("Oral")); got != "t-h-oral" {
		t.Errorf("after a restart, Oral lists %s first", got)
	}
}

func TestSampleDataIsSaid(t *testing.T) {
	for lang, want := range map[string]string{"kk": "Үлгі деректер", "ru": "Пример данных", "en": "Sample data"} {
		c := newChatTest(t, lang)
		f, err := os.Open("../testdata/directory-test.csv")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.ImportPlaces(context.Background(), f, c.h.gaz, storage.ImportOptions{Sample: true}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		c.say(dirWords[lang].houses)
		c.expect(c.say("Алматы"), want)
		c.loadDirectory() // the real directory replaces the sample rows
		if out := c.say("Алматы"); strings.Contains(out, want) {
			t.Errorf("%s: real data said to be a sample:\n%s", lang, out)
		}
	}
}

func TestFindPlacesForOtherFlows(t *testing.T) {
	c := newDirectoryTest(t, "en")
	c.h.callback("testmed", func(r *Request) error { return c.h.findPlaces(r, storage.KindMediation) })
	c.h.HandleUpdate(context.Background(), tgbotapi.Update{UpdateID: 3000, CallbackQuery: &tgbotapi.CallbackQuery{
		ID: "m", From: &tgbotapi.User{ID: 1, LanguageCode: "en"}, Data: "testmed:",
		Message: &tgbotapi.Message{MessageID: 1, Chat: &tgbotapi.Chat{ID: 1, Type: "private"}},
	}})
	c.expect(c.out.take(), "Mediation offices: share your location")
	if got := firstResult(t, c.say("Astana")); got != "t-m-astana" {
		t.Errorf("mediation offices near Astana: %s first", got)
	}
}

func TestDirectoryTextsExistInEveryLanguage(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, id := range cat.IDs() {
		if !strings.HasPrefix(id, "dir.") && !strings.HasPrefix(id, "kind.") && !strings.HasPrefix(id, "level.") && !strings.HasPrefix(id, "ethnic.") {
			continue
		}
		n++
		for _, lang := range locales.Supported {
			if got := cat.T(lang, id, map[string]any{"Kind": "k", "Town": "t", "Region": "r", "N": 1, "Level": "l", "Group": "g", "Name": "n"}); got == id || got == "" {
				t.Errorf("%s: %s missing", lang, id)
			}
		}
	}
	for _, kind := range storage.PlaceKinds {
		if cat.T("en", "kind."+kind, nil) == "kind."+kind {
			t.Errorf("kind %s has no name", kind)
		}
	}
	if n < 58 {
		t.Errorf("only %d directory texts found", n)
	}
}

// The sample's Sairam-district council was in "Aksu" until the gazetteer
// named that village Ақсукент: importing the shipped sample over the one
// imported before updates that row (its external_id kept), and the council
// is listed once.
func TestSampleImportedAgainAfterARenameUpdatesTheRow(t *testing.T) {
	c := newChatTest(t, "en")
	cur, err := os.ReadFile("../data/directory-sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	old := strings.NewReplacer(
		"Ақсукент (ауыл)", "Ақсу (ауыл)", "Аксукент (село)", "Аксу (село)", "Aksukent (village)", "Aksu (village)",
		",turkistan,Aksukent,", ",turkistan,Aksu,").Replace(string(cur))
	ctx := context.Background()
	if _, err := c.db.ImportPlaces(ctx, strings.NewReader(old), c.h.gaz, storage.ImportOptions{Sample: true}); err != nil {
		t.Fatal(err)
	}
	res, err := c.db.ImportPlaces(ctx, strings.NewReader(string(cur)), c.h.gaz, storage.ImportOptions{Sample: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 0 {
		t.Errorf("importing the sample again added %d place(s) (updated %d)", res.Added, res.Updated)
	}
	out := c.say("Councils\n@press 1\nAksukent")
	if n := strings.Count(out, "Council of Public Accord — Aksu"); n != 1 {
		t.Errorf("%d Councils of Public Accord in Aksu/Aksukent listed, want 1:\n%s", n, out)
	}
}

// A village the bot does not know, two letters from a town it knows far
// away ("Манкент" by Sairam, "Жаркент" 700 km off), is asked about, not
// taken for the town: in the directory the town is a suggestion, in a
// mediation request the region is asked (the case goes to its mediators).
// One letter off is still taken ("Шымкен").
func TestATownTwoLettersFromAnotherIsAskedAbout(t *testing.T) {
	c := newDirectoryTest(t, "en")
	c.say(dirWords["en"].houses)
	out := c.say("Манкент")
	c.expect(out, "I do not know a town or village called “Манкент”. Did you mean one of these?", "Zharkent")
	c.reject(out, "nearest to Zharkent")
	if got := firstResult(t, c.say("Шымкен")); got != "t-h-shymkent" {
		t.Errorf("Шымкен lists %s first", got)
	}

	out = c.say("@as 40 en\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Neighbours\nThe neighbour blocked the irrigation ditch.\nМанкент")
	c.expect(out, "I do not know “Манкент”. Check the spelling and type it again, or choose the region:", "Turkistan Region")
	c.reject(out, "Zharkent")
	c.expect(c.say("@press Turkistan Region"), "Манкент", "Turkistan Region")
}

// A town or a location given after Councils or Associations, before the
// kind, is kept and searched once the kind is pressed; it is no longer
// taken for a search of Houses of Friendship.
func TestTownGivenBeforeTheKindIsKept(t *testing.T) {
	c := newDirectoryTest(t, "en")
	out := c.say("🎭 Associations\nШымкент")
	c.expect(out, "Now choose what you are looking for with the buttons below")
	c.reject(out, "Houses of Friendship nearest")
	out = c.say("@press 🌱 Youth organisations")
	c.expect(out, "Youth organisations nearest to Shymkent (Shymkent city):")

	out = c.say("🏛 Councils\n@location 43.2389 76.8897\n@press 👩 Councils of Mothers")
	c.expect(out, "Now choose what you are looking for", "Councils of Mothers nearest to you:")
	c.reject(out, "Houses of Friendship nearest")

	// The kind typed, or anything else: the kind asked for.
	c.expect(c.say("🎭 Associations\nhello"), "Please choose what you are looking for with the buttons below.")
	c.expect(c.say("Theatres"), "🎬 Ethnic theatres: share your location")
	// What is kept shows in /mydata.
	c.expect(c.say("@as 8 en\n🎭 Associations\nШымкент\n/mydata"), "• To search near: Shymkent")
	c.say("/cancel")
	// Typed, the kind searches where the town was given too.
	c.expect(c.say("🎭 Associations\nШымкент\nTheatres"), "Ethnic theatres nearest to Shymkent (Shymkent city):")
}

// After a "where?" step's results, a town typed is another search, and
// what is plainly no town is for the menu: thanks, a question, a request in
// the user's words, a sentence; a sentence naming a town is that town.
// Before any result, a word is still a village looked for.
func TestTextAfterResultsIsForTheMenu(t *testing.T) {
	c := newChatTest(t, "kk")
	c.loadDirectory()
	c.say("🏠 Достық үйлері")
	c.expect(c.say("рахмет"), "«рахмет» деген қала не ауылды білмеймін")
	c.expect(c.say("Шымкент"), "Шымкент (Шымкент қаласы) маңындағы")
	out := c.say("рахмет")
	c.expect(out, "Оқасы жоқ!", "[🏠 Достық үйлері]")
	c.reject(out, "білмеймін", "Махамбет")
	// Left: a word typed now is the menu's, no village.
	c.expect(c.say("рахмет"), "Оқасы жоқ!")

	for _, tc := range []struct{ typed, want string }{
		{"телефоны кандай?", "Түсінбедім"},
		{"көмек керек", "дербес деректерді өңдеуге келісім"},
		{"бул не деген бот озы", "Түсінбедім"},
	} {
		c.say("/cancel\n🏠 Достық үйлері\nШымкент")
		out := c.say(tc.typed)
		c.expect(out, tc.want)
		c.reject(out, "білмеймін")
	}
	c.say("/cancel\n🏠 Достық үйлері\nШымкент")
	c.expect(c.say("Тараз"), "Тараз (Жамбыл облысы) маңындағы")
	c.expect(c.say("мен Аксукентте турамын"), "Ақсукент (Түркістан облысы) маңындағы")
	c.expect(c.say("Шымкет"), "Шымкент (Шымкент қаласы) маңындағы") // a typo is still the town
}
