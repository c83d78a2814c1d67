package handlers

import (
	"strconv"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// /coordinators: administrators list the charity coordinators and remove
// one. A removed coordinator's taken requests go back to open and are
// offered again in their region; the coordinator is told and loses the
// coordinators' command menu.

// coordinatorsShown is how many coordinators /coordinators lists.
const coordinatorsShown = 30

func (h *Handlers) coordinators(r *Request) error {
	if !r.IsAdmin() {
		return forbidden("staff.admins_only")
	}
	staff, err := h.db.Staff(r.ctx, storage.RoleCoordinator)
	if err != nil {
		return err
	}
	if len(staff) == 0 {
		return r.ReplyKey("coordinators.none", nil)
	}
	if err := r.Reply(r.N("coordinators.count", len(staff), map[string]any{"Count": len(staff)})); err != nil {
		return err
	}
	shown := staff
	if len(shown) > coordinatorsShown {
		shown = shown[:coordinatorsShown]
	}
	for _, m := range shown {
		p := m.Profile
		duty := r.T("duty.status_off", nil)
		if p.OnDuty {
			duty = r.T("duty.status_on", nil)
		}
		text := r.T("coordinators.line", map[string]any{"Name": p.DisplayName, "ID": p.UserID, "Duty": duty,
			"Regions": h.regionNames(r.Lang, p.Regions)})
		if p.DisplayName == "" {
			// Invited, the profile never finished: not blank fields.
			text = r.T("coordinators.unfilled_line", map[string]any{"ID": p.UserID})
		}
		kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
			r.InlineButton("coordinators.remove", "ca:rm:"+id64(p.UserID))))
		if _, err := r.ReplyInline(text, kb); err != nil {
			return err
		}
	}
	if more := len(staff) - len(shown); more > 0 {
		return r.ReplyKey("coordinators.more", map[string]any{"More": more})
	}
	return nil
}

// coordinatorButton handles "ca:rm:user" (asks to confirm), "ca:keep:user"
// (changes nothing) and "ca:RM:user" (removes the coordinator), for
// administrators only.
func (h *Handlers) coordinatorButton(r *Request) error {
	if !r.IsAdmin() {
		return forbidden("staff.admins_only")
	}
	verb, idText, _ := strings.Cut(r.Data, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return invalid("error.button_outdated", nil)
	}
	switch verb {
	case "rm":
		r.Answer("")
		return askRemove(r, "ca", "coordinators", id)
	case "keep":
		return keptStaff(r)
	case "RM":
		return h.removeCoordinator(r, id)
	}
	return invalid("error.button_outdated", nil)
}

func (h *Handlers) removeCoordinator(r *Request, id int64) error {
	var released int
	had := false
	err := h.inTx(r.ctx, func(tx *storage.Tx) error {
		var err error
		if had, err = tx.RevokeRole(id, storage.RoleCoordinator); err != nil || !had {
			return err
		}
		if err := tx.Audit(r.UserID, "coordinator.remove", id64(id)); err != nil {
			return err
		}
		reqs, err := tx.ReleaseHelpRequests(id)
		if err != nil {
			return err
		}
		released = len(reqs)
		for _, req := range reqs {
			if err := h.helpDispatch(tx, req); err != nil {
				return err
			}
		}
		lang := h.langOf(tx.Context(), id)
		return h.notify(tx, Notice{Message: bot.Message{ChatID: id, Text: h.cat.T(lang, "coordinators.removed_you", nil)}})
	})
	if err != nil {
		return err
	}
	r.Answer("")
	text := r.T("coordinators.not_coordinator", map[string]any{"ID": id})
	if had {
		h.SyncMenu(r.ctx, id)
		text = r.T("coordinators.removed", map[string]any{"ID": id, "Released": released})
	}
	if err := r.Edit(text, nil); err != nil {
		return r.Reply(text) // the message with the button is gone: say it anew
	}
	return nil
}
