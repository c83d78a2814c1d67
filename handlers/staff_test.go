package handlers

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
)

var inviteLink = regexp.MustCompile(`https://t\.me/dostyq_test_bot\?start=(inv[a-z0-9]+)`)

// invite has administrator admin create an invite to role and returns its code.
func (c *chatTest) invite(admin int64, role string) string {
	c.t.Helper()
	out := c.say("@as " + itoa(admin) + " en\n/invite " + role)
	m := inviteLink.FindStringSubmatch(out)
	if m == nil {
		c.t.Fatalf("no invite link in:\n%s", out)
	}
	return m[1]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestInviteMakesAStaffMemberOnce(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()

	c.expect(c.say("@as 5 en\n/invite mediator"), "Only administrators can do this.")
	c.expect(c.say("@as 100 en\n/invite"), "Write /invite mediator or /invite coordinator.")
	code := c.invite(100, "mediator")
	if out := c.say("@as 100 en\n/invite coordinator"); !strings.Contains(out, "One-time invite for a coordinator") {
		t.Errorf("coordinator invite: %s", out)
	}

	out := c.say("@as 2 en\n/start " + code)
	c.expect(out, "You are now a mediator", "What name should citizens see?", "[to 100] Your invite for a mediator was used by Telegram user 2.")
	if ok, _ := c.db.HasRole(ctx, 2, storage.RoleMediator); !ok {
		t.Fatal("user 2 is not a mediator after opening the invite")
	}
	c.expect(c.say("/cancel\n@as 3 en\n/start "+code), "This invite has already been used.")
	if ok, _ := c.db.HasRole(ctx, 3, storage.RoleMediator); ok {
		t.Fatal("a used invite made a second mediator")
	}

	// A mediator opening another mediator invite does not use it up.
	code2 := c.invite(100, "mediator")
	c.expect(c.say("@as 2 en\n/start "+code2), "You are already a mediator. The invite was not used")
	c.expect(c.say("@as 3 en\n/start "+code2), "You are now a mediator")

	code3 := c.invite(100, "coordinator")
	c.clock.Add(7*24*time.Hour + time.Minute)
	c.expect(c.say("@as 4 en\n/start "+code3), "This invite has expired.")
	c.expect(c.say("/start invXXXXXXXXXXXXXXXXXXX"), "This invite link is not valid.")
	if roles, _ := c.db.Roles(ctx, 4); len(roles) != 0 {
		t.Fatalf("user 4 has roles %v after an expired and a bogus invite", roles)
	}
	log, _ := c.db.AuditLog(ctx, "", 20)
	var creates, redeems int
	for _, e := range log {
		switch e.Action {
		case "invite.create":
			creates++
		case "invite.redeem":
			redeems++
		}
	}
	if creates != 4 || redeems != 2 {
		t.Errorf("audit log has %d invite.create and %d invite.redeem, want 4 and 2", creates, redeems)
	}
}

// A mediator answering from a bus types the profile's choices instead of
// pressing them: regions by name in any language, with or without "city"
// or "облысы", several at once; languages as people say them; kinds in
// everyday words; Done as its label. A name that is two regions
// ("Алматы": the city and the region) chooses neither.
func TestProfileChoicesTyped(t *testing.T) {
	c := newChatTest(t, "kk", 100)
	code := c.invite(100, "mediator")
	c.say("@as 2 kk\n/start " + code + "\nАйгүл")
	c.expect(c.say("Шымкент"), "✅ Шымкент қаласы")
	c.expect(c.say("Туркестанская, Түркістан облысы; Zhambyl Region"), "✅ Түркістан облысы", "✅ Жамбыл облысы")
	c.expect(c.say("Караганда"), "✅ Қарағанды облысы") // a region typed as its main town
	out := c.say("Алматы")
	c.expect(out, "«Алматы» бірнешеуіне сәйкес келеді: Алматы қаласы, Алматы облысы.")
	c.reject(out, "✅ Алматы")
	c.expect(c.say("дайын"), "Қай тілдерде жұмыс істейсіз?")
	c.say("орысша\nқазақша")
	c.expect(c.say("Готово"), "Қандай жанжал түрлерімен")
	c.say("отбасы, көршілер")
	c.say("Дайын\n5")
	p, err := c.db.StaffProfile(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(p.Regions)
	slices.Sort(p.Languages)
	slices.Sort(p.Kinds)
	if strings.Join(p.Regions, ",") != "karaganda,shymkent,turkistan,zhambyl" || strings.Join(p.Languages, ",") != "kk,ru" ||
		strings.Join(p.Kinds, ",") != "family,neighbours" || p.MaxOpen != 5 {
		t.Fatalf("stored profile %+v", p)
	}
}

func TestProfileAndDuty(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()
	c.expect(c.say("@as 7 en\n/profile"), "This is for mediators and coordinators.")
	c.expect(c.say("/duty"), "This is for mediators and coordinators.")

	code := c.invite(100, "mediator")
	c.say("@as 2 en\n/start " + code)
	c.expect(c.say("/duty"), "Fill in your profile first: /profile")
	c.expect(c.say("/profile"), "What name should citizens see?")
	c.expect(c.say(strings.Repeat("x", 41)), "1 to 40 characters")
	out := c.say("Aigerim")
	c.expect(out, "Which regions do you serve?", "Astana city", "Abai Region")
	c.expect(c.say("@press ✔️ Done"), "Choose at least one")
	c.expect(c.say("@press Astana city"), "(edited)", "✅ Astana city")
	c.say("@press Abai Region\n@press Almaty city")
	c.expect(c.say("@press ✅ Almaty city"), "(edited)")
	c.expect(c.say("typed instead"), "Please choose with the buttons")
	c.expect(c.say("@press ✔️ Done"), "Which languages do you work in?")
	c.say("@press Русский\n@press Қазақша")
	c.expect(c.say("@press ✔️ Done"), "Which kinds of conflict do you handle?")
	c.say("@press Family\n@press Labour")
	c.expect(c.say("@press ✔️ Done"), "How many open cases")
	c.expect(c.say("99"), "from 1 to 50")
	out = c.say("3")
	c.expect(out, "Your profile is saved.", "Name: Aigerim", "Regions: Abai Region, Astana city",
		"Languages: Қазақша, Русский", "Kinds of conflict: Family, Labour", "Open cases at most: 3", "Status: off duty")
	p, err := c.db.StaffProfile(ctx, 2)
	if err != nil || p.DisplayName != "Aigerim" || len(p.Regions) != 2 || len(p.Kinds) != 2 || p.MaxOpen != 3 || p.OnDuty {
		t.Fatalf("stored profile %+v, err %v", p, err)
	}
	c.expect(c.say("/duty"), "You are on duty.")
	if p, _ = c.db.StaffProfile(ctx, 2); !p.OnDuty {
		t.Fatal("not on duty after /duty")
	}
	c.expect(c.say("/duty"), "You are off duty.")

	// A coordinator is not asked about conflicts or a maximum of cases.
	code = c.invite(100, "coordinator")
	c.say("@as 8 ru\n/start " + code + "\nДана\n@press город Астана\n@press ✔️ Готово\n@press Русский")
	out = c.say("@press ✔️ Готово")
	c.expect(out, "Профиль сохранён.", "Регионы: город Астана")
	c.reject(out, "Виды конфликтов")
}

// addConsentFlow registers a flow: consent, then a question.
func addConsentFlow(h *Handlers) {
	h.flow(&Flow{Name: "ctest", First: ConsentStep, Steps: map[string]Step{
		ConsentStep: h.consentStep("mediation", "test-1", "ask"),
		"ask": {
			Ask:    func(r *Request) error { return r.Reply("What happened?") },
			Answer: func(r *Request) (string, error) { return End, r.Reply("noted") },
		},
	}})
	h.command("ctest", func(r *Request) error { return h.StartFlow(r, "ctest", nil) })
}

func TestConsentStepStoresAgreementAndDeclineEndsPolitely(t *testing.T) {
	c := newChatTest(t, "en")
	ctx := context.Background()
	addConsentFlow(c.h)
	c.expect(c.say("/ctest"), "Consent text version test-1.", "(1) ✅ I agree  (2) ❌ I do not agree")
	c.expect(c.say("my story"), "Please press “I agree”")
	out := c.say("@press 2")
	c.expect(out, "Without your consent we cannot take your request", "[🏠 Houses of Friendship]")
	c.reject(out, "What happened?")
	if cs, _ := c.db.Consents(ctx, 1); len(cs) != 0 {
		t.Fatalf("a declined consent was stored: %+v", cs)
	}
	c.say("/ctest")
	c.expect(c.say("@press 1"), "You agreed (consent text version test-1)", "What happened?")
	cs, _ := c.db.Consents(ctx, 1)
	if len(cs) != 1 || cs[0].Purpose != "mediation" || cs[0].Version != "test-1" || !cs[0].AgreedAt.Equal(c.clock.Now()) {
		t.Fatalf("consents %+v", cs)
	}
}

// A mediator or coordinator who took the invitation and left the profile
// unfinished is listed as such, not with a blank name and regions.
func TestStaffListsSayAProfileIsUnfinished(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.say("@as 5 en\n/start " + c.invite(100, "mediator") + "\n/cancel")
	c.say("@as 6 en\n/start " + c.invite(100, "coordinator") + "\n/cancel")
	out := c.say("@as 100 en\n/mediators")
	c.expect(out, "id 5 — invited, has not filled in the profile yet")
	c.reject(out, "Regions: \n", " (id 5)")
	out = c.say("/coordinators")
	c.expect(out, "id 6 — invited, has not filled in the profile yet")
	c.reject(out, " (id 6)")
}

// /help lists, for staff, the commands of their roles too; a citizen's
// has none of them.
func TestHelpListsTheCommandsOfTheRole(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.mediator(3, "Bolat")
	out := c.say("@as 100 en\n/help")
	c.expect(out, "/start — main menu", "For your role:", "/invite — Invite a mediator or coordinator", "/stats — Statistics")
	c.reject(out, "/duty —")
	out = c.say("@as 3 en\n/help")
	c.expect(out, "For your role:", "/duty — Go on or off duty", "/profile —")
	c.reject(out, "/stats —")
	out = c.say("@as 10 en\n/help")
	c.reject(out, "For your role:", "/duty —", "/stats —")
}
