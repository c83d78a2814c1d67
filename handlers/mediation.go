package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// Mediation, the citizen's side: the Mediation menu, the request flow
// (consent, kind, description, place, language, contact, confirm), /cases,
// writing to the mediator, withdrawing and rating. The mediator's and the
// administrators' side is in mediation_staff.go.

// mediationConsent is the version of the consent text "consent.mediation";
// change it whenever the text changes.
const mediationConsent = "2026-11-28"

// Description length limits, in characters.
const (
	descriptionMin = 10
	descriptionMax = 1000
	noteMax        = 500
	relayMax       = 3500
	// relayCaptionMax leaves room for the case and sender above a caption
	// within Telegram's 1,024 characters.
	relayCaptionMax = 800
)

// mediationMenu shows the Mediation submenu.
func (h *Handlers) mediationMenu(r *Request) error {
	kb := tgbotapi.NewReplyKeyboard(
		tgbotapi.NewKeyboardButtonRow(r.Button("mediation.find"), r.Button("mediation.ask")),
		tgbotapi.NewKeyboardButtonRow(r.Button("mediation.my_cases"), r.Button("mediation.to_menu")),
	)
	kb.ResizeKeyboard = true
	return r.ReplyKeyboard(r.T("mediation.menu", nil), kb)
}

func (h *Handlers) findMediationOffice(r *Request) error {
	return h.findPlaces(r, storage.KindMediation)
}

// askMediator starts the mediation request; the consent step is skipped
// when the user already agreed to this version of the text.
func (h *Handlers) askMediator(r *Request) error {
	return h.startAfterConsent(r, "mediation", "mediation", mediationConsent, "kind")
}

// nextStep is next, or the summary when the user is editing one step.
func nextStep(r *Request, next string) string {
	if r.State.Get("editing") != "" {
		return "confirm"
	}
	return next
}

// mediationFlow is the citizen's request for a mediator.
func (h *Handlers) mediationFlow() *Flow {
	return &Flow{
		Name:   "mediation",
		First:  ConsentStep,
		OnBack: h.mediationMenu, // the Mediation menu it is chosen from
		Steps: map[string]Step{
			ConsentStep:   h.consentStep("mediation", mediationConsent, "kind"),
			"kind":        {Ask: h.askKind, Answer: h.answerKind},
			"description": {Ask: h.askDescription, Answer: h.answerDescription, FreeText: true},
			"where":       {Ask: h.askCaseWhere, Answer: h.answerCaseWhere},
			"lang":        {Ask: h.askCaseLang, Answer: h.answerCaseLang},
			"contact":     {Ask: h.askContact, Answer: h.answerContact},
			"confirm":     {Ask: h.askConfirm, Answer: h.answerConfirm},
		},
		Answers: append([]Answer{
			{Key: "kind", Label: "mediation.step_kind", Value: codeAnswer("mediation.kind_", conflictKinds)},
			{Key: "description", Label: "mediation.step_description"},
			{Key: "description_draft", Label: "privacy.answer_draft"},
			{Key: "place", Label: "mediation.step_where"},
			{Key: "region", Label: "privacy.answer_region", Value: h.regionAnswer},
			{Key: "lang", Label: "mediation.step_lang", Value: languageAnswer},
			{Key: "contact", Label: "mediation.step_contact",
				Value: buttonAnswer(map[string]string{"bot": "mediation.contact_bot", "phone": "mediation.contact_phone"})},
			{Key: "phone", Label: "help.field_phone", Value: phoneAnswer},
		}, hiddenAnswers("editing", "declined")...),
	}
}

func (h *Handlers) askKind(r *Request) error {
	var rows [][]tgbotapi.InlineKeyboardButton
	for _, k := range conflictKinds {
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(r.InlineButton(kindLabel(k), StepData("kind", k))))
	}
	if err := r.ReplyKeyboard(r.T("mediation.ask_kind_hint", nil), r.FlowKeyboard()); err != nil {
		return err
	}
	_, err := r.ReplyInline(r.T("mediation.ask_kind", nil), tgbotapi.NewInlineKeyboardMarkup(rows...))
	return err
}

func (h *Handlers) answerKind(r *Request) (string, error) {
	if r.Callback == nil {
		// A kind typed as its button says, in any language ("Отбасылық").
		for _, k := range conflictKinds {
			if h.labelMatches(r.Text, kindLabel(k)) {
				r.Data = k
			}
		}
	}
	if !slices.Contains(conflictKinds, r.Data) {
		return Stay, pressButtons("mediation.use_buttons")
	}
	r.State.Set("kind", r.Data)
	r.EditAside(r.T("mediation.ask_kind", nil)+"\n"+r.T(kindLabel(r.Data), nil), nil)
	return nextStep(r, "description"), nil
}

func (h *Handlers) askDescription(r *Request) error {
	return r.ReplyKeyboard(r.T("mediation.ask_description", map[string]any{"Min": descriptionMin, "Max": descriptionMax}), r.FlowKeyboard())
}

func (h *Handlers) answerDescription(r *Request) (string, error) {
	n := utf8.RuneCountInString(r.Text)
	switch {
	case r.Text == "":
		return Stay, invalid("mediation.description_text", nil)
	case slices.ContainsFunc(conflictKinds, func(k string) bool { return h.typedLabel(r.Text, kindLabel(k)) }):
		// The kind's button typed again (it was pressed a moment ago, or
		// the keyboard looked like it wanted it): no description.
		return Stay, invalid("mediation.description_kind", map[string]any{"Kind": strings.TrimSpace(r.Text)})
	case !hasWords(r.Text):
		return Stay, invalid("mediation.description_words", nil)
	case n < descriptionMin:
		return Stay, invalid("mediation.description_short", map[string]any{"Min": descriptionMin})
	case n > descriptionMax:
		// Nothing is lost: the draft is kept and sent back to be shortened.
		r.State.Set("description_draft", r.Text)
		return refuseLong(r, "mediation.description_long", map[string]any{"Count": n, "Max": descriptionMax}, r.Text)
	}
	r.State.Set("description", r.Text)
	delete(r.State.Data, "description_draft")
	return nextStep(r, "where"), nil
}

func (h *Handlers) askCaseWhere(r *Request) error {
	loc := tgbotapi.NewKeyboardButtonLocation(r.T("mediation.share_location", nil))
	return r.ReplyKeyboard(r.T("mediation.ask_where", nil), r.FlowKeyboard(tgbotapi.NewKeyboardButtonRow(loc)))
}

// regionButtons are inline buttons choosing a region, with labels.
func regionButtons(step string, regions []choice) tgbotapi.InlineKeyboardMarkup {
	var rows [][]tgbotapi.InlineKeyboardButton
	var row []tgbotapi.InlineKeyboardButton
	for _, c := range regions {
		row = append(row, tgbotapi.NewInlineKeyboardButtonData(c.label, StepData(step, "r:"+c.value)))
		if len(row) == 2 {
			rows, row = append(rows, row), nil
		}
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	return tgbotapi.NewInlineKeyboardMarkup(rows...)
}

func (h *Handlers) answerCaseWhere(r *Request) (string, error) {
	// Each answer is a function of its own, so that only the one taken is
	// on the stack while its reply is sent (Dispatcher.handle).
	if code, ok := strings.CutPrefix(r.Data, "r:"); ok {
		return h.caseWhereRegion(r, code)
	}
	if loc := r.Location(); loc != nil {
		return h.caseWhereLocation(r, loc)
	}
	if r.Text == "" {
		return Stay, invalid("mediation.where_text", nil)
	}
	return h.caseWhereTyped(r)
}

// caseWhereRegion takes the region pressed after a town's name the bot did
// not know or found in several regions.
//
//go:noinline
func (h *Handlers) caseWhereRegion(r *Request, code string) (string, error) {
	reg, ok := h.gaz.Region(code)
	if !ok {
		return Stay, pressButtons("mediation.use_buttons")
	}
	r.State.Set("region", code)
	if r.State.Get("place") == "" {
		r.State.Set("place", reg.Name[r.Lang])
	}
	r.EditAside(r.T("mediation.where_set", map[string]any{"Place": placeBesideRegion(r.State.Get("place"), reg), "Region": reg.Name[r.Lang]}), nil)
	return nextStep(r, "lang"), nil
}

// caseWhereLocation takes a shared location: the nearest settlement.
//
//go:noinline
func (h *Handlers) caseWhereLocation(r *Request, loc *tgbotapi.Location) (string, error) {
	if !h.gaz.OnKazakhstanSide(loc.Latitude, loc.Longitude) {
		return Stay, invalid("mediation.where_outside", nil)
	}
	s, _ := h.gaz.Nearest(loc.Latitude, loc.Longitude)
	if s.Region == "" {
		return Stay, invalid("mediation.where_unknown", nil)
	}
	return h.caseWhereSet(r, placeName(s, r.Lang), s.Region)
}

// caseWhereSet stores the case's place and region, and says so.
//
//go:noinline
func (h *Handlers) caseWhereSet(r *Request, place, region string) (string, error) {
	r.State.Set("region", region)
	r.State.Set("place", place)
	reg, _ := h.gaz.Region(region)
	if err := r.ReplyKey("mediation.where_set", map[string]any{"Place": placeBesideRegion(place, reg), "Region": reg.Name[r.Lang]}); err != nil {
		return Stay, err
	}
	return nextStep(r, "lang"), nil
}

// caseWhereTyped takes a town's name: the region when it is found in one,
// otherwise the regions to choose from.
//
//go:noinline
func (h *Handlers) caseWhereTyped(r *Request) (string, error) {
	matches := h.gaz.Search(r.Text, 20)
	// Only the closest matches: Темиртау typed exactly is not asked about
	// beside Темирлановка, two letters away.
	for i, m := range matches {
		if m.Distance != matches[0].Distance {
			matches = matches[:i]
			break
		}
	}
	var regions []choice
	for _, m := range matches {
		if !slices.ContainsFunc(regions, func(c choice) bool { return c.value == m.Region }) {
			reg, _ := h.gaz.Region(m.Region)
			regions = append(regions, choice{value: m.Region, label: placeName(m.Settlement, r.Lang) + " — " + reg.Name[r.Lang]})
		}
	}
	switch {
	case (len(regions) == 0 || matches[0].Distance > typoTaken) && h.regionTyped(r.Text) != "":
		// "Түркістан облысы": the region itself.
		code := h.regionTyped(r.Text)
		reg, _ := h.gaz.Region(code)
		return h.caseWhereSet(r, reg.Name[r.Lang], code)
	case len(regions) == 0 || matches[0].Distance > typoTaken:
		// Not known, or only as another place two letters away: the
		// region is asked, with the name as typed (the case goes to the
		// region's mediators).
		return Stay, h.caseWhereUnknown(r)
	case len(regions) == 1:
		return h.caseWhereSet(r, placeName(matches[0].Settlement, r.Lang), regions[0].value)
	}
	r.State.Set("place", placeName(matches[0].Settlement, r.Lang))
	_, err := r.ReplyInline(r.T("mediation.where_which", map[string]any{"Town": truncateRunes(r.Text, 60)}), regionButtons("where", regions))
	return Stay, err
}

// caseWhereUnknown asks for the region of a town's name the bot does not
// know.
//
//go:noinline
func (h *Handlers) caseWhereUnknown(r *Request) error {
	var all []choice
	for _, reg := range h.gaz.Regions() {
		all = append(all, choice{value: reg.Code, label: reg.Name[r.Lang]})
	}
	// The name typed goes with the region chosen, unless it has no
	// letters (emoji): then the region's name stands for the place.
	place := ""
	if hasWords(r.Text) {
		place = truncateRunes(r.Text, 100)
	}
	r.State.Set("place", place)
	_, err := r.ReplyInline(r.T("mediation.where_unknown_town", map[string]any{"Town": truncateRunes(r.Text, 60)}), regionButtons("where", all))
	return err
}

// placeName is the settlement's name in lang, or in any language known.
func placeName(s storage.Settlement, lang string) string {
	for _, l := range []string{lang, "ru", "kk", "en"} {
		if s.Name[l] != "" {
			return s.Name[l]
		}
	}
	return ""
}

func (h *Handlers) askCaseLang(r *Request) error {
	_, err := r.ReplyInline(r.T("mediation.ask_lang", nil), tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData(languageNames["kk"], StepData("lang", "kk")),
		tgbotapi.NewInlineKeyboardButtonData(languageNames["ru"], StepData("lang", "ru")),
		tgbotapi.NewInlineKeyboardButtonData(languageNames["en"], StepData("lang", "en")),
	)))
	return err
}

// caseLangWords are what people type for each language a case can be
// heard in: the button's label, the language's name in the other two
// languages, "in Russian" and the like; caseLangOf is the language of
// each, folded as typed words are compared (locales.Fold).
var (
	caseLangWords = map[string][]string{
		"kk": {languageNames["kk"], "қазақ тілі", "қазақ тілінде", "қазақша сөйлеймін", "қазақ", "казахский", "казахский язык", "на казахском",
			"по-казахски", "по казахски", "kazakh", "in kazakh", "qazaqsha"},
		"ru": {languageNames["ru"], "орысша", "орыс тілі", "орыс тілінде", "на русском", "по-русски", "по русски", "русский язык", "russian",
			"in russian", "russkiy"},
		"en": {languageNames["en"], "ағылшынша", "ағылшын тілі", "ағылшын тілінде", "английский", "английский язык", "english language", "на английском",
			"по-английски", "по английски", "in english"},
	}
	caseLangOf = func() map[string]string {
		of := map[string]string{}
		for code, words := range caseLangWords {
			for _, w := range words {
				of[locales.Fold(w)] = code
			}
		}
		return of
	}()
)

// languageNamed is the one of the bot's languages a short message names,
// alone or with polite or language words ("Русский, пожалуйста", "можно
// на русском?", "English please"): named is true, and code is "" when it
// names two ("казахский или русский"). With any other word it names none
// ("Russian community Almaty", "Мой сосед русский").
func languageNamed(text string) (code string, named bool) {
	if code := caseLangOf[locales.Fold(text)]; code != "" {
		return code, true
	}
	ws := words(text)
	if len(ws) > 4 {
		return "", false
	}
	name := func(c string) {
		if named && code != c {
			code = ""
		} else if !named {
			code = c
		}
		named = true
	}
	for i := 0; i < len(ws); i++ {
		w := locales.Fold(ws[i])
		switch {
		case i+1 < len(ws) && caseLangOf[w+" "+locales.Fold(ws[i+1])] != "":
			name(caseLangOf[w+" "+locales.Fold(ws[i+1])])
			i++
		case caseLangOf[w] != "":
			name(caseLangOf[w])
		case !languageSmallWords[w] && !languageJoinWords[w]:
			return "", false
		}
	}
	return code, named
}

// languageJoinWords join two languages' names ("казахский или русский").
var languageJoinWords = foldedSet(strings.Fields(`или и or and немесе және`)...)

// languageSmallWords are the words beside a language's name asking for it
// (folded).
var languageSmallWords = foldedSet(strings.Fields(`пожалуйста можно на язык языке хочу давайте тілі тілінде тілде
	өтінемін бола ма ме please in language can we speak i want`)...)

func (h *Handlers) answerCaseLang(r *Request) (string, error) {
	if r.Callback == nil {
		// A language typed: as its button says ("Русский", "english"),
		// named in another language ("орысша"), on a keyboard without
		// Kazakh letters ("Казакша").
		r.Data = caseLangOf[locales.Fold(r.Text)]
	}
	if _, ok := languageNames[r.Data]; !ok {
		return Stay, pressButtons("mediation.use_buttons")
	}
	r.State.Set("lang", r.Data)
	r.EditAside(r.T("mediation.ask_lang", nil)+"\n"+languageNames[r.Data], nil)
	return nextStep(r, "contact"), nil
}

func (h *Handlers) askContact(r *Request) error {
	phone := tgbotapi.NewKeyboardButtonContact(r.T("mediation.contact_phone", nil))
	return r.ReplyKeyboard(r.T("mediation.ask_contact", nil), r.FlowKeyboard(
		tgbotapi.NewKeyboardButtonRow(r.Button("mediation.contact_bot")),
		tgbotapi.NewKeyboardButtonRow(phone)))
}

func (h *Handlers) answerContact(r *Request) (string, error) {
	if c := r.Contact(); c != nil {
		if c.UserID != r.UserID {
			return Stay, invalid("mediation.contact_own", nil)
		}
		phone := normalisePhone(c.PhoneNumber)
		if phone == "" {
			return Stay, invalid("mediation.contact_own", nil)
		}
		r.State.Set("phone", phone)
		r.State.Set("contact", "phone")
		return "confirm", nil
	}
	if r.Is("mediation.contact_bot") {
		r.State.Set("phone", "")
		r.State.Set("contact", "bot")
		return "confirm", nil
	}
	if phone, ok := ParsePhone(r.Text); ok {
		// Typed, on a phone whose contact button does nothing ("номерим
		// 87011234567"): a Kazakhstan number, as the help request takes.
		r.State.Set("phone", phone)
		r.State.Set("contact", "phone")
		return "confirm", nil
	}
	return Stay, invalid("mediation.contact_choose", nil)
}

// normalisePhone keeps a leading + and the digits of a phone number; it
// returns "" for something that is not a phone number.
func normalisePhone(s string) string {
	var b strings.Builder
	for i, c := range strings.TrimSpace(s) {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '+' && i == 0:
			b.WriteRune(c)
		case c == ' ' || c == '-' || c == '(' || c == ')':
		default:
			return ""
		}
	}
	p := b.String()
	if n := len(strings.TrimPrefix(p, "+")); n < 7 || n > 15 {
		return ""
	}
	if !strings.HasPrefix(p, "+") {
		p = "+" + p
	}
	return p
}

// placeBesideRegion is place as shown beside the name of its region reg:
// "" when it is the region itself (its name in any language), so that
// "Шымкент қаласы (Шымкент қаласы)" reads "Шымкент қаласы".
func placeBesideRegion(place string, reg storage.Region) string {
	for _, name := range reg.Name {
		if strings.EqualFold(strings.TrimSpace(place), name) {
			return ""
		}
	}
	return place
}

// spacedPhone writes a Kazakhstan number as it is read aloud, "+7 701 123
// 45 67"; other numbers are left as they are.
func spacedPhone(p string) string {
	d, ok := strings.CutPrefix(p, "+7")
	if !ok || len(d) != 10 || strings.Trim(d, "0123456789") != "" {
		return p
	}
	return "+7 " + d[:3] + " " + d[3:6] + " " + d[6:8] + " " + d[8:]
}

// caseSummary describes the answers of the flow to the citizen.
func (h *Handlers) caseSummary(r *Request) string {
	reg, _ := h.gaz.Region(r.State.Get("region"))
	contact := r.T("mediation.contact_via_bot", nil)
	if p := r.State.Get("phone"); p != "" {
		contact = r.T("mediation.contact_via_phone", map[string]any{"Phone": spacedPhone(p)})
	}
	return r.T("mediation.summary", map[string]any{
		"Kind":        r.T(kindLabel(r.State.Get("kind")), nil),
		"Description": r.State.Get("description"),
		"Place":       placeBesideRegion(r.State.Get("place"), reg),
		"Region":      reg.Name[r.Lang],
		"Language":    languageNames[r.State.Get("lang")],
		"Contact":     contact,
	})
}

func (h *Handlers) askConfirm(r *Request) error {
	delete(r.State.Data, "editing")
	if r.State.Get("declined") != "" { // the summary is asked anew
		delete(r.State.Data, "declined")
		if err := h.saveState(r); err != nil {
			return err
		}
	}
	if err := r.ReplyKeyboard(r.T("mediation.check", nil), r.FlowKeyboard()); err != nil {
		return err
	}
	_, err := r.ReplyInline(h.caseSummary(r), tgbotapi.NewInlineKeyboardMarkup(
		tgbotapi.NewInlineKeyboardRow(r.InlineButton("mediation.confirm", StepData("confirm", "ok"))),
		tgbotapi.NewInlineKeyboardRow(r.InlineButton("mediation.edit", StepData("confirm", "edit")),
			r.InlineButton("mediation.cancel", StepData("confirm", "cancel"))),
	))
	return err
}

// editableSteps are the steps of the request the summary can go back to.
var editableSteps = []string{"kind", "description", "where", "lang", "contact"}

// confirmLabels are the labels of the summary's buttons, typed.
var confirmLabels = map[string]string{"mediation.confirm": "ok", "mediation.edit": "edit", "mediation.cancel": "cancel",
	"mediation.not_sent": "no"}

// confirmDeclined answers "No" typed ("жоқ", "нет"): whether it means "do
// not send" or "something is wrong", nothing is sent and nothing is
// dropped; the summary again, with its other two choices.
//
//go:noinline
func (h *Handlers) confirmDeclined(r *Request) error {
	r.State.Set("declined", "1")
	_, err := r.ReplyInline(h.caseSummary(r)+"\n\n"+r.T("mediation.not_sent", nil), tgbotapi.NewInlineKeyboardMarkup(
		tgbotapi.NewInlineKeyboardRow(r.InlineButton("mediation.edit", StepData("confirm", "edit")),
			r.InlineButton("mediation.cancel", StepData("confirm", "cancel")))))
	return err
}

// confirmEditWhich asks which answer of the summary to change.
//
//go:noinline
func (h *Handlers) confirmEditWhich(r *Request) error {
	var rows [][]tgbotapi.InlineKeyboardButton
	for _, s := range editableSteps {
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(r.InlineButton("mediation.step_"+s, StepData("confirm", "e:"+s))))
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return r.Edit(h.caseSummary(r)+"\n\n"+r.T("mediation.edit_which", nil), &kb)
}

// caseReceived marks the summary sent and tells the citizen their case's
// number, with the main menu. A case no mediator could be offered
// (escalated) says so in the same message: a notice of its own, sent from
// the outbox, could reach the citizen before this answer.
//
//go:noinline
func (h *Handlers) caseReceived(r *Request, number string, escalated bool) error {
	r.EditAside(h.caseSummary(r), nil)
	key := "mediation.received"
	switch {
	case escalated && r.State.Get("phone") == "":
		key = "mediation.received_escalated_bot"
	case escalated:
		key = "mediation.received_escalated"
	}
	return h.sendMenuText(r, r.T(key, map[string]any{"Case": number}))
}

func (h *Handlers) answerConfirm(r *Request) (string, error) {
	if r.Callback == nil {
		// A button's label typed, in any language ("Растау", "да").
		r.Data = h.typedButton(r.Text, confirmLabels)
		// After a typed "no" the question is "edit or cancel?": a typed
		// "yes" ("да", "иә") answers that, not the summary. Nothing is sent;
		// the summary is shown again with Confirm, where the next "yes"
		// sends. The Confirm button, or its label typed, sends at once.
		if r.Data == "ok" && r.State.Get("declined") != "" && !h.typedLabel(r.Text, "mediation.confirm") {
			return "confirm", nil
		}
	}
	// The answers that reply with buttons are functions of their own, so
	// that their keyboards are not on the stack while the case is stored
	// (Dispatcher.handle).
	switch {
	case r.Data == "no":
		return Stay, h.confirmDeclined(r)
	case r.Data == "ok":
		// The press is answered before the case is stored: the button's
		// spinner stops at once, and the answer travels while the
		// transaction and the reply are made, not after them (one round
		// trip to Telegram less for the Confirm).
		r.Answer("")
		number, escalated, err := h.submitCase(r)
		if err != nil {
			return Stay, err
		}
		return End, h.caseReceived(r, number, escalated)
	case r.Data == "cancel":
		r.EditAside(h.caseSummary(r), nil)
		return End, h.sendMenu(r, "mediation.cancelled")
	case r.Data == "edit":
		return Stay, h.confirmEditWhich(r)
	}
	if step, ok := strings.CutPrefix(r.Data, "e:"); ok && slices.Contains(editableSteps, step) {
		r.State.Set("editing", "1")
		r.EditAside(h.caseSummary(r), nil)
		return step, nil
	}
	return Stay, pressButtons("mediation.use_buttons")
}

// submitCase commits the request, the first offer (or the alert) and the
// escalation timer in one transaction. escalated reports that no mediator
// could be offered the case, and the administrators were alerted.
func (h *Handlers) submitCase(r *Request) (number string, escalated bool, err error) {
	c := caseOf(r)
	if !slices.Contains(conflictKinds, c.Kind) || c.Description == "" || c.Region == "" || languageNames[c.Lang] == "" {
		return "", false, invalid("mediation.incomplete", nil)
	}
	// The same press handled again after its commit (a replica took it
	// over) is the case it stored.
	id, _, err := h.stepOnce(r, "case.submit", func(tx *storage.Tx) (string, error) {
		return h.storeCase(tx, c)
	})
	if err != nil {
		return "", false, err
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return "", false, fmt.Errorf("case.submit recorded %q: %w", id, err)
	}
	// Read from the case, not recorded with the step: the press handled
	// again, and the same request confirmed from a second device, answer
	// as the case stands.
	if escalated, err = h.db.WaitsEscalated(r.ctx, n); err != nil {
		return "", false, err
	}
	return storage.CaseNumber(n), escalated, nil
}

// caseOf is the case of the citizen's answers in r.State, on the heap: a
// case is 240 bytes of the stack beneath the Confirm's transaction
// otherwise (submitCase).
//
//go:noinline
func caseOf(r *Request) *storage.Case {
	citizen := r.UserID
	return &storage.Case{CitizenID: &citizen, Kind: r.State.Get("kind"), Description: r.State.Get("description"),
		Region: r.State.Get("region"), Place: r.State.Get("place"), Lang: r.State.Get("lang"), Phone: r.State.Get("phone")}
}

// storeCase stores case c in tx, times its escalation and offers it to
// the first mediator, and returns its id. When there is none the
// administrators are alerted instead, and the citizen is told so in the
// Confirm's answer (caseReceived), not by a notice of its own. The same
// request confirmed again (from a second device, or in an update of its
// own) is the case already stored. The case goes by
// pointer throughout, so that no copy of it is on the stack beneath a
// query (HANDLERS.md, "A worker's stack").
//
//go:noinline
func (h *Handlers) storeCase(tx *storage.Tx, c *storage.Case) (string, error) {
	if id, found, err := tx.OpenCaseLike(c, tx.Now().Add(-time.Hour)); err != nil || found {
		return id64(id), err
	}
	if err := tx.CreateCase(c); err != nil {
		return "", err
	}
	if err := tx.ScheduleTimer(timerEscalate, id64(c.ID), tx.Now().Add(h.cfg.EscalateAfter)); err != nil {
		return "", err
	}
	_, err := h.offerOr(tx, c, func(tx *storage.Tx, c *storage.Case) error {
		_, err := h.alertStaff(tx, c)
		return err
	})
	return id64(c.ID), err
}

func id64(id int64) string { return strconv.FormatInt(id, 10) }

// citizenCases are the user's latest cases as a citizen, read once per
// update: the answers to a text at the menu (relayHint, ratingTyped,
// waitingHint) each look at them.
func (h *Handlers) citizenCases(r *Request) ([]storage.Case, error) {
	if !r.citizenCasesRead {
		cs, err := h.db.CasesOfCitizen(r.ctx, r.UserID, 10)
		if err != nil {
			return nil, err
		}
		r.citizenCases, r.citizenCasesRead = cs, true
	}
	return r.citizenCases, nil
}

// cases (/cases, "My cases") lists the user's cases as a citizen and, for a
// mediator, the cases they took.
func (h *Handlers) cases(r *Request) error {
	mine, err := h.db.CasesOfCitizen(r.ctx, r.UserID, 10)
	if err != nil {
		return err
	}
	var taken []storage.Case
	var offers []storage.Offer
	mediator, err := h.hasRole(r, storage.RoleMediator)
	if err != nil {
		return err
	}
	if mediator {
		if taken, err = h.db.CasesOfMediator(r.ctx, r.UserID, 10); err != nil {
			return err
		}
		if offers, err = h.db.OpenOffersOfMediator(r.ctx, r.UserID); err != nil {
			return err
		}
	}
	if len(mine) == 0 && len(taken) == 0 && len(offers) == 0 {
		if mediator {
			return r.ReplyKey("mediation.no_cases_mediator", nil)
		}
		return r.ReplyKey("mediation.no_cases", nil)
	}
	if len(mine) > 0 {
		if err := r.ReplyKey("mediation.your_cases", nil); err != nil {
			return err
		}
	}
	for _, c := range mine {
		text := r.T("mediation.case_line", map[string]any{"Case": c.Number(), "Kind": r.T(kindLabel(c.Kind), nil),
			"Status": r.T(statusLabel(c), nil), "Date": c.CreatedAt.In(kzZone).Format("02.01.2006")})
		var kb *tgbotapi.InlineKeyboardMarkup
		switch {
		case c.Status == storage.CaseWaiting:
			kb = ptr(tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(r.InlineButton("mediation.withdraw", caseData("x", c.ID)))))
		case c.Status == storage.CaseAccepted:
			kb = ptr(tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(r.InlineButton("mediation.write_mediator", caseData("w", c.ID)))))
		case c.Status == storage.CaseClosed && c.Rating == nil:
			text += "\n" + r.T("mediation.rate_ask", nil)
			kb = ptr(ratingKeyboard(c.ID))
		}
		if _, err := r.Send(botInline(text, kb)); err != nil {
			return err
		}
	}
	if len(taken) > 0 {
		if err := r.ReplyKey("mediation.taken_cases", nil); err != nil {
			return err
		}
	}
	for _, c := range taken {
		if c.Status == storage.CaseAccepted {
			if err := h.db.Audit(r.ctx, r.UserID, "case.view", c.Number()); err != nil {
				return err
			}
			kb := mediatorCaseKeyboard(r, c.ID)
			if _, err := r.Send(botProtected(h.caseDetails(r.Lang, c, caseStaff), &kb)); err != nil {
				return err
			}
			continue
		}
		text := r.T("mediation.case_line", map[string]any{"Case": c.Number(), "Kind": r.T(kindLabel(c.Kind), nil),
			"Status": r.T(statusLabel(c), nil), "Date": c.CreatedAt.In(kzZone).Format("02.01.2006")})
		if err := r.Reply(text); err != nil {
			return err
		}
	}
	if len(offers) > 0 {
		// Offered and not yet answered: Accept and Decline here too (sent
		// protected, as the offer: accepting edits it into the details).
		text, rows := offersWaiting(r, offers, "mediation.offers_waiting_list")
		kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
		if _, err := r.Send(botProtected(text, &kb)); err != nil {
			return err
		}
	}
	return nil
}

// statusLabel is the message id of the case's status as the citizen sees it.
func statusLabel(c storage.Case) string { return "mediation.status_" + c.Status }

// relayHint answers a citizen whose case a mediator took: text typed
// outside any flow is most likely an answer to the mediator's message
// without pressing Reply. Nothing is passed on unasked, but they are told
// so, with the button to write. It reports whether it answered.
func (h *Handlers) relayHint(r *Request) (bool, error) {
	mine, err := h.citizenCases(r)
	if err != nil {
		return false, err
	}
	var accepted []storage.Case
	for _, c := range mine {
		if c.Status == storage.CaseAccepted {
			accepted = append(accepted, c)
		}
	}
	if len(accepted) != 1 {
		return false, nil
	}
	c := accepted[0]
	if r.Text != "" && utf8.RuneCountInString(r.Text) <= relayMax {
		// Kept, and one tap sends it (unsentFlow): she need not type it
		// again.
		return true, h.StartFlow(r, unsentFlow, map[string]string{"case": id64(c.ID), "text": r.Text})
	}
	_, err = r.ReplyInline(r.T("mediation.reply_hint", map[string]any{"Case": c.Number()}),
		tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(r.InlineButton("mediation.write_mediator", caseData("w", c.ID)))))
	return true, err
}

// waitingHint answers a citizen whose case waits for a mediator, typing
// what the bot does not understand (most likely for the mediator, "when
// will you come?"): the case waits, and they will be told here; the text
// was not passed on. It reports whether it answered.
func (h *Handlers) waitingHint(r *Request) (bool, error) {
	mine, err := h.citizenCases(r)
	if err != nil {
		return false, err
	}
	for _, c := range mine {
		if c.Status == storage.CaseWaiting {
			return true, r.ReplyKey("mediation.waiting_hint", map[string]any{"Case": c.Number()})
		}
	}
	return false, nil
}

// unsentFlow keeps a text a citizen typed outside the chat of their case
// and asks whether to send it to the mediator: ✉️ Send passes it on and
// opens the chat, so that what they type next goes straight there;
// Don't send drops it (a "no" typed is added, as likely an answer to the
// mediator); a command drops it and says so. More text typed meanwhile
// is added to it.
const unsentFlow = "unsent"

func (h *Handlers) unsentFlowDef() *Flow {
	return &Flow{
		Name:  unsentFlow,
		First: "send",
		// Not free text: a menu button pressed leaves (the text dropped).
		Steps: map[string]Step{"send": {Ask: h.askUnsent, Answer: h.answerUnsent}},
		Answers: []Answer{{Key: "case", Label: "privacy.answer_case", Value: caseAnswer},
			{Key: "text", Label: "privacy.answer_unsent"}},
		LeftKey: "mediation.unsent_kept", // a command drops it: say so
	}
}

func (h *Handlers) askUnsent(r *Request) error {
	id, _ := strconv.ParseInt(r.State.Get("case"), 10, 64)
	_, err := r.ReplyInline(r.T("mediation.unsent", map[string]any{"Case": storage.CaseNumber(id)}),
		tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
			r.InlineButton("mediation.unsent_send", StepData("send", "y")),
			r.InlineButton("mediation.unsent_keep", StepData("send", "n")))))
	return err
}

// sendUnsent passes the text kept in unsentFlow on to the mediator and
// opens the chat of the case, so that what the citizen types next goes
// straight there (the state saved here: the caller's Stay saves it again).
// The question's message says "Sent" only once it was.
func (h *Handlers) sendUnsent(r *Request) error {
	id, text := r.State.Get("case"), r.State.Get("text")
	r.State = storage.State{Flow: "relay", Step: "msg", Data: map[string]string{"case": id}, Version: r.State.Version}
	r.Text, r.Data = text, ""
	next, err := h.relay(r)
	if err != nil {
		return err
	}
	if next != Stay {
		// Not open any more (relay said so): nothing was sent.
		r.State.Reset()
		return h.resetState(r)
	}
	r.EditAside(r.T("mediation.unsent_sending", nil), nil)
	if err := h.saveState(r); err != nil {
		return err
	}
	return h.flows["relay"].Steps["msg"].Ask(r)
}

// answerUnsent sends the kept text (✉️ Send, or a yes typed) and moves to
// the chat of the case, drops it (Don't send, or a no typed), or adds a
// text typed meanwhile to it.
func (h *Handlers) answerUnsent(r *Request) (string, error) {
	// A "no" typed is no Don't send: "Жоқ" is as likely her answer to the
	// mediator's question, and is added to what is kept.
	send := r.Data == "y" || (r.Callback == nil && h.labelMatches(r.Text, "smalltalk.yes")) || r.Is("mediation.unsent_send")
	keep := r.Data == "n" || r.Is("mediation.unsent_keep")
	switch {
	case send:
		return Stay, h.sendUnsent(r)
	case keep:
		r.EditAside(r.T("mediation.unsent_kept", nil), nil)
		return End, h.sendMenu(r, "mediation.unsent_kept")
	case r.Callback != nil:
		return Stay, invalid("error.button_outdated", nil)
	case r.Text == "":
		// A location or a contact: no text to add; the question again.
		return Stay, h.askUnsent(r)
	}
	id, _ := strconv.ParseInt(r.State.Get("case"), 10, 64)
	if c, err := h.db.Case(r.ctx, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return Stay, err
	} else if err != nil || c.Status != storage.CaseAccepted {
		// The case was closed meanwhile: the text is no longer for its
		// mediator ("5" is its rating), and the kept one is dropped.
		if err := h.leaveFlow(r); err != nil {
			return Stay, err
		}
		return Stay, h.townOutsideFlow(r)
	}
	text := r.State.Get("text") + "\n\n" + r.Text
	if n := utf8.RuneCountInString(text); n > relayMax {
		return refuseLong(r, "mediation.relay_long", map[string]any{"Count": n, "Max": relayMax}, r.Text)
	}
	r.State.Set("text", text)
	return Stay, h.askUnsent(r)
}

// relayHintCases is how many of a mediator's cases mediatorRelayHint
// offers to write to; /cases lists them all.
const relayHintCases = 10

// mediatorRelayHint answers a mediator with accepted cases or open
// offers: text typed outside any flow that is no town and no thanks or
// greeting (those get their answers: a mediator holds cases for weeks and
// still looks for a House of Friendship) is most likely meant for a
// citizen, typed right after accepting a case or reading a citizen's
// message, or an answer to an offer ("беру", "+"), typed from a bus. It is
// not passed on, but they are told so, with the button to write to each
// case's citizen, and Accept and Decline for each offer waiting (the
// message sent protected, as the offer: accepting edits it into the
// case's details). It reports whether it answered.
func (h *Handlers) mediatorRelayHint(r *Request) (bool, error) {
	// The role first: for anyone else, one read instead of three.
	if ok, err := h.hasRole(r, storage.RoleMediator); err != nil || !ok {
		return false, err
	}
	cases, err := h.db.AcceptedCasesOfMediator(r.ctx, r.UserID)
	if err != nil {
		return false, err
	}
	offers, err := h.db.OpenOffersOfMediator(r.ctx, r.UserID)
	if err != nil || len(cases)+len(offers) == 0 {
		return false, err
	}
	var texts []string
	var rows [][]tgbotapi.InlineKeyboardButton
	if len(cases) > 0 {
		cases = cases[:min(len(cases), relayHintCases)]
		numbers := make([]string, len(cases))
		for i, c := range cases {
			numbers[i] = c.Number()
			b := tgbotapi.NewInlineKeyboardButtonData("✉️ "+c.Number(), caseData("w", c.ID))
			if len(cases) == 1 {
				b = r.InlineButton("mediation.write_citizen", caseData("w", c.ID))
			}
			if i%2 == 0 {
				rows = append(rows, nil)
			}
			rows[len(rows)-1] = append(rows[len(rows)-1], b)
		}
		texts = append(texts, r.T("mediation.reply_hint_citizen", map[string]any{"Case": strings.Join(numbers, ", ")}))
	}
	if len(offers) > 0 {
		text, offerRows := offersWaiting(r, offers, "mediation.offers_waiting")
		texts, rows = append(texts, text), append(rows, offerRows...)
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	_, err = r.Send(botProtected(strings.Join(texts, "\n\n"), &kb))
	return true, err
}

// offersWaiting is the line naming the offers waiting for the mediator's
// answer (relayHintCases at most; message key, whose text says where the
// requests are), and a row of Accept and Decline for each.
func offersWaiting(r *Request, offers []storage.Offer, key string) (string, [][]tgbotapi.InlineKeyboardButton) {
	offers = offers[:min(len(offers), relayHintCases)]
	numbers := make([]string, len(offers))
	var rows [][]tgbotapi.InlineKeyboardButton
	for i, o := range offers {
		numbers[i] = storage.CaseNumber(o.CaseID)
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(
			tgbotapi.NewInlineKeyboardButtonData(r.T("mediation.accept", nil)+" "+numbers[i], "mo:a:"+id64(o.ID)),
			tgbotapi.NewInlineKeyboardButtonData(r.T("mediation.decline", nil), "mo:d:"+id64(o.ID))))
	}
	return r.T(key, map[string]any{"Cases": strings.Join(numbers, ", ")}), rows
}

// textOutsideFlow answers a text that is no button, command, step's answer
// or town, in this order: "приду" from a volunteer offered a place
// confirms it (placeOfferTyped); thanks, a greeting, an "OK" get a word back and
// the menu, a yes or no the hint to press the question's button; a
// rating typed for a case just closed (ratingTyped); a language's name
// that language (languageNamed); a decline's reason typed
// by the mediator who declined (declineReasonTyped); a mediator with accepted
// cases or offers waiting the buttons to write or answer
// (mediatorRelayHint); a request in the citizen's own words that button
// (intentIn: a conflict before any place), a kind of place or an ethnic
// group that search (placeKindIn, ethnicGroupAlone; docs/DIRECTORY.md);
// a coordinator with requests waiting the buttons to take or open them
// (coordinatorHint); a district's name the Houses' question
// (NamesDistrict); anything else "I did not understand".
func (h *Handlers) textOutsideFlow(r *Request) error {
	if confirmed, err := h.placeOfferTyped(r); confirmed || err != nil {
		// "Приду" to a place offered from the waitlist.
		return err
	}
	if id := h.smalltalkIn(r.Text); id != "" {
		reply := id + "_reply"
		switch id {
		case "smalltalk.yes", "smalltalk.no":
			// Most likely a question's answer typed instead of pressed
			// (/forget's "Erase?", Councils' "Which?"): say so; to a
			// mediator or coordinator with offers or requests waiting,
			// with their buttons ("нет" to an offer).
			if hinted, err := h.mediatorRelayHint(r); hinted || err != nil {
				return err
			}
			if hinted, err := h.coordinatorHint(r); hinted || err != nil {
				return err
			}
			reply = "smalltalk.answer_reply"
		case "smalltalk.who":
			reply = "menu.greeting" // what the bot is and does
		}
		return h.sendMenu(r, reply)
	}
	if rated, err := h.ratingTyped(r); rated || err != nil {
		// "5" under the closing message's stars.
		return err
	}
	if _, named := languageNamed(r.Text); named {
		// Two languages named ("казахский или русский"): the buttons.
		// One ("Русский", "орысша", "English please") was switched to
		// at once (townOutsideFlow). Not the Russian associations
		// ("Russian community Almaty" has other words, and is no
		// language).
		return h.chooseLanguage(r)
	}
	if taken, err := h.declineReasonTyped(r); taken || err != nil {
		// "Занят" after ❌ Decline: the reason its buttons ask, typed
		// (before the conflict words: "Конфликт интересов").
		return err
	}
	if hinted, err := h.mediatorRelayHint(r); hinted || err != nil {
		// Before the places: "встретимся в Доме дружбы" from a mediator
		// with a case is most likely meant for the citizen.
		return err
	}
	kind, _ := placeKindIn(r.Text)
	id := intentIn(r.Text)
	if id == "menu.mediation" && kind != storage.KindMediation {
		// A conflict is mediation's, wherever it is: "Конфликт в
		// театре", "конфликт с молодежью во дворе".
		kind = ""
	}
	if kind == "" && id != "" {
		// "Алматыда медиатор бар ма?", "Как стать волонтером?",
		// "нужна помощь с продуктами": that button, pressed.
		return h.words[id](r)
	}
	if kind == "" && h.ethnicGroupAlone(r) {
		kind = storage.KindAssociation
	}
	if kind != "" {
		// "Достық үйі қайда", "Шымкент достық үйі", "корейцы",
		// "Uyghur association Almaty": that search, as if typed at its
		// "where?" (whereTyped); a group alone is of associations.
		r.State = storage.State{Flow: dirFlow, Step: "where", Data: map[string]string{"kind": kind}, Version: r.State.Version}
		return h.answerFlow(r)
	}
	if hinted, err := h.coordinatorHint(r); hinted || err != nil {
		// "беру", "+", "взяла" from a coordinator with requests waiting.
		return err
	}
	if storage.NamesDistrict(r.Text) && len(words(r.Text)) <= 4 {
		// "Толебийский район" (one the town search did not take): the
		// Houses' "where?" answered with it, which says a district is
		// no village and asks for one.
		r.State = storage.State{Flow: dirFlow, Step: "where", Data: map[string]string{"kind": storage.KindHouse}, Version: r.State.Version}
		return h.answerFlow(r)
	}
	if hinted, err := h.waitingHint(r); hinted || err != nil {
		// "Балам қашан келесіңдер?" while her case waits for a mediator.
		return err
	}
	return r.ReplyKey("unknown.text", nil)
}

// smalltalkIn is the smalltalk message text is (thanks, a greeting, an
// "OK", a yes or a no, "who are you?"), or "".
func (h *Handlers) smalltalkIn(text string) string {
	for _, id := range []string{"smalltalk.thanks", "smalltalk.greeting", "smalltalk.ok", "smalltalk.yes", "smalltalk.no", "smalltalk.who"} {
		if h.labelMatches(text, id) {
			return id
		}
	}
	return ""
}

// caseData is the callback data "mc:verb:case".
func caseData(verb string, id int64) string { return "mc:" + verb + ":" + id64(id) }

func ratingKeyboard(id int64) tgbotapi.InlineKeyboardMarkup {
	var row []tgbotapi.InlineKeyboardButton
	for n := 1; n <= 5; n++ {
		row = append(row, tgbotapi.NewInlineKeyboardButtonData(strings.Repeat("⭐", 1)+strconv.Itoa(n), fmt.Sprintf("mr:%d:%d", id, n)))
	}
	return tgbotapi.NewInlineKeyboardMarkup(row)
}

func mediatorCaseKeyboard(r *Request, id int64) tgbotapi.InlineKeyboardMarkup {
	return tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		r.InlineButton("mediation.write_citizen", caseData("w", id)),
		r.InlineButton("mediation.close", caseData("c", id))))
}

// caseButton handles "mc:verb:case[:arg]": write (w), close (c), outcome
// (o), withdraw (x, confirmed with X, kept with k). The sender must be the
// case's citizen or mediator, whatever the button says.
func (h *Handlers) caseButton(r *Request) error {
	verb, rest, _ := strings.Cut(r.Data, ":")
	idText, arg, _ := strings.Cut(rest, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return invalid("error.button_outdated", nil)
	}
	c, err := h.db.Case(r.ctx, id)
	if err != nil {
		return notFound("mediation.not_your_case")
	}
	isCitizen, isMediator := c.IsCitizen(r.UserID), c.IsMediator(r.UserID)
	if isMediator {
		if ok, err := h.hasRole(r, storage.RoleMediator); err != nil {
			return err
		} else if !ok {
			isMediator = false
		}
	}
	switch verb {
	case "w":
		if !isCitizen && !isMediator {
			return forbidden("mediation.not_your_case")
		}
		if c.Status != storage.CaseAccepted {
			return invalid("mediation.not_open", map[string]any{"Case": c.Number()})
		}
		if r.State.Flow == unsentFlow && r.State.Get("case") == idText {
			// ↩️ Reply pressed with a text of theirs kept for this case
			// ("Send it?"): that text is what they meant to write.
			return h.sendUnsent(r)
		}
		data := map[string]string{"case": idText}
		if isMediator {
			// The latest citizen's message the mediator has seen when the
			// chat opens (relayOtherWrote).
			last, _, err := h.db.LatestRelayTo(r.ctx, r.UserID, 0, 0)
			if err != nil {
				return err
			}
			data["seen"] = id64(last)
		}
		return h.StartFlow(r, "relay", data)
	case "c", "o":
		if !isMediator {
			return forbidden("mediation.not_your_case")
		}
		if c.Status != storage.CaseAccepted {
			return invalid("mediation.not_open", map[string]any{"Case": c.Number()})
		}
		if verb == "c" {
			return h.StartFlow(r, "mclose", map[string]string{"case": idText})
		}
		// An outcome's button (mc:o:ID:OUTCOME): its case's note next.
		if !slices.Contains(outcomes, arg) {
			return invalid("error.button_outdated", nil)
		}
		r.EditAside(r.T("mediation.ask_outcome", map[string]any{"Case": c.Number()})+"\n"+r.T("mediation.outcome_"+arg, nil), nil)
		return h.startFlowAt(r, "mclose", "note", map[string]string{"case": idText, "outcome": arg})
	case "x", "X", "k":
		if !isCitizen {
			return forbidden("mediation.not_your_case")
		}
		if c.Status != storage.CaseWaiting {
			return invalid("mediation.not_waiting", map[string]any{"Case": c.Number()})
		}
		switch verb {
		case "x":
			_, err := r.ReplyInline(r.T("mediation.withdraw_confirm", map[string]any{"Case": c.Number()}), tgbotapi.NewInlineKeyboardMarkup(
				tgbotapi.NewInlineKeyboardRow(r.InlineButton("mediation.withdraw_yes", caseData("X", id)),
					r.InlineButton("mediation.withdraw_no", caseData("k", id)))))
			return err
		case "k":
			return r.Edit(r.T("mediation.withdraw_kept", map[string]any{"Case": c.Number()}), nil)
		}
		return h.withdraw(r, c)
	}
	return invalid("error.button_outdated", nil)
}

// withdraw ends the citizen's waiting case; an open offer is taken back.
func (h *Handlers) withdraw(r *Request, c storage.Case) error {
	ok := false
	err := h.inTx(r.ctx, func(tx *storage.Tx) error {
		var err error
		if ok, err = tx.WithdrawCase(c.ID, r.UserID); err != nil || !ok {
			return err
		}
		if err := tx.CancelTimer(timerEscalate, id64(c.ID)); err != nil {
			return err
		}
		return h.withdrawOffers(tx, c, "mediation.offer_withdrawn_citizen")
	})
	if err != nil {
		return err
	}
	if !ok {
		return invalid("mediation.not_waiting", map[string]any{"Case": c.Number()})
	}
	return r.Edit(r.T("mediation.withdrawn", map[string]any{"Case": c.Number()}), nil)
}

// relayFlow passes what one side of an accepted case types to the other.
func (h *Handlers) relayFlow() *Flow {
	return &Flow{
		Name:  "relay",
		First: "msg",
		Steps: map[string]Step{"msg": {
			Ask: func(r *Request) error {
				id, _ := strconv.ParseInt(r.State.Get("case"), 10, 64)
				c, err := h.db.Case(r.ctx, id)
				if err != nil {
					return err
				}
				to := r.T("mediation.to_citizen", nil)
				if c.IsCitizen(r.UserID) {
					p, err := h.db.StaffProfile(r.ctx, valueOf(c.MediatorID))
					if err != nil {
						return err
					}
					to = r.T("mediation.to_mediator", map[string]any{"Name": p.DisplayName})
				}
				kb := tgbotapi.NewReplyKeyboard(tgbotapi.NewKeyboardButtonRow(r.Button("mediation.leave")))
				kb.ResizeKeyboard = true
				return r.ReplyKeyboard(r.T("mediation.relay_start", map[string]any{"Case": c.Number(), "To": to}), kb)
			},
			Answer: h.relay,
		}},
		OnCancel: h.leaveRelay,
		Answers: []Answer{{Key: "case", Label: "privacy.answer_case", Value: caseAnswer}, {Key: "seen", Hidden: true},
			{Key: "held", Hidden: true}},
		Media: true,
		// "Помощь", "Назад", "I need help" typed in the chat are words for
		// the other side; only the keyboard's Leave (or /cancel) leaves.
		FreeText: true,
		Exits:    []string{"mediation.leave"},
		LeftKey:  "mediation.relay_left", // a command ends the chat: say so
	}
}

func valueOf(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// leaveRelay ends the chat mode. Its words typed outside one ("Выйти",
// "Exit" at the menu) are the main menu.
func (h *Handlers) leaveRelay(r *Request) error {
	if r.Left.Flow != "relay" {
		return h.sendMenu(r, "menu.main")
	}
	return h.sendMenu(r, "mediation.relay_left")
}

// relay sends one message of the user to the other side of the case: text
// as a message of the bot's, a photo, document, voice message, audio or
// video as a copy (copyMessage: it does not show the sender's account)
// whose caption names the case and the sender, then the user's caption.
func (h *Handlers) relay(r *Request) (string, error) {
	media, caption := r.Media(), ""
	if media {
		caption = CleanText(r.Message.Caption)
		// Telegram counts a caption in UTF-16 units (an emoji may be two),
		// so the answer gives no count that would not match the user's.
		if len(utf16.Encode([]rune(caption))) > relayCaptionMax {
			return Stay, invalid("mediation.relay_caption_long", map[string]any{"Max": relayCaptionMax})
		}
	} else if r.Text == "" || r.Command != "" {
		return Stay, invalid("mediation.relay_text_only", nil)
	}
	if n := utf8.RuneCountInString(r.Text); n > relayMax {
		return refuseLong(r, "mediation.relay_long", map[string]any{"Count": n, "Max": relayMax}, r.Text)
	}
	id, _ := strconv.ParseInt(r.State.Get("case"), 10, 64)
	if other, err := h.relayOtherWrote(r, id); other != 0 || err != nil {
		if err != nil {
			return Stay, err
		}
		// Not sent, and a text sent back: the mediator answers the
		// other case with its ↩️ Reply, or this one by sending it again.
		data := map[string]any{"Case": storage.CaseNumber(id), "Other": storage.CaseNumber(other)}
		if r.Text == "" {
			return Stay, r.ReplyKey("mediation.relay_other_wrote", data)
		}
		return refuseLong(r, "mediation.relay_other_wrote", data, r.Text)
	}
	// Handled again after its commit (a replica took the message over),
	// the message is not relayed a second time.
	sent, _, err := h.stepOnce(r, "case.relay", func(tx *storage.Tx) (string, error) {
		c, err := tx.Case(id)
		if err != nil {
			return "", err
		}
		if c.Status != storage.CaseAccepted || (!c.IsCitizen(r.UserID) && !c.IsMediator(r.UserID)) {
			return "", nil
		}
		var to int64
		var prefix string
		if c.IsMediator(r.UserID) {
			to = valueOf(c.CitizenID)
			p, err := h.db.StaffProfile(r.ctx, r.UserID)
			if err != nil {
				return "", err
			}
			prefix = h.cat.T(h.langOf(r.ctx, to), "mediation.relay_from_mediator", map[string]any{"Case": c.Number(), "Name": p.DisplayName})
		} else {
			to = valueOf(c.MediatorID)
			name := ""
			if u := r.Update.SentFrom(); u != nil {
				name = CleanText(u.FirstName)
			}
			prefix = h.cat.T(h.langOf(r.ctx, to), "mediation.relay_from_citizen", map[string]any{"Case": c.Number(), "Name": name})
		}
		kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
			tgbotapi.NewInlineKeyboardButtonData(h.cat.T(h.langOf(r.ctx, to), "mediation.reply", nil), caseData("w", id))))
		// The ref lets the sender be told, in a reply to this message, if
		// Telegram will not deliver it (deliver, giveUp).
		ref := relayRef(id, !c.IsMediator(r.UserID), r.Message)
		// What the sender is told names whom and which case: a mediator
		// with two chats sees where the message went.
		sentTo := "mediation.to_mediator_unnamed"
		if c.IsMediator(r.UserID) {
			sentTo = "mediation.to_citizen"
		}
		if media {
			m := botProtectedTo(to, strings.TrimSpace(prefix+"\n\n"+caption), &kb)
			m.Copy = &bot.Copy{FromChatID: r.Message.Chat.ID, MessageID: r.Message.MessageID}
			return sentTo, h.notify(tx, Notice{Message: m, Ref: ref})
		}
		return sentTo, h.notify(tx, Notice{Message: botProtectedTo(to, prefix+"\n\n"+r.Text, &kb), Ref: ref})
	})
	if err != nil {
		return Stay, err
	}
	if sent == "" {
		return End, h.sendMenuText(r, r.T("mediation.not_open", map[string]any{"Case": storage.CaseNumber(id)}))
	}
	return Stay, r.ReplyKey("mediation.relay_sent", map[string]any{"Case": storage.CaseNumber(id), "To": r.T(sent, nil)})
}

// relayOtherWrote guards a mediator holding several chats: in the chat of
// case id, a message typed after another case's citizen wrote to them
// (since the chat opened, or since they last insisted) is most likely
// that citizen's answer, typed without pressing ↩️ Reply — a message meant
// for one citizen delivered to another. It returns that other case, and
// keeps returning it for every message (a mediator types in short bursts)
// until the mediator sends a refused text again, word for word, which
// goes: the chat's state keeps the latest message seen ("seen") and a
// digest of the text refused ("held"). A photo or file refused is sent by
// opening this case's chat again (its button sets "seen"). A citizen, or
// a chat opened before this guard, gets 0.
func (h *Handlers) relayOtherWrote(r *Request, id int64) (int64, error) {
	seenText := r.State.Get("seen")
	if seenText == "" {
		return 0, nil
	}
	seen, _ := strconv.ParseInt(seenText, 10, 64)
	last, ref, err := h.db.LatestRelayTo(r.ctx, r.UserID, seen, id)
	if err != nil || last == 0 {
		return 0, err
	}
	other, _, _, ok := parseRelayRef(ref)
	if !ok {
		return 0, nil
	}
	if r.Text != "" {
		if digest := textDigest(r.Text); r.State.Get("held") != digest {
			r.State.Set("held", digest)
		} else {
			// Sent again: this case is meant.
			r.State.Set("seen", id64(last))
			delete(r.State.Data, "held")
			return 0, nil
		}
	}
	return other, nil
}

// textDigest is a short digest of a text, to know it again without
// keeping it (relayOtherWrote).
func textDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// relayRef names the outbox row of a relayed message: "relay:", the case,
// who wrote it ("c" the citizen, "m" the mediator) and the id of their
// message in their chat (0 for none). It holds no user id: the sender is
// read from the case (relayUndelivered).
func relayRef(caseID int64, byCitizen bool, m *tgbotapi.Message) string {
	msg, by := 0, "m"
	if m != nil {
		msg = m.MessageID
	}
	if byCitizen {
		by = "c"
	}
	return "relay:" + id64(caseID) + ":" + by + ":" + strconv.Itoa(msg)
}

// parseRelayRef reads relayRef's ref; ok is false for any other ref.
func parseRelayRef(ref string) (caseID int64, byCitizen bool, msg int, ok bool) {
	parts := strings.Split(ref, ":")
	if len(parts) != 4 || parts[0] != "relay" || (parts[2] != "c" && parts[2] != "m") {
		return 0, false, 0, false
	}
	caseID, err1 := strconv.ParseInt(parts[1], 10, 64)
	msg, err2 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil || caseID <= 0 || msg < 0 {
		return 0, false, 0, false
	}
	return caseID, parts[2] == "c", msg, true
}

// relayUndelivered tells the sender of a relayed message m that Telegram
// refused it for good (errText, classifySendError's), in tx: in a reply to
// their message, naming the case, when they sent it and to whom, and why
// when Telegram said — a photo or file deleted before its copy went, the
// recipient out of reach (they blocked the bot, or their account is gone).
//
// The sender is the case's citizen, or its mediator if the case has not
// been taken by another mediator since (accepted after the message was
// written); nobody is told when the sender is not on the case any more
// (erased their data, lost the case).
func (h *Handlers) relayUndelivered(ctx context.Context, tx *storage.Tx, m storage.OutboxMessage, errText string) error {
	caseID, byCitizen, msg, ok := parseRelayRef(m.Ref)
	if !ok {
		return nil
	}
	c, err := tx.Case(caseID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var from int64
	switch {
	case byCitizen:
		from = valueOf(c.CitizenID)
	case c.AcceptedAt != nil && !c.AcceptedAt.After(m.CreatedAt):
		from = valueOf(c.MediatorID)
	}
	if from == 0 || from == m.ChatID || (m.CopyFrom != 0 && m.CopyFrom != from) {
		return nil
	}
	lang := h.langOf(ctx, from)
	to := h.cat.T(lang, "mediation.to_citizen", nil)
	if byCitizen {
		to = h.cat.T(lang, "mediation.to_mediator_unnamed", nil) // a mediator removed since has no profile
		if p, err := h.db.StaffProfile(ctx, m.ChatID); err == nil && p.DisplayName != "" {
			to = h.cat.T(lang, "mediation.to_mediator", map[string]any{"Name": p.DisplayName})
		}
	}
	key := "mediation.relay_undelivered"
	switch {
	case m.CopyMessage != 0 && strings.Contains(strings.ToLower(errText), "message to copy not found"):
		key = "mediation.relay_undelivered_deleted"
	case strings.HasPrefix(errText, "403 "):
		key = "mediation.relay_undelivered_blocked"
	}
	text := h.cat.T(lang, key, map[string]any{"Case": c.Number(), "To": to, "Date": m.CreatedAt.In(kzZone).Format("02.01 15:04")})
	return h.notify(tx, Notice{Message: bot.Message{ChatID: from, Text: text, ReplyTo: msg}})
}

// rateButton handles "mr:case:n": the citizen rates a closed case 1 to 5.
func (h *Handlers) rateButton(r *Request) error {
	idText, nText, _ := strings.Cut(r.Data, ":")
	id, err1 := strconv.ParseInt(idText, 10, 64)
	n, err2 := strconv.Atoi(nText)
	if err1 != nil || err2 != nil || n < 1 || n > 5 {
		return invalid("error.button_outdated", nil)
	}
	c, err := h.db.Case(r.ctx, id)
	if err != nil || !c.IsCitizen(r.UserID) {
		return forbidden("mediation.not_your_case")
	}
	ok := false
	err = h.inTx(r.ctx, func(tx *storage.Tx) error {
		var err error
		if ok, err = tx.RateCase(id, r.UserID, n); err != nil || !ok {
			return err
		}
		if m := valueOf(c.MediatorID); m != 0 {
			return h.notify(tx, Notice{Message: botText(m, h.tr(r.ctx, m, "mediation.rated_mediator", map[string]any{"Case": c.Number(), "Rating": n}))})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !ok {
		return invalid("mediation.rate_once", nil)
	}
	rated := r.T("mediation.rated", map[string]any{"Case": c.Number(), "Stars": strings.Repeat("⭐", n)})
	if r.Callback == nil {
		if err := r.Reply(rated); err != nil { // typed (ratingTyped)
			return err
		}
	}
	r.EditAside(rated, nil)
	return h.StartFlow(r, "mrate", map[string]string{"case": idText})
}

// ratingWords are the words beside a typed rating ("5 баллов", "бес
// жұлдыз", "5 қоямын"), left out before it is read as a count.
var ratingWords = strings.NewReplacer("баллов", "", "балла", "", "балл", "", "ұпай", "", "жұлдыз", "", "жулдыз", "",
	"звезды", "", "звёзд", "", "звезд", "", "қоямын", "", "коямын", "", "ставлю", "", "stars", "", "star", "")

// ratingWindow is how long after a case is closed a rating typed instead
// of pressed ("5") is taken for it.
const ratingWindow = 14 * 24 * time.Hour

// ratingTyped takes "5", "5 баллов", "⭐⭐⭐⭐" or "бес" from a citizen whose
// case was closed within ratingWindow and has no rating yet as the press
// of that rating's button: the stars were asked for under the closing
// message, and a grandmother types the number. It reports whether it did.
func (h *Handlers) ratingTyped(r *Request) (bool, error) {
	// One number, alone or with the words of a rating: "Бізде бес адам"
	// (a family) is none.
	n := 0
	if strings.TrimSpace(strings.ReplaceAll(r.Text, "⭐", "")) == "" {
		n = strings.Count(r.Text, "⭐")
	} else if ws := words(ratingWords.Replace(r.Text)); len(ws) == 1 {
		if d, err := strconv.Atoi(ws[0]); err == nil {
			n = d
		} else {
			n = countWords[locales.Fold(ws[0])]
		}
	}
	if n < 1 || n > 5 {
		return false, nil
	}
	mine, err := h.citizenCases(r)
	if err != nil {
		return false, err
	}
	for _, c := range mine {
		if c.Status == storage.CaseClosed && c.Rating == nil && c.ClosedAt != nil && h.now().Sub(*c.ClosedAt) < ratingWindow {
			r.Data = id64(c.ID) + ":" + strconv.Itoa(n)
			return true, h.rateButton(r)
		}
	}
	return false, nil
}

// rateFlow asks the optional comment of a rating.
func (h *Handlers) rateFlow() *Flow {
	return &Flow{Name: "mrate", First: "comment", Steps: map[string]Step{"comment": {
		Ask: func(r *Request) error {
			_, err := r.ReplyInline(r.T("mediation.ask_comment", map[string]any{"Max": noteMax}), tgbotapi.NewInlineKeyboardMarkup(
				tgbotapi.NewInlineKeyboardRow(r.InlineButton("mediation.skip", StepData("comment", "skip")))))
			return err
		},
		Answer: func(r *Request) (string, error) {
			if r.Callback == nil && h.labelMatches(r.Text, "mediation.skip") {
				r.Data = "skip" // the button's label typed
			}
			if r.Data == "skip" {
				r.EditAside(r.T("mediation.ask_comment", map[string]any{"Max": noteMax}), nil)
				return End, h.sendMenu(r, "mediation.thanks")
			}
			if r.Text == "" {
				return Stay, invalid("mediation.note_invalid", map[string]any{"Max": noteMax})
			}
			if utf8.RuneCountInString(r.Text) > noteMax {
				return refuseLong(r, "mediation.note_invalid", map[string]any{"Max": noteMax}, r.Text)
			}
			id, _ := strconv.ParseInt(r.State.Get("case"), 10, 64)
			err := h.inTx(r.ctx, func(tx *storage.Tx) error {
				_, err := tx.CommentRating(id, r.UserID, r.Text)
				return err
			})
			if err != nil {
				return Stay, err
			}
			return End, h.sendMenu(r, "mediation.thanks")
		},
		FreeText: true,
	}}, Answers: []Answer{{Key: "case", Label: "privacy.answer_case", Value: caseAnswer}}}
}
