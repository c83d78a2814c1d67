package handlers

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/storage"
)

const citizenPhone = "+77011234567"

// mediator makes user id a mediator on duty serving Astana city in Russian
// for family conflicts, through the invite of administrator 100.
func (c *chatTest) mediator(id int64, name string) string {
	c.t.Helper()
	code := c.invite(100, "mediator")
	out := c.say("@as " + itoa(id) + " en\n/start " + code + "\n" + name +
		"\n@press Astana city\n@press ✔️ Done\n@press Русский\n@press ✔️ Done\n@press Family\n@press ✔️ Done\n3\n/duty")
	c.expect(out, "Your profile is saved.", "You are on duty.")
	return out
}

// submit has citizen id ask for a mediator (family, Astana, Russian) and
// returns what the bot printed.
func (c *chatTest) submit(id int64, contact string) string {
	c.t.Helper()
	return c.say("@as " + itoa(id) + " en\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\n" +
		"My neighbour and I argue about the fence between our houses.\nAstana\n@press Русский\n" + contact + "\n@press ✅ Confirm")
}

func (c *chatTest) caseOf(id int64) storage.Case {
	c.t.Helper()
	got, err := c.db.Case(context.Background(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	return got
}

// press sends a callback query with data from user, as a forged or stale
// button would.
func (c *chatTest) forge(user int64, data string) string {
	c.t.Helper()
	c.h.HandleUpdate(context.Background(), tgbotapi.Update{UpdateID: int(time.Now().UnixNano() % 1e9), CallbackQuery: &tgbotapi.CallbackQuery{
		ID: "forged", From: &tgbotapi.User{ID: user, LanguageCode: "en", FirstName: "F"}, Data: data,
		Message: &tgbotapi.Message{MessageID: 999999, Chat: &tgbotapi.Chat{ID: user, Type: "private"}},
	}})
	if err := c.h.RunDue(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	return c.out.take()
}

// /cases of a mediator names the offers waiting for their answer, with
// Accept and Decline, and with nothing at all says how work comes, not
// how a citizen asks for a mediator.
func TestMediatorCasesListsOffersWaiting(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(3, "Bolat")
	out := c.say("@as 3 en\n/cases")
	c.expect(out, "You hold no cases, and no request waits for your answer.", "/duty")
	c.reject(out, "To ask for a mediator")

	c.submit(10, "@contact "+citizenPhone)
	out = c.say("@as 3 en\n/cases")
	c.expect(out, "Waiting for your answer: M-000001.", "✅ Accept M-000001", "❌ Decline")
	c.reject(out, "You hold no cases", citizenPhone)
	c.expect(c.say("@press ✅ Accept M-000001"), "You accepted case M-000001")
}

// A mediator answering from a bus types the outcome instead of pressing
// it, in any language; what is no outcome gets the buttons again, and
// nothing typed there reaches the citizen.
func TestMediatorClosesACaseByTypingTheOutcome(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(3, "Bolat")
	c.submit(10, "@contact "+citizenPhone)
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000001")

	out := c.say("/cases\n@press ✅ Close the case\nзакрыть")
	c.expect(out, "How did case M-000001 end?", "Please choose with the buttons below.", "Partly resolved")
	c.reject(out, "[to 10]")
	out = c.say("урегулировано частично")
	c.expect(out, "Add a short note about the outcome")
	c.reject(out, "[to 10]", "Please choose")
	out = c.say("They agreed on the fence, not on the trees.")
	c.expect(out, "Case M-000001 is closed.", "[to 10] Your case M-000001 was closed by the mediator. Outcome: Partly resolved.")
	if got := c.caseOf(1); got.Status != storage.CaseClosed || got.Outcome != "partly" || got.OutcomeNote != "They agreed on the fence, not on the trees." {
		t.Fatalf("closed case %+v", got)
	}

	// An outcome's button of a question asked before this step existed
	// (mc:o:ID:OUTCOME) goes on to the note.
	c.submit(11, "@contact "+citizenPhone)
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000002")
	c.expect(c.press(3, "mc:o:2:resolved", 0), "Add a short note about the outcome")
	c.expect(c.say("@as 3 en\n@press Skip"), "Case M-000002 is closed.", "Outcome: Resolved.")

	// Close pressed on two cases, then the first one's outcome button: the
	// first case closes, not the one whose Close was pressed last.
	c.submit(12, "@contact "+citizenPhone)
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000003")
	c.submit(13, "@contact "+citizenPhone)
	c.expect(c.say("@as 3 en\n@press ✅ Accept"), "You accepted case M-000004")
	c.expect(c.press(3, "mc:c:3", 0), "How did case M-000003 end?")
	c.expect(c.press(3, "mc:c:4", 0), "How did case M-000004 end?")
	c.expect(c.press(3, "mc:o:3:resolved", 0), "Add a short note about the outcome")
	c.expect(c.say("@as 3 en\n@press Skip"), "Case M-000003 is closed.")
	if got := c.caseOf(4); got.Status != storage.CaseAccepted {
		t.Errorf("case 4 %s, want still accepted", got.Status)
	}
	// The last question's own button (as Ask sends it) closes its case.
	c.expect(c.press(3, "mc:c:4", 0), "How did case M-000004 end?")
	c.expect(c.say("@press Not resolved\n@press Skip"), "Case M-000004 is closed.")
}

// The whole story of issue 4, as a console script: administrator, two
// mediators and a citizen.
func TestMediationScript(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()
	c.mediator(2, "Aigerim")
	c.mediator(3, "Bolat")

	out := c.submit(10, "@contact "+citizenPhone)
	c.expect(out, "Consent text version", "What kind of conflict is it?", "Place: Astana (Astana city)",
		"Contact: by phone "+spacedPhone(citizenPhone), "Your case M-000001 was received.", "[to 2] 🔔 New request for mediation",
		"Kind: Family", "Language: Русский", "My neighbour and I argue about the fence")
	// Before acceptance the offer carries neither the phone nor the account.
	offer := out[strings.Index(out, "[to 2]"):]
	c.reject(offer, citizenPhone, "User10", "id 10")
	if got := c.caseOf(1); got.Status != storage.CaseWaiting || got.Phone != citizenPhone {
		t.Fatalf("stored case %+v", got)
	}

	out = c.say("@as 2 en\n@press ❌ Decline")
	c.expect(out, "You declined case M-000001", "[to 3] 🔔 New request for mediation")
	c.reject(out[strings.Index(out, "[to 3]"):], citizenPhone, "User10")
	c.expect(c.say("@press Busy"), "You declined case M-000001 (Busy)")

	out = c.say("@as 3 en\n@press ✅ Accept")
	c.expect(out, "You accepted case M-000001", "Contact: by phone "+spacedPhone(citizenPhone),
		"[to 10] Good news: mediator Bolat accepted your case M-000001.")
	c.reject(out, "User10")
	if got := c.caseOf(1); got.Status != storage.CaseAccepted || !got.IsMediator(3) {
		t.Fatalf("after accept: %+v", got)
	}

	out = c.say("@as 10 en\n@press ✉️ Write to the mediator\nHello, when can we talk?")
	c.expect(out, "passed to the mediator Bolat", "✓ Sent to", "[to 3] M-000001 · Citizen User10:\n\nHello, when can we talk?")
	out = c.say("@as 3 en\n@press ↩️ Reply\nTomorrow at 10, by phone.")
	c.expect(out, "passed to the citizen", "[to 10] M-000001 · Mediator Bolat:\n\nTomorrow at 10, by phone.")
	c.expect(c.say("🚪 Leave the chat"), "You left the chat of the case.")
	// Outside the chat, a text is not passed on: the mediator is told so.
	c.expect(c.say("Just text"), "This message was not sent to any citizen", "(M-000001)")

	out = c.say("/cases")
	c.expect(out, "Cases you took as a mediator:", "Case M-000001", "(2) ✅ Close the case")
	out = c.say("@press ✅ Close the case\n@press Resolved\nAn agreement was signed.")
	c.expect(out, "Case M-000001 is closed.", "[to 10] Your case M-000001 was closed by the mediator. Outcome: Resolved.",
		"The mediator's note: An agreement was signed.", "(4) ⭐4")

	out = c.say("@as 10 en\n@press ⭐4\nVery helpful, thank you.")
	c.expect(out, "You rated case M-000001: ⭐⭐⭐⭐", "[to 3] The citizen rated case M-000001: 4/5.", "Thank you for your feedback.")
	got := c.caseOf(1)
	if got.Status != storage.CaseClosed || got.Outcome != "resolved" || got.Rating == nil || *got.Rating != 4 ||
		got.RatingComment != "Very helpful, thank you." || got.OutcomeNote != "An agreement was signed." {
		t.Fatalf("closed case %+v", got)
	}
	c.expect(c.say("/cases"), "M-000001 · Family · closed")

	out = c.say("@as 100 en\n/case M-000001")
	c.expect(out, "Status: closed", "Mediator: Bolat (id 3)", "declined", "reason of decline: Busy", "accepted", "Rating: 4/5")
	log, _ := c.db.AuditLog(ctx, "M-000001", 20)
	viewers := map[int64]bool{}
	for _, e := range log {
		viewers[e.ActorID] = true
	}
	if !viewers[3] || !viewers[100] {
		t.Errorf("audit log of M-000001 lacks the mediator's or the administrator's view: %+v", log)
	}
	if n := c.pending(); n != 0 {
		t.Errorf("%d notifications were never sent", n)
	}
}

func TestForgedButtonsAreRefusedAndChangeNothing(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.mediator(3, "Bolat")
	c.submit(10, "💬 Through the bot only")
	// Offer 1 went to mediator 2. Mediator 3, a citizen and an admin forge its Accept.
	for _, u := range []int64{3, 11, 100} {
		out := c.forge(u, "mo:a:1")
		c.expect(out, "This offer was not made to you.")
		c.forge(u, "mo:d:1")
	}
	if got := c.caseOf(1); got.Status != storage.CaseWaiting || got.MediatorID != nil {
		t.Fatalf("forged buttons changed the case: %+v", got)
	}
	// Another citizen cannot withdraw, write to or rate the case.
	for _, data := range []string{"mc:x:1", "mc:X:1", "mc:w:1", "mc:c:1", "mc:o:1:resolved", "mr:1:1", "mc:w:999"} {
		c.expect(c.forge(11, data), "This is not your case.")
	}
	// Nor read it.
	out := c.say("@as 11 en\n/cases\n/case M-000001")
	c.expect(out, "You have no cases.", "Only administrators can do this.")
	c.reject(out, "fence")
	c.say("@as 2 en\n@press ✅ Accept")
	c.expect(c.forge(11, "mc:w:1"), "This is not your case.")
	c.expect(c.forge(3, "mc:c:1"), "This is not your case.")
	c.expect(c.forge(11, "ma:RM:2"), "Only administrators can do this.")
	if got := c.caseOf(1); got.Status != storage.CaseAccepted || !got.IsMediator(2) {
		t.Fatalf("case after forgeries: %+v", got)
	}
	// Garbage data gets a reply, never a crash.
	for _, data := range []string{"mo:", "mo:a:x", "mc:w", "mr:1:9", "ma:zz:1", "mo:r:1:evil"} {
		if out := c.forge(2, data); out == "" {
			t.Errorf("%q got no reply", data)
		}
	}
}

func TestNothingOfTheCitizenIsShownBeforeAcceptanceAndOnlyASharedPhoneAfter(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	out := c.submit(10, "💬 Through the bot only")
	c.expect(out, "Contact: through the bot only", "[to 2]")
	c.reject(out[strings.Index(out, "[to 2]"):], "User10", "+7")
	out = c.say("@as 2 en\n@press ✅ Accept")
	c.expect(out, "Contact: through the bot only")
	c.reject(out, "User10", "+7", "id 10")
}

func TestOfferTimeoutGoesToTheNextMediatorThenEscalatesOnceAcrossRestarts(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.mediator(3, "Bolat")
	// "через бот" typed for the button "💬 Только через бот".
	c.expect(c.submit(10, "через бот"), "Contact: through the bot only", "[to 2] 🔔 New request")
	c.reject(c.advance(time.Hour+59*time.Minute), "withdrawn", "[to 3]")

	c.restart()
	out := c.advance(time.Minute)
	c.expect(out, "[to 2] (edited) The offer of case M-000001 was withdrawn: it was not answered in time.", "[to 3] 🔔 New request")
	// Mediator 2's stale Accept (its button is gone; a client may still send it) is refused.
	c.expect(c.forge(2, "mo:a:1"), "This offer is no longer active.")

	c.restart()
	c.say("@as 2 en")
	out = c.advance(2 * time.Hour)
	c.expect(out, "[to 3] (edited) The offer of case M-000001 was withdrawn", "[to 100] ⚠️ No mediator has taken this case.",
		"[to 10] No mediator has been able to take your case M-000001 yet.")
	c.restart()
	out = c.advance(24 * time.Hour)
	c.reject(out, "⚠️", "No mediator has been able")
	if got := c.caseOf(1); got.Status != storage.CaseWaiting || got.EscalatedAt == nil {
		t.Fatalf("case after escalation: %+v", got)
	}
	// A mediator coming on duty later is offered the waiting case.
	c.say("@as 3 en\n/duty")
	out = c.mediator(4, "Dana")
	c.expect(out[strings.Index(out, "You are on duty."):], "🔔 New request", "Case M-000001")
}

func TestEscalationAfterTheWaitingLimitEvenWithAnOfferOpen(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.deps.Config.OfferTimeout = 48 * time.Hour
	c.restart()
	c.mediator(2, "Aigerim")
	c.submit(10, "💬 Through the bot only")
	c.reject(c.advance(23*time.Hour), "⚠️")
	out := c.advance(time.Hour)
	c.expect(out, "[to 100] ⚠️ No mediator has taken this case.", "Case M-000001")
	// The offer is still open: the mediator can take it.
	c.expect(c.say("@as 2 en\n@press ✅ Accept"), "You accepted case M-000001")
}

func TestTwoMediatorsPressingAcceptAtOnceOnlyOneGetsTheCase(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.mediator(3, "Bolat")
	c.submit(10, "💬 Through the bot only")
	// Offer 1 is mediator 2's; give mediator 3 an open offer of the same case too.
	if err := c.db.Tx(context.Background(), func(tx *storage.Tx) error { _, err := tx.CreateOffer(1, 3); return err }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, u := range []int64{2, 3} {
		wg.Add(1)
		go func(offer int, user int64) {
			defer wg.Done()
			c.h.HandleUpdate(context.Background(), tgbotapi.Update{UpdateID: 5000 + offer, CallbackQuery: &tgbotapi.CallbackQuery{
				ID: "race", From: &tgbotapi.User{ID: user, LanguageCode: "en"}, Data: "mo:a:" + itoa(int64(offer)),
				Message: &tgbotapi.Message{MessageID: 999999, Chat: &tgbotapi.Chat{ID: user, Type: "private"}}}})
		}(i+1, u)
	}
	wg.Wait()
	c.h.RunDue(context.Background())
	out := c.out.take()
	if n := strings.Count(out, "accepted your case M-000001"); n != 1 {
		t.Fatalf("the citizen was told %d times that the case was accepted:\n%s", n, out)
	}
	c.expect(out, "Another mediator has already taken this case.")
	if got := c.caseOf(1); got.Status != storage.CaseAccepted || got.MediatorID == nil {
		t.Fatalf("case %+v", got)
	}
}

func TestDescriptionLimitsKeepWhatWasTyped(t *testing.T) {
	c := newChatTest(t, "en")
	c.say("🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Labour")
	c.expect(c.say("too short"), "at least 10 characters")
	long := strings.Repeat("word ", 220) + "end"
	out := c.say(long)
	c.expect(out, "has 1103 characters; the limit is 1000", long)
	st, _ := c.states.Get(context.Background(), 1)
	if st.Step != "description" || st.Get("description_draft") != long || st.Get("kind") != "labour" {
		t.Fatalf("state after a long description: step %q, kind %q, draft kept %v", st.Step, st.Get("kind"), st.Get("description_draft") == long)
	}
	c.expect(c.say(long[:500]), "Where is the conflict?")
	c.expect(c.say("@location 10 10"), "outside Kazakhstan")
	c.expect(c.say("Nowhereville"), "I do not know “Nowhereville”", "Pavlodar Region")
	c.expect(c.say("@press Pavlodar Region"), "Place: Nowhereville (Pavlodar Region)", "In which language")
	c.say("@press English")
	// Someone else's contact card is not accepted as the citizen's phone.
	c.h.HandleUpdate(context.Background(), tgbotapi.Update{UpdateID: 7000, Message: &tgbotapi.Message{MessageID: 7000,
		From: &tgbotapi.User{ID: 1, LanguageCode: "en"}, Chat: &tgbotapi.Chat{ID: 1, Type: "private"},
		Contact: &tgbotapi.Contact{PhoneNumber: "+77019998877", UserID: 999}}})
	c.expect(c.out.take(), "Please share your own phone number")
	out = c.say("💬 Through the bot only")
	c.expect(out, "Kind: Labour", "Place: Nowhereville (Pavlodar Region)", "Contact: through the bot only")
	// Edit a step, then back at the summary.
	c.say("@press ✏️ Edit a step")
	c.expect(c.say("@press Language"), "In which language")
	out = c.say("@press Қазақша")
	c.expect(out, "Language: Қазақша", "✅ Confirm")
	c.expect(c.say("@press ✖️ Cancel"), "nothing was sent")
	if cs, _ := c.db.CasesOfCitizen(context.Background(), 1, 10); len(cs) != 0 {
		t.Fatalf("a cancelled request was stored: %+v", cs)
	}
}

func TestCitizenWithdrawsAWaitingCase(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.submit(10, "💬 Through the bot only")
	out := c.say("@as 10 en\n/cases")
	c.expect(out, "M-000001 · Family · waiting for a mediator", "↩️ Withdraw")
	out = c.say("@press ↩️ Withdraw\n@press Yes, withdraw")
	c.expect(out, "Case M-000001 was withdrawn.", "[to 2] (edited) Case M-000001 was withdrawn by the citizen.")
	c.expect(c.forge(2, "mo:a:1"), "This offer is no longer active.")
	if got := c.caseOf(1); got.Status != storage.CaseWithdrawn {
		t.Fatalf("case %+v", got)
	}
	c.reject(c.advance(30*time.Hour), "⚠️", "[to 2]")
}

func TestAdministratorRemovesAMediatorAndTheirCaseGoesBackToMatching(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.submit(10, "💬 Through the bot only")
	c.say("@as 2 en\n@press ✅ Accept")
	c.mediator(3, "Bolat")
	out := c.say("@as 100 en\n/mediators")
	c.expect(out, "2 mediators:", "Aigerim (id 2) — on duty", "Open cases: 1 of 3", "Bolat (id 3)")
	c.expect(c.say("@as 5 en\n/mediators"), "Only administrators")
	c.forge(100, "ma:rm:2")
	out = c.say("@as 100 en\n@press Yes, remove")
	c.expect(out, "Mediator 2 was removed; 1 open case(s) went back to matching.",
		"[to 10] Your mediator can no longer work on case M-000001.", "[to 3] 🔔 New request", "[to 2] An administrator removed your mediator role.")
	if got := c.caseOf(1); got.Status != storage.CaseWaiting || got.MediatorID != nil {
		t.Fatalf("case %+v", got)
	}
	// The removed mediator's old buttons no longer work.
	c.expect(c.forge(2, "mc:w:1"), "This is not your case.")
}

func TestNamesakeTownsAskForTheRegion(t *testing.T) {
	c := newChatTest(t, "en", 100)
	g, err := storage.LoadGazetteer(strings.NewReader("code,name_kk,name_ru,name_en\nakmola,Ақмола облысы,Акмолинская область,Akmola Region\nzhambyl,Жамбыл облысы,Жамбылская область,Zhambyl Region\n"),
		strings.NewReader("id,name_kk,name_ru,name_en,alt_names,region,lat,lon,population\n1,Қайнар,Кайнар,Kainar,,akmola,51.0,70.0,100\n2,Қайнар,Кайнар,Kainar,,zhambyl,43.0,71.0,100\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.deps.Gazetteer = g
	c.restart()
	c.say("🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\nA long quarrel with the neighbours.")
	c.expect(c.say("Kainar"), "There are several places called “Kainar”", "Kainar — Akmola Region", "Kainar — Zhambyl Region")
	c.expect(c.say("@press Kainar — Zhambyl Region"), "Place: Kainar (Zhambyl Region)", "In which language")
	st, _ := c.states.Get(context.Background(), 1)
	if st.Get("region") != "zhambyl" {
		t.Fatalf("region %q, want zhambyl", st.Get("region"))
	}
}

// Each side reads the bot in their own language: a Russian-speaking
// mediator gets the offer in Russian, a Kazakh-speaking citizen hears of the
// acceptance in Kazakh.
func TestNotificationsAreInTheRecipientsLanguage(t *testing.T) {
	c := newChatTest(t, "en", 100)
	code := c.invite(100, "mediator")
	c.say("@as 2 ru\n/start " + code + "\nАйгерим\n@press город Астана\n@press ✔️ Готово\n@press Русский\n@press ✔️ Готово\n@press Семейный\n@press ✔️ Готово\n3\n/duty")
	out := c.say("@as 10 kk\n🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press Отбасылық\nКөршіммен шарбақ туралы дауласып жүрміз.\nАстана\n@press Русский\n💬 Тек бот арқылы\n@press ✅ Растау")
	c.expect(out, "Сіздің M-000001 өтінішіңіз қабылданды.", "[to 2] 🔔 Новое обращение о медиации.", "Вид: Семейный", "Место: Астана (город Астана)")
	out = c.say("@as 2 ru\n@press ✅ Принять")
	c.expect(out, "✅ Вы приняли обращение M-000001.", "Связь: только через бот",
		"[to 10] Жақсы жаңалық: медиатор Айгерим сіздің M-000001 өтінішіңізді қабылдады.")
	out = c.say("@as 10 kk\n@press ✉️ Медиаторға жазу\nСәлеметсіз бе!")
	c.expect(out, "[to 2] M-000001 · Гражданин User10:\n\nСәлеметсіз бе!")
}

func TestNormalisePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+7 701 123-45-67": "+77011234567", "77011234567": "+77011234567", "+7 (701) 123 45 67": "+77011234567",
		"12": "", "call me": "", "+7701+1234567": "", "": "",
	} {
		if got := normalisePhone(in); got != want {
			t.Errorf("normalisePhone(%q) = %q, want %q", in, got, want)
		}
	}
}

// A mediator going off duty gives up the offers they have not answered:
// each case goes to the next candidate at once, as when an offer expires,
// or to the administrators when nobody is left; the offers' buttons go,
// and the /duty answer names the cases.
func TestGoingOffDutyPassesTheOpenOffersOn(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.mediator(3, "Bolat")
	c.expect(c.submit(10, "💬 Through the bot only"), "[to 2] 🔔 New request")

	out := c.say("@as 2 en\n/duty")
	c.expect(out, "You are off duty.", "The offers you had not answered were withdrawn and passed on: M-000001.",
		"(edited) The offer of case M-000001 was withdrawn: you went off duty. It was passed on to another mediator.",
		"[to 3] 🔔 New request", "Case M-000001")
	c.reject(out, "⚠️")
	c.expect(c.forge(2, "mo:a:1"), "This offer is no longer active.")

	// The last candidate goes off duty: the administrators take it up.
	out = c.say("@as 3 en\n/duty")
	c.expect(out, "You are off duty.", "passed on: M-000001.",
		"(edited) The offer of case M-000001 was withdrawn: you went off duty. No other mediator can take it now: the regional mediation office has been told.",
		"[to 100] ⚠️ No mediator has taken this case.", "[to 10] No mediator has been able to take your case M-000001 yet.")
	c.reject(out, "It was passed on to another mediator")
	// The withdrawn offers' timers are gone: nothing expires later.
	due, err := c.db.DueTimers(context.Background(), time.Now().Add(48*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range due {
		if tm.Kind == timerOffer {
			t.Errorf("a withdrawn offer's timer is still set: %+v", tm)
		}
	}
	c.reject(c.advance(3*time.Hour), "not answered in time")
	if got := c.caseOf(1); got.Status != storage.CaseWaiting {
		t.Fatalf("case %+v", got)
	}
	// Back on duty, as the administrators' alert asks, the mediator is
	// offered the case again: an offer withdrawn when they went off duty
	// does not count as one answered.
	out = c.say("/duty")
	c.expect(out, "You are on duty", "🔔 New request", "Case M-000001")
	c.expect(c.say("@press ✅ Accept"), "You accepted case M-000001")
	// Off duty with nothing open: the answer is as before.
	c.reject(c.say("/duty"), "passed on")
	c.expect(c.say("@as 100 en\n/case M-000001"), "offer withdrawn: the mediator went off duty — id 2",
		"offer withdrawn: the mediator went off duty — id 3")
}

// A mediator whose maximum of open cases was lowered after an offer came
// is not given the case on Accept: they are told how to make room, and the
// offer stays, buttons and all, until its deadline.
func TestAcceptAtTheMaximumKeepsTheOffer(t *testing.T) {
	c, setMax := secondCaseOffered(t)
	setMax(1)

	out := c.say("@as 2 en\n@press ✅ Accept")
	c.expect(out, "Case M-000002 was not given to you: you are at your maximum of open cases (open: 1, maximum: 1).",
		"/profile", "/cases", "press ✅ Accept again before")
	c.reject(out, "[to 11]", "(edited)", "You accepted case M-000002")
	if got := c.caseOf(2); got.Status != storage.CaseWaiting || got.MediatorID != nil {
		t.Fatalf("case at the maximum: %+v", got)
	}
	// Room made, the same button takes the case.
	setMax(2)
	out = c.say("@press ✅ Accept")
	c.expect(out, "You accepted case M-000002", "[to 11] Good news: mediator Aigerim accepted your case M-000002.")
	if got := c.caseOf(2); got.Status != storage.CaseAccepted || !got.IsMediator(2) {
		t.Fatalf("case after room was made: %+v", got)
	}
}

// A mediator who pressed Accept at their maximum and made no room before
// the deadline is told so when the offer is withdrawn, not that they did
// not answer; the case goes on to the next mediator.
func TestAnOfferEndedAtTheMaximumSaysSo(t *testing.T) {
	c, setMax := secondCaseOffered(t)
	setMax(1)
	c.expect(c.say("@as 2 en\n@press ✅ Accept"), "Case M-000002 was not given to you: you are at your maximum of open cases")
	c.mediator(3, "Bolat")
	c.say("@as 100 en") // the administrator: the mediators' messages show whom they went to

	out := c.advance(2 * time.Hour)
	c.expect(out, "[to 2] (edited) The offer of case M-000002 was withdrawn: the time to answer ran out while you were at your maximum of open cases (open: 1, maximum: 1). It goes to another mediator.",
		"[to 3] 🔔 New request", "Case M-000002")
	c.reject(out, "not answered in time")
	// Mediator 3 had room: their offer's end says they did not answer.
	out = c.advance(2 * time.Hour)
	c.expect(out, "[to 3] (edited) The offer of case M-000002 was withdrawn: it was not answered in time.")
	c.reject(out, "maximum")
}

// secondCaseOffered starts a chat in which mediator 2 holds case M-000001
// and is offered M-000002; setMax sets their maximum of open cases.
func secondCaseOffered(t *testing.T) (c *chatTest, setMax func(n int)) {
	t.Helper()
	c = newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.submit(10, "💬 Through the bot only")
	c.expect(c.say("@as 2 en\n@press ✅ Accept"), "You accepted case M-000001")
	c.expect(c.submit(11, "💬 Through the bot only"), "[to 2] 🔔 New request", "Case M-000002")
	return c, func(n int) {
		t.Helper()
		ctx := context.Background()
		p, err := c.db.StaffProfile(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		p.MaxOpen = n
		if err := c.db.Tx(ctx, func(tx *storage.Tx) error { return tx.SaveStaffProfile(p) }); err != nil {
			t.Fatal(err)
		}
	}
}

// A declined or expired offer says where the case goes: to another
// mediator, or, with nobody left, to the regional mediation office.
func TestAnEndedOfferSaysWhereTheCaseWent(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.mediator(3, "Bolat")
	c.mediator(4, "Dana")
	c.submit(10, "💬 Through the bot only")
	out := c.say("@as 2 en\n@press ❌ Decline")
	c.expect(out, "You declined case M-000001; it goes to another mediator.", "[to 3] 🔔 New request")
	out = c.advance(2 * time.Hour)
	c.expect(out, "[to 3] (edited) The offer of case M-000001 was withdrawn: it was not answered in time. It goes to another mediator.",
		"[to 4] 🔔 New request")
	out = c.advance(2 * time.Hour)
	c.expect(out, "[to 4] (edited) The offer of case M-000001 was withdrawn: it was not answered in time. No other mediator can take it now: the regional mediation office has been told.",
		"[to 100] ⚠️ No mediator has taken this case.")
	c.reject(out, "It goes to another mediator")

	c.submit(11, "💬 Through the bot only") // M-000002, offered to 2 again
	c.say("@as 3 en\n/duty\n@as 4 en\n/duty")
	out = c.say("@as 2 en\n@press ❌ Decline")
	c.expect(out, "You declined case M-000002; no other mediator can take it now, so the regional mediation office has been told.",
		"[to 100] ⚠️ No mediator has taken this case.")
}

// A list asked for in the middle of a request (/cases at the summary, a
// worried citizen) is shown, and the request stays where it was: the
// question is asked again and Confirm still works.
func TestAListCommandKeepsTheRequestInProgress(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(3, "Bolat")
	out := c.say("@as 10 en\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\n" +
		"My neighbour and I argue about the fence between our houses.\nAstana\n@press Русский\n💬 Through the bot only\n/cases")
	c.expect(out, "You have no cases.", "You have an unfinished request; your answers so far are kept.", "✅ Confirm")
	// Refused (a citizen's /case): said, then the question again.
	out = c.say("/stats")
	c.expect(out, "You have an unfinished request; your answers so far are kept.", "✅ Confirm")
	out = c.say("/requests\n@press ✅ Confirm")
	c.expect(out, "Your case M-000001 was received.", "[to 3] 🔔 New request")
	c.reject(out, "This button no longer works")

	// At a request's first question, nothing to keep: the command leaves it.
	c.say("🤝 Mediation\n🙋 Ask for a mediator")
	out = c.say("/cases\nAstana")
	c.expect(out, "M-000001 · Family")
	c.reject(out, "unfinished request", "Please check your request.")
}

// The kind's button typed again at the description step is no
// description: the step says so and waits for one.
func TestKindTypedAgainIsNoDescription(t *testing.T) {
	c := newChatTest(t, "kk", 100)
	out := c.say("@as 10 kk\n🤝 Медиация\n🙋 Медиаторға жүгіну\n@press 1\n@press 2\nКөршілер арасындағы")
	c.expect(out, "«Көршілер арасындағы» — жанжалдың түрі, ол таңдалды.")
	c.reject(out, "Жанжал қай жерде")
	c.expect(c.say("Көршім ауладағы арықтың суын бөгеп тастады."), "қай жерде")
}

// A reason typed instead of pressed ("I'm busy", from a bus) is the reason
// of the offer the mediator declined last, if it has none; typed by a
// citizen, before any decline, or a second time, it is no reason.
func TestDeclineReasonTyped(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(2, "Aigerim")
	c.mediator(3, "Bolat")
	c.submit(10, "@contact "+citizenPhone)

	c.reject(c.say("@as 2 en\nI'm busy"), "You declined")
	c.expect(c.say("@press ❌ Decline"), "You declined case M-000001", "[to 3] 🔔 New request for mediation")
	c.expect(c.say("Занят(а)"), "You declined case M-000001 (Busy). Thank you.")
	c.reject(c.say("Not my field"), "You declined")
	c.expect(c.say("@as 100 en\n/case M-000001"), "reason of decline: Busy")
	c.reject(c.say("@as 10 en\nI'm busy"), "You declined")

	// In another language, a reason whose words are also a conflict's.
	c.expect(c.say("@as 3 en\n@press ❌ Decline"), "You declined case M-000001")
	out := c.say("конфликт интересов, это мой сосед")
	c.expect(out, "You declined case M-000001 (Conflict of interest). Thank you.")
	c.reject(out, "Mediation: a trained mediator")
	c.expect(c.say("@as 100 en\n/case M-000001"), "reason of decline: Busy", "reason of decline: Conflict of interest")
}

// A phone number typed at the contact question, words around it or not,
// is taken as the shared one is; anything else gets the buttons' choice.
func TestMediationContactTyped(t *testing.T) {
	c := newChatTest(t, "en", 100)
	out := c.say("@as 11 en\n🤝 Mediation\n🙋 Ask for a mediator\n@press 1\n@press Family\n" +
		"My neighbour and I argue about the fence between our houses.\nAstana\n@press Русский\n12345")
	c.expect(out, "or type a Kazakhstan number (+7 and 10 digits)")
	out = c.say("my number is 8 701 123 45 67\n@press ✅ Confirm")
	c.expect(out, "Contact: by phone +7 701 123 45 67", "Your case M-000001 was received.")
	if got := c.caseOf(1); got.Phone != "+77011234567" {
		t.Errorf("stored phone %q", got.Phone)
	}
}

// A rating typed under the closing message's stars ("5", "⭐⭐⭐⭐", "бес")
// is the press of that star, for the case closed last without a rating;
// typed again, or with no such case, it is no rating.
func TestRatingTyped(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.acceptedCase()
	// While the case is open, it is for the mediator (unsentFlow); kept
	// when the case is closed, the next "5" is the rating all the same.
	c.expect(c.say("@as 10 en\n5"), "Send it?")
	c.expect(c.say("@as 3 en\n/cases\n@press ✅ Close the case\n@press Resolved\n@press Skip"), "Case M-000001 is closed.")
	out := c.say("@as 10 kk\n5 баллов")
	c.expect(out, "You rated case M-000001: ⭐⭐⭐⭐⭐", "[to 3] The citizen rated case M-000001: 5/5.")
	c.say("Skip")
	if got := c.caseOf(1); got.Rating == nil || *got.Rating != 5 {
		t.Fatalf("rating %v", got.Rating)
	}
	out = c.say("⭐⭐")
	c.reject(out, "You rated", "[to 3]")
	// "бес жұлдыз" (five stars) for a second case.
	c.submit(11, "💬 Through the bot only")
	c.say("@as 3 en\n@press ✅ Accept")
	c.say("@as 3 en\n/cases\n@press ✅ Close the case\n@press Resolved\n@press Skip")
	// A family's size is no rating.
	c.reject(c.say("@as 11 kk\nБізде бес адам"), "You rated")
	c.expect(c.say("@as 11 kk\nбес жулдыз коямын"), "You rated case M-000002: ⭐⭐⭐⭐⭐")
}

// A region typed at the case's place ("Туркестанская область") is the
// region, not an unknown town.
func TestMediationRegionTyped(t *testing.T) {
	c := newChatTest(t, "ru")
	out := c.say("🤝 Медиация\n🙋 Обратиться к медиатору\n@press 1\n@press 1\n" +
		"Сосед перекрыл арык, воды нет уже неделю.\nТуркестанская область")
	c.expect(out, "Место: Туркестанская область.")
	c.reject(out, "(Туркестанская область)", "не знаю")
	// A city and the region around it share a name: the word typed for a
	// region or a city tells which; "Шымкент облысы" is no region.
	for _, tc := range []struct{ typed, want string }{
		{"Алматы облысы", "Место: Алматинская область."}, {"Almaty Region", "Место: Алматинская область."},
		{"Алматы обл", "Место: Алматинская область."}, {"Алматы қаласы", "(город Алматы)."},
		{"Шымкент облысы", "выберите регион"},
	} {
		c.say("/cancel")
		out := c.say("🤝 Медиация\n🙋 Обратиться к медиатору\n@press 1\n" +
			"Сосед перекрыл арык, воды нет уже неделю.\n" + tc.typed)
		c.expect(out, tc.want)
	}
}
