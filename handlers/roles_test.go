package handlers

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dostyq/dostyq/storage"
)

// roleWorld is a bot with an administrator (100), a mediator (2) and a
// coordinator (3) who act, a citizen (20) who acts, and the people whose
// things they try to act on: mediator 4 holds case M-000001 of citizen 10,
// coordinator 5 holds help request C-000001 of citizen 11 and runs event 1.
// Every actor speaks Russian.
type roleWorld struct {
	*chatTest
	event int64
}

func newRoleWorld(t *testing.T) *roleWorld {
	t.Helper()
	c := newChatTest(t, "en", 100)
	c.mediator(4, "Owner")
	c.expect(c.submit(10, "💬 Through the bot only"), "Your case M-000001 was received.", "[to 4]")
	c.expect(c.forge(4, "mo:a:1"), "M-000001")
	c.coordinator(100, 5, "Owner", "Astana city")
	c.askHelp(11, "🍞 Food", "2", "Bread.", "Astana")
	c.press(5, "help:t:1", c.offerMessage(1, 5))
	if req, err := c.db.HelpRequest(context.Background(), 1); err != nil || req.CoordinatorID == nil || *req.CoordinatorID != 5 {
		t.Fatalf("help request 1 is not taken by 5: %+v %v", req, err)
	}
	c.mediator(2, "Actor")
	c.coordinator(100, 3, "Actor", "Astana city")
	var ev storage.Event
	err := c.db.Tx(context.Background(), func(tx *storage.Tx) error {
		var err error
		ev, err = tx.CreateEvent(storage.Event{CoordinatorID: 5, Title: "Food parcels", StartsAt: c.clock.Now().Add(72 * time.Hour),
			Region: "astana", Place: "House of Friendship", Capacity: 10})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{100, 2, 3, 20} {
		c.forge(id, "lang:ru")
	}
	c.out.take()
	return &roleWorld{chatTest: c, event: ev.ID}
}

// snapshot is what a refused action must leave as it was.
func (w *roleWorld) snapshot() string {
	w.t.Helper()
	ctx := context.Background()
	cs, err := w.db.Case(ctx, 1)
	if err != nil {
		w.t.Fatal(err)
	}
	req, err := w.db.HelpRequest(ctx, 1)
	if err != nil {
		w.t.Fatal(err)
	}
	ev, err := w.db.Event(ctx, w.event)
	if err != nil {
		w.t.Fatal(err)
	}
	roles4, _ := w.db.Roles(ctx, 4)
	roles5, _ := w.db.Roles(ctx, 5)
	st, _ := w.states.Get(ctx, 10)
	mediatorID := int64(0)
	if cs.MediatorID != nil {
		mediatorID = *cs.MediatorID
	}
	return fmt.Sprintf("case %s %d; request %s %v; event %s; roles %v %v; citizen state %q", cs.Status, mediatorID,
		req.Status, *req.CoordinatorID, ev.Status, roles4, roles5, st.Flow)
}

var cyrillic = regexp.MustCompile(`[а-яА-ЯёЁ]`)

// The role matrix of issue 6: every privileged action, typed as a command
// or pressed as a forged or replayed button with someone else's case,
// request or event, as citizen, mediator, coordinator and administrator.
// A refusal is a reply in the user's language (Russian here) that says no,
// and it changes nothing; what is allowed is not refused.
func TestRoleMatrix(t *testing.T) {
	w := newRoleWorld(t)
	ev := itoa(w.event)
	const (
		citizen, mediator, coordinator, admin = 20, 2, 3, 100
	)
	actors := []int64{citizen, mediator, coordinator, admin}
	type action struct {
		name    string
		command string // typed, or
		press   string // forged callback data
		allowed []int64
		// private, when set, is something the others must not see; they
		// get their own view (no refusal), e.g. /requests lists a
		// citizen's own requests.
		private string
	}
	actions := []action{
		{name: "invite", command: "/invite mediator", allowed: []int64{admin}},
		{name: "invite coordinator", command: "/invite coordinator", allowed: []int64{admin}},
		{name: "stats", command: "/stats", allowed: []int64{admin}},
		{name: "mediators", command: "/mediators", allowed: []int64{admin}},
		{name: "case history", command: "/case 1", allowed: []int64{admin}},
		{name: "case history by number", command: "/case M-000001", allowed: []int64{admin}},
		{name: "profile", command: "/profile", allowed: []int64{mediator, coordinator}},
		{name: "duty", command: "/duty", allowed: []int64{mediator, coordinator}},
		{name: "help requests", command: "/requests", allowed: []int64{coordinator}, private: "C-000001"},
		{name: "new event", command: "/newevent", allowed: []int64{coordinator, admin}},
		{name: "events", command: "/events", allowed: []int64{coordinator, admin}},
		// Buttons of other people's things: refused to everyone but an
		// administrator where administrators may act.
		{name: "accept another's offer", press: "mo:a:1"},
		{name: "decline another's offer", press: "mo:d:1"},
		{name: "decline reason", press: "mo:r:1:busy"},
		{name: "write in another's case", press: "mc:w:1"},
		{name: "close another's case", press: "mc:c:1"},
		{name: "outcome of another's case", press: "mc:o:1:agreement"},
		{name: "withdraw another's case", press: "mc:x:1"},
		{name: "withdraw another's case, confirmed", press: "mc:X:1"},
		{name: "rate another's case", press: "mr:1:5"},
		{name: "take a taken request", press: "help:t:1"},
		{name: "view another's request", press: "help:v:1"},
		{name: "fulfil another's request", press: "help:ok:1"},
		{name: "close another's request unfulfilled", press: "help:no:1"},
		{name: "withdraw another's request", press: "help:wy:1"},
		{name: "export another's event", press: "ev:e:" + ev, allowed: []int64{admin}},
		{name: "message another's event", press: "ev:m:" + ev, allowed: []int64{admin}},
		{name: "cancel another's event", press: "ev:c:" + ev, allowed: []int64{admin}},
		{name: "remove a staff member", press: "ma:rm:4", allowed: []int64{admin}},
	}
	refusals := []string{"unknown.command", "error.button_outdated"}
	for _, k := range []string{"events.coordinators_only", "events.not_your_registration", "events.not_yours", "help.not_coordinator",
		"help.not_owner", "help.not_your_region", "help.not_yours", "help.own_request", "mediation.not_your_case",
		"mediation.not_your_offer", "staff.admins_only", "staff.staff_only", "stats.admins_only", "events.not_found",
		"help.not_found", "mediation.case_not_found", "mediation.not_a_mediator"} {
		refusals = append(refusals, k)
	}
	refusals = append(refusals, w.h.cat.T("ru", "help.taken_by", map[string]any{"Number": "C-000001", "Name": "Owner"}))
	refused := func(out string) bool {
		for _, k := range refusals {
			if strings.Contains(out, w.h.cat.T("ru", k, nil)) {
				return true
			}
		}
		return false
	}
	for _, a := range actions {
		for _, actor := range actors {
			allowed := false
			for _, id := range a.allowed {
				allowed = allowed || id == actor
			}
			t.Run(fmt.Sprintf("%s/%d", a.name, actor), func(t *testing.T) {
				before := w.snapshot()
				var out string
				if a.command != "" {
					out = w.say("@as " + itoa(actor) + " ru\n" + a.command + "\n/cancel")
				} else {
					out = w.forge(actor, a.press)
					w.say("@as " + itoa(actor) + " ru\n/cancel")
				}
				if strings.Contains(out, w.h.cat.T("ru", "error.internal", nil)) || strings.Contains(out, "something went wrong") {
					t.Fatalf("internal error:\n%s", out)
				}
				switch got := refused(out); {
				case a.private != "" && !allowed:
					w.reject(out, a.private)
				case got == allowed:
					t.Errorf("allowed %v, but the bot said:\n%s", allowed, out)
				}
				if !allowed {
					if !cyrillic.MatchString(out) {
						t.Errorf("the refusal is not in Russian:\n%s", out)
					}
					if after := w.snapshot(); after != before {
						t.Errorf("a refused action changed\n%s\nto\n%s", before, after)
					}
				}
			})
		}
	}
	// Replayed buttons of the owners themselves: pressing accept again, or
	// taking the request again, changes nothing.
	before := w.snapshot()
	w.forge(4, "mo:a:1")
	w.forge(5, "help:t:1")
	if after := w.snapshot(); after != before {
		t.Errorf("a replayed button changed\n%s\nto\n%s", before, after)
	}
}
