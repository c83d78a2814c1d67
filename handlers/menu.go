package handlers

import (
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// mainMenu is the reply keyboard of the main menu in the user's language.
// Its rows are shared (menuKeyboard): do not change them.
func (r *Request) mainMenu() tgbotapi.ReplyKeyboardMarkup { return *r.h.menuKeyboard(r.Lang) }

// menuKeyboard is the main menu keyboard of lang, built once per language:
// it is sent with most replies, and building it was a tenth of the
// allocations of a routed update. Senders only read it.
func (h *Handlers) menuKeyboard(lang string) *tgbotapi.ReplyKeyboardMarkup {
	if kb, ok := h.mainMenus.Load(lang); ok {
		return kb.(*tgbotapi.ReplyKeyboardMarkup)
	}
	b := func(id string) tgbotapi.KeyboardButton { return tgbotapi.NewKeyboardButton(h.cat.T(lang, id, nil)) }
	kb := tgbotapi.NewReplyKeyboard(
		tgbotapi.NewKeyboardButtonRow(b("menu.houses"), b("menu.mediation")),
		tgbotapi.NewKeyboardButtonRow(b("menu.councils"), b("menu.associations")),
		tgbotapi.NewKeyboardButtonRow(b("menu.charity"), b("menu.language"), b("menu.about")),
	)
	kb.ResizeKeyboard = true
	v, _ := h.mainMenus.LoadOrStore(lang, &kb)
	return v.(*tgbotapi.ReplyKeyboardMarkup)
}

// sendMenu sends message id with the main menu keyboard.
func (h *Handlers) sendMenu(r *Request, id string) error {
	_, err := r.Send(bot.Message{Text: r.T(id, nil), Keyboard: h.menuKeyboard(r.Lang)})
	return err
}

// languageKeyboard offers the three languages, each in its own name.
func languageKeyboard() tgbotapi.InlineKeyboardMarkup {
	return tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData("Қазақша", "lang:kk"),
		tgbotapi.NewInlineKeyboardButtonData("Русский", "lang:ru"),
		tgbotapi.NewInlineKeyboardButtonData("English", "lang:en"),
	))
}

// start greets the user with the main menu. The payload of a deep link
// (/start CODE) goes to the handler registered for it. In the middle of a
// flow with answers given, plain /start keeps the flow and asks its
// question again with a note on how to leave it.
func (h *Handlers) start(r *Request) error {
	if r.Args != "" {
		// A deep link leaves any flow, as every command but a few does
		// (the chat of a case says so).
		if err := h.sayLeft(r); err != nil {
			return err
		}
		if err := h.leaveFlow(r); err != nil {
			return err
		}
		if handled, err := h.startPayload(r); handled || err != nil {
			return err
		}
	}
	if _, step, ok := h.currentStep(r); ok && len(r.State.History) > 0 {
		// In the middle of a flow with answers given: /start keeps them
		// and asks the current question again, as a new language does;
		// /cancel or Cancel leaves the flow.
		if err := r.ReplyKey("menu.in_flow", nil); err != nil {
			return err
		}
		return step.Ask(r)
	}
	// A flow with nothing to keep (the chat of a case) ends: the chat says
	// so before the menu.
	if err := h.sayLeft(r); err != nil {
		return err
	}
	if err := h.leaveFlow(r); err != nil {
		return err
	}
	if err := h.sendMenu(r, "menu.greeting"); err != nil {
		return err
	}
	if !r.User.LangChosen {
		_, err := r.ReplyInline(r.T("language.choose", nil), languageKeyboard())
		return err
	}
	return nil
}

// startPayload handles a deep-link payload; it reports false when the
// payload is not known, and /start then greets as usual.
func (h *Handlers) startPayload(r *Request) (bool, error) {
	if strings.HasPrefix(r.Args, storage.InvitePrefix) {
		return true, h.redeemInvite(r, r.Args)
	}
	return false, nil
}

func (h *Handlers) menu(r *Request) error { return h.sendMenu(r, "menu.main") }

// help is the commands of everyone and, for staff, those their roles add
// (the "/" menu's, described as there).
func (h *Handlers) help(r *Request) error {
	roles, err := h.db.Roles(r.ctx, r.UserID)
	if err != nil {
		return err
	}
	if r.IsAdmin() {
		roles = append(roles, bot.RoleAdmin)
	}
	menu := bot.DefaultCommandMenu().Only(func(name string) bool { _, ok := h.commands[name]; return ok })
	staff := menu.RoleCommands(h.cat, r.Lang, roles)
	if len(staff) == 0 {
		return r.ReplyKey("help.text", nil)
	}
	lines := []string{r.T("help.text", nil), "", r.T("help.staff", nil)}
	for _, c := range staff {
		lines = append(lines, "/"+c.Command+" — "+c.Description)
	}
	return r.Reply(strings.Join(lines, "\n"))
}

func (h *Handlers) about(r *Request) error { return r.ReplyKey("about.text", nil) }

func (h *Handlers) soon(r *Request) error { return r.ReplyKey("menu.soon", nil) }

func (h *Handlers) chooseLanguage(r *Request) error {
	_, err := r.ReplyInline(r.T("language.choose", nil), languageKeyboard())
	return err
}

// setLanguage stores the language of button "lang:xx" and re-sends the menu
// in it, or the question of the user's unfinished flow.
func (h *Handlers) setLanguage(r *Request) error {
	if !locales.IsSupported(r.Data) {
		r.Answer(r.T("error.button_outdated", nil))
		return nil
	}
	if err := h.db.SetUserLang(r.ctx, r.UserID, r.Data); err != nil {
		return err
	}
	r.Lang = r.Data
	r.User.Lang, r.User.LangChosen = r.Data, true
	r.Answer(r.T("language.changed", nil))
	if _, step, ok := h.currentStep(r); ok {
		// In the middle of a flow: its question again, in the new
		// language, with the answers given so far kept.
		if err := r.ReplyKey("language.changed", nil); err != nil {
			return err
		}
		return step.Ask(r)
	}
	return h.sendMenu(r, "language.changed")
}
