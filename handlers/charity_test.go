package handlers

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// coordinator makes user id a coordinator of region (its English name)
// named name, on duty, through an invite from admin.
func (c *chatTest) coordinator(admin, id int64, name, region string) string {
	c.t.Helper()
	code := c.invite(admin, "coordinator")
	out := c.say("@as " + itoa(id) + " en\n/start " + code + "\n" + name + "\n@press " + region +
		"\n@press ✔️ Done\n@press English\n@press ✔️ Done\n/duty")
	c.expect(out, "Your profile is saved.", "You are on duty.")
	return out
}

// askHelp has citizen user ask for help of kind (button label) in town,
// consenting first when asked, and returns what the bot said.
func (c *chatTest) askHelp(user int64, kind, family, description, town string) string {
	c.t.Helper()
	out := c.say("@as " + itoa(user) + " en\nCharity\nI need help")
	if strings.Contains(out, "Do you agree?") {
		out += c.say("@press ✅ I agree")
	}
	return out + c.say("@press "+kind+"\n"+family+"\n"+description+"\n"+town+"\n@contact +77011234567\n@press ✅ Confirm")
}

// messagesTo returns the messages of out sent to chat id by the
// background worker ("[to ID] ...").
func messagesTo(out string, id int64) []string {
	var msgs []string
	for _, m := range strings.Split(out, "\n\n") {
		if strings.HasPrefix(strings.TrimSpace(m), fmt.Sprintf("[to %d]", id)) {
			msgs = append(msgs, m)
		}
	}
	return msgs
}

var updateSeq struct {
	sync.Mutex
	n int
}

// press sends a callback query with data from user, as if pressed on
// message msgID of their chat: a forged or stale button.
func (c *chatTest) press(user int64, data string, msgID int) string {
	c.t.Helper()
	c.pressRaw(user, data, msgID)
	if err := c.h.RunDue(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	return c.out.take()
}

func (c *chatTest) pressRaw(user int64, data string, msgID int) {
	updateSeq.Lock()
	updateSeq.n++
	n := updateSeq.n
	updateSeq.Unlock()
	c.h.HandleUpdate(context.Background(), tgbotapi.Update{UpdateID: 900000 + n, CallbackQuery: &tgbotapi.CallbackQuery{
		ID: fmt.Sprint("forged-", n), From: &tgbotapi.User{ID: user, LanguageCode: "en"}, Data: data,
		Message: &tgbotapi.Message{MessageID: msgID, Chat: &tgbotapi.Chat{ID: user, Type: "private"}}}})
}

// offerMessage is the Telegram message id of the offer of request id sent
// to coordinator; the offer must have been sent protected.
func (c *chatTest) offerMessage(id, coordinator int64) int {
	c.t.Helper()
	ctx := context.Background()
	var offers []storage.HelpOffer
	if err := c.db.Tx(ctx, func(tx *storage.Tx) (err error) { offers, err = tx.HelpOffers(id); return }); err != nil {
		c.t.Fatal(err)
	}
	for _, o := range offers {
		if o.CoordinatorID == coordinator {
			m, err := c.db.OutboxByRef(ctx, o.Ref)
			if err != nil || m.MessageID == 0 {
				c.t.Fatalf("offer %s: %+v, %v", o.Ref, m, err)
			}
			if !m.Protect {
				c.t.Errorf("offer %s was sent without protect_content", o.Ref)
			}
			return m.MessageID
		}
	}
	c.t.Fatalf("request %d was not offered to %d", id, coordinator)
	return 0
}

func auditCount(t *testing.T, db *storage.DB, subject, action string) int {
	t.Helper()
	log, err := db.AuditLog(context.Background(), subject, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range log {
		if e.Action == action {
			n++
		}
	}
	return n
}

const phone = "+77011234567"

func TestHelpRequestTakenByOneCoordinatorAndCitizenToldAtEachStep(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()
	c.coordinator(100, 21, "Dana", "Almaty city")
	c.coordinator(100, 22, "Erlan", "Almaty city")
	c.coordinator(100, 23, "Aset", "Astana city")

	out := c.askHelp(10, "🍞 Food", "4", "We lost our jobs; three children.", "Almaty")
	c.expect(out, "consent to the processing of personal data", "How many people", "Describe briefly",
		"Where do you live?", "Share your phone number", "Please check your request:", "Family: 4",
		"Where: Almaty, Almaty city", "Phone: "+spacedPhone(phone), "Request C-000001 received.",
		"[to 21] New help request C-000001.", "[to 22] New help request C-000001.", "Description: We lost our jobs; three children.")
	if msgs := messagesTo(out, 23); len(msgs) != 0 {
		t.Errorf("a coordinator of another region was offered the request: %v", msgs)
	}
	for _, coord := range []int64{21, 22} {
		for _, m := range messagesTo(out, coord) {
			c.reject(m, phone)
		}
	}
	req, err := c.db.HelpRequest(ctx, 1)
	if err != nil || req.Status != storage.HelpOpen || req.Phone != phone || req.Region != "almaty-city" || req.FamilySize != 4 {
		t.Fatalf("stored request %+v, %v", req, err)
	}
	offer22 := c.offerMessage(1, 22)

	// A non-coordinator's forged Take, and a coordinator of another region's.
	c.say("@as 30 en\n/start")
	c.expect(c.press(30, "help:t:1", 1), "Only charity coordinators can take requests.")
	c.expect(c.press(23, "help:t:1", 1), "This request is from a region you do not serve.")

	out = c.say("@as 21 en\n@press 🤝 Take")
	c.expect(out, "You took request C-000001.", "Request C-000001 is yours.", "Phone: "+spacedPhone(phone),
		"[to 10] Your request C-000001 was taken by coordinator Dana.",
		"[to 22] (edited) Request C-000001 was taken by Dana.")
	c.reject(out, "[to 30]", "[to 23]")

	// Erlan's client still shows the Take button: pressing it is refused.
	out = c.press(22, "help:t:1", offer22)
	c.expect(out, "Request C-000001 was taken by Dana.")
	c.reject(out, "You took", phone)
	if req, _ = c.db.HelpRequest(ctx, 1); req.Status != storage.HelpTaken || !req.OwnedBy(21) {
		t.Fatalf("after two Takes: %+v", req)
	}
	if n := auditCount(t, c.db, "C-000001", "help.view"); n != 1 {
		t.Errorf("%d audit entries of the phone being shown, want 1", n)
	}

	// Only the owner closes it.
	c.expect(c.press(22, "help:ok:1", offer22), "This request was taken by another coordinator.")
	c.expect(c.press(30, "help:ok:1", 1), "Only charity coordinators can take requests.")
	// Pressed by mistake: Cancel keeps it open and the coordinator's.
	c.expect(c.say("@as 21 en\n@press ✅ Fulfilled"), "Pressed by mistake? ✖️ Cancel keeps it open and yours.")
	c.reject(c.say("✖️ Cancel"), "[to 10]")
	if req, _ = c.db.HelpRequest(ctx, 1); req.Status != storage.HelpTaken || !req.OwnedBy(21) {
		t.Fatalf("after Fulfilled and Cancel: %+v", req)
	}
	c.expect(c.say("/requests\n@press 1"), "C-000001")
	c.expect(c.say("@press ✅ Fulfilled"), "write a short note for the citizen")
	// Refused, and sent back to be shortened.
	c.expect(c.say(strings.Repeat("n", 501)), "This note has 501 characters; at most 500 fit.", "\n"+strings.Repeat("n", 501)+"\n")
	out = c.say("Food package delivered on Monday.")
	c.expect(out, "Request C-000001 is marked fulfilled.",
		"[to 10] Your request C-000001 is fulfilled. Coordinator Dana marked it done.\nCoordinator's note: Food package delivered on Monday.")
	c.expect(c.say("@as 10 en\n/requests"), "C-000001 · 🍞 Food · 28.11.2026 · fulfilled", "Coordinator's note: Food package")
	if n := auditCount(t, c.db, "C-000001", "help.take"); n != 1 {
		t.Errorf("%d help.take audit entries, want 1", n)
	}
}

func TestHelpRequestCannotFulfilWithdrawUpdateAndNoCoordinator(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()

	// No coordinator for Shymkent: the administrator is alerted.
	c.say("@as 100 en\n/start")
	out := c.askHelp(10, "💊 Medicine", "2", "Insulin for my mother.", "Shymkent")
	c.expect(out, "Request C-000001 received.", "[to 100] Help request C-000001 (💊 Medicine, Shymkent city): no charity coordinator on duty serves Shymkent city.", "go on duty (/duty)")
	for _, m := range messagesTo(out, 100) {
		c.reject(m, phone, "Insulin")
	}
	// A coordinator going on duty is offered the waiting request.
	c.expect(c.coordinator(100, 21, "Dana", "Shymkent city"), "You are on duty.", "New help request C-000001.")
	c.expect(c.say("@as 21 en\n/duty"), "You are off duty.")
	out = c.say("/duty")
	c.expect(out, "You are on duty.")
	c.reject(out, "New help request")
	c.expect(c.say("/requests"), "Help requests of your regions (Shymkent city)", "C-000001 · 💊 Medicine · family of 2")

	// A second medicine request asks to update the open one.
	out = c.say("@as 10 en\nI need help\n@press 💊 Medicine")
	c.expect(out, "You already have an open request C-000001 for 💊 Medicine (waiting for a coordinator).")
	c.reject(out, "Do you agree?")
	out = c.say("@press ✏️ Update it\n3\nInsulin and test strips.\nShymkent\n" + "8 701 765-43-21" + "\n@press ✅ Confirm")
	c.expect(out, "Please check the new version", "Phone: +7 701 765 43 21", "Request C-000001 updated.",
		"[to 21] (edited) Request C-000001 was changed by the citizen", "[to 21] New help request C-000001.", "Insulin and test strips.")
	if reqs, _ := c.db.UserHelpRequests(ctx, 10, 10); len(reqs) != 1 || reqs[0].FamilySize != 3 {
		t.Fatalf("after the update: %+v", reqs)
	}
	// Keeping it leaves it as it is.
	out = c.say("I need help\n@press 💊 Medicine\n@press Keep it as it is")
	c.expect(out, "Your open request stays as it is.")

	// Cannot fulfil needs a note.
	c.say("@as 21 en\n@press 🤝 Take")
	c.expect(c.say("@press ❌ Cannot fulfil"), "write the citizen a short note why")
	c.expect(c.say("@location 43.2 76.9"), "Please write the note as a text message of up to 500 characters.")
	out = c.say("The pharmacy fund is empty this month.")
	c.expect(out, "Request C-000001 is marked as not fulfilled.",
		"[to 10] Sorry: your request C-000001 could not be fulfilled.\nCoordinator's note: The pharmacy fund is empty this month.")
	c.expect(c.say("@press ✅ Fulfilled"), "Request C-000001 is already closed.")

	// A new request, withdrawn while open: the offer is edited.
	out = c.askHelp(10, "👕 Clothing", "5", "Winter coats for the children.", "Shymkent")
	c.expect(out, "Request C-000002 received.", "[to 21] New help request C-000002.")
	c.reject(out, "You already have")
	out = c.say("/requests")
	c.expect(out, "C-000002 · 👕 Clothing", "waiting for a coordinator", "C-000001 · 💊 Medicine", "could not be fulfilled", "(1) Withdraw C-000002")
	c.reject(out, "Withdraw C-000001")
	c.expect(c.press(11, "help:wy:2", 1), "This is not your request.")
	c.expect(c.say("@press Withdraw C-000002"), "Withdraw request C-000002?")
	out = c.say("@press Yes, withdraw")
	c.expect(out, "Request C-000002 is withdrawn.", "[to 21] (edited) Request C-000002 was withdrawn by the citizen.")
	c.expect(c.press(21, "help:t:2", c.offerMessage(2, 21)), "Request C-000002 is already closed.")
	if req, _ := c.db.HelpRequest(ctx, 2); req.Status != storage.HelpWithdrawn {
		t.Fatalf("withdrawn request is %s", req.Status)
	}
}

func TestHelpRequestAnswersAreCheckedAndKept(t *testing.T) {
	c := newChatTest(t, "en")
	out := c.say("Charity")
	c.expect(out, "[🙏 I need help] [🙌 Volunteer at an event]", "[📋 My requests] [🗓 My registrations]", "[◀️ Back]")
	c.expect(c.say("◀️ Back"), "Main menu.")
	c.expect(c.say("My requests"), "You have no help requests.")
	c.expect(c.say("I need help\n@press ✅ I agree"), "What help do you need?")
	c.expect(c.say("something"), "Please choose what help you need")
	c.expect(c.say("household goods"), "How many people")
	for _, bad := range []string{"0", "21", "many", "-3"} {
		c.expect(c.say(bad), "Please type a whole number from 1 to 20.")
	}
	c.say("4")
	out = c.say(strings.Repeat("ж", 1001))
	c.expect(out, "This description has 1001 characters; at most 1000 fit.")
	c.expect(c.say("Our stove broke."), "Where do you live?")
	c.expect(c.say("@location 10 10"), "This location is outside Kazakhstan.")
	out = c.say("Qwertyville")
	c.expect(out, "I do not know “Qwertyville”. Choose your region", "Abai Region", "Ulytau Region")
	// A region after a name the bot does not know keeps the name as typed.
	c.expect(c.say("@press Abai Region"), "📍 Qwertyville, Abai Region", "Share your phone number")
	for _, bad := range []string{"12345", "+7 901 123 45 67", "+1 202 555 0100", "phone"} {
		c.expect(c.say(bad), "This is not a Kazakhstan phone number.")
	}
	// Someone else's contact is refused.
	c.h.HandleUpdate(context.Background(), tgbotapi.Update{UpdateID: 5000, Message: &tgbotapi.Message{MessageID: 5000,
		From: &tgbotapi.User{ID: 1, LanguageCode: "en"}, Chat: &tgbotapi.Chat{ID: 1, Type: "private"},
		Contact: &tgbotapi.Contact{PhoneNumber: "+77770000000", UserID: 999}}})
	c.expect(c.out.take(), "This is not your own contact.")
	out = c.say("8 (701) 123-45-67")
	c.expect(out, "What is needed: 🏠 Household goods", "Family: 4", "Where: Qwertyville, Abai Region", "Description: Our stove broke.", "Phone: "+spacedPhone(phone))

	// Edit one answer, back at the summary with the rest kept.
	c.expect(c.say("@press ✏️ Edit"), "What do you want to change?")
	c.expect(c.say("@press Family size"), "How many people")
	out = c.say("5")
	c.expect(out, "Family: 5", "Description: Our stove broke.", "Send the request?")
	c.expect(c.say("typed"), "Please use the buttons")

	// A restart in the middle keeps the answers.
	c.restart()
	c.expect(c.say("@press ✖️ Cancel"), "Your request was not sent. Nothing was stored.")
	if reqs, _ := c.db.UserHelpRequests(context.Background(), 1, 10); len(reqs) != 0 {
		t.Fatalf("a cancelled request was stored: %+v", reqs)
	}
	// Consent given once is not asked again.
	c.expect(c.say("I need help"), "What help do you need?")
}

func TestHelpRequestNamesakesAskForTheRegion(t *testing.T) {
	c := newChatTest(t, "ru")
	regions := strings.NewReader("code,name_kk,name_ru,name_en,center_kk,center_ru,center_en\n" +
		"akmola,Ақмола облысы,Акмолинская область,Akmola Region,Көкшетау,Кокшетау,Kokshetau\n" +
		"pavlodar,Павлодар облысы,Павлодарская область,Pavlodar Region,Павлодар,Павлодар,Pavlodar\n")
	towns := strings.NewReader("id,name_kk,name_ru,name_en,alt_names,region,lat,lon,population\n" +
		"1,Ақсу,Аксу,Aksu,,pavlodar,52.04,76.92,40000\n" +
		"2,Ақсу,Аксу,Aksu,,akmola,52.45,71.96,5000\n")
	g, err := storage.LoadGazetteer(regions, towns)
	if err != nil {
		t.Fatal(err)
	}
	c.deps.Gazetteer = g
	c.restart()
	c.say("Благотворительность\nМне нужна помощь\n@press 1")
	c.say("@press 🎓 Образование\n3\nУчебники для школы.")
	out := c.say("Аксу")
	c.expect(out, "Мест с названием «Аксу» несколько.", "Аксу, Павлодарская область", "Аксу, Акмолинская область")
	c.expect(c.say("@press Аксу, Акмолинская область"), "📍 Аксу, Акмолинская область", "Поделитесь номером")
	out = c.say("@contact 77011234567\n@press ✅ Подтвердить")
	c.expect(out, "Где: Аксу, Акмолинская область", "Заявка C-000001 принята.")
}

func TestRacingTakesLeaveExactlyOneOwner(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()
	coords := []int64{21, 22, 23, 24, 25, 26, 27, 28}
	for _, id := range coords {
		c.coordinator(100, id, "C"+itoa(id), "Astana city")
	}
	c.expect(c.askHelp(10, "💰 Financial help", "6", "Rent is due.", "Astana"), "Request C-000001 received.")
	msgs := map[int64]int{}
	for _, id := range coords {
		msgs[id] = c.offerMessage(1, id)
	}
	var wg sync.WaitGroup
	for _, id := range coords {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.pressRaw(id, "help:t:1", msgs[id])
		}()
	}
	wg.Wait()
	if err := c.h.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	out := c.out.take()
	if n := strings.Count(out, "Request C-000001 is yours."); n != 1 {
		t.Errorf("%d coordinators were told they took the request:\n%s", n, out)
	}
	if n := strings.Count(out, "Phone: "+spacedPhone(phone)); n != 1 {
		t.Errorf("the phone was shown %d times", n)
	}
	req, _ := c.db.HelpRequest(ctx, 1)
	if req.Status != storage.HelpTaken || req.CoordinatorID == nil {
		t.Fatalf("request after the race: %+v", req)
	}
	if n := auditCount(t, c.db, "C-000001", "help.take"); n != 1 {
		t.Errorf("%d help.take audit entries, want 1", n)
	}
	if n := strings.Count(out, "Your request C-000001 was taken by coordinator C"+itoa(*req.CoordinatorID)); n != 1 {
		t.Errorf("the citizen was told %d times:\n%s", n, out)
	}
}

func TestParsePhone(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"+77011234567", "+77011234567"},
		{"+7 701 123 45 67", "+77011234567"},
		{"8 701 123-45-67", "+77011234567"},
		{"8(701)1234567", "+77011234567"},
		{"87011234567", "+77011234567"},
		{"77011234567", "+77011234567"},
		{"701 123 45 67", "+77011234567"}, // without +7
		{"(727) 250-00-00", "+77272500000"},
		{"9011234567", ""},
		{"+7011234567", ""},
		{" +7-727-250-00-00 ", "+77272500000"},
		{"+76001234567", "+76001234567"},
		{"+79011234567", ""}, // Russia
		{"89011234567", ""},
		{"+7701123456", ""},   // 9 digits
		{"+770112345678", ""}, // 11 digits
		{"+87011234567", ""},
		{"7701+1234567", ""},
		{"+7 701 123 45 6x", ""},
		{"", ""},
		{"+", ""},
		{"++77011234567", "+77011234567"}, // a plus typed twice: the number after it
		{"+7٧٠١١٢٣٤٥٦٧", ""},              // other digits
		// With words around it, as people type it.
		{"номерим 87011234567", "+77011234567"},
		{"Мой номер: +7 (701) 123-45-67, звоните после 18", "+77011234567"},
		{"мне 75 лет, тел 8 701 123 45 67", "+77011234567"},
		{"87011234567 или 87021234567", ""}, // two: which?
		{"87011234567 немесе 87011234567", "+77011234567"},
		{"номер 89011234567", ""}, // Russia
		{"телефоным жок", ""},
		{"тел 7701+1234567", ""},
		{"дом 1, кв 2, подъезд 3, этаж 4, тел 87011234567", "+77011234567"},
	} {
		got, ok := ParsePhone(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("ParsePhone(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

var kzPhone = regexp.MustCompile(`^\+7[67][0-9]{9}$`)

func FuzzParsePhone(f *testing.F) {
	for _, s := range []string{"+77011234567", "8 701 123-45-67", "+79011234567", "", "(((", "+7 ٧٠١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ParsePhone(s)
		if !ok {
			if got != "" {
				t.Fatalf("ParsePhone(%q) refused but returned %q", s, got)
			}
			return
		}
		if !kzPhone.MatchString(got) {
			t.Fatalf("ParsePhone(%q) = %q, not +7 and 10 digits", s, got)
		}
		if again, ok := ParsePhone(got); !ok || again != got {
			t.Fatalf("ParsePhone(%q) = %q, %v; not stable", got, again, ok)
		}
	})
}

func TestCoordinatorRequestsListTheirsFirstAndViewIsAudited(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()
	c.coordinator(100, 21, "Dana", "Astana city")
	c.expect(c.say("/requests"), "No open help requests in your regions (Astana city).")
	c.askHelp(10, "🍞 Food", "2", "First.", "Astana")
	c.askHelp(11, "🍞 Food", "3", "Second.", "Astana")
	c.askHelp(12, "🍞 Food", "4", "Elsewhere.", "Almaty")
	c.press(21, "help:t:2", c.offerMessage(2, 21))
	out := c.say("@as 21 en\n/requests")
	c.expect(out, "Help requests of your regions (Astana city)",
		"⭐ C-000002 · 🍞 Food · family of 3 · Astana, Astana city · yours\nC-000001 · 🍞 Food · family of 2",
		"(1) C-000002\n(2) C-000001")
	c.reject(out, "C-000003", phone)
	views := auditCount(t, c.db, "C-000002", "help.view")
	c.expect(c.say("@press C-000002"), "Request C-000002 is yours.", "Phone: "+spacedPhone(phone), "(1) ✅ Fulfilled")
	if n := auditCount(t, c.db, "C-000002", "help.view"); n != views+1 {
		t.Errorf("viewing an owned request wrote %d audit entries", n-views)
	}
	c.say("/requests")
	out = c.say("@press C-000001")
	c.expect(out, "New help request C-000001.", "Description: First.", "(1) 🤝 Take")
	c.reject(out, phone)
	// Another region's request, forged: refused.
	c.expect(c.press(21, "help:v:3", 1), "This request is from a region you do not serve.")
	c.expect(c.press(21, "help:x:3", 1), "This button is no longer active.")
	c.expect(c.press(21, "help:t:999", 1), "This request does not exist.")
	// A coordinator's own request list is under Charity → My requests.
	c.expect(c.say("My requests"), "You have no help requests.")
	if req, _ := c.db.HelpRequest(ctx, 3); req.Status != storage.HelpOpen {
		t.Fatalf("request 3 is %s", req.Status)
	}
}

func TestHelpRequestInKazakh(t *testing.T) {
	c := newChatTest(t, "kk")
	c.expect(c.say("Қайырымдылық"), "[🙏 Маған көмек керек] [🙌 Ерікті болу]")
	c.expect(c.say("Маған көмек керек\n@press 1"), "Сізге қандай көмек керек?")
	c.expect(c.say("азық-түлік\n25"), "1-ден 20-ға дейінгі бүтін санды жазыңыз.")
	out := c.say("3\nҮйде тамақ жоқ.\nАстана\n+7 701 123 45 67\n@press ✅ Растау")
	c.expect(out, "Не керек: 🍞 Азық-түлік", "Қай жерде: Астана, Астана қаласы", "C-000001 өтінімі қабылданды.")
	c.expect(c.say("/requests"), "C-000001 · 🍞 Азық-түлік · 28.11.2026 · үйлестірушіні күтуде", "(1) C-000001 қайтарып алу")
}

// The Charity buttons are recognised typed in every language, and no other
// button has the same label.
// No word typed for a button names two buttons: every label and _also
// word that the routes register (menu, charity, mediation, the
// directory's kinds) reaches one only.
func TestRouteWordsNameOneButtonEach(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	New(Deps{Catalog: cat, Gazetteer: testGazetteer(t)})
	if clashes := cat.WordClashes(); len(clashes) > 0 {
		t.Errorf("words registered for two buttons:\n%s", strings.Join(clashes, "\n"))
	}
}

func TestCharityButtonsAreTheirOwnWords(t *testing.T) {
	c := newChatTest(t, "en")
	for _, id := range []string{"charity.need_help", "charity.volunteer", "charity.my_requests", "charity.my_registrations", "menu.charity"} {
		for _, label := range c.h.cat.All(id) {
			if got, ok := c.h.cat.Word(label); !ok || got != id {
				t.Errorf("label %q is the word %q, want %q", label, got, id)
			}
		}
	}
	c.anEvent()
	c.expect(c.say("Стать волонтёром"), "Charity events near you")
}

// A request of the same kind stored while the user was at the summary (a
// second device): Confirm asks whether to update it, and goes back to the
// summary with every answer kept.
func TestHelpRequestConfirmFindsAnOpenRequestMeanwhile(t *testing.T) {
	c := newChatTest(t, "en")
	ctx := context.Background()
	c.say("I need help\n@press ✅ I agree\n@press 🍞 Food\n2\nBread and milk.\nAstana\n@contact " + phone)
	err := c.db.Tx(ctx, func(tx *storage.Tx) error {
		_, err := tx.CreateHelpRequest(storage.HelpRequest{UserID: 1, Kind: "food", FamilySize: 1, Description: "x",
			Region: "astana", Phone: phone})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c.expect(c.say("@press ✅ Confirm"), "You already have an open request C-000001 for 🍞 Food")
	c.expect(c.say("@press ✏️ Update it"), "Please check the new version", "Family: 2", "Description: Bread and milk.")
	c.expect(c.say("@press ✅ Confirm"), "Request C-000001 updated.")
	if reqs, _ := c.db.UserHelpRequests(ctx, 1, 10); len(reqs) != 1 || reqs[0].FamilySize != 2 {
		t.Fatalf("requests: %+v", reqs)
	}
}

func TestUnclaimedHelpRequestAlertsAdministratorsOnce(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.say("@as 100 en\n/start")
	c.coordinator(100, 21, "Dana", "Astana city")
	c.expect(c.askHelp(10, "🍞 Food", "2", "Bread.", "Astana"), "Request C-000001 received.")
	c.expect(c.askHelp(11, "🍞 Food", "2", "Milk.", "Astana"), "Request C-000002 received.")
	c.press(21, "help:t:2", c.offerMessage(2, 21))
	c.reject(c.advance(23*time.Hour), "waited 24 hours")
	out := c.advance(2 * time.Hour)
	c.expect(out, "[to 100] Help request C-000001 (🍞 Food, Astana city) has waited 24 hours")
	c.reject(out, "C-000002", "Bread")
	c.restart()
	c.reject(c.advance(48*time.Hour), "waited 24 hours")
}

func TestUpdatingATakenRequestTellsItsOwner(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.coordinator(100, 21, "Dana", "Astana city")
	c.askHelp(10, "🎓 Education", "2", "School books.", "Astana")
	c.say("@as 21 en\n@press 🤝 Take")
	out := c.say("@as 10 en\nI need help\n@press 🎓 Education")
	c.expect(out, "You already have an open request C-000001 for 🎓 Education (taken by a coordinator).")
	out = c.say("@press ✏️ Update it\n2\nSchool books and a backpack.\nAstana\n@contact " + phone + "\n@press ✅ Confirm")
	c.expect(out, "Request C-000001 updated.", "[to 21] The citizen changed request C-000001, which you took:",
		"Description: School books and a backpack.\nPhone: "+spacedPhone(phone))
	c.reject(out, "New help request")
	if n := auditCount(t, c.db, "C-000001", "help.view"); n != 2 {
		t.Errorf("%d help.view audit entries, want 2 (take, update)", n)
	}
}

// A help request's description is in words: a number or punctuation alone
// is asked again; a short phrase is enough.
func TestHelpDescriptionIsInWords(t *testing.T) {
	c := newChatTest(t, "en")
	if out := c.say("@as 11 en\nCharity\nI need help"); strings.Contains(out, "Do you agree?") {
		c.say("@press ✅ I agree")
	}
	c.say("@press 🍞 Food\n5")
	for _, bad := range []string{"1", "!!!", "5 5 5"} {
		out := c.say(bad)
		c.expect(out, "Please describe in words what you need and why.")
		c.reject(out, "Where")
	}
	c.expect(c.say("Нет еды\nAstana\n@contact +77011234567\n@press ✅ Confirm"), "C-000001")
}

// A coordinator who types instead of pressing ("беру", from a bus) gets the
// requests awaiting them with their buttons, not "I did not understand";
// taking one there also edits their own offer, whose Take is then gone.
func TestCoordinatorTypingWithRequestsWaitingGetsTheirButtons(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.coordinator(100, 21, "Dana", "Almaty city")
	// With nothing waiting, the usual answer.
	c.expect(c.say("@as 21 en\nберу"), "I did not understand")

	c.askHelp(10, "🍞 Food", "4", "We lost our jobs; three children.", "Almaty")
	c.askHelp(11, "💊 Medicine", "2", "Insulin for my mother.", "Almaty")
	out := c.say("@as 21 en\nберу")
	c.expect(out, "Waiting to be taken: C-000001, C-000002.", "🤝 Take C-000001", "🤝 Take C-000002")
	c.reject(out, "I did not understand", "We lost our jobs", phone)

	out = c.say("@press 🤝 Take C-000002")
	c.expect(out, "You took request C-000002.", "Request C-000002 is yours.", "Phone: "+spacedPhone(phone),
		"[to 11] Your request C-000002 was taken by coordinator Dana.")
	// The offer edited (through the outbox); the hint rendered again, the
	// other request's Take still on it.
	if n := strings.Count(out, "(edited) You took request C-000002."); n != 1 {
		t.Errorf("%d messages edited to say it was taken, want the offer alone:\n%s", n, out)
	}
	c.expect(out, "(edited) Your requests: C-000002.", "🤝 Take C-000001")
	c.reject(out, "🤝 Take C-000002")

	// Now one is theirs and one waits.
	out = c.say("+")
	c.expect(out, "Your requests: C-000002.", "⭐ C-000002", "Waiting to be taken: C-000001.", "🤝 Take C-000001")
	c.reject(out, "🤝 Take C-000002")
	out = c.say("@press ⭐ C-000002")
	c.expect(out, "Request C-000002 is yours.", "✅ Fulfilled")

	// A citizen typing the same still gets "I did not understand".
	c.expect(c.say("@as 10 en\nберу"), "I did not understand")
}

// The hint names six requests and says more await; an offer made before
// the coordinator left its region is not on it (Take would be refused).
func TestCoordinatorHintNamesWhatTheyCanTake(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.coordinator(100, 21, "Dana", "Almaty city")
	for i := int64(0); i < 7; i++ {
		c.askHelp(10+i, "🍞 Food", "3", "We need food.", "Almaty")
	}
	out := c.say("@as 21 en\nберу")
	c.expect(out, "Waiting to be taken: C-000001, C-000002, C-000003, C-000004, C-000005, C-000006.",
		"🤝 Take C-000006", "More requests await you than fit here: /requests lists more of them.")
	c.reject(out, "C-000007")
	out = c.say("@press 🤝 Take C-000003")
	c.expect(out, "You took request C-000003.", "(edited) Your requests: C-000003.",
		"Waiting to be taken: C-000001, C-000002, C-000004, C-000005, C-000006.", "More requests await you")
	// Pressed twice (the second press before the client showed the edit):
	// she is told she took it, not that "Dana" did.
	out = c.press(21, "help:th:3", c.offerMessage(3, 21))
	c.expect(out, "(notice) You took request C-000003.")
	c.reject(out, "was taken by")

	// Aigerim takes C-000001 after Dana's hint named it; Dana's Take there
	// is refused and the hint rendered again without it.
	c.coordinator(100, 22, "Aigerim", "Almaty city")
	c.expect(c.say("@as 21 en\nберу"), "🤝 Take C-000001")
	c.expect(c.say("@as 22 en\n/requests\n@press C-000001\n@press 🤝 Take"), "You took request C-000001.")
	out = c.say("@as 21 en\n@press 🤝 Take C-000001")
	c.expect(out, "(notice) Request C-000001 was taken by Aigerim.",
		"(edited) Your requests: C-000003.", "Waiting to be taken: C-000002, C-000004, C-000005, C-000006, C-000007.")
	c.reject(out, "Take C-000001", "More requests await you")

	// With four taken and four offered, the requests offered still get
	// half of the hint's six.
	c.say("беру\n@press 🤝 Take C-000002\nберу\n@press 🤝 Take C-000004\nберу\n@press 🤝 Take C-000005")
	c.askHelp(17, "🍞 Food", "3", "We need food.", "Almaty")
	c.askHelp(18, "🍞 Food", "3", "We need food.", "Almaty")
	out = c.say("@as 21 en\nберу")
	c.expect(out, "Your requests: C-000002, C-000003, C-000004.", "Waiting to be taken: C-000006, C-000007, C-000008.",
		"🤝 Take C-000008", "More requests await you")
	c.reject(out, "C-000005", "C-000009")

	// Dana now serves Astana alone: the Almaty offers are off the hint,
	// the requests she took stay on it.
	c.expect(c.say("/profile\nDana\n@press ✅ Almaty city\n@press Astana city\n@press ✔️ Done\n@press ✔️ Done"), "Regions: Astana city\n")
	out = c.say("беру")
	c.expect(out, "Your requests: C-000002, C-000003, C-000004, C-000005.", "⭐ C-000005")
	c.reject(out, "Waiting to be taken", "🤝 Take", "More requests await you")
	// A hint from before the change, pressed: refused, and shown again
	// without the request.
	out = c.press(21, "help:th:6", c.offerMessage(6, 21))
	c.expect(out, "This request is from a region you do not serve.", "(edited) Your requests: C-000002, C-000003, C-000004, C-000005.")
	c.reject(out, "🤝 Take")
}

// A village the gazetteer lacks, two letters from a town 700 km away
// (Манкент, by Sairam; Жаркент, in Zhetysu), is offered that town and every
// region: the request goes to the region chosen, with the village's name.
func TestHelpRequestFromAVillageTheBotDoesNotKnow(t *testing.T) {
	c := newChatTest(t, "kk")
	out := c.say("💛 Қайырымдылық\n🙏 Маған көмек керек\n@press 1\n@press 1\n3\nун керек кант керек\nМанкент")
	c.expect(out, "«Манкент» деген жерді білмеймін", "(1) Жаркент, Жетісу облысы", "Түркістан облысы", "Ұлытау облысы")
	c.expect(c.say("@press Түркістан облысы"), "📍 Манкент, Түркістан облысы")
	out = c.say("87011234567")
	c.expect(out, "Манкент, Түркістан облысы")
	// A district named after a town elsewhere (Astana's Есиль district,
	// the town of Есиль in Akmola) is offered, not taken.
	c.say("/cancel")
	out = c.say("💛 Қайырымдылық\n🙏 Маған көмек керек\n@press 1\n3\nун керек\nЕсильский район")
	c.expect(out, "деген жерді білмеймін", "Есіл, Ақмола облысы", "Астана қаласы")
	c.reject(out, "(edited) 📍", "телефон нөміріңізбен бөлісіңіз")
	// The suggestion is still there to press for a typo.
	c.say("/cancel")
	out = c.say("💛 Қайырымдылық\n🙏 Маған көмек керек\n@press 1\n3\nун керек\nШымкетт")
	c.expect(out, "Шымкент")
	c.expect(c.say("@press 1"), "📍 Шымкент")
}

// /requests tells a citizen with a mediation case where it is: /cases.
func TestMyRequestsPointsToCases(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.expect(c.say("@as 10 en\n/requests"), "You have no help requests.")
	c.reject(c.say("/requests"), "/cases")
	c.mediator(3, "Bolat")
	c.submit(10, "💬 Through the bot only")
	c.expect(c.say("@as 10 en\n/requests"), "You have no help requests.", "Your requests for a mediator are in /cases.")
	c.askHelp(10, "🍞 Food", "2", "Food for two.", "Astana")
	c.expect(c.say("@as 10 en\n/requests"), "C-000001", "Your requests for a mediator are in /cases.")
}

// A region typed at the place, as its button says or without Kazakh
// letters, is the region; two numbers typed get "write one", not "not a
// Kazakhstan number"; "дұрыс" (right) at the summary sends the request.
func TestHelpRequestRegionTwoPhonesAndRight(t *testing.T) {
	c := newChatTest(t, "kk")
	out := c.say("💛 Қайырымдылық\n🙏 Маған көмек керек\n@press 1\n@press 1\n3\nун керек\nТуркистан облысы")
	c.expect(out, "телефон нөміріңізбен бөлісіңіз")
	c.reject(out, "деген жерді білмеймін")
	out = c.say("менин номерим 87012345678, улымнын номери 87771234567")
	c.expect(out, "Мұнда екі нөмір бар")
	c.reject(out, "қазақстандық нөмір емес")
	c.expect(c.say("87012345678"), "Түркістан облысы")
	c.expect(c.say("дурыс"), "C-000001")
}
