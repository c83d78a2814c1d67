package handlers

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// Mediation, the mediator's and the administrators' side: offers
// (Accept / Decline, timeouts, escalation), closing a case, /mediators and
// /case.

// Timer kinds: an offer not answered in time (ref: offer id); a case still
// waiting after EscalateAfter (ref: case id).
const (
	timerOffer    = "mediation.offer"
	timerEscalate = "mediation.escalate"
)

// outcomes of a closed case; labels are "mediation.outcome_<outcome>".
var outcomes = []string{"resolved", "partly", "unresolved", "referred"}

// declineReasons a mediator may give; labels "mediation.reason_<reason>".
var declineReasons = []string{"busy", "area", "interest"}

func offerRef(id int64) string { return "moffer:" + id64(id) }

func botInline(text string, kb *tgbotapi.InlineKeyboardMarkup) bot.Message {
	return bot.Message{Text: text, Inline: kb}
}

func botProtected(text string, kb *tgbotapi.InlineKeyboardMarkup) bot.Message {
	return bot.Message{Text: text, Inline: kb, Protect: true}
}

func botProtectedTo(chat int64, text string, kb *tgbotapi.InlineKeyboardMarkup) bot.Message {
	return bot.Message{ChatID: chat, Text: text, Inline: kb, Protect: true}
}

// caseReader is who a case is described to.
type caseReader int

const (
	// caseOffered is a mediator offered the case, not yet accepted: no
	// contact.
	caseOffered caseReader = iota
	// caseStaff is the mediator who accepted it, or an administrator: the
	// contact, and for a citizen who chose the bot only, that they are to
	// be written to through the bot.
	caseStaff
	// caseCitizen is the citizen (/mydata): the contact as they chose it.
	caseCitizen
)

// caseDetails describes a case in lang to reader. The phone is shown only
// when the citizen chose to share it, and never to a mediator before they
// accept the case. The citizen's Telegram account is never shown.
func (h *Handlers) caseDetails(lang string, c storage.Case, reader caseReader) string {
	reg, _ := h.gaz.Region(c.Region)
	text := h.cat.T(lang, "mediation.details", map[string]any{
		"Case": c.Number(), "Kind": h.cat.T(lang, kindLabel(c.Kind), nil), "Place": placeBesideRegion(c.Place, reg),
		"Region": reg.Name[lang], "Language": languageNames[c.Lang], "Description": c.Description,
		"Date": c.CreatedAt.In(kzZone).Format("02.01.2006 15:04"),
	})
	if reader == caseOffered {
		return text
	}
	contact := h.cat.T(lang, "mediation.contact_via_bot", nil)
	if reader == caseStaff {
		contact = h.cat.T(lang, "mediation.contact_via_bot_staff", nil)
	}
	if c.Phone != "" {
		contact = h.cat.T(lang, "mediation.contact_via_phone", map[string]any{"Phone": spacedPhone(c.Phone)})
	}
	return text + "\n" + h.cat.T(lang, "mediation.details_contact", map[string]any{"Contact": contact})
}

// offerNext offers case c to the next matching mediator, with a timeout;
// when nobody is left, administrators are alerted (once a case) and it
// reports false. The offer's message is made apart (offerTo, offerNotice),
// so that its text and buttons are not on the stack beneath the queries,
// nor the case copied: HANDLERS.md, "A worker's stack".
func (h *Handlers) offerNext(tx *storage.Tx, c *storage.Case) (bool, error) {
	return h.offerOr(tx, c, h.escalate)
}

// offerOr offers case c to the next matching mediator, or, when nobody is
// left, does nobody (escalate; for a case just confirmed, alertStaff
// alone: storeCase) and reports false.
func (h *Handlers) offerOr(tx *storage.Tx, c *storage.Case, nobody func(*storage.Tx, *storage.Case) error) (bool, error) {
	mid, ok, err := tx.NextMediator(c)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, nobody(tx, c)
	}
	return true, h.offerTo(tx, c, mid)
}

// offerTo offers case c to mediator mid until the offer's deadline.
//
//go:noinline
func (h *Handlers) offerTo(tx *storage.Tx, c *storage.Case, mid int64) error {
	o, err := tx.CreateOffer(c.ID, mid)
	if err != nil {
		return err
	}
	deadline := tx.Now().Add(h.cfg.OfferTimeout)
	if err := h.notify(tx, h.offerNotice(h.langOf(tx.Context(), mid), c, o.ID, mid, deadline)...); err != nil {
		return err
	}
	if err := tx.Audit(mid, "case.offer", c.Number()); err != nil { // the offer shows the description
		return err
	}
	return tx.ScheduleTimer(timerOffer, id64(o.ID), deadline)
}

// offerNotice is the message offering case c to mediator mid in lang, with
// Accept and Decline (offerTo).
//
//go:noinline
func (h *Handlers) offerNotice(lang string, c *storage.Case, offer, mid int64, deadline time.Time) []Notice {
	text := h.cat.T(lang, "mediation.offer", nil) + "\n\n" + h.caseDetails(lang, *c, caseOffered) + "\n\n" +
		h.cat.T(lang, "mediation.offer_deadline", map[string]any{"Deadline": deadline.In(kzZone).Format("02.01.2006 15:04")})
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData(h.cat.T(lang, "mediation.accept", nil), "mo:a:"+id64(offer)),
		tgbotapi.NewInlineKeyboardButtonData(h.cat.T(lang, "mediation.decline", nil), "mo:d:"+id64(offer))))
	return []Notice{{Message: botProtectedTo(mid, text, &kb), Ref: offerRef(offer)}}
}

// escalate alerts the administrators (the regional mediation office) about
// a case nobody took, once, and tells the citizen a person will follow up;
// for a citizen who chose the bot only (no phone), that a mediator is
// being found who will write through the bot, and nobody is asked to
// reach them any other way.
func (h *Handlers) escalate(tx *storage.Tx, c *storage.Case) error {
	first, err := h.alertStaff(tx, c)
	if err != nil || !first {
		return err
	}
	told := "mediation.escalated_citizen"
	if c.Phone == "" {
		told = "mediation.escalated_citizen_bot"
	}
	if citizen := valueOf(c.CitizenID); citizen != 0 {
		return h.notify(tx, h.escalatedNotice(tx, c, told, citizen)...)
	}
	return nil
}

// alertStaff marks case c escalated and alerts the administrators, the
// first time only (first reports whether it was): escalate, and a case
// that finds no mediator the moment it is confirmed (storeCase: its
// citizen is told in the Confirm's own answer).
func (h *Handlers) alertStaff(tx *storage.Tx, c *storage.Case) (first bool, err error) {
	if first, err = tx.MarkEscalated(c.ID); err != nil || !first {
		return first, err
	}
	alert := "mediation.alert"
	if c.Phone == "" {
		alert = "mediation.alert_bot"
	}
	for _, admin := range h.cfg.AdminIDs {
		if err := h.notify(tx, h.alertNotice(h.langOf(tx.Context(), admin), c, alert, admin)...); err != nil {
			return true, err
		}
		if err := tx.Audit(admin, "case.alert", c.Number()); err != nil {
			return true, err
		}
	}
	return true, nil
}

// alertNotice is alert (a message key) about case c to admin in lang
// (escalate). The notices are made apart from the queries that store
// them: HANDLERS.md, "A worker's stack".
//
//go:noinline
func (h *Handlers) alertNotice(lang string, c *storage.Case, alert string, admin int64) []Notice {
	text := h.cat.T(lang, alert, nil) + "\n\n" + h.caseDetails(lang, *c, caseStaff)
	return []Notice{{Message: botProtectedTo(admin, text, nil)}}
}

// escalatedNotice tells citizen (told, a message key) that case c goes to
// a person (escalate).
//
//go:noinline
func (h *Handlers) escalatedNotice(tx *storage.Tx, c *storage.Case, told string, citizen int64) []Notice {
	return []Notice{{Message: botText(citizen, h.tr(tx.Context(), citizen, told, map[string]any{"Case": c.Number()}))}}
}

// withdrawOffers takes back the open offers of case c, editing their
// messages to say why (message key).
func (h *Handlers) withdrawOffers(tx *storage.Tx, c storage.Case, key string) error {
	offers, err := tx.OpenOffers(c.ID)
	if err != nil {
		return err
	}
	for _, o := range offers {
		if closed, err := tx.CloseOffer(o.ID, storage.OfferWithdrawn, ""); err != nil {
			return err
		} else if !closed {
			continue
		}
		if err := h.offerWithdrawn(tx, o, c, key, false); err != nil {
			return err
		}
	}
	return nil
}

// passOnOffers withdraws the open offers made to mediator (removed, or gone
// off duty) and passes each case on as an expired offer does: to the next
// candidate, or to the administrators when nobody is left. event, when set,
// is written to the case's history first; each offer's message is edited
// to key, whose .Next tells where the case went. It returns the cases.
func (h *Handlers) passOnOffers(tx *storage.Tx, mediator int64, key, event string) ([]storage.Case, error) {
	offers, err := tx.OpenOffersOf(mediator)
	if err != nil {
		return nil, err
	}
	var cases []storage.Case
	for _, o := range offers {
		c, err := tx.Case(o.CaseID)
		if err != nil {
			return nil, err
		}
		if closed, err := tx.CloseOffer(o.ID, storage.OfferWithdrawn, ""); err != nil {
			return nil, err
		} else if !closed {
			continue // answered or expired meanwhile
		}
		if event != "" {
			if err := tx.CaseEvent(c.ID, mediator, event, ""); err != nil {
				return nil, err
			}
		}
		next := false
		if c.Status == storage.CaseWaiting {
			if next, err = h.offerNext(tx, &c); err != nil {
				return nil, err
			}
		}
		if err := h.offerWithdrawn(tx, o, c, key, next); err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// offerWithdrawn cancels the timer of offer o of case c, closed, and edits
// its message (its buttons go) to key; next tells key whether the case
// went to another mediator.
func (h *Handlers) offerWithdrawn(tx *storage.Tx, o storage.Offer, c storage.Case, key string, next bool) error {
	if err := tx.CancelTimer(timerOffer, id64(o.ID)); err != nil {
		return err
	}
	text := h.tr(tx.Context(), o.MediatorID, key, map[string]any{"Case": c.Number(), "Next": next})
	return h.notify(tx, Notice{Message: botText(o.MediatorID, text), EditRef: offerRef(o.ID)})
}

// offerTimeout fires when an offer was not answered in time: the offer is
// withdrawn (its buttons edited away) and the next mediator asked. A
// mediator at their maximum of open cases (who may have pressed Accept and
// been told so: atMaximum) is told that, not that they did not answer.
func (h *Handlers) offerTimeout(tx *storage.Tx, t storage.Timer) error {
	id, err := strconv.ParseInt(t.Ref, 10, 64)
	if err != nil {
		return nil
	}
	o, err := tx.Offer(id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	closed, err := tx.CloseOffer(id, storage.OfferExpired, "")
	if err != nil || !closed {
		return err
	}
	c, err := tx.Case(o.CaseID)
	if err != nil {
		return err
	}
	if err := tx.CaseEvent(c.ID, o.MediatorID, "expired", ""); err != nil {
		return err
	}
	// The case goes on first, so that the edited offer says where: to
	// another mediator, or, with nobody left, to the administrators.
	next := false
	if c.Status == storage.CaseWaiting {
		if next, err = h.offerNext(tx, &c); err != nil {
			return err
		}
	}
	key, data := "mediation.offer_expired", map[string]any{"Case": c.Number(), "Next": next}
	open, most, full, err := tx.AtMaximum(o.MediatorID)
	if err != nil {
		return err
	}
	if full {
		key, data["Open"], data["Max"] = "mediation.offer_expired_full", open, most
	}
	text := h.tr(tx.Context(), o.MediatorID, key, data)
	return h.notify(tx, Notice{Message: botText(o.MediatorID, text), EditRef: offerRef(id)})
}

// escalateTimer fires when a case is still waiting EscalateAfter after it
// was received.
func (h *Handlers) escalateTimer(tx *storage.Tx, t storage.Timer) error {
	id, err := strconv.ParseInt(t.Ref, 10, 64)
	if err != nil {
		return nil
	}
	c, err := tx.Case(id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if c.Status != storage.CaseWaiting {
		return nil
	}
	return h.escalate(tx, &c)
}

// mediatorDuty offers the waiting cases nobody holds an offer of when a
// mediator goes on duty. Going off duty, the offers the mediator has not
// answered are withdrawn and their cases passed on, as when an offer
// expires; the /duty answer lists them.
func (h *Handlers) mediatorDuty(tx *storage.Tx, userID int64, on bool) (string, error) {
	if ok, err := tx.HasRole(userID, storage.RoleMediator); err != nil || !ok {
		return "", err
	}
	if !on {
		cases, err := h.passOnOffers(tx, userID, "mediation.offer_withdrawn_off_duty", "off_duty")
		if err != nil || len(cases) == 0 {
			return "", err
		}
		numbers := make([]string, len(cases))
		for i, c := range cases {
			numbers[i] = c.Number()
		}
		return h.tr(tx.Context(), userID, "mediation.offers_passed_on", map[string]any{"Cases": strings.Join(numbers, ", ")}), nil
	}
	cases, err := tx.UnofferedCases(50)
	if err != nil {
		return "", err
	}
	for _, c := range cases {
		mid, ok, err := tx.NextMediator(&c)
		if err != nil {
			return "", err
		}
		if ok && mid == userID {
			if _, err := h.offerNext(tx, &c); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}

// editOrReply edits the pressed button's message, or sends a new one when
// it cannot be edited.
func (h *Handlers) editOrReply(r *Request, text string, kb *tgbotapi.InlineKeyboardMarkup) error {
	if err := r.Edit(text, kb); err != nil {
		_, err = r.Send(botInline(text, kb))
		return err
	}
	return nil
}

// offerButton handles "mo:a:offer" (accept), "mo:d:offer" (decline) and
// "mo:r:offer:reason" (the reason of a decline). Only the mediator the
// offer was made to may press them: the offer id in the data is checked
// against the sender.
func (h *Handlers) offerButton(r *Request) error {
	verb, rest, _ := strings.Cut(r.Data, ":")
	idText, arg, _ := strings.Cut(rest, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return invalid("error.button_outdated", nil)
	}
	if ok, err := h.hasRole(r, storage.RoleMediator); err != nil {
		return err
	} else if !ok {
		return forbidden("mediation.not_your_offer")
	}
	var c storage.Case
	var o storage.Offer
	var result string
	next := false // declined: the case went to another mediator
	err = h.inTx(r.ctx, func(tx *storage.Tx) error {
		var err error
		o, err = tx.Offer(id)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && o.MediatorID != r.UserID) {
			return forbidden("mediation.not_your_offer")
		} else if err != nil {
			return err
		}
		if c, err = tx.Case(o.CaseID); err != nil {
			return err
		}
		switch verb {
		case "a":
			return h.accept(tx, r, o, &c, &result)
		case "d":
			closed, err := tx.CloseOffer(o.ID, storage.OfferDeclined, "")
			if err != nil {
				return err
			}
			if !closed {
				result = "closed"
				return nil
			}
			result = "declined"
			if err := tx.CancelTimer(timerOffer, id64(o.ID)); err != nil {
				return err
			}
			if err := tx.CaseEvent(c.ID, r.UserID, "declined", ""); err != nil {
				return err
			}
			if c.Status == storage.CaseWaiting {
				next, err = h.offerNext(tx, &c)
			}
			return err
		case "r":
			if !slices.Contains(declineReasons, arg) {
				return invalid("error.button_outdated", nil)
			}
			ok, err := tx.SetOfferReason(o.ID, r.UserID, arg)
			if err != nil {
				return err
			}
			if ok {
				result = "reason"
				return tx.CaseEvent(c.ID, r.UserID, "decline_reason", arg)
			}
			result = "closed"
			return nil
		}
		return invalid("error.button_outdated", nil)
	})
	if err != nil {
		return err
	}
	switch result {
	case "accepted", "declined":
		h.answeredElsewhere(r, o, c, "mediation.offer_"+result+"_elsewhere")
	}
	switch result {
	case "accepted":
		r.Answer(r.T("mediation.accepted_toast", nil))
		kb := mediatorCaseKeyboard(r, c.ID)
		text := r.T("mediation.accepted_mediator", map[string]any{"Case": c.Number()}) + "\n\n" + h.caseDetails(r.Lang, c, caseStaff)
		if err := r.Edit(text, &kb); err != nil {
			_, err = r.Send(botProtected(text, &kb))
			return err
		}
		return nil
	case "full":
		// The offer stays, buttons and all: room made (a case closed, the
		// maximum raised), Accept takes the case; Decline passes it on.
		return h.atMaximum(r, o, c)
	case "taken":
		r.Answer(r.T("mediation.taken", nil))
		return h.editOrReply(r, r.T("mediation.taken_edit", map[string]any{"Case": c.Number()}), nil)
	case "declined":
		var row []tgbotapi.InlineKeyboardButton
		for _, reason := range declineReasons {
			row = append(row, r.InlineButton("mediation.reason_"+reason, fmt.Sprintf("mo:r:%d:%s", id, reason)))
		}
		kb := tgbotapi.NewInlineKeyboardMarkup(row)
		return h.editOrReply(r, r.T("mediation.declined", map[string]any{"Case": c.Number(), "Next": next}), &kb)
	case "reason":
		return h.editOrReply(r, r.T("mediation.declined_reason", map[string]any{"Case": c.Number(), "Reason": r.T("mediation.reason_"+arg, nil)}), nil)
	}
	r.Answer(r.T("mediation.offer_closed", nil))
	return h.editOrReply(r, r.T("mediation.offer_closed", nil), nil)
}

// declineReasonWindow is how long after declining an offer a mediator's
// reason typed instead of pressed is taken for it.
const declineReasonWindow = time.Hour

// declineReasonTyped takes a reason typed by a mediator ("занят", "Бос
// емеспін", "not my area": the label of a reason's button or one of its
// _also words, alone or before a comma: "занят, в автобусе") for the
// offer they declined last, within declineReasonWindow, when it has none
// yet, as if its button were pressed.
func (h *Handlers) declineReasonTyped(r *Request) (bool, error) {
	reason := ""
	first, _, _ := strings.Cut(r.Text, ",") // "занят, в автобусе"
	for _, rs := range declineReasons {
		if h.labelMatches(r.Text, "mediation.reason_"+rs) || h.labelMatches(first, "mediation.reason_"+rs) {
			reason = rs
			break
		}
	}
	if reason == "" {
		return false, nil
	}
	if ok, err := h.hasRole(r, storage.RoleMediator); err != nil || !ok {
		return false, err
	}
	o, err := h.db.LastDeclinedOffer(r.ctx, r.UserID, h.now().Add(-declineReasonWindow))
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	r.Data = fmt.Sprintf("r:%d:%s", o.ID, reason)
	return true, h.offerButton(r)
}

// answeredElsewhere edits the offer's own message when its Accept or
// Decline was pressed on another message (the hint mediatorRelayHint
// sends): its buttons would otherwise stay live, and a mediator who
// declined keep the request's description. The edit goes through the
// outbox, as the offer's other ends do (offerWithdrawn); a fault is
// logged, the answer itself stands.
//
//go:noinline
func (h *Handlers) answeredElsewhere(r *Request, o storage.Offer, c storage.Case, key string) {
	if r.Callback == nil || r.Callback.Message == nil {
		return
	}
	m, err := h.db.OutboxByRef(r.ctx, offerRef(o.ID))
	if err != nil || m.MessageID == r.Callback.Message.MessageID {
		return // the offer itself was pressed (or is unknown)
	}
	text := r.T(key, map[string]any{"Case": c.Number()})
	if err := h.inTx(r.ctx, func(tx *storage.Tx) error {
		return h.notify(tx, Notice{Message: botText(r.UserID, text), EditRef: offerRef(o.ID)})
	}); err != nil {
		h.log.Warn("mediation: edit the offer answered elsewhere", "offer", o.ID, "err", err)
	}
}

// accept gives the case to the mediator (atomically: one winner) and tells
// the citizen who took it.
func (h *Handlers) accept(tx *storage.Tx, r *Request, o storage.Offer, c *storage.Case, result *string) error {
	got, err := tx.AcceptOffer(o.ID, r.UserID)
	switch {
	case errors.Is(err, storage.ErrCaseTaken):
		switch {
		case got.IsMediator(r.UserID):
			*c, *result = got, "accepted" // a second press of one's own Accept
		case got.Status == storage.CaseWithdrawn:
			*result = "closed"
		default:
			*result = "taken"
		}
		return nil
	case errors.Is(err, storage.ErrOfferClosed):
		*result = "closed"
		return nil
	case errors.Is(err, storage.ErrAtMaximum):
		*result = "full"
		return nil
	case err != nil:
		return err
	}
	*c, *result = got, "accepted"
	if err := tx.CancelTimer(timerOffer, id64(o.ID)); err != nil {
		return err
	}
	if err := tx.CancelTimer(timerEscalate, id64(c.ID)); err != nil {
		return err
	}
	if err := h.withdrawOffers(tx, *c, "mediation.offer_taken_other"); err != nil {
		return err
	}
	if err := tx.Audit(r.UserID, "case.view", c.Number()); err != nil {
		return err
	}
	p, err := h.db.StaffProfile(r.ctx, r.UserID)
	if err != nil {
		return err
	}
	citizen := valueOf(c.CitizenID)
	if citizen == 0 {
		return nil
	}
	lang := h.langOf(r.ctx, citizen)
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData(h.cat.T(lang, "mediation.write_mediator", nil), caseData("w", c.ID))))
	return h.notify(tx, Notice{Message: bot.Message{ChatID: citizen, Inline: &kb,
		Text: h.cat.T(lang, "mediation.accepted_citizen", map[string]any{"Case": c.Number(), "Name": p.DisplayName})}})
}

// atMaximum tells a mediator who pressed Accept while holding their
// maximum of open cases (lowered since the offer was made) how to make room
// before the offer's deadline; the offer stays open.
func (h *Handlers) atMaximum(r *Request, o storage.Offer, c storage.Case) error {
	p, err := h.db.StaffProfile(r.ctx, r.UserID)
	if err != nil {
		return err
	}
	open, err := h.db.OpenCasesOf(r.ctx, r.UserID)
	if err != nil {
		return err
	}
	r.Answer(r.T("mediation.at_maximum_toast", nil))
	return r.ReplyKey("mediation.at_maximum", map[string]any{"Case": c.Number(), "Open": open, "Max": p.MaxOpen,
		"Deadline": o.OfferedAt.Add(h.cfg.OfferTimeout).In(kzZone).Format("02.01.2006 15:04")})
}

// closeFlow asks the outcome of a closing (its buttons, or a label typed:
// "Урегулировано" from a bus), then the optional note, and closes the case.
func (h *Handlers) closeFlow() *Flow {
	return &Flow{Name: "mclose", First: "outcome", Steps: map[string]Step{"outcome": {
		Ask: func(r *Request) error {
			// The buttons name the case (mc:o:ID:OUTCOME): a mediator who
			// pressed Close on two cases closes the one whose question
			// they answer. A label typed answers the step, whose case is
			// the last Close pressed.
			var rows [][]tgbotapi.InlineKeyboardButton
			for _, o := range outcomes {
				rows = append(rows, tgbotapi.NewInlineKeyboardRow(r.InlineButton("mediation.outcome_"+o, "mc:o:"+r.State.Get("case")+":"+o)))
			}
			_, err := r.ReplyInline(r.T("mediation.ask_outcome", map[string]any{"Case": caseAnswer(r, r.State.Get("case"))}),
				tgbotapi.NewInlineKeyboardMarkup(rows...))
			return err
		},
		Answer: func(r *Request) (string, error) {
			// Typed as its button says, in any language ("урегулировано
			// частично" is the whole label of its own button); pressed,
			// the button goes to caseButton.
			for _, o := range outcomes {
				if h.typedLabel(r.Text, "mediation.outcome_"+o) {
					r.State.Set("outcome", o)
					return "note", nil
				}
			}
			return Stay, pressButtons("mediation.use_buttons")
		},
	}, "note": {
		Ask: func(r *Request) error {
			_, err := r.ReplyInline(r.T("mediation.ask_note", map[string]any{"Max": noteMax}), tgbotapi.NewInlineKeyboardMarkup(
				tgbotapi.NewInlineKeyboardRow(r.InlineButton("mediation.skip", StepData("note", "skip")))))
			return err
		},
		Answer: func(r *Request) (string, error) {
			note := ""
			if r.Callback == nil && h.labelMatches(r.Text, "mediation.skip") {
				r.Data = "skip" // the button's label typed
			}
			if r.Data != "skip" {
				if r.Text == "" {
					return Stay, invalid("mediation.note_invalid", map[string]any{"Max": noteMax})
				}
				if utf8.RuneCountInString(r.Text) > noteMax {
					return refuseLong(r, "mediation.note_invalid", map[string]any{"Max": noteMax}, r.Text)
				}
				note = r.Text
			} else {
				r.EditAside(r.T("mediation.ask_note", map[string]any{"Max": noteMax}), nil)
			}
			return End, h.closeCase(r, note)
		},
		FreeText: true,
	}}, Answers: []Answer{
		{Key: "case", Label: "privacy.answer_case", Value: caseAnswer},
		{Key: "outcome", Label: "privacy.answer_outcome", Value: codeAnswer("mediation.outcome_", outcomes)},
	}}
}

// closeCase closes the mediator's case with the outcome chosen and note,
// and asks the citizen to rate it.
func (h *Handlers) closeCase(r *Request, note string) error {
	id, _ := strconv.ParseInt(r.State.Get("case"), 10, 64)
	outcome := r.State.Get("outcome")
	// Handled again after its commit (a replica took the note over), the
	// case is closed already: the mediator hears so as the first time, and
	// the citizen is not told twice.
	closed, _, err := h.stepOnce(r, "case.close", func(tx *storage.Tx) (string, error) {
		ok, err := tx.CloseCase(id, r.UserID, outcome, note)
		if err != nil || !ok {
			return "", err
		}
		c, err := tx.Case(id)
		if err != nil {
			return "", err
		}
		if citizen := valueOf(c.CitizenID); citizen != 0 {
			lang := h.langOf(r.ctx, citizen)
			text := h.cat.T(lang, "mediation.closed_citizen", map[string]any{"Case": c.Number(),
				"Outcome": h.cat.T(lang, "mediation.outcome_"+outcome, nil)})
			if note != "" {
				text += "\n" + h.cat.T(lang, "mediation.closed_note", map[string]any{"Note": note})
			}
			text += "\n\n" + h.cat.T(lang, "mediation.rate_ask", nil)
			kb := ratingKeyboard(c.ID)
			if err := h.notify(tx, Notice{Message: bot.Message{ChatID: citizen, Text: text, Inline: &kb}}); err != nil {
				return "", err
			}
		}
		// A place freed: the waiting cases this mediator matches first are
		// offered to them now, as going on duty does (off duty, or still
		// full, nothing is offered).
		_, err = h.mediatorDuty(tx, r.UserID, true)
		return "closed", err
	})
	if err != nil {
		return err
	}
	if closed == "" {
		return h.sendMenuText(r, r.T("mediation.not_open", map[string]any{"Case": storage.CaseNumber(id)}))
	}
	return h.sendMenuText(r, r.T("mediation.closed_mediator", map[string]any{"Case": storage.CaseNumber(id)}))
}

// mediators (/mediators, administrators) lists the mediators with their
// duty status and open cases, each with a Remove button.
func (h *Handlers) mediators(r *Request) error {
	if !r.IsAdmin() {
		return forbidden("staff.admins_only")
	}
	staff, err := h.db.Staff(r.ctx, storage.RoleMediator)
	if err != nil {
		return err
	}
	if len(staff) == 0 {
		return r.ReplyKey("mediation.no_mediators", nil)
	}
	load, err := h.db.MediatorLoad(r.ctx)
	if err != nil {
		return err
	}
	if err := r.Reply(r.N("mediation.mediators_count", len(staff), nil)); err != nil {
		return err
	}
	shown := staff
	if len(shown) > mediatorsShown {
		shown = shown[:mediatorsShown]
	}
	for _, m := range shown {
		p := m.Profile
		duty := r.T("duty.status_off", nil)
		if p.OnDuty {
			duty = r.T("duty.status_on", nil)
		}
		text := r.T("mediation.mediator_line", map[string]any{"Name": p.DisplayName, "ID": p.UserID, "Duty": duty,
			"Open": load[p.UserID], "Max": p.MaxOpen, "Regions": h.regionNames(r.Lang, p.Regions), "Languages": languageList(p.Languages)})
		if p.DisplayName == "" {
			// Invited, the profile never finished: not blank fields.
			text = r.T("mediation.unfilled_line", map[string]any{"ID": p.UserID})
		}
		kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
			r.InlineButton("mediation.remove", "ma:rm:"+id64(p.UserID))))
		if _, err := r.ReplyInline(text, kb); err != nil {
			return err
		}
	}
	if more := len(staff) - len(shown); more > 0 {
		return r.ReplyKey("mediation.mediators_more", map[string]any{"More": more})
	}
	return nil
}

// mediatorsShown is how many mediators /mediators lists, one message each.
const mediatorsShown = 30

// adminButton handles "ma:rm:user" (asks to confirm) and "ma:RM:user"
// (removes the mediator; their open cases go back to matching).
func (h *Handlers) adminButton(r *Request) error {
	if !r.IsAdmin() {
		return forbidden("staff.admins_only")
	}
	verb, idText, _ := strings.Cut(r.Data, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return invalid("error.button_outdated", nil)
	}
	switch verb {
	case "rm":
		return askRemove(r, "ma", "mediation", id)
	case "keep":
		return keptStaff(r)
	case "RM":
		return h.removeMediator(r, id)
	}
	return invalid("error.button_outdated", nil)
}

func (h *Handlers) removeMediator(r *Request, id int64) error {
	var released int
	had := false
	err := h.inTx(r.ctx, func(tx *storage.Tx) error {
		var err error
		if had, err = tx.RevokeRole(id, storage.RoleMediator); err != nil || !had {
			return err
		}
		if err := tx.Audit(r.UserID, "mediator.remove", id64(id)); err != nil {
			return err
		}
		// Offers to them are withdrawn and passed on; their cases go back
		// to matching.
		if _, err := h.passOnOffers(tx, id, "mediation.offer_withdrawn_removed", ""); err != nil {
			return err
		}
		cases, err := tx.ReleaseCases(id)
		if err != nil {
			return err
		}
		released = len(cases)
		for _, c := range cases {
			if err := tx.ScheduleTimer(timerEscalate, id64(c.ID), tx.Now().Add(h.cfg.EscalateAfter)); err != nil {
				return err
			}
			if citizen := valueOf(c.CitizenID); citizen != 0 {
				text := h.tr(r.ctx, citizen, "mediation.released_citizen", map[string]any{"Case": c.Number()})
				if err := h.notify(tx, Notice{Message: botText(citizen, text)}); err != nil {
					return err
				}
			}
			if _, err := h.offerNext(tx, &c); err != nil {
				return err
			}
		}
		return h.notify(tx, Notice{Message: botText(id, h.tr(r.ctx, id, "mediation.removed_mediator", nil))})
	})
	if err != nil {
		return err
	}
	if !had {
		return notFound("mediation.not_a_mediator")
	}
	h.SyncMenu(r.ctx, id)
	return h.editOrReply(r, r.T("mediation.removed", map[string]any{"ID": id, "Released": released}), nil)
}

// caseHistory (/case M-000123, administrators) shows a case and its
// history; the view is audited.
func (h *Handlers) caseHistory(r *Request) error {
	if !r.IsAdmin() {
		return forbidden("staff.admins_only")
	}
	id, ok := storage.ParseCaseNumber(r.Args)
	if !ok {
		return invalid("mediation.case_usage", nil)
	}
	c, err := h.db.Case(r.ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return notFound("mediation.case_not_found")
	} else if err != nil {
		return err
	}
	events, err := h.db.CaseEvents(r.ctx, id)
	if err != nil {
		return err
	}
	if err := h.db.Audit(r.ctx, r.UserID, "case.view", c.Number()); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(h.caseDetails(r.Lang, c, caseStaff))
	b.WriteString("\n" + r.T("mediation.details_status", map[string]any{"Status": r.T(statusLabel(c), nil)}))
	if m := valueOf(c.MediatorID); m != 0 {
		p, err := h.db.StaffProfile(r.ctx, m)
		if err != nil {
			return err
		}
		b.WriteString("\n" + r.T("mediation.details_mediator", map[string]any{"Name": p.DisplayName, "ID": m}))
	}
	if c.Outcome != "" {
		b.WriteString("\n" + r.T("mediation.details_outcome", map[string]any{"Outcome": r.T("mediation.outcome_"+c.Outcome, nil), "Note": c.OutcomeNote}))
	}
	if c.Rating != nil {
		b.WriteString("\n" + r.T("mediation.details_rating", map[string]any{"Rating": *c.Rating, "Comment": c.RatingComment}))
	}
	b.WriteString("\n\n" + r.T("mediation.history", nil))
	for _, e := range events {
		line := e.At.In(kzZone).Format("02.01 15:04") + " · " + r.T("mediation.event_"+e.Event, nil)
		if e.Event == "decline_reason" {
			line += ": " + r.T("mediation.reason_"+e.Detail, nil)
		} else if e.Event == "offered" || e.Event == "released" {
			line += " (id " + e.Detail + ")"
		} else if e.Event == "closed" {
			line += ": " + r.T("mediation.outcome_"+e.Detail, nil)
		} else if e.Event == "rated" {
			line += ": " + e.Detail + "/5"
		}
		if e.ActorID != 0 && e.Event != "created" {
			line += " — id " + id64(e.ActorID)
		}
		b.WriteString("\n" + line)
	}
	_, err = r.Send(botProtected(truncateRunes(b.String(), 4000), nil))
	return err
}
