package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// Staff: invites (administrators make mediators and coordinators), the
// staff profile and duty. Administrators are the ids of ADMIN_IDS.

// kzZone is Kazakhstan's time (UTC+5 across the country since March 2024),
// for dates shown to users.
var kzZone = time.FixedZone("UTC+5", 5*3600)

// conflictKinds are the kinds of conflict a mediation case can be about
// and a mediator can handle; labels are kindLabel(kind).
var conflictKinds = []string{"family", "neighbours", "interethnic", "labour", "other"}

// languageNames are the languages a staff member can speak, each in its own name.
var languageNames = map[string]string{"kk": "Қазақша", "ru": "Русский", "en": "English"}

// hasRole tells whether the sender has the staff role.
func (h *Handlers) hasRole(r *Request, role string) (bool, error) {
	return h.db.HasRole(r.ctx, r.UserID, role)
}

// roleName is the role's name in the user's language.
func (r *Request) roleName(role string) string { return r.T("staff.role_"+role, nil) }

// parseRole reads the role typed after /invite, in any language.
func parseRole(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "mediator", "медиатор":
		return storage.RoleMediator, true
	case "coordinator", "координатор", "үйлестіруші":
		return storage.RoleCoordinator, true
	}
	return "", false
}

// invite (/invite mediator|coordinator, administrators only) makes a
// one-time deep link that turns whoever opens it into a staff member.
func (h *Handlers) invite(r *Request) error {
	if !r.IsAdmin() {
		return forbidden("staff.admins_only")
	}
	role, ok := parseRole(r.Args)
	if !ok {
		return invalid("invite.usage", nil)
	}
	var inv storage.Invite
	err := h.inTx(r.ctx, func(tx *storage.Tx) error {
		var err error
		if inv, err = tx.CreateInvite(role, r.UserID); err != nil {
			return err
		}
		return tx.Audit(r.UserID, "invite.create", role)
	})
	if err != nil {
		return err
	}
	return r.ReplyKey("invite.created", map[string]any{
		"Role":    r.roleName(role),
		"Link":    fmt.Sprintf("https://t.me/%s?start=%s", h.cfg.BotUsername, inv.Code),
		"Expires": inv.ExpiresAt.In(kzZone).Format("02.01.2006 15:04"),
	})
}

// redeemInvite handles /start <invite code>.
func (h *Handlers) redeemInvite(r *Request, code string) error {
	var inv storage.Invite
	already := false
	err := h.inTx(r.ctx, func(tx *storage.Tx) error {
		var err error
		if inv, err = tx.Invite(code); err != nil {
			return err
		}
		if already, err = tx.HasRole(r.UserID, inv.Role); err != nil || already {
			return err
		}
		if inv, err = tx.RedeemInvite(code, r.UserID); err != nil {
			return err
		}
		if err := tx.Audit(r.UserID, "invite.redeem", inv.Role); err != nil {
			return err
		}
		return h.notify(tx, Notice{Message: botText(inv.CreatedBy, h.tr(r.ctx, inv.CreatedBy, "invite.used_admin",
			map[string]any{"Role": h.cat.T(h.langOf(r.ctx, inv.CreatedBy), "staff.role_"+inv.Role, nil), "ID": r.UserID}))})
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return notFound("invite.not_found")
	case errors.Is(err, storage.ErrInviteUsed):
		return invalid("invite.used", nil)
	case errors.Is(err, storage.ErrInviteExpired):
		return invalid("invite.expired", nil)
	case err != nil:
		return err
	case already:
		return r.ReplyKey("invite.already", map[string]any{"Role": r.roleName(inv.Role)})
	}
	h.SyncMenu(r.ctx, r.UserID)
	if err := r.ReplyKey("invite.welcome", map[string]any{"Role": r.roleName(inv.Role)}); err != nil {
		return err
	}
	return h.profile(r)
}

// staffRoles returns the sender's staff roles, refusing a user who has none.
func (h *Handlers) staffRoles(r *Request) ([]string, error) {
	roles, err := h.db.Roles(r.ctx, r.UserID)
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 {
		return nil, forbidden("staff.staff_only")
	}
	return roles, nil
}

// profile (/profile, staff only) shows the profile and walks through it:
// name, regions, languages and, for mediators, kinds of conflict and the
// maximum of open cases.
func (h *Handlers) profile(r *Request) error {
	roles, err := h.staffRoles(r)
	if err != nil {
		return err
	}
	p, err := h.db.StaffProfile(r.ctx, r.UserID)
	if err != nil {
		return err
	}
	if p.Complete() {
		if err := r.Reply(h.profileText(r, p, roles)); err != nil {
			return err
		}
	}
	return h.StartFlow(r, "profile", map[string]string{
		"mediator":  boolStr(slices.Contains(roles, storage.RoleMediator)),
		"name":      p.DisplayName,
		"regions":   strings.Join(p.Regions, ","),
		"languages": strings.Join(p.Languages, ","),
		"kinds":     strings.Join(p.Kinds, ","),
		"max":       strconv.Itoa(p.MaxOpen),
	})
}

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return ""
}

// profileText describes the profile in the user's language.
func (h *Handlers) profileText(r *Request, p storage.StaffProfile, roles []string) string {
	names := make([]string, len(roles))
	for i, role := range roles {
		names[i] = r.roleName(role)
	}
	data := map[string]any{
		"Roles":     strings.Join(names, ", "),
		"Name":      p.DisplayName,
		"Regions":   h.regionNames(r.Lang, p.Regions),
		"Languages": languageList(p.Languages),
		"Duty":      r.T(map[bool]string{true: "duty.status_on", false: "duty.status_off"}[p.OnDuty], nil),
	}
	text := r.T("profile.summary", data)
	if slices.Contains(roles, storage.RoleMediator) {
		kinds := make([]string, len(p.Kinds))
		for i, k := range p.Kinds {
			kinds[i] = r.T(kindLabel(k), nil)
		}
		text += "\n" + r.T("profile.summary_mediator", map[string]any{"Kinds": strings.Join(kinds, ", "), "Max": p.MaxOpen})
	}
	return text
}

// regionNames lists region codes by name in lang.
func (h *Handlers) regionNames(lang string, codes []string) string {
	names := make([]string, 0, len(codes))
	for _, c := range codes {
		if reg, ok := h.gaz.Region(c); ok {
			names = append(names, reg.Name[lang])
		}
	}
	return strings.Join(names, ", ")
}

func languageList(codes []string) string {
	names := make([]string, 0, len(codes))
	for _, c := range codes {
		names = append(names, languageNames[c])
	}
	return strings.Join(names, ", ")
}

// choice is an option of a multiStep: its value, its button's label, and
// the other words it may be typed as (its name in the other languages).
type choice struct {
	value, label string
	words        []string
}

// typedChoices reads the options typed instead of pressed, one or several
// separated by commas or lines ("Шымкент, Түркістан облысы"): each part is
// an option's label or one of its words, compared as locales.Fold does,
// else the value other gives it (nil: none). ok is false when a part is
// none of them, or more than one: then ambiguous is that part and the
// labels it matches ("Алматы": Алматы қаласы, Алматы облысы).
func typedChoices(text string, options []choice, other func(part string) (string, bool)) (values []string, ambiguous []string, ok bool) {
	parts := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' || r == '\n' })
	for _, part := range parts {
		typed := locales.Fold(part)
		if typed == "" {
			continue
		}
		var matched []choice
		for _, o := range options {
			if locales.Fold(o.label) == typed || slices.ContainsFunc(o.words, func(w string) bool { return locales.Fold(w) == typed }) {
				matched = append(matched, o)
			}
		}
		match := ""
		switch len(matched) {
		case 0:
			if other != nil {
				match, _ = other(part)
			}
		case 1:
			match = matched[0].value
		default:
			ambiguous = []string{strings.TrimSpace(part)}
			for _, o := range matched {
				ambiguous = append(ambiguous, o.label)
			}
			return nil, ambiguous, false
		}
		if match == "" {
			return nil, nil, false
		}
		values = append(values, match)
	}
	return values, nil, len(values) > 0
}

// regionKindWords are the words of a region's name that say what it is
// (city, region) rather than which: typed without them, "Шымкент",
// "Түркістан" or "Abai" is still the region.
var regionKindWords = foldedSet("қаласы", "облысы", "город", "область", "city", "region")

// regionWords are what a region may be typed as: its name in every
// language, with and without the word for a city or a region.
func regionWords(reg storage.Region) []string {
	var out []string
	for _, lang := range locales.Supported {
		name := reg.Name[lang]
		out = append(out, name)
		bare := slices.DeleteFunc(strings.Fields(name), func(w string) bool {
			return regionKindWords[locales.Fold(w)]
		})
		if len(bare) > 0 {
			out = append(out, strings.Join(bare, " "))
		}
	}
	return out
}

// regionOfTown is the region of the town or village typed, for a region
// typed as its main town or any other ("Караганда", "Туркестан", "Актау"):
// none when the name is in several regions.
func (h *Handlers) regionOfTown(part string) (string, bool) {
	region := ""
	for _, m := range h.gaz.Exact(part, 10) {
		if region != "" && m.Region != region {
			return "", false
		}
		region = m.Region
	}
	return region, region != ""
}

// multiStep is a flow step choosing several options with inline buttons
// that toggle (✅) and a Done button; the chosen values are kept comma
// separated in state key. next names the step after Done. The options and
// Done may be typed instead (typedChoices, with other for what is not an
// option's word; "Дайын", "Готово"): a typed option is chosen, never
// unchosen, and the question is sent again with the choice marked.
func multiStep(step, key, prompt string, options func(r *Request) []choice, other func(part string) (string, bool),
	next func(r *Request) string) Step {
	keyboard := func(r *Request) tgbotapi.InlineKeyboardMarkup {
		chosen := strings.Split(r.State.Get(key), ",")
		var rows [][]tgbotapi.InlineKeyboardButton
		var row []tgbotapi.InlineKeyboardButton
		for _, o := range options(r) {
			label := o.label
			if slices.Contains(chosen, o.value) {
				label = "✅ " + label
			}
			row = append(row, tgbotapi.NewInlineKeyboardButtonData(label, StepData(step, o.value)))
			if len(row) == 2 {
				rows, row = append(rows, row), nil
			}
		}
		if len(row) > 0 {
			rows = append(rows, row)
		}
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(r.InlineButton("profile.done", StepData(step, "=done"))))
		return tgbotapi.NewInlineKeyboardMarkup(rows...)
	}
	return Step{
		Ask: func(r *Request) error {
			_, err := r.ReplyInline(r.T(prompt, nil), keyboard(r))
			return err
		},
		Answer: func(r *Request) (string, error) {
			var chosen []string
			if v := r.State.Get(key); v != "" {
				chosen = strings.Split(v, ",")
			}
			if r.Callback == nil {
				if r.h.labelMatches(r.Text, "profile.done") {
					r.Data = "=done"
				} else if typed, ambiguous, ok := typedChoices(r.Text, options(r), other); ok {
					for _, v := range typed {
						if !slices.Contains(chosen, v) {
							chosen = append(chosen, v)
						}
					}
					r.State.Set(key, strings.Join(chosen, ","))
					return Stay, r.Edit(r.T(prompt, nil), ptr(keyboard(r)))
				} else if ambiguous != nil {
					return Stay, invalid("profile.ambiguous", map[string]any{
						"Typed": truncateRunes(ambiguous[0], 60), "Options": strings.Join(ambiguous[1:], ", ")})
				}
			}
			if r.Data == "" {
				return Stay, invalid("profile.use_buttons", nil)
			}
			if r.Data == "=done" {
				if len(chosen) == 0 {
					return Stay, invalid("profile.choose_one", nil)
				}
				labels := []string{}
				for _, o := range options(r) {
					if slices.Contains(chosen, o.value) {
						labels = append(labels, o.label)
					}
				}
				r.EditAside(r.T(prompt, nil)+"\n"+strings.Join(labels, ", "), nil)
				return next(r), nil
			}
			if !slices.ContainsFunc(options(r), func(o choice) bool { return o.value == r.Data }) {
				r.Answer(r.T("error.button_outdated", nil))
				return Stay, nil
			}
			if i := slices.Index(chosen, r.Data); i >= 0 {
				chosen = slices.Delete(chosen, i, i+1)
			} else {
				chosen = append(chosen, r.Data)
			}
			r.State.Set(key, strings.Join(chosen, ","))
			return Stay, r.Edit(r.T(prompt, nil), ptr(keyboard(r)))
		},
	}
}

func ptr[T any](v T) *T { return &v }

// profileFlow asks a staff member's profile.
func (h *Handlers) profileFlow() *Flow {
	regions := func(r *Request) []choice {
		var out []choice
		for _, reg := range h.gaz.Regions() {
			out = append(out, choice{reg.Code, reg.Name[r.Lang], regionWords(reg)})
		}
		return out
	}
	languages := func(r *Request) []choice {
		return []choice{{"kk", languageNames["kk"], caseLangWords["kk"]}, {"ru", languageNames["ru"], caseLangWords["ru"]},
			{"en", languageNames["en"], caseLangWords["en"]}}
	}
	kinds := func(r *Request) []choice {
		out := make([]choice, len(conflictKinds))
		for i, k := range conflictKinds {
			out[i] = choice{k, r.T(kindLabel(k), nil), append(h.cat.All(kindLabel(k)), h.cat.Also(kindLabel(k))...)}
		}
		return out
	}
	afterLanguages := func(r *Request) string {
		if r.State.Get("mediator") != "" {
			return "kinds"
		}
		return h.saveProfile(r)
	}
	return &Flow{
		Name:  "profile",
		First: "name",
		Steps: map[string]Step{
			"name": {
				Ask: func(r *Request) error {
					kb := r.FlowKeyboard()
					if name := r.State.Get("name"); name != "" {
						kb = r.FlowKeyboard(tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButton(name)))
					}
					return r.ReplyKeyboard(r.T("profile.ask_name", nil), kb)
				},
				Answer: func(r *Request) (string, error) {
					n := utf8.RuneCountInString(r.Text)
					if n < 1 || n > 40 || strings.HasPrefix(r.Text, "/") {
						return Stay, invalid("profile.name_invalid", nil)
					}
					r.State.Set("name", r.Text)
					return "regions", nil
				},
			},
			"regions":   multiStep("regions", "regions", "profile.ask_regions", regions, h.regionOfTown, func(*Request) string { return "languages" }),
			"languages": multiStep("languages", "languages", "profile.ask_languages", languages, nil, afterLanguages),
			"kinds":     multiStep("kinds", "kinds", "profile.ask_kinds", kinds, nil, func(*Request) string { return "max" }),
			"max": {
				Ask: func(r *Request) error {
					return r.ReplyKeyboard(r.T("profile.ask_max", map[string]any{"Max": r.State.Get("max")}), r.FlowKeyboard(
						tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButton("3"), tgbotapi.NewKeyboardButton("5"), tgbotapi.NewKeyboardButton("10"))))
				},
				Answer: func(r *Request) (string, error) {
					n, err := strconv.Atoi(r.Text)
					if err != nil || n < 1 || n > 50 {
						return Stay, invalid("profile.max_invalid", nil)
					}
					r.State.Set("max", strconv.Itoa(n))
					return h.saveProfile(r), nil
				},
			},
		},
		Answers: append([]Answer{
			{Key: "name", Label: "privacy.answer_name"},
			{Key: "regions", Label: "privacy.answer_regions", Value: choicesAnswer(regions)},
			{Key: "languages", Label: "privacy.answer_languages", Value: choicesAnswer(languages)},
			{Key: "kinds", Label: "privacy.answer_kinds", Value: choicesAnswer(kinds)},
			{Key: "max", Label: "privacy.answer_max"},
		}, hiddenAnswers("mediator")...),
	}
}

// choicesAnswer shows the values chosen in a multiStep (comma separated)
// as the labels of their buttons.
func choicesAnswer(options func(r *Request) []choice) func(r *Request, v string) string {
	return func(r *Request, v string) string {
		opts := options(r)
		var labels []string
		for _, c := range strings.Split(v, ",") {
			label := c
			if i := slices.IndexFunc(opts, func(o choice) bool { return o.value == c }); i >= 0 {
				label = opts[i].label
			}
			labels = append(labels, label)
		}
		return strings.Join(labels, ", ")
	}
}

// saveProfile stores the profile the flow collected and tells the user; it
// returns End (or Stay after an error reply).
func (h *Handlers) saveProfile(r *Request) string {
	split := func(key string) []string {
		if v := r.State.Get(key); v != "" {
			return strings.Split(v, ",")
		}
		return nil
	}
	max, _ := strconv.Atoi(r.State.Get("max"))
	p := storage.StaffProfile{UserID: r.UserID, DisplayName: r.State.Get("name"), MaxOpen: max,
		Regions: split("regions"), Languages: split("languages")}
	if r.State.Get("mediator") != "" {
		p.Kinds = split("kinds")
	}
	err := h.inTx(r.ctx, func(tx *storage.Tx) error { return tx.SaveStaffProfile(p) })
	if err == nil {
		var roles []string
		if roles, err = h.db.Roles(r.ctx, r.UserID); err == nil {
			if p, err = h.db.StaffProfile(r.ctx, r.UserID); err == nil {
				err = h.sendMenuText(r, r.T("profile.saved", nil)+"\n\n"+h.profileText(r, p, roles)+"\n\n"+r.T("profile.duty_hint", nil))
			}
		}
	}
	if err != nil {
		h.replyError(r, err, r.Update.UpdateID)
		return Stay
	}
	return End
}

// sendMenuText sends text with the main menu keyboard.
func (h *Handlers) sendMenuText(r *Request, text string) error {
	kb := r.mainMenu()
	_, err := r.Send(botMenu(text, &kb))
	return err
}

// DutyHook runs in the transaction that puts a staff member on or off duty
// (for example to offer them the cases that wait). The line it returns, in
// the staff member's language, is added to the /duty answer ("" for none).
type DutyHook func(tx *storage.Tx, userID int64, onDuty bool) (string, error)

// duty (/duty, staff only) toggles on/off duty.
func (h *Handlers) duty(r *Request) error {
	if _, err := h.staffRoles(r); err != nil {
		return err
	}
	p, err := h.db.StaffProfile(r.ctx, r.UserID)
	if err != nil {
		return err
	}
	if !p.Complete() {
		return invalid("duty.profile_first", nil)
	}
	on := !p.OnDuty
	var lines []string
	err = h.inTx(r.ctx, func(tx *storage.Tx) error {
		if _, err := tx.SetOnDuty(r.UserID, on); err != nil {
			return err
		}
		for _, hook := range h.dutyHooks {
			line, err := hook(tx, r.UserID, on)
			if err != nil {
				return err
			}
			if line != "" {
				lines = append(lines, line)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	key := "duty.off"
	if on {
		key = "duty.on"
	}
	return r.Reply(strings.Join(append([]string{r.T(key, nil)}, lines...), "\n\n"))
}

// kindLabel is the message id of the label of a kind of conflict.
func kindLabel(kind string) string { return "mediation.kind_" + kind }

// SyncMenu gives userID's chat the command menu of the roles they hold now
// (staff roles and administrator). A failure is logged: the menu is a
// convenience, every command checks the role itself.
func (h *Handlers) SyncMenu(ctx context.Context, userID int64) {
	if h.menus == nil {
		return
	}
	roles, err := h.db.Roles(ctx, userID)
	if err != nil {
		h.log.Warn("command menu: roles", "err", err)
		return
	}
	if h.isAdmin(userID) {
		roles = append(roles, "admin")
	}
	// The menu's requests are made with a context of their own (app's
	// commandAPI), which would wait for a Bot API connection holding the
	// update's asides: read them first.
	bot.Drain(ctx)
	if err := h.menus.SetRoles(ctx, userID, roles...); err != nil {
		h.log.Warn("command menu", "err", err)
	}
}

// SyncMenus gives every administrator and staff member their menu (at start).
func (h *Handlers) SyncMenus(ctx context.Context) error {
	ids := append([]int64(nil), h.cfg.AdminIDs...)
	for _, role := range []string{storage.RoleMediator, storage.RoleCoordinator} {
		staff, err := h.db.Staff(ctx, role)
		if err != nil {
			return err
		}
		for _, s := range staff {
			ids = append(ids, s.Profile.UserID)
		}
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		h.SyncMenu(ctx, id)
	}
	return nil
}

// askRemove asks an administrator to confirm the removal of staff member id
// (the text <section>.remove_confirm), with "Yes, remove" (<prefix>:RM:id)
// and "No, keep" (<prefix>:keep:id).
func askRemove(r *Request, prefix, section string, id int64) error {
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		r.InlineButton(section+".remove_yes", prefix+":RM:"+id64(id)),
		r.InlineButton("staff.remove_no", prefix+":keep:"+id64(id))))
	_, err := r.ReplyInline(r.T(section+".remove_confirm", map[string]any{"ID": id}), kb)
	return err
}

// keptStaff answers "No, keep": the question is replaced by "nothing was
// changed".
func keptStaff(r *Request) error {
	r.Answer("")
	return r.Edit(r.T("staff.remove_kept", nil), nil)
}
