package handlers

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// In the chat of an accepted case, a photo, document or voice message
// reaches the other side as a copy (no link to the sender's account) under
// the case and the sender's name, with its caption, and both ways; a
// sticker, or a caption too long to fit under that line, gets a clear
// answer and nothing is passed on.
func TestRelayPassesPhotosDocumentsAndVoiceAsCopies(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.acceptedCase()
	c.expect(c.say("@as 10 en\n@press ✉️ Write to the mediator"), "photos, documents, voice messages")

	out := c.say("@photo The broken fence")
	c.expect(out, "✓ Sent to")
	// (The console prints the caption's empty line too: the copy is the
	// rest of the output.)
	to3 := messagesTo(out, 3)
	_, copied, _ := strings.Cut(out, "[to 3]")
	if len(to3) != 1 || !strings.Contains(to3[0], "a copy of message") || !strings.Contains(to3[0], "of chat 10") ||
		!strings.Contains(to3[0], "M-000001") || !strings.Contains(copied, "The broken fence") || !strings.Contains(copied, "Reply") {
		t.Fatalf("the mediator got %q\nall:\n%s", to3, out)
	}
	out = c.say("@voice")
	c.expect(out, "✓ Sent to")
	if to3 := messagesTo(out, 3); len(to3) != 1 || !strings.Contains(to3[0], "a copy of message") {
		t.Errorf("voice: the mediator got %q", to3)
	}

	for _, line := range []string{"@sticker", "@photo " + strings.Repeat("x", relayCaptionMax+1)} {
		out = c.say(line)
		c.expect(out, map[bool]string{true: "cannot be passed on", false: "too long to pass on under a photo"}[line == "@sticker"])
		if to := messagesTo(out, 3); len(to) != 0 {
			t.Errorf("%.20s: passed on %q", line, to)
		}
	}

	// The mediator's answer, a document, the other way.
	c.expect(c.say("@as 3 en\n/cases\n@press ✉️ Write to the citizen"), "photos, documents")
	out = c.say("@document The agreement")
	_, copied, _ = strings.Cut(out, "[to 10]")
	if to10 := messagesTo(out, 10); len(to10) != 1 || !strings.Contains(to10[0], "a copy of message") || !strings.Contains(to10[0], "of chat 3") ||
		!strings.Contains(to10[0], "Bolat") || !strings.Contains(copied, "The agreement") {
		t.Errorf("the citizen got %q\nall:\n%s", to10, out)
	}
}

// Outside the chat of a case, a photo is still a message the bot cannot
// read: in the middle of a request, the request's question again.
// (TestPhotoOutsideTheChatIsNotPassedOnAndSaysSo: with a case accepted.)
func TestPhotoInOtherFlowsIsNotRelayed(t *testing.T) {
	c := newChatTest(t, "en", 100)
	out := c.say("@as 10 en\n/start\n🤝 Mediation\n🙋 Ask for a mediator\n@press I agree\n@photo hello")
	c.expect(out, "I cannot read this kind of message")
}

// A photo sent while a mediator holds the case but outside its chat (the
// chat's state expired overnight) is not passed on, and the citizen is told
// so, with the button to write, as for a text.
func TestPhotoOutsideTheChatIsNotPassedOnAndSaysSo(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.acceptedCase()
	out := c.say("@as 10 en\n@photo The fence")
	c.expect(out, "was not sent to the mediator", "Write to the mediator")
	if to := messagesTo(out, 3); len(to) != 0 {
		t.Errorf("passed on %q", to)
	}
	c.expect(c.say("@as 20 en\n@photo hello"), "I cannot read this kind of message")
}

// refuseSends makes the test's sender refuse the messages cond picks, as
// Telegram would, with code and description; cond nil refuses none.
func (c *chatTest) refuseSends(cond func(bot.Message) bool, code int, desc string) {
	c.sender.mu.Lock()
	defer c.sender.mu.Unlock()
	c.sender.refuse = nil
	if cond != nil {
		c.sender.refuse = func(m bot.Message) error {
			if cond(m) {
				return &tgbotapi.Error{Code: code, Message: desc}
			}
			return nil
		}
	}
}

// pendingRelay is the one relayed message waiting in the outbox.
func (c *chatTest) pendingRelay() storage.OutboxMessage {
	c.t.Helper()
	due, err := c.db.DueOutbox(context.Background(), c.clock.Now().Add(24*time.Hour), 100)
	if err != nil {
		c.t.Fatal(err)
	}
	var found []storage.OutboxMessage
	for _, m := range due {
		if strings.HasPrefix(m.Ref, "relay:") {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		c.t.Fatalf("pending relayed messages: %+v", found)
	}
	return found[0]
}

// A relayed message Telegram will not deliver is not dropped in silence:
// its sender is told, in their own language, in a reply to that very
// message, when they sent it, to whom, and why when Telegram said — a
// photo deleted before its copy went, someone who blocked the bot — and the
// case goes on for the messages that do arrive.
func TestRelayNotDeliveredIsToldToItsSender(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(3, "Bolat")
	c.expect(c.say("@as 3 en\n/language\n@press Қазақша"), "Қазақша")
	c.submit(10, "💬 Through the bot only")
	c.expect(c.say("@as 3 en\n@press ✅ Қабылдау"), "M-000001")
	c.expect(c.say("@as 10 en\n@press ✉️ Write to the mediator"), "photos, documents")

	// The citizen deleted the photo before the bot copied it. (The test's
	// clock: 09:00 UTC, 14:00 in Kazakhstan.)
	var photoID int
	c.refuseSends(func(m bot.Message) bool {
		if m.Copy != nil {
			photoID = m.Copy.MessageID
		}
		return m.Copy != nil
	}, 400, "Bad Request: message to copy not found")
	out := c.say("@photo The broken fence")
	c.expect(out, "✓ Sent to", "Case M-000001: the photo or file you sent at 28.11 14:00 was not passed on, because it was deleted")
	if to := messagesTo(out, 3); len(to) != 0 {
		t.Errorf("the mediator got %q", to)
	}
	if m := regexp.MustCompile(`\(in reply to message (\d+)\) Case M-000001`).FindStringSubmatch(out); m == nil || m[1] != strconv.Itoa(photoID) || photoID == 0 {
		t.Errorf("the notice answers %v, the photo was message %d:\n%s", m, photoID, out)
	}
	c.reject(out, "M-000001 өтініші")

	// Another 400 on a copy is not a deleted photo.
	c.refuseSends(func(m bot.Message) bool { return m.Copy != nil }, 400, "Bad Request: chat not found")
	out = c.say("@photo The gate")
	c.expect(out, "your message of 28.11 14:00 could not be delivered to the mediator Bolat.")
	c.reject(out, "not passed on")

	// The mediator has blocked the bot: a photo and a text are told the
	// same; the next message, once they can be reached again, arrives.
	c.refuseSends(func(m bot.Message) bool { return m.ChatID == 3 }, 403, "Forbidden: bot was blocked by the user")
	for _, line := range []string{"@photo The yard", "Are you there?"} {
		out = c.say(line)
		c.expect(out, "✓ Sent to", "(in reply to message ", "Case M-000001: your message of 28.11 14:00 did not reach the mediator Bolat. Telegram refused it")
		c.reject(out, "not passed on")
	}
	c.refuseSends(nil, 0, "")
	out = c.say("Now?")
	if _, to3, _ := strings.Cut(out, "[to 3]"); !strings.Contains(to3, "Now?") {
		t.Errorf("after the block, the mediator got nothing:\n%s", out)
	}
	c.reject(out, "did not reach", "could not be delivered")

	// The mediator's message to a citizen who blocked the bot: the
	// mediator is told in their language (Kazakh), not the citizen's.
	c.refuseSends(func(m bot.Message) bool { return m.ChatID == 10 }, 403, "Forbidden: bot was blocked by the user")
	out = c.say("@as 3 en\n/cases\n@press ✉️ Азаматқа жазу\nI will call you tomorrow.")
	c.expect(out, "M-000001 өтініші: 28.11 14:00 жіберген хабарламаңыз алушыға (азамат) жетпеді.")
	c.reject(out, "did not reach")
}

// A relayed message is reported once, and only while its sender is on the
// case: given up a second time (a replica whose claim outlived another's),
// after the sender erased their data, or after another mediator took the
// case, it is not reported again, nor to anyone else.
func TestRelayNotDeliveredIsToldOnceAndOnlyToItsSender(t *testing.T) {
	ctx := context.Background()
	const blocked = "403 Forbidden: bot was blocked by the user"
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.mediator(3, "Bolat")
	c.submit(10, "💬 Through the bot only")
	c.expect(c.say("@as 2 en\n@press ✅ Accept"), "You accepted case M-000001")

	// Given up twice: one notice.
	c.expect(c.say("@as 10 en\n@press ✉️ Write to the mediator"), "photos, documents")
	c.refuseSends(func(m bot.Message) bool { return m.ChatID == 2 }, 500, "Internal Server Error")
	c.expect(c.say("Hello?"), "✓ Sent to")
	m := c.pendingRelay()
	for range 2 {
		if err := c.h.giveUp(ctx, m, blocked); err != nil {
			t.Fatal(err)
		}
	}
	if out := c.advance(0); strings.Count(out, "did not reach the mediator Aigerim") != 1 {
		t.Errorf("given up twice, the citizen was told:\n%s", out)
	}

	// The mediator's message waits; the mediator is removed and Bolat
	// takes the case; then the message is given up: nobody is told
	// (Bolat did not write it, Aigerim is off the case).
	c.refuseSends(func(m bot.Message) bool { return m.ChatID == 10 }, 500, "Internal Server Error")
	c.expect(c.say("@as 2 en\n/cases\n@press ✉️ Write to the citizen\nI will call you."), "✓ Sent to")
	m = c.pendingRelay()
	c.forge(100, "ma:rm:2")
	c.expect(c.say("@as 100 en\n@press Yes, remove"), "Mediator 2 was removed")
	c.clock.Add(time.Minute)
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000001")
	c.refuseSends(nil, 0, "")
	if err := c.h.giveUp(ctx, m, blocked); err != nil {
		t.Fatal(err)
	}
	out := c.advance(0)
	c.reject(out, "did not reach", "could not be delivered")

	// The citizen's photo waits; the citizen erases their data; then it is
	// given up: no notice to the erased user.
	c.refuseSends(func(m bot.Message) bool { return m.Copy != nil }, 500, "Internal Server Error")
	c.expect(c.say("@as 10 en\n/cases\n@press ✉️ Write to the mediator\n@photo The fence"), "✓ Sent to")
	m = c.pendingRelay()
	c.say("/forget")
	c.expect(c.say("@press 🗑 Yes, erase my data"), "Your personal data has been erased.")
	if err := c.h.giveUp(ctx, m, blocked); err != nil {
		t.Fatal(err)
	}
	out = c.advance(0)
	c.reject(out, "did not reach", "not passed on", "could not be delivered")
}

// In the chat of a case, words that are also labels of the bot's menus —
// "Мне нужна помощь", "Назад", "Отмена", "Медиация" — are words to the
// other side, not commands: each is passed on. Only the keyboard's Leave
// (or /cancel) leaves the chat.
func TestRelayPassesOnWordsThatAreMenuLabels(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.acceptedCase()
	c.expect(c.say("@as 10 ru\n/language\n@press Русский\n/cases\n@press ✉️ Написать медиатору"), "Обращение M-000001")
	for _, words := range []string{"Мне нужна помощь", "Назад", "Отмена", "Медиация", "🏠 Дома дружбы", "Help"} {
		out := c.say(words)
		c.expect(out, "✓ Отправлено")
		if _, to3, _ := strings.Cut(out, "[to 3]"); !strings.Contains(to3, words) {
			t.Errorf("%q was not passed on:\n%s", words, out)
		}
	}
	out := c.say("🚪 Выйти из переписки")
	c.expect(out, "Вы вышли из переписки")
	c.reject(out, "[to 3]")
	// Out of the chat, the same words are the menu again.
	c.reject(c.say("Назад"), "[to 3]", "✓ Отправлено")

	// "Выйти" typed, as on a phone without the keyboard, leaves too; at
	// the menu it is the menu, no chat said to be left.
	c.say("/cases\n@press ✉️ Написать медиатору")
	out = c.say("выйти")
	c.expect(out, "Вы вышли из переписки")
	c.reject(out, "[to 3]")
	out = c.say("Выйти")
	c.expect(out, "Главное меню")
	c.reject(out, "Вы вышли", "[to 3]")
}

// What a message passed on is answered with names whom and which case: a
// mediator with two chats sees where it went.
func TestRelaySentNamesTheCase(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.acceptedCase()
	c.expect(c.say("@as 10 en\n/cases\n@press ✉️ Write to the mediator\nHello?"), "✓ Sent to the mediator, case M-000001.")
	c.expect(c.say("@as 3 ru\n/language\n@press Русский\n/cases\n@press ✉️ Написать гражданину\nЗдравствуйте"),
		"✓ Отправлено гражданину, обращение M-000001.")
	c.expect(c.say("@as 3 kk\n/language\n@press Қазақша\nСәлеметсіз бе"), "✓ Жіберілді: M-000001 өтініші, алушы — азамат.")
}

// A text refused for its length is sent back, so that nothing typed is
// lost: a relayed message over the limit, a mediator's closing note, a
// citizen's rating comment, a coordinator's note on a help request.
func TestTextsRefusedForLengthAreSentBack(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.acceptedCase()
	c.expect(c.say("@as 10 en\n@press ✉️ Write to the mediator"), "photos, documents")
	echoed := func(out, long string) {
		t.Helper()
		if !strings.Contains(out, strings.TrimSpace(long)) {
			t.Errorf("the refused text was not sent back:\n%.300s", out)
		}
	}
	long := "Long message. " + strings.Repeat("слово ", relayMax/6+10)
	out := c.say(long)
	c.expect(out, "at most 3500 can be passed at once")
	echoed(out, long)
	c.reject(out, "[to 3]", "✓ Sent to")

	note := strings.Repeat("We met twice. ", noteMax/14+5)
	out = c.say("@as 3 en\n/cases\n@press ✅ Close the case\n@press Resolved\n" + note)
	c.expect(out, "up to 500 characters")
	echoed(out, note)
	c.expect(c.say("An agreement was signed."), "Case M-000001 is closed.")

	comment := strings.Repeat("Thank you very much. ", noteMax/21+5)
	out = c.say("@as 10 en\n@press ⭐4\n" + comment)
	c.expect(out, "up to 500 characters")
	echoed(out, comment)
	c.expect(c.say("Very helpful."), "Thank you for your feedback.")
}

// A step that takes the user's own words takes a menu label too: "Мне
// нужна помощь" as a help request's description, "Помощь" as a closing
// note are the answers, not the menu; Back and Cancel still act.
func TestFreeTextStepsTakeMenuLabelsAsWords(t *testing.T) {
	c := newChatTest(t, "en")
	if out := c.say("@as 11 ru\n/language\n@press Русский\nБлаготворительность\nМне нужна помощь"); strings.Contains(out, "согласие") {
		c.say("@press 1")
	}
	c.say("@press 1\n3")
	out := c.say("Мне нужна помощь")
	c.expect(out, "Где") // the next question: the description was taken
	c.reject(out, "согласие", "Какая помощь")
	out = c.say("◀️ Назад")
	c.expect(out, "опишите") // Back still acts: the description again
	c.expect(c.say("Отмена"), "Отменено.")
}

// A menu item typed in the middle of a request with answers given keeps
// them, as /start does: the bot says so and asks the question again; at
// the first question (nothing to lose) it goes to the menu item.
func TestMenuItemTypedMidRequestKeepsTheAnswers(t *testing.T) {
	c := newChatTest(t, "en")
	c.say("@as 12 ru\n/language\n@press Русский\n🤝 Медиация\n🙋 Обратиться к медиатору\n@press 1\n@press 2")
	c.say("Соседи постоянно шумят по ночам")
	out := c.say("🏠 Дома дружбы")
	c.expect(out, "У вас есть незаконченная заявка, ваши ответы сохранены.", "Где происходит конфликт?")
	c.reject(out, "Дома дружбы")
	c.expect(c.say("Astana\n@press Русский\n💬 Только через бот"), "Соседи постоянно шумят по ночам")

	// At a request's first question nothing is lost: the menu item acts.
	c.say("/cancel\n💛 Благотворительность\nМне нужна помощь")
	c.reject(c.say("🏠 Дома дружбы"), "незаконченная")
}

// Skip typed instead of pressed, in any language, skips the closing note
// and the rating comment: the word is not sent to anyone as a note.
func TestSkipTypedSkipsTheNote(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.acceptedCase()
	out := c.say("/cases\n@press ✅ Close the case\n@press Resolved\nSkip")
	c.expect(out, "Case M-000001 is closed.")
	if _, to10, _ := strings.Cut(out, "[to 10]"); strings.Contains(to10, "Skip") {
		t.Errorf("the citizen was sent the typed Skip:\n%s", to10)
	}
	out = c.say("@as 10 en\n@press ⭐4\nПропустить")
	c.expect(out, "Thank you")
	if cs := c.caseOf(1); cs.OutcomeNote != "" || cs.RatingComment != "" {
		t.Errorf("the typed Skip was kept: note %q, comment %q", cs.OutcomeNote, cs.RatingComment)
	}
}

// A mediator who closes a case has room again: a waiting case that matches
// them (escalated while they were full) is offered to them at once, not
// only after they go off and on duty.
func TestClosingACaseOffersTheWaitingOnes(t *testing.T) {
	c := newChatTest(t, "en", 100)
	code := c.invite(100, "mediator")
	c.expect(c.say("@as 3 en\n/start "+code+"\nBolat\n@press Astana city\n@press ✔️ Done\n@press Русский\n@press ✔️ Done\n@press Family\n@press ✔️ Done\n1\n/duty"),
		"You are on duty.")
	c.submit(10, "💬 Through the bot only")
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000001")
	out := c.submit(11, "💬 Through the bot only")
	c.reject(out, "[to 3]") // full: the second case waits
	out = c.say("@as 3 en\n/cases\n@press ✅ Close the case\n@press Resolved\n@press Skip")
	c.expect(out, "Case M-000001 is closed.")
	// (The mediator is the user speaking: the offer prints without "[to 3]".)
	if _, after, _ := strings.Cut(out, "is closed."); !strings.Contains(after, "🔔 New request for mediation") || !strings.Contains(after, "Case M-000002") {
		t.Errorf("the waiting case was not offered to the mediator who has room again:\n%s", out)
	}
}

// A command sent in the chat of a case ends the chat and says so, before
// the command's own answer: what is typed next is not passed on.
func TestCommandInTheChatSaysTheChatEnded(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.acceptedCase()
	c.expect(c.say("/cases\n@press ✉️ Write to the citizen"), "photos, documents")
	out := c.say("/duty")
	c.expect(out, "You left the chat of the case.", "duty")
	if strings.Index(out, "You left the chat") > strings.Index(out, "duty") {
		t.Errorf("the chat's end is said after the command's answer:\n%s", out)
	}
	// /help keeps the chat (as it keeps any request): nothing said.
	c.say("/cases\n@press ✉️ Write to the citizen")
	c.reject(c.say("/help"), "You left the chat")
}

// acceptedCase has mediator 3 (Bolat, on duty) accept case M-000001 of
// citizen 10, both in English.
func (c *chatTest) acceptedCase() {
	c.t.Helper()
	c.mediator(3, "Bolat")
	c.submit(10, "💬 Through the bot only")
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000001")
}

// The citizen's message to a mediator who was removed before it could be
// delivered is reported with the mediator unnamed: no empty name, no "()".
func TestRelayNotDeliveredToARemovedMediator(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.submit(10, "💬 Through the bot only")
	c.expect(c.say("@as 2 en\n@press ✅ Accept"), "You accepted case M-000001")
	c.expect(c.say("@as 10 ru\n/language\n@press Русский\n/cases\n@press ✉️ Написать медиатору"), "M-000001")
	c.refuseSends(func(m bot.Message) bool { return m.ChatID == 2 }, 500, "Internal Server Error")
	c.expect(c.say("Вы здесь?"), "✓ Отправлено")
	m := c.pendingRelay()
	c.forge(100, "ma:rm:2")
	c.say("@as 100 en\n@press Yes, remove")
	if err := c.h.giveUp(context.Background(), m, "403 Forbidden: bot was blocked by the user"); err != nil {
		t.Fatal(err)
	}
	out := c.advance(0)
	c.expect(out, "не доставлено медиатору.")
	c.reject(out, "()", "медиатору .")
}

// A plain /start in the chat of a case ends the chat and says so, before
// the menu, as any other command that leaves it does.
func TestStartInTheChatSaysTheChatEnded(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.acceptedCase()
	c.expect(c.say("/cases\n@press ✉️ Write to the citizen"), "photos, documents")
	out := c.say("/start")
	c.expect(out, "You left the chat of the case.", "Welcome to Dostyq")
	if strings.Index(out, "You left the chat") > strings.Index(out, "Welcome to Dostyq") {
		t.Errorf("the chat's end is said after the menu:\n%s", out)
	}
	c.reject(c.say("Are you there?"), "[to 10]")
}

// A mediator in the chat of one case who types after another case's
// citizen wrote is most likely answering that citizen without pressing
// ↩️ Reply: the message is not sent to this case's citizen, but sent back
// with what to do; sent again, it goes. The chat's own citizen writing
// changes nothing.
func TestMediatorIsStoppedBeforeAnsweringTheWrongCitizen(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.submit(10, "💬 Through the bot only")
	c.expect(c.say("@as 2 en\n@press ✅ Accept"), "You accepted case M-000001")
	c.submit(11, "💬 Through the bot only")
	c.expect(c.say("@as 2 en\n@press ✅ Accept"), "You accepted case M-000002")

	c.expect(c.say("@as 2 en\nnote\n@press ✉️ M-000001\nHello, grandmother."), "[to 10] M-000001")
	c.expect(c.say("@as 10 en\n/cases\n@press ✉️ Write to the mediator\nHello, my child.\n🚪 Leave the chat"), "[to 2] M-000001")
	c.expect(c.say("@as 2 en\nWhen can we meet?"), "[to 10] M-000001") // the chat's own citizen: no question
	c.expect(c.say("@as 11 en\n/cases\n@press ✉️ Write to the mediator\nMy daughter-in-law shouted again.\n🚪 Leave the chat"), "[to 2] M-000002")

	out := c.say("@as 2 en\nI will talk to your daughter-in-law.")
	c.expect(out, "Not sent: while you were in the chat of case M-000001, the citizen of case M-000002 wrote to you.",
		"\nI will talk to your daughter-in-law.\n")
	c.reject(out, "[to 10]", "[to 11]", "✓ Sent")
	// A mediator types in short bursts: the next message is held too.
	out = c.say("She must stop shouting at you.")
	c.expect(out, "Not sent: while you were in the chat of case M-000001")
	c.reject(out, "[to 10]")
	// The chat's own citizen writing meanwhile does not hide the other.
	c.expect(c.say("@as 10 en\n/cases\n@press ✉️ Write to the mediator\nAre you there?\n🚪 Leave the chat"), "[to 2] M-000001")
	c.reject(c.say("@as 2 en\nYes, I am here."), "[to 10]")
	// The last one held, sent again as it is: the mediator means this case.
	out = c.say("Yes, I am here.")
	c.expect(out, "[to 10] M-000001", "✓ Sent to the citizen, case M-000001.")
	c.expect(c.say("Good bye."), "[to 10] M-000001")
	// ↩️ Reply under the other citizen's message opens their chat.
	c.say("🚪 Leave the chat")
	c.expect(c.say("note\n@press ✉️ M-000002\nI will call her today."), "[to 11] M-000002")
}
