package handlers

import "testing"

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
