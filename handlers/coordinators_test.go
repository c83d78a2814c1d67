package handlers

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/dostyq/dostyq/storage"
)

// An administrator removes a coordinator: the request they had taken goes
// back to open and is offered to the region's other coordinator; the
// removed one is told, is no longer a coordinator, and cannot act on it.
// Nobody else can remove a coordinator.
func TestAdministratorRemovesACoordinator(t *testing.T) {
	c := newChatTest(t, "en", 100)
	ctx := context.Background()
	c.coordinator(100, 21, "Dana", "Almaty city")
	c.coordinator(100, 22, "Erlan", "Almaty city")
	c.askHelp(10, "🍞 Food", "4", "We lost our jobs; three children.", "Almaty")
	c.expect(c.say("@as 21 en\n@press 🤝 Take"), "You took request C-000001.")

	// Not an administrator: refused, nothing changes.
	for _, who := range []int64{22, 10} {
		c.expect(c.press(who, "ca:RM:21", 1), "Only administrators can do this.")
	}
	c.expect(c.say("@as 22 en\n/coordinators"), "Only administrators can do this.")
	if req, _ := c.db.HelpRequest(ctx, 1); !req.OwnedBy(21) {
		t.Fatalf("a refused removal changed the request: %+v", req)
	}

	out := c.say("@as 100 en\n/coordinators")
	c.expect(out, "2 charity coordinators:", "Dana (id 21)", "Erlan (id 22)", "Regions: Almaty city")
	// Asked, the administrator can still say no: nothing changes.
	out = c.press(100, "ca:rm:21", 1) + c.say("@as 100 en\n@press No, keep")
	c.expect(out, "Remove coordinator 21?", "Nothing was changed.")
	c.reject(out, "was removed")
	if req, _ := c.db.HelpRequest(ctx, 1); !req.OwnedBy(21) {
		t.Fatalf("No, keep changed the request: %+v", req)
	}
	out = c.press(100, "ca:rm:21", 1) + c.say("@as 100 en\n@press Yes, remove")
	c.expect(out, "Remove coordinator 21?", "Coordinator 21 was removed; requests offered again: 1.",
		"[to 21] An administrator removed your charity coordinator role.", "[to 22] New help request C-000001.")
	c.reject(out, "[to 21] New help request")
	req, err := c.db.HelpRequest(ctx, 1)
	if err != nil || req.Status != storage.HelpOpen || req.CoordinatorID != nil {
		t.Fatalf("after the removal: %+v, %v", req, err)
	}
	// Dana's old buttons no longer work; Erlan takes it.
	c.expect(c.press(21, "help:t:1", 1), "Only charity coordinators can take requests.")
	c.expect(c.say("@as 22 en\n@press 🤝 Take"), "You took request C-000001.")
	// Removing her again says so.
	c.expect(c.press(100, "ca:RM:21", 1), "User 21 is not a coordinator (any more).")
	c.expect(c.press(100, "ca:RM:x", 1), "This button is no longer active.")
}

// menuRecorder keeps the roles each chat's command menu was last set to.
type menuRecorder struct {
	mu    sync.Mutex
	roles map[int64][]string
}

func (m *menuRecorder) SetRoles(ctx context.Context, chatID int64, roles ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roles[chatID] = append([]string(nil), roles...)
	return nil
}

func (m *menuRecorder) of(id int64) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.roles[id]
	if !ok {
		return "(never set)"
	}
	return strings.Join(r, ",")
}

// Staff get their commands in their own chat when they become mediator or
// coordinator, and lose them when an administrator removes them.
func TestStaffMenusFollowTheirRoles(t *testing.T) {
	c := newChatTest(t, "en", 100)
	menus := &menuRecorder{roles: map[int64][]string{}}
	c.h.menus = menus
	c.mediator(2, "Aigerim")
	c.coordinator(100, 21, "Dana", "Almaty city")
	if got := menus.of(2); got != storage.RoleMediator {
		t.Errorf("the new mediator's menu: %s", got)
	}
	if got := menus.of(21); got != storage.RoleCoordinator {
		t.Errorf("the new coordinator's menu: %s", got)
	}
	c.press(100, "ma:RM:2", 1)
	c.press(100, "ca:RM:21", 1)
	if got := menus.of(2); got != "" {
		t.Errorf("a removed mediator's menu still has roles: %s", got)
	}
	if got := menus.of(21); got != "" {
		t.Errorf("a removed coordinator's menu still has roles: %s", got)
	}
}
