package handlers

import (
	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/storage"
)

// ConsentStep is the name flows give the consent step.
const ConsentStep = "consent"

// consentStep is a flow step (register it as ConsentStep) that shows the
// consent text of purpose (message "consent.<purpose>") with its version,
// and Agree / Decline buttons. Agree stores the consent (user id, purpose,
// version, time) and goes to step next; Decline ends the flow politely,
// back at the main menu, with nothing stored. Put it first in any flow that
// asks for personal data.
func (h *Handlers) consentStep(purpose, version, next string) Step {
	// again: the buttons under a short line, not the whole text (about
	// 900 characters) again on a small screen.
	again := func(r *Request) error {
		_, kb := consentQuestion(r, purpose, version)
		_, err := r.ReplyInline(r.T("consent.press", nil), kb)
		return err
	}
	return Step{
		Again: again,
		Ask: func(r *Request) error {
			text, kb := consentQuestion(r, purpose, version)
			_, err := r.ReplyInline(text, kb)
			return err
		},
		Answer: func(r *Request) (string, error) {
			if r.Callback == nil {
				// The answer typed as a button says ("Келісемін", "Не согласен").
				switch {
				case h.labelMatches(r.Text, "consent.agree"):
					r.Data = "yes"
				case h.labelMatches(r.Text, "consent.decline"):
					r.Data = "no"
				}
			}
			switch r.Data {
			case "yes":
				if _, err := h.db.AddConsent(r.ctx, r.UserID, purpose, version); err != nil {
					return Stay, err
				}
				r.Answer(r.T("consent.thanks", nil))
				r.EditAside(r.T("consent."+purpose, nil)+"\n\n"+r.T("consent.agreed", map[string]any{"Version": version}), nil)
				return next, nil
			case "no":
				return End, h.sendMenu(r, "consent.declined")
			}
			return Stay, again(r)
		},
	}
}

// consentQuestion is the question of consentStep and its buttons. (Made
// apart from sending it, so that what it is made of is not on the stack
// while it is sent: Dispatcher.handle.)
//
//go:noinline
func consentQuestion(r *Request, purpose, version string) (string, tgbotapi.InlineKeyboardMarkup) {
	text := r.T("consent."+purpose, nil) + "\n\n" + r.T("consent.version", map[string]any{"Version": version})
	return text, tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		r.InlineButton("consent.agree", StepData(ConsentStep, "yes")),
		r.InlineButton("consent.decline", StepData(ConsentStep, "no")),
	))
}

// hasConsent tells whether the user agreed to purpose at text version (a
// flow may skip its consent step then).
func (h *Handlers) hasConsent(r *Request, purpose, version string) (bool, error) {
	return h.db.HasConsent(r.ctx, r.UserID, purpose, version)
}

// startAfterConsent starts flow name at its consent step, or, when the
// user already agreed to purpose at version, says so (with where the data
// is shown and erased) and asks step next straight away: consent is asked
// once per version of the text.
func (h *Handlers) startAfterConsent(r *Request, name, purpose, version, next string) error {
	ok, err := h.hasConsent(r, purpose, version)
	if err != nil {
		return err
	}
	if !ok {
		return h.StartFlow(r, name, nil)
	}
	if err := r.ReplyKey("consent.already", map[string]any{"Version": version}); err != nil {
		return err
	}
	return h.StartFlowAt(r, name, next, nil)
}

// StartFlowAt puts the user at step of flow name (not its first) and asks
// it; Back from there leaves the flow.
func (h *Handlers) StartFlowAt(r *Request, name, step string, data map[string]string) error {
	f, ok := h.flows[name]
	if !ok {
		return errFlow(name)
	}
	s, ok := f.Steps[step]
	if !ok {
		return errFlow(name + "." + step)
	}
	r.State = storage.State{Flow: name, Step: step, Data: map[string]string{}, Version: r.State.Version}
	for k, v := range data {
		r.State.Set(k, v)
	}
	if err := h.saveState(r); err != nil {
		return err
	}
	return s.Ask(r)
}

type errFlow string

func (e errFlow) Error() string { return "flow " + string(e) + " not registered" }
