package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/storage"
)

// A Flow is a conversation of steps: each step asks a question and handles
// the answer. Answers are kept in the conversation state (r.State.Data), so
// a flow resumes after a restart of the bot. Back and Cancel work on every
// step.
type Flow struct {
	Name  string
	First string
	Steps map[string]Step
	// OnCancel, when set, replaces the default "cancelled" reply.
	OnCancel HandlerFunc
	// OnBack, when set, is where Back from the first step goes (the menu
	// the flow was started from) instead of leaving as Cancel does.
	OnBack HandlerFunc
	// Answers are the answers the flow keeps in r.State.Data, in the order
	// it asks them, as /mydata shows them; a key not listed is shown under
	// a general label.
	Answers []Answer
	// Media lets every kind of message reach the step's Answer (the relay
	// passes photos, documents, voice, audio and video on, and says what
	// it cannot pass); other flows answer a message without text with
	// what the step expects.
	Media bool
	// FreeText makes every typed text an answer to the flow's steps, even
	// one that is the label of a menu item, Back or Cancel ("Помощь",
	// "Назад" in a chat with the mediator are words to pass on), except
	// the labels in Exits; commands still act. (Step.FreeText: one step,
	// Back and Cancel still acting.)
	FreeText bool
	Exits    []string
	// LeftKey, when set, is said when a command or a menu button leaves
	// the flow (the chat of a case: what is typed next is no longer passed
	// on; a message kept unsent: it was not sent). Its own Exits say it
	// themselves.
	LeftKey string
}

// An Answer is one answer a flow keeps in the conversation state, as
// /mydata shows it: under the label of its step (a message id), its value
// as the user chose it (Value: the label of the button pressed, not its
// code; nil shows the value as typed). A Hidden answer is the flow's own
// bookkeeping, which means nothing to the user; it stays in the JSON
// export.
type Answer struct {
	Key    string
	Label  string
	Value  func(r *Request, v string) string
	Hidden bool
}

// hiddenAnswers are the answers of keys that are bookkeeping.
func hiddenAnswers(keys ...string) []Answer {
	out := make([]Answer, len(keys))
	for i, k := range keys {
		out[i] = Answer{Key: k, Hidden: true}
	}
	return out
}

// A Step asks one question and handles its answer.
type Step struct {
	// Ask sends the step's question.
	Ask HandlerFunc
	// Answer handles a message, or an inline button of this step (r.Data
	// holds its value). It returns the next step's name, Stay to stay on
	// this step (having replied why), or End when the flow is over (the
	// step sent the final reply). An Invalid error is replied and the user
	// stays on the step.
	Answer func(r *Request) (next string, err error)
	// FreeText makes every typed text the step's answer, even one that is
	// a menu label ("Мне нужна помощь" as the first words of a
	// description), except Back and Cancel, the step's own keyboard;
	// commands still act. Set it on steps that take the user's own words.
	FreeText bool
	// Again asks the step again after a message it could not use (a
	// sticker, data no button of it carries); nil: Ask. The consent's
	// sends its buttons under a short line, not the whole text again.
	Again HandlerFunc
}

// again asks s again after a message it could not use (Step.Again).
func (s Step) again(r *Request) error {
	if s.Again != nil {
		return s.Again(r)
	}
	return s.Ask(r)
}

// Results of Step.Answer besides a step name.
const (
	Stay = ""
	End  = "."
)

// flowPrefix starts the callback data of a flow's inline buttons.
const flowPrefix = "f"

// StepData is the callback data of an inline button of step that answers it
// with value. Buttons of a step the user has moved on from are refused as
// outdated.
func StepData(step, value string) string {
	return flowPrefix + ":" + step + ":" + value
}

// StartFlow puts the user at the first step of flow name and asks it.
func (h *Handlers) StartFlow(r *Request, name string, data map[string]string) error {
	f, ok := h.flows[name]
	if !ok {
		return fmt.Errorf("flow %q not registered", name)
	}
	return h.startFlowAt(r, name, f.First, data)
}

// startFlowAt puts the user at step of flow name, with data as the
// answers before it, and asks it.
func (h *Handlers) startFlowAt(r *Request, name, step string, data map[string]string) error {
	f, ok := h.flows[name]
	if !ok {
		return fmt.Errorf("flow %q not registered", name)
	}
	st, ok := f.Steps[step]
	if !ok {
		return fmt.Errorf("flow %q has no step %q", name, step)
	}
	r.State = storage.State{Flow: name, Step: step, Data: map[string]string{}, Version: r.State.Version}
	for k, v := range data {
		r.State.Set(k, v)
	}
	if err := h.saveState(r); err != nil {
		return err
	}
	return st.Ask(r)
}

// errStateMoved: the conversation moved on under this update.
var errStateMoved = &Error{Code: Invalid, Key: "error.state_moved"}

// saveState stores r.State for the user, unless the stored state changed
// since this update loaded it (another update of the user, handled by
// another replica, moved the conversation on): then nothing is written and
// the user is asked to look at the conversation again.
func (h *Handlers) saveState(r *Request) error {
	st, snap, err := storage.UpdateSnapshot(r.ctx, h.states, r.UserID, r.snap, func(s *storage.State) error {
		if s.Version != r.State.Version {
			return errStateMoved
		}
		v := s.Version
		*s = r.State
		s.Version = v
		return nil
	})
	if errors.Is(err, errStateMoved) {
		return err
	}
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	r.State, r.snap = st, snap
	return nil
}

// stepsKept is how long a step done is remembered (stepOnce): longer than
// any update waits to be delivered again. The daily retention job forgets
// older ones.
const stepsKept = 48 * time.Hour

// stepOnce does the work of a step that commits, do, in a writing
// transaction, once per update. The transaction records the step done
// (op, the user and the update's id) with do's result. The same update
// handled again — its replica died after the commit and before the
// conversation's state was saved, and another replica took the update
// over with the state as it was — does nothing and gets the recorded
// result with again set, so that the step answers as the first time did.
// Two steps that commit in one update need two ops.
func (h *Handlers) stepOnce(r *Request, op string, do func(tx *storage.Tx) (result string, err error)) (result string, again bool, err error) {
	key := op + ":" + strconv.FormatInt(r.UserID, 10) + ":" + strconv.Itoa(r.Update.UpdateID)
	err = h.inTx(r.ctx, func(tx *storage.Tx) error {
		var err error
		if result, again, err = tx.StepDone(key); err != nil || again {
			return err
		}
		if result, err = do(tx); err != nil {
			return err
		}
		return tx.RecordStep(key, r.UserID, result)
	})
	return result, again, err
}

// leaveFlow drops the user's flow (they went to another menu item).
func (h *Handlers) leaveFlow(r *Request) error {
	if r.State.Flow == "" {
		return nil
	}
	r.Left = r.State
	r.State.Reset()
	return h.resetState(r)
}

// resetState stores the reset r.State. If the conversation has moved on
// meanwhile (another update of the user), that newer state stays and it is
// no error: this flow is over either way, and what the step did (a
// committed request, a broadcast) must not be offered to be done again.
func (h *Handlers) resetState(r *Request) error {
	if err := h.saveState(r); err != nil && !errors.Is(err, errStateMoved) {
		return err
	}
	return nil
}

func (h *Handlers) currentStep(r *Request) (*Flow, Step, bool) {
	f, ok := h.flows[r.State.Flow]
	if !ok {
		return nil, Step{}, false
	}
	s, ok := f.Steps[r.State.Step]
	return f, s, ok
}

// answerFlow hands a message to the user's current step.
func (h *Handlers) answerFlow(r *Request) error {
	f, step, ok := h.currentStep(r)
	if !ok {
		// A flow or step that no longer exists (an upgrade renamed it).
		if err := h.leaveFlow(r); err != nil {
			return err
		}
		return h.sendMenu(r, "menu.main")
	}
	next, err := step.Answer(r)
	if e := (*Error)(nil); errors.As(err, &e) && e.Reask {
		return reask(r, step, e)
	}
	if err != nil {
		return err
	}
	return h.advance(r, f, next)
}

func (h *Handlers) advance(r *Request, f *Flow, next string) error {
	switch next {
	case Stay:
		return h.saveState(r)
	case End:
		r.State.Reset()
		return h.resetState(r)
	}
	nextStep, ok := f.Steps[next]
	if !ok {
		return fmt.Errorf("flow %s: no step %q", f.Name, next)
	}
	if r.State.Step != next {
		r.State.History = append(r.State.History, r.State.Step)
		r.State.Step = next
	}
	if err := h.saveState(r); err != nil {
		return err
	}
	return nextStep.Ask(r)
}

// flowCallback hands an inline button "f:step:value" to the current step.
func (h *Handlers) flowCallback(r *Request, rest string) error {
	step, value, _ := strings.Cut(rest, ":")
	f, s, ok := h.currentStep(r)
	if !ok || step != r.State.Step {
		r.Answer(r.T("error.button_outdated", nil))
		if n := len(r.State.History); ok && (n == 0 || r.State.History[n-1] != step) {
			// A button of an earlier question, pressed from higher up
			// the chat, or the current question lost (a crash between
			// two messages): the question the conversation is at, with
			// its buttons, at the bottom of the chat, rather than a
			// notice a cheap phone shows for a second. Not for the
			// question just answered: a second tap on its button is
			// most often a double tap, and would ask the next one
			// twice. A person whose next question was lost (a crash)
			// gets it at their next message: a step answered with a
			// button asks it again for any text, a typed step says
			// what to type.
			return s.Ask(r)
		}
		return nil
	}
	r.Data = value
	next, err := s.Answer(r)
	if e := (*Error)(nil); errors.As(err, &e) && e.Reask {
		return reask(r, s, e) // data no button of the step carries
	}
	if err != nil {
		return err
	}
	r.Answer("")
	return h.advance(r, f, next)
}

// reask answers a step's Error.Reask: the notice (typed), or the outdated
// button's (pressed: data no button of the step carries), then the step's
// question again, so that its buttons are at the bottom of the chat.
func reask(r *Request, s Step, e *Error) error {
	if r.Callback != nil {
		r.Answer(r.T("error.button_outdated", nil))
	} else if err := r.Reply(r.T(e.Key, e.Data)); err != nil {
		return err
	}
	return s.again(r)
}

// backFlow returns to the previous step and asks it again; on the first
// step it leaves the flow.
func (h *Handlers) backFlow(r *Request) error {
	f, _, ok := h.currentStep(r)
	n := len(r.State.History)
	// The first question: the flow's first step, or the one after its
	// consent (the consent given stays given).
	first := n == 0 || r.State.History[n-1] == ConsentStep
	if ok && first && f.OnBack != nil {
		if err := h.leaveFlow(r); err != nil {
			return err
		}
		return f.OnBack(r)
	}
	if !ok || first {
		// The consent given stays given: Back from the first question
		// leaves the flow, rather than asking for the consent again.
		return h.cancelFlow(r)
	}
	prev := r.State.History[n-1]
	r.State.History = r.State.History[:n-1]
	r.State.Step = prev
	if err := h.saveState(r); err != nil {
		return err
	}
	return f.Steps[prev].Ask(r)
}

// cancelFlow ends any flow and returns to the main menu.
func (h *Handlers) cancelFlow(r *Request) error {
	f := h.flows[r.State.Flow]
	if err := h.leaveFlow(r); err != nil {
		return err
	}
	if f != nil && f.OnCancel != nil {
		return f.OnCancel(r)
	}
	return h.sendMenu(r, "menu.cancelled")
}

// FlowKeyboard is a reply keyboard of rows of labels followed by a Back and
// Cancel row, used by flow steps.
func (r *Request) FlowKeyboard(rows ...[]tgbotapi.KeyboardButton) tgbotapi.ReplyKeyboardMarkup {
	rows = append(rows, tgbotapi.NewKeyboardButtonRow(r.Button("btn.back"), r.Button("btn.cancel")))
	kb := tgbotapi.NewReplyKeyboard(rows...)
	kb.ResizeKeyboard = true
	return kb
}
