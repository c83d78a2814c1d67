package handlers

import (
	"strings"
	"testing"

	"github.com/dostyq/dostyq/storage"
)

func TestPlaceKindIn(t *testing.T) {
	for _, tc := range []struct{ text, kind, rest string }{
		{"Достық үйі қайда?", storage.KindHouse, "қайда"},
		{"достык уйи", storage.KindHouse, ""}, // without Kazakh letters
		{"Шымкент достық үйі", storage.KindHouse, "Шымкент"},
		{"где дом дружбы в Таразе", storage.KindHouse, "где в Таразе"},
		{"House of Friendship Almaty", storage.KindHouse, "of Almaty"},
		{"кабинет медиации", storage.KindMediation, ""},
		{"Совет матерей Актобе", storage.KindCouncilMothers, "Актобе"},
		{"қоғамдық келісім кеңесі", storage.KindCouncilAccord, "кеңесі"},
		{"Корейский культурный центр", storage.KindAssociation, "Корейский"},
		{"молодёжные организации", storage.KindYouth, "организации"},
		{"театр", storage.KindTheatre, ""},
		// Not a kind: one word of a pair, a town, a long message.
		{"мой дом", "", ""},
		{"Нужен совет, мама болеет", "", ""},
		{"совет по материальной помощи", "", ""},
		{"Достық ұйымы", "", ""},
		{"дом у моего друга, и дружба", "", ""}, // the words too far apart
		{"Мой дом далеко, где дом дружбы?", storage.KindHouse, "Мой дом далеко где"},
		{"Достық пен үйлесім", "", ""}, // friendship and harmony
		{"Достықтау", "", ""},
		{"мой сосед сломал забор у дома дружбы и не хочет его чинить уже год", "", ""},
	} {
		kind, rest := placeKindIn(tc.text)
		if kind != tc.kind || strings.Join(rest, " ") != tc.rest {
			t.Errorf("placeKindIn(%q) = %q, %q; want %q, %q", tc.text, kind, rest, tc.kind, tc.rest)
		}
	}
}

// A kind of place named in a sentence, with or without a town, in its
// case forms ("в Таразе", "Шымкенттегі"): at the menu it finds that kind
// (near the town, or asks where); at another search's "where?" it becomes
// the search.
func TestKindNamedInASentence(t *testing.T) {
	c := newChatTest(t, "ru")
	c.loadDirectory()
	out := c.say("где дом дружбы в Таразе")
	c.expect(out, "Дома дружбы рядом с населённым пунктом Тараз", "Таразский Дом дружбы")

	out = c.say("@as 2 kk\nДостық үйі қайда?")
	c.expect(out, "Достық үйлері: төмендегі түймемен орналасқан жеріңізді жіберіңіз")
	c.expect(c.say("Ақтөбе"), "1. Ақтөбе Достық үйі")

	out = c.say("@as 3 kk\nШымкенттегі медиация кабинеті")
	c.expect(out, "1. Шымкент медиация кабинеті")
	c.reject(out, "Достық үйі")

	out = c.say("@as 4 en\n🏠 Houses of Friendship\nCouncil of Mothers in Karaganda")
	c.expect(out, "1. Karaganda regional Council of Mothers")
	c.reject(out, "Karaganda House of Friendship")

	out = c.say("@as 5 ru\nсовет матерей")
	c.expect(out, "Советы матерей: отправьте свою геопозицию")
	c.expect(c.say("Астана"), "Совет матерей Астаны")

	// Without a town among the words: asked where. A town in a case
	// form is named as the gazetteer names it when asked which one.
	out = c.say("@as 7 kk\nмаған достық үйі аса қажет")
	c.expect(out, "Достық үйлері: төмендегі түймемен")
	c.expect(c.say("@as 8 kk\nАқсудағы достық үйі"), "«Ақсу»")

	// A village whose name begins like a kind's word stays the village.
	c.expect(c.say("@as 6 ru\n🏠 Дома дружбы\nДостыктау"), "Есть несколько мест с названием «Достыктау»")
}

// A request in a citizen's own sentence at the menu is the button's: a
// mediator, help, to volunteer; a mediator's help is mediation, not
// charity; a long story of a conflict gets the mediation menu too.
func TestRequestsInASentence(t *testing.T) {
	c := newChatTest(t, "en")
	for i, tc := range []struct{ lang, text, want string }{
		{"kk", "Сәлеметсіз бе, маған көмек керек, зейнеткермін", "Көмек сұрамас бұрын"},
		{"ru", "нужна помощь с продуктами", "Прежде чем попросить помощи"},
		{"en", "hello, I need some help with food", "Before you ask for help"},
		{"kk", "Алматыда медиатор бар ма?", "Медиация: дайындықтан өткен медиатор"},
		{"ru", "мне нужна помощь медиатора", "Медиация: подготовленный медиатор"},
		{"ru", "У меня конфликт с соседом из-за забора уже два года, что делать?", "Медиация: подготовленный медиатор"},
		{"ru", "Как стать волонтером?", "Предстоящих благотворительных мероприятий пока нет"},
		{"ru", "помогите найти дом дружбы", "Дома дружбы: отправьте свою геопозицию"},
		{"ru", "Мой дом далеко, где дом дружбы?", "Дома дружбы: отправьте свою геопозицию"},
		{"ru", "Нужна срочная финансовая помощь", "Прежде чем попросить помощи"},
		{"en", "I need some urgent help", "Before you ask for help"},
		{"kk", "Маған көмегіңіз керек", "Көмек сұрамас бұрын"},
		// A conflict is mediation's, wherever it is.
		{"ru", "Конфликт в театре", "Медиация: подготовленный медиатор"},
		{"ru", "У нас конфликт с молодежью во дворе", "Медиация: подготовленный медиатор"},
		// A conflict told in words without "conflict", asking for help:
		// the mediator's help.
		{"kk", "Көршім су құбырын бұзды, келісе алмай жүрміз. Көмектесіңіздер.", "Медиация: дайындықтан өткен медиатор"},
		{"ru", "Сосед затопил квартиру, не можем договориться, помогите", "Медиация: подготовленный медиатор"},
		{"ru", "Постоянно ссоримся с соседями из-за парковки", "Медиация: подготовленный медиатор"},
		{"en", "My neighbours and I keep quarrelling about the noise", "Mediation: a trained mediator"},
		{"ru", "Мы поссорились с соседом", "Медиация: подготовленный медиатор"},
		{"kk", "Көршімен дау-дамай болды", "Медиация: дайындықтан өткен медиатор"},
		{"en", "We had an argument with the landlord", "Mediation: a trained mediator"},
		// Agreeing is no conflict: help is charity's.
		{"ru", "Нужна помощь, надо договориться с врачом о приёме", "Прежде чем попросить помощи"},
		// A negation further from the help negates something else; what
		// is needed, named, is help (a grandmother's words).
		{"kk", "Маған көмек керек. Тамақ жоқ", "Көмек сұрамас бұрын"},
		{"ru", "Помогите пожалуйста, нет еды", "Прежде чем попросить помощи"},
		{"kk", "дари керек", "Көмек сұрамас бұрын"},
		{"kk", "тамак керек", "Көмек сұрамас бұрын"},
		{"ru", "Нужны лекарства для мамы", "Прежде чем попросить помощи"},
		// A neighbour and the water, a fight: the mediator's.
		{"kk", "Көршім суды бермей жатыр. Арықты жауып тастады", "Медиация: дайындықтан өткен медиатор"},
		{"kk", "Көршіммен ұрыс болды", "Медиация: дайындықтан өткен медиатор"},
	} {
		out := c.say("@as " + itoa(int64(10+i)) + " " + tc.lang + "\n" + tc.text)
		c.expect(out, tc.want)
	}
	// Help not needed, or thanks for it given, is no request for help.
	for i, text := range []string{"Мне не нужна помощь", "Нет, помощь не нужна", "Маған көмек керек емес",
		"Рахмет, енді көмек керек емес", "I don't need help anymore, thanks", "Thank you for helping me",
		"You helped me a lot, thank you", "Көмек сұраған едім, рахмет, алдым", "Достық пен үйлесім",
		"Как договориться о встрече с волонтером?", "Дай договорить", "Келісемін, бірақ бара алмаймын",
		"Мне помощь больше не нужна", "No, I do not need help", "Көмек енді керек емес",
		// A neighbour without the water, a doctor, no time to eat.
		"көршім сурет салды", "Көршіме сұрақ қойдым", "Көршім сүт әкелді", "Мой сосед водитель",
		"Тамақ ішуге уақыт жоқ", "дәрігер керек"} {
		out := c.say("@as " + itoa(int64(40+i)) + " en\n" + text)
		c.reject(out, "Before you ask for help", "Houses of Friendship:", "Mediation: a trained mediator",
			"Көмек сұрамас бұрын", "Медиация: дайындықтан", "Прежде чем попросить помощи", "Медиация: подготовленный")
	}
	// More than sixty words: left alone.
	out := c.say("@as 99 ru\n" + strings.Repeat("слово ", 61) + "медиатор")
	c.expect(out, "Я не понял")
}
