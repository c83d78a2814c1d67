package handlers

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// Charity help requests, the coordinators' side: offers to the
// coordinators of the region, Take (the first wins), the owner's view with
// the phone (audited), Fulfilled / Cannot fulfil with a note, /requests
// for coordinators, alerts to administrators. The citizen's side is in
// charity.go.

// helpOffer is the message offering req to a coordinator, in lang.
func (h *Handlers) helpOffer(lang string, req storage.HelpRequest) (string, *tgbotapi.InlineKeyboardMarkup) {
	text := h.cat.T(lang, "help.offer", map[string]any{"Number": req.Number()}) + "\n\n" + h.helpDetails(lang, req, false)
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData(h.cat.T(lang, "help.btn_take", nil), fmt.Sprintf("help:t:%d", req.ID))))
	return text, &kb
}

// helpDispatch offers an open request to the coordinators on duty of its
// region (plain text, protected); with none, administrators are alerted.
func (h *Handlers) helpDispatch(tx *storage.Tx, req storage.HelpRequest) error {
	coords, err := tx.RegionCoordinators(req.Region)
	if err != nil {
		return err
	}
	offered := 0
	for _, c := range coords {
		if c.UserID == req.UserID {
			continue // nobody handles their own request
		}
		ref, err := tx.NewHelpOfferRef(req.ID, c.UserID)
		if err != nil {
			return err
		}
		if _, err := tx.AddHelpOffer(req.ID, c.UserID, ref); err != nil {
			return err
		}
		text, kb := h.helpOffer(h.langOf(tx.Context(), c.UserID), req)
		if err := h.notify(tx, Notice{Message: bot.Message{ChatID: c.UserID, Text: text, Inline: kb, Protect: true}, Ref: ref}); err != nil {
			return err
		}
		if err := tx.Audit(c.UserID, "help.offer", req.Number()); err != nil { // the offer shows the description
			return err
		}
		offered++
	}
	if offered > 0 {
		return nil
	}
	return h.helpAlertAdmins(tx, req, "help.admin_alert")
}

// helpAlertAdmins tells every administrator about req with message key
// (number, kind and region: no personal data).
func (h *Handlers) helpAlertAdmins(tx *storage.Tx, req storage.HelpRequest, key string) error {
	for _, admin := range h.cfg.AdminIDs {
		lang := h.langOf(tx.Context(), admin)
		text := h.cat.T(lang, key, map[string]any{"Number": req.Number(),
			"Kind": h.cat.T(lang, helpKindLabel(req.Kind), nil), "Region": h.placeName(lang, helpPlace{Region: req.Region})})
		if err := h.notify(tx, Notice{Message: botText(admin, text)}); err != nil {
			return err
		}
	}
	return nil
}

// helpUnclaimed fires helpUnclaimedAfter a request was made: if nobody
// took it, the administrators are alerted.
func (h *Handlers) helpUnclaimed(tx *storage.Tx, t storage.Timer) error {
	id, err := strconv.ParseInt(t.Ref, 10, 64)
	if err != nil {
		return nil
	}
	req, err := tx.HelpRequest(id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && req.Status != storage.HelpOpen) {
		return nil
	}
	if err != nil {
		return err
	}
	return h.helpAlertAdmins(tx, req, "help.admin_unclaimed")
}

// helpEditOffers edits the offers of request id, except to skip, to the
// text of key (in each coordinator's language), without buttons.
func (h *Handlers) helpEditOffers(tx *storage.Tx, id, skip int64, key string, data map[string]any) error {
	offers, err := tx.HelpOffers(id)
	if err != nil {
		return err
	}
	for _, o := range offers {
		if o.CoordinatorID == skip {
			continue
		}
		text := h.tr(tx.Context(), o.CoordinatorID, key, data)
		if err := h.notify(tx, Notice{Message: bot.Message{ChatID: o.CoordinatorID, Text: text}, EditRef: o.Ref}); err != nil {
			return err
		}
	}
	return nil
}

// helpChanged tells about a request the citizen updated: its owner gets
// the new details; an open one is offered anew (the old offers edited).
func (h *Handlers) helpChanged(tx *storage.Tx, req storage.HelpRequest) error {
	if req.Status == storage.HelpTaken && req.CoordinatorID != nil {
		owner := *req.CoordinatorID
		lang := h.langOf(tx.Context(), owner)
		text := h.cat.T(lang, "help.changed_owner", map[string]any{"Number": req.Number()}) + "\n\n" + h.helpDetails(lang, req, true)
		if err := tx.Audit(owner, "help.view", req.Number()); err != nil {
			return err
		}
		return h.notify(tx, Notice{Message: bot.Message{ChatID: owner, Text: text, Protect: true}})
	}
	if err := h.helpEditOffers(tx, req.ID, 0, "help.changed_offer", map[string]any{"Number": req.Number()}); err != nil {
		return err
	}
	if err := tx.ClearHelpOffers(req.ID); err != nil {
		return err
	}
	return h.helpDispatch(tx, req)
}

// coordinatorRequests lists the requests a coordinator took, then the open
// ones of their regions, each with a button to see it.
func (h *Handlers) coordinatorRequests(r *Request) error {
	p, err := h.db.StaffProfile(r.ctx, r.UserID)
	if err != nil {
		return err
	}
	if len(p.Regions) == 0 {
		return invalid("help.profile_first", nil)
	}
	reqs, err := h.db.CoordinatorHelpRequests(r.ctx, r.UserID, p.Regions, helpListMax)
	if err != nil {
		return err
	}
	if len(reqs) == 0 {
		return r.ReplyKey("help.coord_none", map[string]any{"Regions": h.regionNames(r.Lang, p.Regions)})
	}
	lines := []string{r.T("help.coord_title", map[string]any{"Regions": h.regionNames(r.Lang, p.Regions)})}
	var rows [][]tgbotapi.InlineKeyboardButton
	for _, req := range reqs {
		key := "help.coord_line"
		if req.OwnedBy(r.UserID) {
			key = "help.coord_line_mine"
		}
		lines = append(lines, r.T(key, map[string]any{"Number": req.Number(), "Kind": r.T(helpKindLabel(req.Kind), nil),
			"Family": req.FamilySize, "Place": h.placeName(r.Lang, helpPlace{Region: req.Region, Place: req.Place}),
			"Date": req.CreatedAt.In(kzZone).Format("02.01.2006")}))
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(req.Number(), fmt.Sprintf("help:v:%d", req.ID))))
	}
	_, err = r.Send(bot.Message{Text: strings.Join(lines, "\n"), Inline: ptr(tgbotapi.NewInlineKeyboardMarkup(rows...))})
	return err
}

// coordinatorHint answers a coordinator who typed what the bot did not
// understand while requests await them: those they took, with a button to
// open each (Fulfilled / Cannot fulfil), and those offered to them, with
// Take. Numbers only: the requests themselves are in the offers and
// behind the buttons. It reports whether it answered.
func (h *Handlers) coordinatorHint(r *Request) (bool, error) {
	if ok, err := h.hasRole(r, storage.RoleCoordinator); err != nil || !ok {
		return false, err
	}
	text, kb, err := h.awaitingHint(r)
	if err != nil || text == "" {
		return false, err
	}
	_, err = r.Send(bot.Message{Text: text, Inline: kb})
	return true, err
}

// awaitingHint renders coordinatorHint's message as it stands now, or ""
// when nothing awaits the sender. Its Take buttons are help:th, so that a
// Take pressed there renders the hint again (helpTake) instead of
// replacing it, and the other requests' buttons with it.
func (h *Handlers) awaitingHint(r *Request) (string, *tgbotapi.InlineKeyboardMarkup, error) {
	reqs, err := h.db.HelpRequestsAwaiting(r.ctx, r.UserID, helpHintMax+1)
	if err != nil || len(reqs) == 0 {
		return "", nil, err
	}
	taken := 0
	for taken < len(reqs) && reqs[taken].Status == storage.HelpTaken {
		taken++
	}
	// Six at most, and half of them for the requests offered when there
	// are any: those are the ones another coordinator may take first.
	showTaken := min(taken, max(helpHintMax-(len(reqs)-taken), helpHintMax/2))
	showOffered := min(len(reqs)-taken, helpHintMax-showTaken)
	more := showTaken < taken || showOffered < len(reqs)-taken
	reqs = append(reqs[:showTaken], reqs[taken:taken+showOffered]...)
	var mine, offered []string
	var rows [][]tgbotapi.InlineKeyboardButton
	for _, req := range reqs {
		if req.Status == storage.HelpTaken {
			mine = append(mine, req.Number())
			rows = append(rows, tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("⭐ "+req.Number(), fmt.Sprintf("help:v:%d", req.ID))))
			continue
		}
		offered = append(offered, req.Number())
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(r.T("help.btn_take", nil)+" "+req.Number(), fmt.Sprintf("help:th:%d", req.ID))))
	}
	var texts []string
	if len(mine) > 0 {
		texts = append(texts, r.T("help.hint_mine", map[string]any{"Numbers": strings.Join(mine, ", ")}))
	}
	if len(offered) > 0 {
		texts = append(texts, r.T("help.hint_offered", map[string]any{"Numbers": strings.Join(offered, ", ")}))
	}
	if more {
		texts = append(texts, r.T("help.hint_more", nil))
	}
	return strings.Join(texts, "\n\n"), ptr(tgbotapi.NewInlineKeyboardMarkup(rows...)), nil
}

// helpHintMax is how many requests coordinatorHint shows at most (even:
// half of them are kept for the requests offered).
const helpHintMax = 6

// helpTakenElsewhere edits the taker's own offer of req when they took it
// with the buttons of another message (coordinatorHint's, or the list of
// /requests): its Take would otherwise stay live. Through the outbox, as
// the other coordinators' offers are edited; a fault is logged, the take
// itself stands.
func (h *Handlers) helpTakenElsewhere(r *Request, req storage.HelpRequest) {
	if r.Callback == nil || r.Callback.Message == nil {
		return
	}
	err := h.inTx(r.ctx, func(tx *storage.Tx) error {
		offers, err := tx.HelpOffers(req.ID)
		if err != nil {
			return err
		}
		for _, o := range offers {
			if o.CoordinatorID != r.UserID {
				continue
			}
			m, err := h.db.OutboxByRef(r.ctx, o.Ref)
			if errors.Is(err, storage.ErrNotFound) || (err == nil && m.MessageID == r.Callback.Message.MessageID) {
				return nil // the offer itself was pressed (or is unknown)
			}
			if err != nil {
				return err
			}
			text := r.T("help.you_took", map[string]any{"Number": req.Number()})
			return h.notify(tx, Notice{Message: botText(r.UserID, text), EditRef: o.Ref})
		}
		return nil
	})
	if err != nil {
		h.log.Warn("charity: edit the offer taken elsewhere", "request", req.ID, "err", err)
	}
}

// helpButton handles the buttons of help requests: help:t:ID take
// (help:th:ID on coordinatorHint's message), help:v:ID view, help:ok:ID
// and help:no:ID close, help:w:ID withdraw (help:wy:ID yes, help:wn:ID
// no). Who may press is checked on from.id.
func (h *Handlers) helpButton(r *Request) error {
	action, idText, _ := strings.Cut(r.Data, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		r.Answer(r.T("error.button_outdated", nil))
		return nil
	}
	req, err := h.db.HelpRequest(r.ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return notFound("help.not_found")
	}
	if err != nil {
		return err
	}
	switch action {
	case "t", "th":
		return h.helpTake(r, req, action == "th")
	case "v":
		return h.helpView(r, req)
	case "ok", "no":
		return h.helpClose(r, req, action)
	case "w", "wy", "wn":
		return h.helpWithdraw(r, req, action)
	}
	r.Answer(r.T("error.button_outdated", nil))
	return nil
}

// helpCoordinator checks that the sender is a coordinator of req's region
// and returns their profile.
func (h *Handlers) helpCoordinator(r *Request, req storage.HelpRequest) (storage.StaffProfile, error) {
	ok, err := h.hasRole(r, storage.RoleCoordinator)
	if err != nil {
		return storage.StaffProfile{}, err
	}
	if !ok {
		return storage.StaffProfile{}, forbidden("help.not_coordinator")
	}
	p, err := h.db.StaffProfile(r.ctx, r.UserID)
	if err != nil {
		return p, err
	}
	if !slices.Contains(p.Regions, req.Region) && !req.OwnedBy(r.UserID) {
		return p, forbidden("help.not_your_region")
	}
	if p.DisplayName == "" {
		return p, invalid("help.profile_first", nil)
	}
	return p, nil
}

// helpTake makes the sender the owner of an open request: the first Take
// wins; the others' offers are edited to say who took it. The message
// pressed is edited to say what became of the request, or, when it was
// coordinatorHint's (onHint), rendered again with what awaits now.
func (h *Handlers) helpTake(r *Request, req storage.HelpRequest, onHint bool) error {
	p, err := h.helpCoordinator(r, req)
	if err != nil {
		if onHint {
			h.helpEditPressed(r, "", true) // say, a region they no longer serve: off the hint
		}
		return err
	}
	if req.UserID == r.UserID {
		return forbidden("help.own_request")
	}
	err = h.inTx(r.ctx, func(tx *storage.Tx) error {
		var err error
		if req, err = tx.TakeHelpRequest(req.ID, r.UserID, p.DisplayName); err != nil {
			return err
		}
		if err := tx.Audit(r.UserID, "help.take", req.Number()); err != nil {
			return err
		}
		if err := tx.Audit(r.UserID, "help.view", req.Number()); err != nil {
			return err
		}
		if err := h.notify(tx, Notice{Message: botText(req.UserID, h.tr(r.ctx, req.UserID, "help.citizen_taken",
			map[string]any{"Number": req.Number(), "Name": p.DisplayName}))}); err != nil {
			return err
		}
		return h.helpEditOffers(tx, req.ID, r.UserID, "help.taken_by", map[string]any{"Number": req.Number(), "Name": p.DisplayName})
	})
	var text string
	switch {
	case errors.Is(err, storage.ErrRequestTaken) && req.OwnedBy(r.UserID):
		text = r.T("help.you_took", map[string]any{"Number": req.Number()}) // pressed twice
	case errors.Is(err, storage.ErrRequestTaken):
		text = r.T("help.taken_by", map[string]any{"Number": req.Number(), "Name": req.CoordinatorName})
	case errors.Is(err, storage.ErrRequestClosed):
		text = r.T("help.closed", map[string]any{"Number": req.Number()})
	case err != nil:
		return err
	}
	if text != "" {
		// The edit is best effort: a stale or forged button may name a
		// message that is gone; the toast has said it already.
		r.Answer(truncateRunes(text, 190))
		h.helpEditPressed(r, text, onHint)
		return nil
	}
	text = r.T("help.you_took", map[string]any{"Number": req.Number()})
	r.Answer(text)
	h.helpEditPressed(r, text, onHint)
	h.helpTakenElsewhere(r, req)
	return h.helpSendOwned(r, req)
}

// helpEditPressed edits the message whose Take was pressed: to text, or,
// on coordinatorHint's message, to the hint as it stands now (text when
// nothing awaits any more; no edit when text is "" too), so that the other
// requests keep their buttons.
func (h *Handlers) helpEditPressed(r *Request, text string, onHint bool) {
	var kb *tgbotapi.InlineKeyboardMarkup
	if onHint {
		hint, hintKB, err := h.awaitingHint(r)
		if err != nil {
			h.log.Warn("charity: render the hint again", "err", err)
		}
		if hint != "" {
			text, kb = hint, hintKB
		}
	}
	if text != "" {
		r.EditAside(text, kb)
	}
}

// helpSendOwned sends the owner the full request, phone included
// (protected), with Fulfilled / Cannot fulfil.
func (h *Handlers) helpSendOwned(r *Request, req storage.HelpRequest) error {
	text := r.T("help.owned", map[string]any{"Number": req.Number()}) + "\n\n" + h.helpDetails(r.Lang, req, true)
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		r.InlineButton("help.btn_fulfilled", fmt.Sprintf("help:ok:%d", req.ID)),
		r.InlineButton("help.btn_unfulfilled", fmt.Sprintf("help:no:%d", req.ID))))
	_, err := r.Send(bot.Message{Text: text, Inline: &kb, Protect: true})
	return err
}

// helpView shows a coordinator one request: their own with the phone
// (audited), an open one of their region with Take.
func (h *Handlers) helpView(r *Request, req storage.HelpRequest) error {
	if _, err := h.helpCoordinator(r, req); err != nil {
		return err
	}
	switch {
	case req.Status == storage.HelpTaken && req.OwnedBy(r.UserID):
		if err := h.db.Audit(r.ctx, r.UserID, "help.view", req.Number()); err != nil {
			return err
		}
		return h.helpSendOwned(r, req)
	case req.Status == storage.HelpOpen:
		if err := h.db.Audit(r.ctx, r.UserID, "help.view", req.Number()); err != nil {
			return err
		}
		text, kb := h.helpOffer(r.Lang, req)
		_, err := r.Send(bot.Message{Text: text, Inline: kb, Protect: true})
		return err
	case req.Status == storage.HelpTaken:
		return invalid("help.taken_by", map[string]any{"Number": req.Number(), "Name": req.CoordinatorName})
	}
	return invalid("help.closed", map[string]any{"Number": req.Number()})
}

// helpClose starts the short flow that closes a request the sender owns.
func (h *Handlers) helpClose(r *Request, req storage.HelpRequest, action string) error {
	if _, err := h.helpCoordinator(r, req); err != nil {
		return err
	}
	if !req.OwnedBy(r.UserID) {
		return forbidden("help.not_owner")
	}
	if req.Status != storage.HelpTaken {
		return invalid("help.closed", map[string]any{"Number": req.Number()})
	}
	r.Answer("")
	return h.StartFlow(r, "helpnote", map[string]string{"id": strconv.FormatInt(req.ID, 10), "outcome": action})
}

// helpNoteFlow asks the note of a fulfilled or unfulfilled request and
// closes it.
func (h *Handlers) helpNoteFlow() *Flow {
	return &Flow{
		Name:  "helpnote",
		First: "note",
		Steps: map[string]Step{
			"note": {
				Ask: func(r *Request) error {
					id, _ := strconv.ParseInt(r.State.Get("id"), 10, 64)
					data := map[string]any{"Number": storage.HelpNumber(id), "Max": helpNoteMax}
					if r.State.Get("outcome") == "ok" {
						if err := r.ReplyKeyboard(r.T("help.ask_note_ok", data), r.FlowKeyboard()); err != nil {
							return err
						}
						_, err := r.ReplyInline(r.T("help.no_note_q", nil), tgbotapi.NewInlineKeyboardMarkup(
							tgbotapi.NewInlineKeyboardRow(r.InlineButton("help.btn_no_note", StepData("note", "-")))))
						return err
					}
					return r.ReplyKeyboard(r.T("help.ask_note_fail", data), r.FlowKeyboard())
				},
				Answer:   h.helpAnswerNote,
				FreeText: true,
			},
		},
		Answers: []Answer{
			{Key: "id", Label: "privacy.answer_request", Value: requestAnswer},
			{Key: "outcome", Label: "privacy.answer_outcome",
				Value: buttonAnswer(map[string]string{"ok": "help.btn_fulfilled", "no": "help.btn_unfulfilled"})},
		},
	}
}

func (h *Handlers) helpAnswerNote(r *Request) (string, error) {
	ok := r.State.Get("outcome") == "ok"
	note := r.Text
	switch {
	case r.Data == "-" && ok:
		note = ""
		r.EditAside(r.T("help.no_note_q", nil), nil)
	case r.Data != "":
		r.Answer(r.T("error.button_outdated", nil))
		return Stay, nil
	case note == "":
		return Stay, invalid("help.note_text", map[string]any{"Max": helpNoteMax})
	case utf8.RuneCountInString(note) > helpNoteMax:
		return refuseLong(r, "help.note_long", map[string]any{"Max": helpNoteMax, "Count": utf8.RuneCountInString(note)}, note)
	}
	status, key, citizenKey := storage.HelpFulfilled, "help.closed_ok", "help.citizen_fulfilled"
	if !ok {
		status, key, citizenKey = storage.HelpUnfulfilled, "help.closed_fail", "help.citizen_unfulfilled"
	}
	id, _ := strconv.ParseInt(r.State.Get("id"), 10, 64)
	// Handled again after its commit (a replica took the note over), the
	// request is closed already: the coordinator hears so as the first
	// time, and the citizen is not told twice.
	_, _, err := h.stepOnce(r, "help.close", func(tx *storage.Tx) (string, error) {
		req, err := tx.CloseHelpRequest(id, r.UserID, status, note)
		if err != nil {
			return "", err
		}
		if err := tx.Audit(r.UserID, "help."+status, req.Number()); err != nil {
			return "", err
		}
		lang := h.langOf(r.ctx, req.UserID)
		text := h.cat.T(lang, citizenKey, map[string]any{"Number": req.Number(), "Name": req.CoordinatorName})
		if note != "" {
			text += "\n" + h.cat.T(lang, "help.note_line", map[string]any{"Note": note})
		}
		return "", h.notify(tx, Notice{Message: botText(req.UserID, text)})
	})
	switch {
	case errors.Is(err, storage.ErrRequestClosed), errors.Is(err, storage.ErrNotFound):
		return End, h.sendMenu(r, "help.close_failed")
	case err != nil:
		return Stay, err
	}
	kb := r.mainMenu()
	_, err = r.Send(bot.Message{Text: r.T(key, map[string]any{"Number": storage.HelpNumber(id)}), Keyboard: &kb})
	return End, err
}

// helpOnDuty offers a coordinator who goes on duty the open requests of
// their regions they were not offered yet (a DutyHook; it adds nothing to
// the /duty answer).
func (h *Handlers) helpOnDuty(tx *storage.Tx, userID int64, on bool) (string, error) {
	if !on {
		return "", nil
	}
	if ok, err := tx.HasRole(userID, storage.RoleCoordinator); err != nil || !ok {
		return "", err
	}
	regions, err := tx.StaffRegions(userID)
	if err != nil {
		return "", err
	}
	reqs, err := tx.OpenHelpRequestsIn(regions)
	if err != nil {
		return "", err
	}
	lang := h.langOf(tx.Context(), userID)
	for _, req := range reqs {
		if req.UserID == userID {
			continue
		}
		ref, err := tx.NewHelpOfferRef(req.ID, userID)
		if err != nil {
			return "", err
		}
		if added, err := tx.AddHelpOffer(req.ID, userID, ref); err != nil || !added {
			if err != nil {
				return "", err
			}
			continue
		}
		text, kb := h.helpOffer(lang, req)
		if err := h.notify(tx, Notice{Message: bot.Message{ChatID: userID, Text: text, Inline: kb, Protect: true}, Ref: ref}); err != nil {
			return "", err
		}
	}
	return "", nil
}
