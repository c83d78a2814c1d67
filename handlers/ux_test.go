package handlers

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// newConsoleChatTest is newChatTest with the console itself as the sender,
// as in `dostyq chat`: a local sender, so answers and edits are made in
// order (answerInOrder) instead of travelling alongside the update.
func newConsoleChatTest(t *testing.T, lang string, admins ...int64) *chatTest {
	t.Helper()
	c := newChatTest(t, lang, admins...)
	c.deps.Sender = c.console
	c.h = New(c.deps)
	if !c.h.answerInOrder {
		t.Fatal("the console is not a local sender")
	}
	c.console.SetHandler(c.h)
	return c
}

// In the console chat, agreeing to the consent of a help request marked
// the consent message and asked the next question; it used to overflow
// the stack (EditAside called itself) and kill the process.
func TestConsoleChatConsentPressMarksTheQuestion(t *testing.T) {
	c := newConsoleChatTest(t, "kk")
	out := c.say("/start\n💛 Қайырымдылық\n🙏 Маған көмек керек\n@press 1")
	c.expect(out, "(edited) ", "✅ Сіз келісім бердіңіз")
}

// A description of emoji only tells a mediator nothing: it is refused
// with a request for words, and the flow stays at the description.
func TestMediationDescriptionOfEmojiOnlyAsksForWords(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press Отбасылық")
	out := c.say("😀😀😀😀😀😀😀😀😀😀😀 !!!")
	c.expect(out, "Жағдайды сөзбен сипаттаңыз")
	c.reject(out, "Жанжал қай жерде?")
	c.expect(c.say("Ұлым мен келінім арасында жанжал"), "Жанжал қай жерде?")
}

// A 5,000-character message where a town is expected is not quoted back
// whole (more than Telegram's 4,096 in one message).
func TestMediationUnknownLongTownIsQuotedShort(t *testing.T) {
	c := newChatTest(t, "en")
	c.say("🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\nMy neighbour and I argue about the fence.")
	out := c.say(strings.Repeat("x", 5000))
	c.expect(out, "I do not know", "…", "Pavlodar Region")
	c.reject(out, strings.Repeat("x", 60))
}

// A help request's description: emoji only asks for words; one too long
// is sent back so that nothing typed is lost, and the count reads right in
// Russian (not "1001 символов").
func TestHelpDescriptionEmojiOnlyAndTooLong(t *testing.T) {
	c := newChatTest(t, "ru")
	out := c.say("💛 Благотворительность\n🙏 Мне нужна помощь\n@press 1\n@press 1\n5")
	c.expect(out, "опишите")
	c.expect(c.say("🙏🙏🙏"), "опишите словами")
	long := strings.Repeat("хлеб ", 200) + "м"
	out = c.say(long)
	c.expect(out, "Символов в описании: 1001", long)
	c.reject(out, "1001 символов")
	st, _ := c.states.Get(context.Background(), 1)
	if st.Step != "description" || st.Get("kind") != "food" || st.Get("family") != "5" {
		t.Fatalf("state after a long description: step %q, kind %q, family %q", st.Step, st.Get("kind"), st.Get("family"))
	}
}

// Back and Cancel typed (or pressed on a keyboard left from a flow whose
// state expired) with no flow open, in another language than the
// interface: the main menu, not "I did not understand".
func TestBackAndCancelWithNoFlowShowTheMainMenu(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("/start")
	for _, word := range []string{"◀️ Артқа", "Назад", "back", "✖️ Болдырмау", "Отмена", "cancel"} {
		out := c.say(word)
		c.expect(out, "[🏠 Достық үйлері] [🤝 Медиация]")
		c.reject(out, "Түсінбедім")
	}
	// A flow whose state expired: its keyboard's Back is still shown.
	c.say("🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press Отбасылық")
	if err := c.states.Delete(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	out := c.say("◀️ Артқа")
	c.expect(out, "Басты мәзір")
	c.reject(out, "Түсінбедім")
}

// A location in the ocean when looking for events: the events are listed
// with the note that the point is outside Kazakhstan, as the directory
// does, not as if 8,000 km were near.
func TestVolunteerLocationOutsideKazakhstanIsSaid(t *testing.T) {
	c, _ := newEventsTest(t)
	c.newEvent("05.12.2026 10:00", "2")
	out := c.say("@as 7 en\nCharity\nVolunteer at an event\n@location 0 0")
	c.expect(out, "outside Kazakhstan", "Tree planting")
	out = c.say("@location 51.13 71.43")
	c.expect(out, "Tree planting")
	c.reject(out, "outside Kazakhstan")
}

// The family size typed with its word, as people write it: "5 адам", or
// in words: "бесеуміз" (the five of us).
func TestHelpFamilySizeWithAWord(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("💛 Қайырымдылық\n🙏 Маған көмек керек\n@press 1\n@press 1")
	c.expect(c.say("3-4 адам"), "бүтін санды жазыңыз")
	c.expect(c.say("5 адам"), "қысқаша сипаттаңыз")
	if st, _ := c.states.Get(context.Background(), 1); st.Get("family") != "5" {
		t.Fatalf("family %q, want 5", st.Get("family"))
	}
	c.say("◀️ Артқа")
	c.expect(c.say("көп"), "бүтін санды жазыңыз")
	c.expect(c.say("Біз жетеуміз"), "қысқаша сипаттаңыз")
	if st, _ := c.states.Get(context.Background(), 1); st.Get("family") != "7" {
		t.Fatalf("family %q, want 7", st.Get("family"))
	}
}

// Changing the language or reading /help in the middle of a request keeps
// the answers: the question is asked again in the new language.
func TestLanguageChangeInAFlowAsksTheStepAgain(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press Отбасылық")
	c.say("/language")
	out := c.say("@press Русский")
	c.expect(out, "Теперь язык — русский.", "Кратко опишите ситуацию", "[◀️ Назад] [✖️ Отмена]")
	c.expect(c.say("Соседи шумят по ночам уже месяц"), "Где происходит конфликт?")
	c.expect(c.say("/help"), "/language")
	c.expect(c.say("Шымкент"), "Место: Шымкент")
	st, _ := c.states.Get(context.Background(), 1)
	if st.Flow == "" || st.Get("kind") != "family" {
		t.Fatalf("state after the language change: flow %q, kind %q", st.Flow, st.Get("kind"))
	}
}

// A location shared straight from the main menu (Telegram's attachment
// menu) lists the nearest Houses of Friendship, not "I cannot read this
// kind of message".
func TestLocationAtTheMainMenuListsTheNearestHouses(t *testing.T) {
	c := newChatTest(t, "ru")
	c.loadDirectory()
	out := c.say("/start\n@location 49.80 73.10")
	c.expect(out, "🏠 Дома дружбы", "км")
	c.reject(out, "Я не умею читать")
	c.expect(c.say("@press 1"), "📍")
}

// Back from the first question after the consent leaves the request for
// the menu it was chosen from (Mediation, Charity); the consent just given
// is not asked for again.
func TestBackAfterConsentLeavesTheFlow(t *testing.T) {
	c := newChatTest(t, "kk")
	for _, tc := range []struct{ start, menu, flow string }{
		{"🤝 Медиация\n🙋 Медиаторға жүгіну", "Медиация: дайындықтан өткен медиатор", ""},
		{"💛 Қайырымдылық\n🙏 Маған көмек керек", "Қайырымдылық. Отбасыңызға көмек сұраңыз", "charity"},
	} {
		c.say(tc.start + "\n@press 1")
		out := c.say("◀️ Артқа")
		c.expect(out, tc.menu)
		c.reject(out, "Келісесіз бе?")
		if st, _ := c.states.Get(context.Background(), 1); st.Flow != tc.flow {
			t.Fatalf("%q then Back: in flow %q at %q, want %q", tc.start, st.Flow, st.Step, tc.flow)
		}
		c.say("/menu")
	}
}

// "Here is what you wrote" is followed by what was written, for a
// volunteer's name and an event's address too long; a name of emoji only
// is asked for in letters.
func TestEventNameAndAddressTooLongAreSentBack(t *testing.T) {
	c, _ := newEventsTest(t)
	c.say("@as 50 en\n/newevent\nTree planting\nWe plant trees in the park.\n05.12.2026 10:00\nAstana")
	address := strings.Repeat("street ", 40)
	out := c.say(address)
	c.expect(out, "Here is what you wrote", strings.TrimSpace(address))
	c.expect(c.say("Park, gate 2"), "How many volunteers")
	c.say("5\n@press ✅ Create")

	c.say("@as 8 en\nCharity\nVolunteer at an event\nAstana\n@press 1\n@press 1\n@press ✅ I agree")
	name := strings.Repeat("Dana", 30)
	c.expect(c.say(name), "Here is what you wrote", name)
	c.expect(c.say("😀🙂"), "your name in letters")
	c.expect(c.say("Dana Seitova"), "Your phone number")
}

// Kazakh: 10000 and 1000 end in "мың", whose dative is "-ға" (мыңға).
func TestKazakhDativeOfThousands(t *testing.T) {
	c := newChatTest(t, "kk", 100)
	out := c.say("@as 100 kk\n/newevent\nАғаш отырғызу\nСаябаққа ағаш отырғызамыз.\n05.12.2026 10:00\nАстана\nМекенжайсыз")
	c.expect(out, "1-ден 10000-ға дейінгі сан")
	c.expect(c.say("0"), "1-ден 10000-ға дейін")
	c.expect(c.say("@as 100 kk\n/audit x"), "1-ден 1000-ға дейін")
}

// A town typed exactly is taken: Темиртау is not "one of several places"
// beside Темирлановка, a near miss of its other name.
func TestMediationExactTownIsNotAskedAboutBesideNearMisses(t *testing.T) {
	c := newChatTest(t, "ru")
	c.say("🤝 Медиация\n🙋 Обратиться к медиатору\n@press 1\n@press Соседский\nСоседи шумят по ночам уже месяц")
	out := c.say("Темиртау")
	c.expect(out, "Место: Темиртау (Карагандинская область)", "На каком языке")
	c.reject(out, "Есть несколько мест", "Темирлановка")
}

// Emoji typed for the town, then a region chosen: the place is the
// region, not "😀😀".
func TestMediationEmojiTownThenRegion(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press Отбасылық\nҰлым мен келінім арасында жанжал")
	c.say("😀😀")
	out := c.say("@press Шымкент қаласы")
	c.expect(out, "Орны: Шымкент қаласы.")
	c.reject(out, "(Шымкент қаласы)")
	c.reject(out, "😀")
}

// A volunteer typing their number without the country code, as it is
// often written: 701 111 22 33.
func TestVolunteerPhoneWithoutCountryCode(t *testing.T) {
	c, _ := newEventsTest(t)
	c.newEvent("05.12.2026 10:00", "2")
	c.say("@as 8 en\nCharity\nVolunteer at an event\nAstana\n@press 1\n@press 1\n@press ✅ I agree\nDana Seitova")
	out := c.say("701 111 22 33")
	c.expect(out, "✅ You are registered for E-000001")
	c.reject(out, "not a Kazakhstan phone number")
}

// /forget in the middle of a request, then "keep my data": nothing was
// erased, the draft included; the question is asked again.
func TestForgetKeptInAFlowGoesOnWithTheRequest(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press Отбасылық\nҰлым мен келінім арасында жанжал")
	c.say("/forget")
	out := c.say("@press 2")
	c.expect(out, "Ештеңе өшірілген жоқ.", "Жанжал қай жерде?")
	c.expect(c.say("Шымкент"), "Орны: Шымкент")
}

// /forget in the middle of a request, then "erase": the draft goes too.
func TestForgetErasedInAFlowEndsIt(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press Отбасылық\nҰлым мен келінім арасында жанжал\n/forget")
	c.expect(c.say("@press 1"), "Дербес деректеріңіз өшірілді")
	if st, _ := c.states.Get(context.Background(), 1); st.Flow != "" {
		t.Fatalf("after /forget: still in flow %q", st.Flow)
	}
	c.reject(c.say("Шымкент"), "Орны:")
}

// A village typed as Kazakh and Russian speakers write it, with the word
// for its kind: "Сайрам ауылы", "село Сайрам".
func TestTownTypedWithItsKind(t *testing.T) {
	c := newChatTest(t, "kk")
	c.loadDirectory()
	for typed, town := range map[string]string{"Сайрам ауылы": "Сайрам", "село Сайрам": "Сайрам", "Шымкент қаласы": "Шымкент"} {
		out := c.say("🏠 Достық үйлері\n" + typed)
		c.reject(out, "білмеймін")
		c.expect(out, "— "+town+" (")
	}
}

// The brief's words, typed in any interface language: "Достық үйі",
// "Дом дружбы", "House of Friendship" (the buttons say them in the plural).
func TestHouseOfFriendshipTypedInTheSingular(t *testing.T) {
	c := newChatTest(t, "kk")
	for _, typed := range []string{"Достық үйі", "Дом дружбы", "дом дружбы", "House of Friendship"} {
		out := c.say(typed)
		c.expect(out, "🏠 Достық үйлері: төмендегі түймемен")
		c.reject(out, "Түсінбедім")
	}
}

// The kind of conflict and the language typed as their buttons say, in
// any language: the grandmother writes "Отбасылық" instead of pressing.
func TestMediationKindAndLanguageTyped(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1")
	c.expect(c.say("Отбасылық"), "Жағдайды 10–1000 таңбамен")
	c.say("Ұлым мен келінім арасында жанжал\nШымкент")
	c.expect(c.say("русский"), "Медиатор сізбен қалай байланыссын?")
	st, _ := c.states.Get(context.Background(), 1)
	if st.Get("kind") != "family" || st.Get("lang") != "ru" {
		t.Fatalf("kind %q, lang %q", st.Get("kind"), st.Get("lang"))
	}
	c.say("/cancel\n🤝 Медиация\n🙋 Медиаторға жүгіну")
	c.expect(c.say("Семейный"), "Жағдайды 10–1000 таңбамен")
}

// The consent typed as its button says, or yes / no, in any language,
// counts as the press: "Келісемін" stores the consent and goes on; "Не
// согласна" ends, nothing stored; anything else asks for the buttons.
func TestConsentTyped(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("💛 Қайырымдылық\n🙏 Маған көмек керек")
	c.expect(c.say("мүмкін"), "«Келісемін» немесе «Келіспеймін»")
	c.expect(c.say("келісемін"), "Сізге қандай көмек керек?")
	if ok, _ := c.db.HasConsent(context.Background(), 1, "charity", helpConsent); !ok {
		t.Fatal("typed consent not stored")
	}
	for _, typed := range []string{"Не согласна", "I do not agree", "жоқ"} {
		c.say("/cancel\n🤝 Медиация\n🙋 Медиаторға жүгіну")
		out := c.say(typed)
		c.expect(out, "[🏠 Достық үйлері] [🤝 Медиация]")
		c.reject(out, "Бұл қандай жанжал?")
	}
	c.say("🤝 Медиация\n🙋 Медиаторға жүгіну")
	c.expect(c.say("Иә"), "Бұл қандай жанжал?")
	// "Yes, I agree" as a grandmother writes it, without Kazakh letters.
	for _, typed := range []string{"иа келисемин", "Да, согласна"} {
		c.say("/cancel\n/forget\n@press 1\n🤝 Медиация\n🙋 Медиаторға жүгіну")
		c.expect(c.say(typed), "Бұл қандай жанжал?")
	}
}

// A citizen answering the mediator's message without pressing Reply is
// asked whether to send it, the text kept: one tap sends it and opens the
// chat, so that the next message goes straight there; more text typed
// meanwhile is added; Don't send drops it, and a menu button leaves it.
// A citizen whose case still waits is told so.
func TestCitizenTypingOutsideTheChatIsAskedToSend(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.submit(10, "💬 Through the bot only")
	// While it waits, the citizen is told so (a district is still the
	// district's answer).
	c.expect(c.say("@as 10 en\nanyone there?"), "Your case M-000001 is waiting for a mediator", "This message was not passed on.")
	c.expect(c.say("Tole Bi district"), "is a district")
	c.say("/cancel")
	c.say("@as 2 en\n@press ✅ Accept\n@press ✉️ Write to the citizen\nCan I call you tomorrow?\n🚪 Leave the chat")
	// A language's name is the bot's language, not a message.
	c.expect(c.say("@as 10 en\nорысша"), "Теперь язык — русский.")
	c.say("English")
	out := c.say("@as 10 en\nYes, after ten")
	c.expect(out, "This message has not been sent to the mediator of case M-000001 yet. Send it?", "✉️ Send to the mediator")
	c.reject(out, "[to 2]")
	c.expect(c.say("or after six"), "Send it?")
	out = c.say("@press ✉️ Send to the mediator")
	c.expect(out, "(edited) Sent to the mediator.", "[to 2] M-000001 · Citizen User10:\n\nYes, after ten\n\nor after six",
		"✓ Sent to the mediator, case M-000001.", "[🚪 Leave the chat]")
	// The chat is open: the next message goes straight there.
	c.expect(c.say("Thank you!"), "[to 2] M-000001 · Citizen User10:\n\nThank you!")
	c.say("🚪 Leave the chat")

	// "No" typed is added (as likely the mediator's answer); Don't send,
	// or a command, drops it, and says so.
	c.expect(c.say("Astana"), "Send it?")
	out = c.say("no")
	c.expect(out, "Send it?")
	c.reject(out, "The message was not sent.", "[to 2]")
	out = c.say("/cases")
	c.expect(out, "The message was not sent.")
	c.reject(out, "[to 2]")
	c.expect(c.say("Thank you"), "Send it?")
	out = c.say("@press Don't send")
	c.expect(out, "The message was not sent.")
	c.reject(out, "[to 2]")
	// A menu button pressed instead is that button, and says the message
	// was not sent.
	c.say("wait")
	out = c.say("🏠 Houses of Friendship")
	c.expect(out, "The message was not sent.", "share your location")
	c.reject(out, "[to 2]")
	// /mydata shows the message kept while it waits.
	c.say("/cancel\nI will come on Monday")
	c.expect(c.say("/mydata"), "A message not sent yet: I will come on Monday")
	// A location is no text to add: the question again.
	c.expect(c.say("@location 51.1 71.4"), "Send it?")
	// ↩️ Reply under the mediator's message, pressed instead of Send:
	// the text kept is what they meant to write.
	c.say("@as 2 en\n/cases\n@press ✉️ Write to the citizen\nSee you on Monday then.\n🚪 Leave the chat")
	out = c.say("@as 10 en\n@press ↩️ Reply")
	c.expect(out, "[to 2] M-000001 · Citizen User10:\n\nI will come on Monday", "✓ Sent to the mediator")
	c.say("🚪 Leave the chat")
	// The case closed while the text waits: Send says so, and not "Sent".
	c.say("Bye")
	c.say("@as 2 en\n/cases\n@press ✅ Close the case\n@press Resolved\n@press Skip")
	out = c.press(10, StepData("send", "y"), 1)
	c.reject(out, "Sent to the mediator.", "[to 2]")
	c.expect(out, "is not open")
}

// A mediator typing to a citizen without pressing Write first (right after
// accepting, from a bus) is told that it was not passed on, with a button
// to write for each case they accepted; a mediator with no case accepted,
// or whose role was taken away, hears "I did not understand".
func TestMediatorTypingOutsideTheChatIsShownHowToWrite(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.expect(c.say("@as 2 en\nanyone there?"), "I did not understand")
	c.submit(10, "💬 Through the bot only")
	// Accepted on the offer itself: nothing to say of a later message.
	c.reject(c.say("@as 2 en\n@press ✅ Accept"), "a later message")
	out := c.say("Good afternoon, I am your mediator.")
	c.expect(out, "This message was not sent to any citizen", "(M-000001)", "✉️ Write to the citizen")
	c.reject(out, "[to 10]", "I did not understand")
	out = c.say("@press ✉️ Write to the citizen\nGood afternoon, I am your mediator.")
	c.expect(out, "[to 10] M-000001", "Good afternoon, I am your mediator.")
	// A town or thanks is answered as for anyone: a mediator holds cases
	// for weeks and still looks for a House of Friendship.
	c.say("🚪 Leave the chat")
	c.loadDirectory()
	c.expect(c.say("Astana"), "Houses of Friendship nearest to Astana")
	out = c.say("/menu\nThank you")
	c.expect(out, "You are welcome")
	c.reject(out, "not sent to any citizen")
	// A sentence naming a place is most likely for the citizen.
	out = c.say("Meet at the House of Friendship, Astana")
	c.expect(out, "This message was not sent to any citizen")
	c.reject(out, "nearest to Astana")
	// With two cases, a button for each.
	c.submit(11, "💬 Through the bot only")
	out = c.say("@as 2 en\n@press ✅ Accept\nSee you tomorrow")
	c.expect(out, "(M-000002, M-000001)", "✉️ M-000002", "✉️ M-000001")
	out = c.say("@press ✉️ M-000002\nSee you tomorrow")
	c.expect(out, "[to 11] M-000002", "See you tomorrow")
	c.reject(out, "[to 10]")
	// "No" typed to an offer waiting gets its Accept and Decline.
	c.say("🚪 Leave the chat")
	c.submit(12, "💬 Through the bot only")
	out = c.say("@as 2 en\nno")
	c.expect(out, "✅ Accept M-000003", "❌ Decline")
	c.reject(out, "please press the button you mean")
	// The role taken away: the cases stay, the hint does not.
	c.say("🚪 Leave the chat")
	if err := c.db.Tx(context.Background(), func(tx *storage.Tx) error {
		_, err := tx.RevokeRole(2, storage.RoleMediator)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c.expect(c.say("@as 2 en\nanyone there now?"), "I did not understand")
}

// /start typed halfway through a request keeps the answers: the user is
// told so, with how to leave, and asked the current question again.
func TestStartInAFlowKeepsTheAnswers(t *testing.T) {
	c := newConsoleChatTest(t, "kk")
	c.say("🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press Отбасылық")
	c.say("Көршілер түнде шу шығарады")
	out := c.say("/start")
	c.expect(out, "аяқталмаған өтініш бар", "/cancel", "Жанжал қай жерде?", "[◀️ Артқа] [✖️ Болдырмау]")
	c.reject(out, "қош келдіңіз")
	c.expect(c.say("Шымкент"), "Шымкент")
	st, _ := c.states.Get(context.Background(), 1)
	if st.Flow == "" || st.Get("kind") != "family" {
		t.Fatalf("state after /start: flow %q, kind %q", st.Flow, st.Get("kind"))
	}
	// Cancel leaves it; /start then greets as before.
	c.say("✖️ Болдырмау")
	c.expect(c.say("/start"), "қош келдіңіз")
}

// Back on the first step of Volunteering returns to the Charity menu it
// was chosen from, not to the main menu.
func TestVolunteerBackReturnsToTheCharityMenu(t *testing.T) {
	c := newConsoleChatTest(t, "kk")
	c.anEvent()
	c.expect(c.say("💛 Қайырымдылық\n🙌 Ерікті болу"), "Жақын маңдағы қайырымдылық шаралары")
	out := c.say("◀️ Артқа")
	c.expect(out, "Қайырымдылық. Отбасыңызға көмек сұраңыз", "🙌 Ерікті болу")
	c.reject(out, "Тоқтатылды")
	st, _ := c.states.Get(context.Background(), 1)
	if st.Flow != "charity" {
		t.Fatalf("flow after Back: %q, want charity", st.Flow)
	}
	// Cancel still leaves for the main menu; Back from the Charity menu too.
	c.say("🙌 Ерікті болу")
	c.expect(c.say("✖️ Болдырмау"), "Тоқтатылды")
}

// A town or village typed at the main menu lists the Houses of Friendship
// near it, as if Houses of Friendship had been chosen; other text is still
// not understood.
func TestTownTypedAtTheMenuListsHouses(t *testing.T) {
	c := newConsoleChatTest(t, "kk")
	c.loadDirectory()
	c.say("/start")
	out := c.say("Шымкент")
	c.expect(out, "Достық үйлері — Шымкент", "маңындағы ең жақындары")
	c.reject(out, "Түсінбедім")
	c.expect(c.say("Сайрам ауылы"), "Достық үйлері — Сайрам")
	c.say("/menu")
	c.expect(c.say("Karaganda"), "Достық үйлері — Қарағанды")
	c.say("/menu")
	// Namesakes ask which region; the press answers it.
	c.expect(c.say("Ақсу"), "«Ақсу» деген бірнеше жер бар.")
	c.expect(c.say("@press Павлодар облысы"), "Достық үйлері — Ақсу (Павлодар облысы)")
	c.say("/menu")
	c.expect(c.say("Апама сәлем айт"), "Түсінбедім")
	st, _ := c.states.Get(context.Background(), 1)
	if st.Flow != "" {
		t.Fatalf("flow after text that is no town: %q", st.Flow)
	}
}

// "Жақсы" (fine) and "Достық" (friendship, the bot's name) are also
// villages: typed alone at the main menu they are the words, not a list of
// Houses near a village far away; asked "where?" by Houses of Friendship
// they are the village.
func TestEverydayWordsAtTheMenuAreNotVillages(t *testing.T) {
	c := newConsoleChatTest(t, "kk")
	c.loadDirectory()
	c.say("/start")
	for w, want := range map[string]string{"Жақсы": "Жақсы. Тағы бірдеңе", "жақсы!": "Жақсы. Тағы бірдеңе",
		"Достық": "Түсінбедім", "Дружба": "Түсінбедім", "Dostyk": "Түсінбедім",
		"Жақсы, рақмет": "Түсінбедім", "Достық, сәлем": "Түсінбедім"} {
		out := c.say(w)
		c.reject(out, "Достық үйлері —")
		c.expect(out, want)
	}
	c.say("🏠 Достық үйлері")
	c.expect(c.say("Жақсы"), "Достық үйлері — Жақсы")
	// Алға is a town of 20,000: typed alone it is the town.
	c.say("/menu")
	c.expect(c.say("Алға"), "Достық үйлері — Алға")
}

// A consent given once is not asked for again at the same version: the
// second mediation or help request goes straight to its first question,
// saying that the consent stands and where the text is (/privacy).
func TestConsentAskedOncePerVersion(t *testing.T) {
	c := newChatTest(t, "kk")
	for _, start := range []string{"🤝 Медиация\n🙋 Медиаторға жүгіну", "💛 Қайырымдылық\n🙏 Маған көмек керек"} {
		c.expect(c.say(start), "Келісесіз бе?")
		c.say("@press 1\n/cancel")
		out := c.say(start)
		c.reject(out, "Келісесіз бе?")
		c.expect(out, "/mydata")
	}
	c.expect(c.say("/cancel\n🤝 Медиация\n🙋 Медиаторға жүгіну"), "Бұл қандай жанжал?")
	c.expect(c.say("/mydata"), "Берген келісімдеріңіз:")
}

// The confirmation typed at the summary, as a button's label or yes in any
// language, sends the request as the press does; another word still asks
// for the buttons.
func TestConfirmTyped(t *testing.T) {
	c := newChatTest(t, "en")
	for i, typed := range []string{"Растау", "Подтвердить", "confirm", "иә", "Да", "yes"} {
		id := itoa(int64(10 + i))
		out := c.say("@as " + id + " en\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\n" +
			"My neighbour and I argue about the fence, case " + id + ".\nAstana\n@press Русский\n💬 Through the bot only")
		c.expect(out, "✅ Confirm")
		// Another word: the request again, its buttons at the bottom.
		out = c.say("maybe")
		c.expect(out, "Please choose with the buttons below.")
		c.expect(out, "Your request for a mediator", "✅ Confirm")
		// Typed, nothing was pressed: the summary is not sent again as
		// the "marked" question.
		out = c.say(typed)
		c.expect(out, "Your case M-0000")
		c.reject(out, "Your request for a mediator")
		out = c.say("@as " + itoa(int64(30+i)) + " en\nCharity\nI need help\n@press 1\n@press 🍞 Food\n3\nNo food at home.\nAstana\n@contact +77011234567")
		c.expect(out, "Send the request?")
		c.reject(out, "Request C-0000")
		c.expect(c.say(typed), "Request C-0000")
	}
	c.say("@as 50 en\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\n" +
		"My neighbour and I argue about the fence.\nAstana\n@press Русский\n💬 Through the bot only")
	out := c.say("✏️ Edit a step")
	c.expect(out, "Which step")
	c.reject(out, "Please choose with the buttons")
}

// Summaries as a person reads them: the phone spaced, a place that is its
// region named once, an offer's deadline as date then time like every
// other, and /stats with nothing to break down not ending in "by:".
func TestSummariesReadWell(t *testing.T) {
	c := newChatTest(t, "kk", 100)
	out := c.say("@as 100 kk\n/stats")
	c.expect(out, "Түскен медиация істері: 0.\n", "Көмек сұраған өтініштер: 0.\n")
	c.reject(out, "бойынша:\n\n", "бойынша:\n💛")

	c.mediator(2, "Aigerim")
	c.say("@as 10 en\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\n" +
		"My neighbour and I argue about the fence.\nAstana\n@press Русский\n@contact +77011234567")
	out = c.say("@press ✅ Confirm")
	c.expect(out, "Contact: by phone +7 701 123 45 67", "[to 2] 🔔 New request for mediation")
	c.reject(out, "+77011234567")
	if !regexp.MustCompile(`Please answer by \d\d\.\d\d\.\d{4} \d\d:\d\d \(`).MatchString(out) {
		t.Errorf("the offer's deadline is not written dd.mm.yyyy hh:mm:\n%s", out)
	}
	c.say("@as 10 en\n🤝 Mediation\n🙋 Ask for a mediator\n@press Family\n" +
		"My brother and I argue about the house.\n😀😀")
	out = c.say("@press Shymkent city")
	c.expect(out, "Shymkent city.")
	c.reject(out, "Shymkent city (Shymkent city)")

	out = c.say("@as 11 en\nCharity\nI need help\n@press 1\n@press 🍞 Food\n3\nNo food at home.\nAstana\n@contact +77011234567")
	c.expect(out, "Phone: +7 701 123 45 67")
	c.reject(out, "+77011234567")
}

// "No" typed at a request's summary, in any language, case and
// punctuation: nothing is sent and nothing is lost. The bot says so in the
// user's language and offers Edit a step / Cancel again; the answers stay,
// so the buttons work. A "yes" typed then answers "edit or cancel?", not
// the summary: nothing is sent, the summary is shown again with Confirm,
// and a "yes" to it sends; the Confirm label typed sends at once.
func TestSummaryTypedNoSendsNothingAndKeepsTheAnswers(t *testing.T) {
	c := newChatTest(t, "en")
	for i, tc := range []struct {
		lang, typed, yes, confirm, notSent, edit, cancel, which, cancelled string
		helpNotSent, helpCancel, helpCancelled, helpEdit                   string
	}{
		{"kk", "жоқ", "иә", "✅ Растау", "Ештеңе жіберілген жоқ.", "✏️ Қадамды өзгерту", "✖️ Болдырмау", "Қай қадамды", "Өтініштен бас тартылды",
			"Ештеңе жіберілген жоқ. Бірдеңені өзгертесіз бе", "✖️ Болдырмау", "Өтінім жіберілмеді", "✏️ Өзгерту"},
		{"ru", "Нет!", "да", "✅ Подтвердить", "Ничего не отправлено.", "✏️ Изменить шаг", "✖️ Отменить", "Какой шаг", "Обращение отменено",
			"Ничего не отправлено. Хотите что-то изменить", "✖️ Отменить", "Заявка не отправлена", "✏️ Изменить"},
		{"en", "NO.", "Yes", "✅ Confirm", "Nothing was sent.", "✏️ Edit a step", "✖️ Cancel", "Which step", "Your request was cancelled",
			"Nothing was sent. Would you like to change something", "✖️ Cancel", "Your request was not sent", "✏️ Edit"},
	} {
		id := int64(10 + 10*i)
		summary := func(id int64) string {
			return c.say("@as " + itoa(id) + " " + tc.lang + "\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press 1\n" +
				"My neighbour and I argue about the fence, case " + itoa(id) + ".\nAstana\n@press 1\n💬 Through the bot only")
		}
		c.expect(summary(id), tc.edit, tc.cancel)
		out := c.say(tc.typed)
		c.expect(out, tc.notSent, "case "+itoa(id)+".", "(1) "+tc.edit+"  (2) "+tc.cancel)
		c.reject(out, "M-0000", "✅", "Please choose", "выберите", "таңдаңыз")
		// The buttons of that reply work; nothing was lost.
		c.expect(c.say("@press "+tc.edit), tc.which)
		c.expect(c.say("@press 5\n💬 Through the bot only\n"+tc.typed), tc.notSent)
		out = c.say(tc.yes)
		c.expect(out, tc.confirm, "case "+itoa(id)+".")
		c.reject(out, "M-0000")
		c.expect(c.say(tc.yes), "M-0000")
		// Once a step was edited the summary is asked anew: a "yes" sends.
		summary(id + 5)
		c.say(tc.typed)
		c.say("@press " + tc.edit + "\n@press 5\n💬 Through the bot only")
		c.expect(c.say(tc.yes), "M-0000")
		// Cancel from that reply is the Cancel of the summary.
		summary(id + 1)
		c.say(tc.typed)
		c.expect(c.say("@press "+tc.cancel), tc.cancelled)

		// The help request: the same.
		help := func() string {
			return c.say("@as " + itoa(id+2) + " " + tc.lang + "\nCharity\nI need help\n@press 1\n@press 1\n3\nNo food at home.\nAstana\n@contact +77011234567")
		}
		c.reject(help(), "C-0000")
		out = c.say(tc.typed)
		c.expect(out, tc.helpNotSent)
		c.reject(out, "C-0000", "✅")
		// Its Cancel marks the reply it belongs to, not "Send the request?".
		c.expect(c.say("@press "+tc.helpCancel), "(edited) "+tc.helpNotSent, tc.helpCancelled)
		help()
		c.say(tc.typed)
		out = c.say(tc.yes)
		c.expect(out, tc.confirm, "No food at home.")
		c.reject(out, "C-0000")
		c.expect(c.say(tc.yes), "C-0000")
		// After "no", the Confirm label typed sends at once; and once a
		// step was edited, the summary is asked anew and "yes" sends.
		c.say("@as " + itoa(id+4) + " " + tc.lang + "\nCharity\nI need help\n@press 1\n@press 1\n3\nNo food at home.\nAstana\n@contact +77011234567\n" + tc.typed)
		c.expect(c.say(tc.confirm), "C-0000")
		c.say("@as " + itoa(id+6) + " " + tc.lang + "\nCharity\nI need help\n@press 1\n@press 1\n3\nNo food at home.\nAstana\n@contact +77011234567\n" + tc.typed)
		c.expect(c.say("@press "+tc.helpEdit+"\n@press 2\n4"), tc.confirm)
		c.expect(c.say(tc.yes), "C-0000")

		// "No" typed twice: Cancel pressed on the first reply marks that
		// reply with its own text too.
		user := id + 3
		c.say("@as " + itoa(user) + " " + tc.lang + "\nCharity\nI need help\n@press 1\n@press 1\n3\nNo food at home.\nAstana\n@contact +77011234567")
		c.say(tc.typed)
		st, err := c.states.Get(context.Background(), user)
		if err != nil {
			t.Fatal(err)
		}
		first, _ := strconv.Atoi(st.Get("not_sent"))
		c.expect(c.say(tc.typed), tc.helpNotSent)
		c.pressRaw(user, StepData("confirm", "no"), first)
		out = c.out.take()
		c.expect(out, "(edited) "+tc.helpNotSent, tc.helpCancelled)
		c.reject(out, "(edited) "+c.h.cat.T(locales.Lang(tc.lang), "help.confirm_q", nil))
	}
}

// /mydata writes a phone as every other message does, "+7 701 123 45 67":
// the volunteer profile, and the phone of an unfinished request.
func TestMyDataPhoneReadsSpaced(t *testing.T) {
	c, _ := newEventsTest(t)
	c.newEvent("05.12.2026 10:00", "5")
	c.expect(c.volunteer(1, "Dana", "+77011234567"), "You are registered for E-000001")
	out := c.say("@as 1 en\n/mydata")
	c.expect(out, "Volunteer profile: Dana, +7 701 123 45 67")
	c.reject(out, "+77011234567")

	c.say("🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\n" +
		"My neighbour and I argue about the fence.\nAstana\n@press Русский\n@contact +77011234567")
	out = c.say("/mydata")
	c.expect(out, "Unfinished conversation", "Phone: +7 701 123 45 67")
	c.reject(out, "+77011234567")
}

// A citizen who chose "through the bot only" gave no phone: the alert to
// the administrators, an administrator's /case and the accepting
// mediator's card say to answer through the bot, never to phone or
// contact the citizen, in every language; the citizen is not promised a
// call. A case with a phone keeps "follow up / contact the citizen".
func TestBotOnlyCaseTellsStaffToAnswerThroughTheBot(t *testing.T) {
	c := newChatTest(t, "en", 100, 101, 102)
	for admin, lang := range map[int64]string{100: "en", 101: "ru", 102: "kk"} {
		c.say("@as " + itoa(admin) + " " + lang + "\n/start")
	}
	out := c.submit(10, "💬 Through the bot only")
	alerts := map[string]struct{ want, unwanted []string }{
		"[to 100] ⚠️": {[]string{"through the bot", "Contact: through the bot only, no phone"},
			[]string{"follow up", "call", "contact the citizen"}},
		"[to 101] ⚠️": {[]string{"через бот", "Связь: только через бот, телефона нет"},
			[]string{"свяжитесь", "позвон", "перезвон"}},
		"[to 102] ⚠️": {[]string{"бот арқылы", "Байланыс: тек бот арқылы, телефон жоқ"},
			[]string{"байланысыңыз", "қоңырау", "хабарласыңыз"}},
	}
	for to, a := range alerts {
		i := strings.Index(out, to)
		if i < 0 {
			t.Fatalf("no alert %s:\n%s", to, out)
		}
		alert := out[i+len(to):]
		if j := strings.Index(alert, "⚠️"); j >= 0 {
			alert = alert[:j]
		}
		c.expect(alert, a.want...)
		c.reject(alert, a.unwanted...)
	}
	// The citizen learns it in the Confirm's answer, not in a notice of its
	// own that the outbox could deliver before that answer.
	c.expect(out, "Your case M-000001 was received. No mediator who speaks your language and works in your region is free right now.",
		"here, in the bot")
	c.reject(out, "will follow up with you", "No mediator has been able", "you will get a message here when one accepts it")
	// The citizen's own /mydata keeps the citizen's wording.
	out = c.say("@as 10 en\n/mydata")
	c.expect(out, "Contact: through the bot only\n")
	c.reject(out, "write to the citizen")

	out = c.say("@as 101 ru\n/case M-000001")
	c.expect(out, "Связь: только через бот, телефона нет: пишите гражданину только через бот")
	c.reject(out, "свяжитесь", "позвон")
	// The mediator who comes on duty and accepts it.
	c.mediator(2, "Aigerim")
	out = c.say("@as 2 en\n@press ✅ Accept")
	c.expect(out, "You accepted case M-000001", "Contact: through the bot only, no phone: write to the citizen only through the bot")

	// With a phone: the alert says to follow up, and shows the phone.
	c.expect(c.say("@as 2 en\n/duty"), "off duty")
	out = c.submit(11, "@contact "+citizenPhone)
	c.expect(out, "[to 100] ⚠️ No mediator has taken this case. Please follow up", "Contact: by phone +7 701 123 45 67",
		"Your case M-000002 was received. No mediator who speaks your language and works in your region is free right now, so the regional mediation office has been told: a person from it will follow up with you.")
	c.reject(out, "No mediator has been able")
	// In Kazakh, the same in one answer.
	out = c.say("@as 12 kk\n🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press 1\nКөршіммен қоршау туралы дауласып жүрміз.\nАстана\n@press Қазақша\n💬 Тек бот арқылы\n@press 1")
	c.expect(out, "Сіздің M-000003 өтінішіңіз қабылданды. Қазір сіздің тіліңізде сөйлейтін және өңіріңізде жұмыс істейтін бос медиатор жоқ.", "бот арқылы жазады")
	c.reject(out, "бірде-бір медиатор сіздің")
}

// Ақсукент, the centre of Sairam district near Shymkent, is found by the
// names people type in each script, and read back in the user's language.
func TestAksukentIsFound(t *testing.T) {
	c := newChatTest(t, "en")
	c.loadDirectory()
	for _, typed := range []string{"Ақсукент", "Аксукент", "Aksukent", "аксукент"} {
		out := c.say("Houses of Friendship\n" + typed)
		c.expect(out, "nearest to Aksukent (Turkistan Region)", "1. Shymkent House of Friendship — 23 km")
		c.reject(out, "I do not know", "several places")
	}
	out := c.say("@as 20 kk\n🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press 1\nКөршіммен қоршау туралы дауласып жүрміз.\nАксукент")
	c.expect(out, "Орны: Ақсукент (Түркістан облысы).")
}

// Thanks, a greeting or an "OK" typed at the main menu get a word back and
// the menu in the user's language, not "I did not understand"; a longer
// text with the same word in it is still not understood, and inside a
// request the same word is an answer (a volunteer named Рахмет).
func TestThanksAndGreetingsAtTheMenu(t *testing.T) {
	for _, tc := range []struct {
		lang, text, want string
	}{
		{"kk", "Рахмет!", "Оқасы жоқ!"}, {"kk", "рақмет сізге", "Оқасы жоқ!"}, {"kk", "Сәлеметсіз бе", "Сәлеметсіз бе!"},
		{"kk", "Жақсы", "Тағы бірдеңе керек болса"}, {"kk", "Спасибо", "Оқасы жоқ!"},
		{"ru", "Спасибо большое", "Пожалуйста!"}, {"ru", "Здравствуйте", "Здравствуйте!"}, {"ru", "Рахмет", "Пожалуйста!"},
		{"en", "thanks", "You are welcome!"}, {"en", "Hi", "Hello!"}, {"en", "ok", "All right."},
		// Written as a grandmother writes them, and "who are you?": what
		// the bot is.
		{"kk", "Салеметсизбе", "Сәлеметсіз бе!"}, {"kk", "Сәлем балам", "Сәлеметсіз бе!"}, {"kk", "Саламатсызба", "Сәлеметсіз бе!"},
		{"kk", "Хайырлы тан", "Сәлеметсіз бе!"}, {"kk", "рахмет балам", "Оқасы жоқ!"},
		{"kk", "сен кимсин балам", "Қазақстан халқы Ассамблеясының боты"}, {"kk", "Мени умытшы", "Дербес деректеріңізді өшіру керек пе?"},
		{"ru", "Ассаламу алейкум", "Здравствуйте!"},
		{"kk", "сен кимсин?", "Қазақстан халқы Ассамблеясының боты"}, {"ru", "Что это за бот?", "бот Ассамблеи народа Казахстана"},
		{"en", "Who are you?", "the bot of the Assembly"},
		// Forget me: /forget's question, which erases nothing yet.
		{"ru", "забудь меня", "Удалить ваши персональные данные?"}, {"kk", "Деректерімді өшіріңіз", "Дербес деректеріңізді өшіру керек пе?"},
		{"en", "Delete my data", "Erase your personal data?"},
	} {
		c := newChatTest(t, tc.lang)
		c.say("/start")
		out := c.say(tc.text)
		c.expect(out, tc.want)
		c.reject(out, c.h.cat.T(tc.lang, "unknown.text", nil))
	}
	c := newChatTest(t, "kk")
	c.say("/start")
	c.expect(c.say("Рахмет айтамын сізге бәріне"), c.h.cat.T("kk", "unknown.text", nil))

	ev, _ := newEventsTest(t)
	ev.newEvent("05.12.2026 10:00", "2")
	ev.expect(ev.volunteer(1, "Рахмет", "+77011234567"), "✅ You are registered for E-000001")
	ev.expect(ev.say("@as 50 en\n/events"), "Confirmed: 1")
}

// On a phone without Kazakh letters a button's label is typed with the
// Russian letters in their place ("Отбасылык" for "Отбасылық"), and the
// language of a case is typed as people say it ("казакша", "на русском",
// "ағылшынша"): each is taken as the button would be.
func TestTypedWithoutKazakhLettersIsTheButton(t *testing.T) {
	c := newChatTest(t, "en")
	for i, tc := range []struct{ lang, kind, typedLang, want string }{
		{"kk", "Отбасылык", "казакша", "Қазақша"},
		{"kk", "ОТБАСЫЛЫҚ", "Орысша", "Русский"},
		{"ru", "Семейный", "на русском", "Русский"},
		{"en", "family", "Ағылшынша", "English"},
		{"en", "Family", "in Kazakh", "Қазақша"},
	} {
		id := int64(10 + i)
		out := c.say("@as " + itoa(id) + " " + tc.lang + "\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n" + tc.kind)
		c.reject(out, "Please choose", "Пожалуйста, выберите", "түймелермен таңдаңыз")
		c.say("My neighbour and I argue about the fence, case " + itoa(id) + ".\nAstana")
		out = c.say(tc.typedLang)
		c.reject(out, "Please choose", "Пожалуйста, выберите", "түймелермен таңдаңыз")
		c.expect(c.say("💬 Through the bot only"), tc.want)
	}
	// Still refused: a language the bot does not offer, a word that is not one.
	c.say("@as 30 en\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\nMy neighbour and I argue about the fence.\nAstana")
	for _, typed := range []string{"Deutsch", "немецкий", "а"} {
		out := c.say(typed)
		c.expect(out, "Please choose with the buttons below.")
		c.expect(out, "In which language would you like to talk with the mediator?", "Русский")
	}
}

// What people type instead of pressing a menu button — "көмек керек"
// (even without the Kazakh letters), "Помогите", "I need a mediator",
// "волонтёр" — takes them where the button does, in any interface
// language, also where a typed word would be a town (after a list of
// Houses: "көмек керек" is not the village Көктерек). Inside a request
// the same words are an answer.
func TestEverydayRequestsTypedAtTheMenu(t *testing.T) {
	c := newConsoleChatTest(t, "kk")
	c.loadDirectory()
	c.anEvent()
	c.say("/start")
	const helpConsent, mediation, events = "Көмек сұрамас бұрын", "Медиация: дайындықтан өткен медиатор", "Жақын маңдағы қайырымдылық шаралары"
	for typed, want := range map[string]string{
		"Көмек керек": helpConsent, "комек керек": helpConsent, "Көмектесіңіз!": helpConsent,
		"Помогите": helpConsent, "Нужна помощь": helpConsent, "I need help": helpConsent, "Help me": helpConsent,
		"Медиатор керек": mediation, "Нужен медиатор": mediation, "I need a mediator": mediation, "медиатор": mediation,
		"Волонтёр": events, "Ерікті болғым келеді": events, "I want to volunteer": events,
	} {
		out := c.say("/cancel\n" + typed)
		c.expect(out, want)
		c.reject(out, "Түсінбедім", "білмеймін")
	}
	// After a list of Houses a typed word is taken for a town first.
	c.say("/cancel\n@location 42.3 69.6")
	out := c.say("көмек керек")
	c.expect(out, helpConsent)
	c.reject(out, "Көктерек")
	// In a mediation request the words are the description asked for.
	c.say("/cancel\n🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press 1")
	c.expect(c.say("Медиатор керек"), "Жанжал қай жерде?")
}

// The kind of conflict or of help typed in everyday words instead of the
// button's ("семья" for Семейный, "көршімен" for Көршілер арасындағы, "еда"
// for Продукты, "тамақ" for Азық-түлік) is taken as the button; the words
// are stored as the button's value.
func TestKindsTypedInEverydayWords(t *testing.T) {
	c := newChatTest(t, "ru")
	for i, tc := range []struct{ lang, typed, kind string }{
		{"ru", "семья", "family"}, {"ru", "С соседом", "neighbours"}, {"kk", "көршімен", "neighbours"},
		{"kk", "Жұмыс", "labour"}, {"en", "work", "labour"}, {"ru", "межнациональный", "interethnic"},
	} {
		id := int64(100 + i)
		c.say("@as " + itoa(id) + " " + tc.lang + "\n/start\n🤝 Медиация\n🙋 Обратиться к медиатору\n@press 1")
		out := c.say(tc.typed)
		c.expect(out, map[string]string{"ru": "Кратко опишите ситуацию", "kk": "Жағдайды 10–1000", "en": "Describe the situation"}[tc.lang])
		if st, _ := c.states.Get(context.Background(), id); st.Get("kind") != tc.kind {
			t.Errorf("%q: kind %q, want %q", tc.typed, st.Get("kind"), tc.kind)
		}
	}
	for i, tc := range []struct{ typed, kind string }{
		{"еда", "food"}, {"Тамақ", "food"}, {"лекарство", "medicine"}, {"деньги", "financial"}, {"обувь", "clothing"},
	} {
		id := int64(200 + i)
		c.say("@as " + itoa(id) + " ru\n/start\n💛 Благотворительность\n🙏 Мне нужна помощь\n@press 1")
		c.expect(c.say(tc.typed), "Сколько человек в вашей семье")
		if st, _ := c.states.Get(context.Background(), id); st.Get("kind") != tc.kind {
			t.Errorf("%q: kind %q, want %q", tc.typed, st.Get("kind"), tc.kind)
		}
	}
}

// A yes or no typed outside any request is most likely the answer to a
// question whose buttons were not pressed (/forget's "Erase your data?"):
// the citizen is told to press the button, nothing is erased, and the
// press still works.
func TestYesOrNoTypedForAQuestionWithButtons(t *testing.T) {
	c := newChatTest(t, "kk")
	c.say("/start")
	c.expect(c.say("/forget"), "Дербес деректеріңізді өшіру керек пе?")
	for _, typed := range []string{"иә", "Ия", "жоқ", "Да", "no"} {
		out := c.say(typed)
		c.expect(out, "Түймелері бар сұраққа жауап берсеңіз")
		c.reject(out, "Түсінбедім", "өшірілді")
	}
	if u, err := c.db.User(context.Background(), 1); err != nil || u.Lang == "" {
		t.Fatalf("the user is gone after a typed yes: %+v, %v", u, err)
	}
	c.expect(c.say("@press 🗑 Иә, деректерімді өшіру"), "өшірілді")
}

// Text typed where a step's buttons are the answer, data no button of the
// step carries, or a button of an earlier step: the question the request
// is at comes again with its buttons, at the bottom of the chat, instead
// of "the buttons above" a cheap phone has scrolled away (or a crash lost
// between the two messages of one answer).
func TestButtonsAskedAgainAtTheBottom(t *testing.T) {
	c := newChatTest(t, "en")
	c.say("💛 Charity\n🙏 I need help\n@press 1")
	out := c.say("something")
	c.expect(out, "Please choose what help you need with the buttons below.", "What help do you need?", "🍞 Food")
	// The kind step's own data, forged: the notice of an outdated
	// button, and the question again.
	c.expect(c.press(1, StepData("kind", "caviar"), 1), "This button is no longer active.", "What help do you need?")
	c.say("@press 🍞 Food")
	// The kind's button again, just after: a double tap, the notice
	// alone (the family question is right there).
	out = c.press(1, StepData("kind", "food"), 1)
	c.expect(out, "This button is no longer active.")
	c.reject(out, "How many people", "What help do you need?")
	// A button of a question further back: the question the request
	// is at, again.
	c.say("4\nFlour and rice for the winter.")
	out = c.press(1, StepData("kind", "food"), 1)
	c.expect(out, "This button is no longer active.", "Where do you live?")
	c.reject(out, "What help do you need?")

	// The consent's buttons again too, under a short line: the text
	// itself (about 900 characters) is not sent again on a small screen.
	out = c.say("@as 2 kk\n🤝 Медиация\n🙋 Медиаторға жүгіну\nне?")
	c.expect(out, "Төмендегі «Келісемін» немесе «Келіспеймін» түймесін басыңыз. Келісім мәтіні жоғарыда.\n(1) ✅ Келісемін")
	if n := strings.Count(out, "Келісім мәтінінің нұсқасы"); n != 1 {
		t.Errorf("the consent text sent %d times, want once:\n%s", n, out)
	}
	c.say("@press 1")
	out = c.say("білмеймін")
	c.expect(out, "Төмендегі түймелермен таңдаңыз.", "Отбасылық")
}

// protectRecorder is a Sender that passes every message on and notes
// which texts went with protect_content.
type protectRecorder struct {
	Sender
	mu        sync.Mutex
	protected map[string]bool
}

func (p *protectRecorder) Send(ctx context.Context, m bot.Message) (int, error) {
	p.mu.Lock()
	p.protected[m.Text] = m.Protect
	p.mu.Unlock()
	return p.Sender.Send(ctx, m)
}

// A mediator with an offer waiting who types instead of pressing ("беру",
// from a bus) gets Accept and Decline for it at the bottom of the chat, in
// a protected message (accepting edits it into the case's details); the
// case is theirs with one press.
func TestMediatorTypingWithAnOfferWaitingGetsItsButtons(t *testing.T) {
	c := newChatTest(t, "en", 100)
	rec := &protectRecorder{Sender: c.deps.Sender, protected: map[string]bool{}}
	c.deps.Sender = rec
	c.restart()
	c.mediator(2, "Aigerim")
	c.submit(10, "💬 Through the bot only")
	out := c.say("@as 2 en\nберу")
	c.expect(out, "Waiting for your answer: M-000001", "✅ Accept M-000001", "❌ Decline")
	c.reject(out, "I did not understand", "not sent to any citizen")
	hints := 0
	for text, protected := range rec.protected {
		if strings.HasPrefix(text, "Waiting for your answer") {
			hints++
			if !protected {
				t.Error("the offer's hint was sent without protect_content")
			}
		}
	}
	if hints != 1 {
		t.Errorf("%d hints sent through the Sender, want 1", hints)
	}
	// Accepted on the hint: the hint becomes the case, and the offer's
	// own message says so, its buttons gone.
	out = c.say("@press ✅ Accept M-000001")
	c.expect(out, "You accepted case M-000001. Write to the citizen",
		"(edited) ✅ You accepted case M-000001 with the buttons of a later message.")
	// Accepted: the hint is now to write to the citizen.
	out = c.say("I will call you tomorrow")
	c.expect(out, "This message was not sent to any citizen", "(M-000001)")
	c.reject(out, "Waiting for your answer")
	// Declined on the hint: the offer's message no longer shows the
	// request.
	c.submit(11, "💬 Through the bot only")
	out = c.say("@as 2 en\nI am on the bus")
	c.expect(out, "(M-000001)", "Waiting for your answer: M-000002", "✅ Accept M-000002")
	out = c.say("@press ❌ Decline")
	c.expect(out, "You declined case M-000002", "(edited) You declined case M-000002 with the buttons of a later message.")
}

// A sticker in the middle of a request: what is expected, the question
// again with its buttons under it (at the consent, a short line, not the
// whole text), and "your answers are kept" only once there are some.
func TestStickerMidRequestAsksTheQuestionAgain(t *testing.T) {
	c := newChatTest(t, "en")
	out := c.say("@as 5 kk\n🤝 Медиация\n🙋 Медиаторға жүгіну\n@sticker")
	c.expect(out, "Мұндай хабарламаны оқи алмаймын. Төмендегі сұраққа мәтінмен немесе оның түймелерімен жауап беріңіз.",
		"Төмендегі «Келісемін» немесе «Келіспеймін» түймесін басыңыз. Келісім мәтіні жоғарыда.\n(1) ✅ Келісемін")
	c.reject(out, "жауаптарыңыз сақталды")
	if n := strings.Count(out, "Келісім мәтінінің нұсқасы"); n != 1 {
		t.Errorf("the consent text sent %d times, want once:\n%s", n, out)
	}
	out = c.say("@press 1\n@sticker")
	c.expect(out, "жауаптарыңыз сақталды", "Отбасылық")
}

// An administrator who sends the directory's CSV file to the bot is told
// how places are loaded; anyone else's document is a message the bot
// cannot read, as before.
func TestAdministratorsCSVFileGetsTheImportCommand(t *testing.T) {
	c := newChatTest(t, "en", 100)
	send := func(user int64) string {
		c.h.HandleUpdate(context.Background(), tgbotapi.Update{UpdateID: 990001 + int(user), Message: &tgbotapi.Message{
			MessageID: 1, From: &tgbotapi.User{ID: user, LanguageCode: "en"}, Chat: &tgbotapi.Chat{ID: user, Type: "private"},
			Document: &tgbotapi.Document{FileID: "f", FileUniqueID: "f", FileName: "Places.CSV"}}})
		return c.out.take()
	}
	c.expect(send(100), "Places are loaded from a CSV file on the server, not through the chat: dostyq import FILE.csv")
	out := send(7)
	c.reject(out, "dostyq import")
	c.expect(out, "I cannot read")
}
