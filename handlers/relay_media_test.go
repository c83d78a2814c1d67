package handlers

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
)

// In the chat of an accepted case, a photo, document or voice message
// reaches the other side as a copy (no link to the sender's account) under
// the case and the sender's name, with its caption, and both ways; a
// sticker, or a caption too long to fit under that line, gets a clear
// answer and nothing is passed on.
func TestRelayPassesPhotosDocumentsAndVoiceAsCopies(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(3, "Bolat")
	c.submit(10, "💬 Through the bot only")
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000001")
	c.expect(c.say("@as 10 en\n@press ✉️ Write to the mediator"), "photos, documents, voice messages")

	out := c.say("@photo The broken fence")
	c.expect(out, "✓ Sent.")
	// (The console prints the caption's empty line too: the copy is the
	// rest of the output.)
	to3 := messagesTo(out, 3)
	_, copied, _ := strings.Cut(out, "[to 3]")
	if len(to3) != 1 || !strings.Contains(to3[0], "a copy of message") || !strings.Contains(to3[0], "of chat 10") ||
		!strings.Contains(to3[0], "M-000001") || !strings.Contains(copied, "The broken fence") || !strings.Contains(copied, "Reply") {
		t.Fatalf("the mediator got %q\nall:\n%s", to3, out)
	}
	out = c.say("@voice")
	c.expect(out, "✓ Sent.")
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
	c.mediator(3, "Bolat")
	c.submit(10, "💬 Through the bot only")
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000001")
	out := c.say("@as 10 en\n@photo The fence")
	c.expect(out, "was not sent to the mediator", "Write to the mediator")
	if to := messagesTo(out, 3); len(to) != 0 {
		t.Errorf("passed on %q", to)
	}
	c.expect(c.say("@as 20 en\n@photo hello"), "I cannot read this kind of message")
}

// A relayed message Telegram will not deliver is not dropped in silence:
// its sender is told, in their own language, in a reply to that very
// message — a photo deleted before its copy went, a text to someone who
// blocked the bot — and the case goes on for the messages that do arrive.
func TestRelayNotDeliveredIsToldToItsSender(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(3, "Bolat")
	c.expect(c.say("@as 3 en\n/language\n@press Қазақша"), "Қазақша")
	c.submit(10, "💬 Through the bot only")
	c.expect(c.say("@as 3 en\n@press ✅ Қабылдау"), "M-000001")
	c.expect(c.say("@as 10 en\n@press ✉️ Write to the mediator"), "photos, documents")

	refuse := func(cond func(bot.Message) bool, code int, desc string) {
		c.sender.mu.Lock()
		defer c.sender.mu.Unlock()
		c.sender.refuse = func(m bot.Message) error {
			if cond(m) {
				return &tgbotapi.Error{Code: code, Message: desc}
			}
			return nil
		}
	}
	// The citizen deleted the photo before the bot copied it.
	var photoID int
	refuse(func(m bot.Message) bool {
		if m.Copy != nil {
			photoID = m.Copy.MessageID
		}
		return m.Copy != nil
	}, 400, "Bad Request: message to copy not found")
	out := c.say("@photo The broken fence")
	c.expect(out, "✓ Sent.", "Case M-000001: this photo or file was not passed on: it was deleted")
	if to := messagesTo(out, 3); len(to) != 0 {
		t.Errorf("the mediator got %q", to)
	}
	if m := regexp.MustCompile(`\(in reply to message (\d+)\) Case M-000001`).FindStringSubmatch(out); m == nil || m[1] != strconv.Itoa(photoID) || photoID == 0 {
		t.Errorf("the notice answers %v, the photo was message %d:\n%s", m, photoID, out)
	}
	c.reject(out, "M-000001 өтініші")

	// A text, when the mediator has blocked the bot: told too; and the
	// next message, once they can be reached again, arrives.
	refuse(func(m bot.Message) bool { return m.ChatID == 3 }, 403, "Forbidden: bot was blocked by the user")
	out = c.say("Are you there?")
	c.expect(out, "✓ Sent.", "(in reply to message ", "Case M-000001: this message did not reach the other side")
	refuse(func(bot.Message) bool { return false }, 0, "")
	out = c.say("Now?")
	if _, to3, _ := strings.Cut(out, "[to 3]"); !strings.Contains(to3, "Now?") {
		t.Errorf("after the block, the mediator got nothing:\n%s", out)
	}
	c.reject(out, "did not reach")

	// The mediator's message to a citizen who blocked the bot: the
	// mediator is told in their language (Kazakh), not the citizen's.
	refuse(func(m bot.Message) bool { return m.ChatID == 10 }, 403, "Forbidden: bot was blocked by the user")
	out = c.say("@as 3 en\n/cases\n@press ✉️ Азаматқа жазу\nI will call you tomorrow.")
	c.expect(out, "M-000001 өтініші: бұл хабарлама екінші тарапқа жетпеді")
	c.reject(out, "did not reach the other side")
}
