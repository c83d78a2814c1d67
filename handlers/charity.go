package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// Charity: the Charity submenu, the citizen's help request (consent, kind,
// family size, description, place, phone, confirm), /requests for citizens
// (withdraw). The coordinators' side is in charity_coordinator.go;
// volunteering at events in events.go.

// helpConsent is the version of the consent text "consent.charity"; change
// it whenever the text changes.
const helpConsent = "2026-11-28"

// Limits of a help request.
const (
	familyMin        = 1
	familyMax        = 20
	helpDescMax      = 1000
	helpNoteMax      = 500
	helpListMax      = 20
	helpRequestsShow = 10
	// helpUnclaimedAfter is how long a request may wait open before the
	// administrators are alerted that no coordinator took it.
	helpUnclaimedAfter = 24 * time.Hour
	timerHelpUnclaimed = "help.unclaimed"
)

// charityMenu shows the Charity submenu. It is a one-step flow, so that
// Back returns to the main menu.
func (h *Handlers) charityMenu(r *Request) error { return h.StartFlow(r, "charity", nil) }

func (h *Handlers) charityMenuFlow() *Flow {
	return &Flow{
		Name:     "charity",
		First:    "menu",
		OnCancel: h.menu,
		Steps: map[string]Step{
			"menu": {
				Ask: func(r *Request) error {
					kb := tgbotapi.NewReplyKeyboard(
						tgbotapi.NewKeyboardButtonRow(r.Button("charity.need_help"), r.Button("charity.volunteer")),
						tgbotapi.NewKeyboardButtonRow(r.Button("charity.my_requests"), r.Button("charity.my_registrations")),
						tgbotapi.NewKeyboardButtonRow(r.Button("btn.back")),
					)
					kb.ResizeKeyboard = true
					return r.ReplyKeyboard(r.T("charity.menu", nil), kb)
				},
				Answer: func(r *Request) (string, error) { return Stay, invalid("charity.use_buttons", nil) },
			},
		},
	}
}

// askHelp starts the help request flow; the consent step is skipped when
// the user already agreed to this version of the text.
func (h *Handlers) askHelp(r *Request) error {
	return h.startAfterConsent(r, "help", "charity", helpConsent, "kind")
}

// helpNext is next, or the summary when the user is changing one answer.
func helpNext(r *Request, next string) string {
	if r.State.Get("editing") != "" {
		return "confirm"
	}
	return next
}

// helpKindLabel is the message id of the label of a kind of help.
func helpKindLabel(kind string) string { return "help.kind_" + kind }

// helpFlow is the citizen's request for charity help.
func (h *Handlers) helpFlow() *Flow {
	return &Flow{
		Name:   "help",
		First:  ConsentStep,
		OnBack: h.charityMenu, // the Charity menu it is chosen from
		Steps: map[string]Step{
			ConsentStep:   h.consentStep("charity", helpConsent, "kind"),
			"kind":        {Ask: h.helpAskKind, Answer: h.helpAnswerKind},
			"exists":      {Ask: h.helpAskExists, Answer: h.helpAnswerExists},
			"family":      {Ask: h.helpAskFamily, Answer: h.helpAnswerFamily},
			"description": {Ask: h.helpAskDescription, Answer: h.helpAnswerDescription, FreeText: true},
			"where":       {Ask: h.helpAskWhere, Answer: h.helpAnswerWhere},
			"phone":       {Ask: h.helpAskPhone, Answer: h.helpAnswerPhone},
			"confirm":     {Ask: h.helpAskConfirm, Answer: h.helpAnswerConfirm},
			"edit":        {Ask: h.helpAskEdit, Answer: h.helpAnswerEdit},
		},
		Answers: append([]Answer{
			{Key: "kind", Label: "help.field_kind", Value: codeAnswer("help.kind_", storage.HelpKinds)},
			{Key: "family", Label: "help.field_family"},
			{Key: "description", Label: "help.field_description"},
			{Key: "place", Label: "help.field_where"},
			{Key: "region", Label: "privacy.answer_region", Value: h.regionAnswer},
			{Key: "phone", Label: "help.field_phone", Value: phoneAnswer},
		}, hiddenAnswers("places", "typed_place", "editing", "existing", "update", "not_sent", "declined")...),
	}
}

func (h *Handlers) helpAskKind(r *Request) error {
	var rows [][]tgbotapi.InlineKeyboardButton
	var row []tgbotapi.InlineKeyboardButton
	for _, k := range storage.HelpKinds {
		row = append(row, r.InlineButton(helpKindLabel(k), StepData("kind", k)))
		if len(row) == 2 {
			rows, row = append(rows, row), nil
		}
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	if err := r.ReplyKeyboard(r.T("help.flow_hint", nil), r.FlowKeyboard()); err != nil {
		return err
	}
	_, err := r.ReplyInline(r.T("help.ask_kind", nil), tgbotapi.NewInlineKeyboardMarkup(rows...))
	return err
}

func (h *Handlers) helpAnswerKind(r *Request) (string, error) {
	kind := r.Data
	if kind == "" {
		for _, k := range storage.HelpKinds {
			if h.labelMatches(r.Text, helpKindLabel(k)) {
				kind = k
			}
		}
	}
	if !storage.IsHelpKind(kind) {
		return Stay, pressButtons("help.kind_invalid")
	}
	r.State.Set("kind", kind)
	r.State.Set("update", "")
	r.EditAside(r.T("help.ask_kind", nil)+"\n"+r.T(helpKindLabel(kind), nil), nil)
	open, err := h.db.OpenHelpRequest(r.ctx, r.UserID, kind)
	switch {
	case err == nil:
		r.State.Set("existing", strconv.FormatInt(open.ID, 10))
		return "exists", nil
	case !errors.Is(err, storage.ErrNotFound):
		return Stay, err
	}
	return helpNext(r, "family"), nil
}

// helpAskExists says the user already has an open request of the kind and
// asks whether to update it.
func (h *Handlers) helpAskExists(r *Request) error {
	id, _ := strconv.ParseInt(r.State.Get("existing"), 10, 64)
	req, err := h.db.HelpRequest(r.ctx, id)
	if err != nil {
		return err
	}
	_, err = r.ReplyInline(r.T("help.exists", map[string]any{"Number": req.Number(),
		"Kind": r.T(helpKindLabel(req.Kind), nil), "Status": r.T("help.status_"+req.Status, nil)}),
		tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
			r.InlineButton("help.btn_update", StepData("exists", "update")),
			r.InlineButton("help.btn_keep", StepData("exists", "keep")))))
	return err
}

func (h *Handlers) helpAnswerExists(r *Request) (string, error) {
	switch r.Data {
	case "update":
		r.State.Set("update", r.State.Get("existing"))
		r.Answer("")
		r.EditAside(r.T("help.updating", nil), nil)
		if r.State.Get("phone") != "" {
			return "confirm", nil // every answer is given: back to the summary
		}
		return helpNext(r, "family"), nil
	case "keep":
		r.EditAside(r.T("help.kept_open", nil), nil)
		return End, h.sendMenu(r, "help.see_requests")
	}
	return Stay, pressButtons("help.press_button")
}

func (h *Handlers) helpAskFamily(r *Request) error {
	var row []tgbotapi.KeyboardButton
	for i := 1; i <= 6; i++ {
		row = append(row, tgbotapi.NewKeyboardButton(strconv.Itoa(i)))
	}
	return r.ReplyKeyboard(r.T("help.ask_family", map[string]any{"Min": familyMin, "Max": familyMax}), r.FlowKeyboard(row))
}

func (h *Handlers) helpAnswerFamily(r *Request) (string, error) {
	n, err := leadingCount(r.Text)
	if err != nil || n < familyMin || n > familyMax {
		return Stay, invalid("help.family_invalid", map[string]any{"Min": familyMin, "Max": familyMax})
	}
	r.State.Set("family", strconv.Itoa(n))
	return helpNext(r, "description"), nil
}

func (h *Handlers) helpAskDescription(r *Request) error {
	return r.ReplyKeyboard(r.T("help.ask_description", map[string]any{"Max": helpDescMax}), r.FlowKeyboard())
}

func (h *Handlers) helpAnswerDescription(r *Request) (string, error) {
	if r.Text == "" {
		return Stay, invalid("help.description_text", nil)
	}
	// In words: "1" or "!!!" tells a coordinator nothing ("Нет еды" does).
	if !strings.ContainsFunc(r.Text, unicode.IsLetter) {
		return Stay, invalid("help.description_words", nil)
	}
	if n := utf8.RuneCountInString(r.Text); n > helpDescMax {
		// Nothing is lost: the text is sent back to be shortened.
		return refuseLong(r, "help.description_long", map[string]any{"Max": helpDescMax, "Count": n}, r.Text)
	}
	r.State.Set("description", r.Text)
	return helpNext(r, "where"), nil
}

// helpPlace is a town (or only a region) the user can choose for a request.
type helpPlace struct {
	Region string `json:"r"`
	Place  string `json:"p,omitempty"`
}

func (h *Handlers) helpAskWhere(r *Request) error {
	return r.ReplyKeyboard(r.T("help.ask_where", nil), r.FlowKeyboard(
		tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonLocation(r.T("help.btn_location", nil)))))
}

// helpAnswerWhere takes a shared location, a typed town, or a town or
// region chosen among namesakes and suggestions.
func (h *Handlers) helpAnswerWhere(r *Request) (string, error) {
	switch {
	case strings.HasPrefix(r.Data, "r:"):
		// A region, after a name the bot does not know: the name as
		// typed goes with it.
		if _, ok := h.gaz.Region(r.Data[2:]); !ok {
			r.Answer(r.T("error.button_outdated", nil))
			return Stay, nil
		}
		return h.helpSetPlace(r, helpPlace{Region: r.Data[2:], Place: r.State.Get("typed_place")})
	case r.Data != "":
		p, ok := h.helpChosenPlace(r)
		if !ok {
			r.Answer(r.T("error.button_outdated", nil))
			return Stay, nil
		}
		return h.helpSetPlace(r, p)
	case r.Location() != nil:
		loc := r.Location()
		if !h.gaz.OnKazakhstanSide(loc.Latitude, loc.Longitude) {
			return Stay, invalid("help.where_outside", nil)
		}
		s, _ := h.gaz.Nearest(loc.Latitude, loc.Longitude)
		if s.Region == "" {
			return Stay, invalid("help.where_outside", nil)
		}
		return h.helpSetPlace(r, helpPlace{Region: s.Region, Place: s.Name[r.Lang]})
	case r.Text == "":
		return Stay, invalid("help.where_text", nil)
	}
	matches := h.gaz.Search(r.Text, 10)
	var exact, near []helpPlace
	seen := map[string]bool{}
	for _, m := range matches {
		p := helpPlace{Region: m.Region, Place: m.Name[r.Lang]}
		if m.Distance == 0 {
			if !seen[m.Region] {
				seen[m.Region] = true
				exact = append(exact, p)
			}
		} else if len(near) < 5 {
			near = append(near, p)
		}
	}
	switch {
	case len(exact) == 1:
		return h.helpSetPlace(r, exact[0])
	case len(exact) > 1:
		return Stay, h.helpOfferPlaces(r, "help.where_namesakes", exact, false)
	}
	if code := h.regionTyped(r.Text); code != "" {
		// "Түркістан облысы", as its button below would say.
		return h.helpSetPlace(r, helpPlace{Region: code})
	}
	// Not known: the names a typo or two away ("Манкент": Жаркент, 700 km
	// off), then every region, so that a village the gazetteer lacks goes
	// to its own region's coordinators, with its name as typed (unless it
	// has no letters: an emoji).
	r.State.Set("typed_place", "")
	if hasWords(r.Text) {
		r.State.Set("typed_place", truncateRunes(r.Text, 100))
	}
	if len(near) > 0 {
		return Stay, h.helpOfferPlaces(r, "help.where_suggest", near, true)
	}
	return Stay, h.helpOfferPlaces(r, "help.where_unknown", nil, true)
}

// helpOfferPlaces asks the user to choose among places, and among the
// regions when regions is true; the places are kept in the state and their
// buttons carry only their index, a region's its code ("r:CODE").
func (h *Handlers) helpOfferPlaces(r *Request, key string, places []helpPlace, regions bool) error {
	buf, err := json.Marshal(places)
	if err != nil {
		return err
	}
	r.State.Set("places", string(buf))
	var rows [][]tgbotapi.InlineKeyboardButton
	for i, p := range places {
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(
			tgbotapi.NewInlineKeyboardButtonData(h.placeName(r.Lang, p), StepData("where", strconv.Itoa(i)))))
	}
	if regions {
		var all []choice
		for _, reg := range h.gaz.Regions() {
			all = append(all, choice{value: reg.Code, label: reg.Name[r.Lang]})
		}
		rows = append(rows, regionButtons("where", all).InlineKeyboard...)
	}
	_, err = r.ReplyInline(r.T(key, map[string]any{"Text": truncateRunes(r.Text, 60)}), tgbotapi.NewInlineKeyboardMarkup(rows...))
	return err
}

// helpChosenPlace is the place of the pressed button, from the choices kept.
func (h *Handlers) helpChosenPlace(r *Request) (helpPlace, bool) {
	var places []helpPlace
	if err := json.Unmarshal([]byte(r.State.Get("places")), &places); err != nil {
		return helpPlace{}, false
	}
	i, err := strconv.Atoi(r.Data)
	if err != nil || i < 0 || i >= len(places) {
		return helpPlace{}, false
	}
	if _, ok := h.gaz.Region(places[i].Region); !ok {
		return helpPlace{}, false
	}
	return places[i], true
}

func (h *Handlers) helpSetPlace(r *Request, p helpPlace) (string, error) {
	r.State.Set("region", p.Region)
	r.State.Set("place", p.Place)
	r.State.Set("places", "")
	delete(r.State.Data, "typed_place")
	r.EditAside(r.T("help.where_chosen", map[string]any{"Place": h.placeName(r.Lang, p)}), nil)
	return helpNext(r, "phone"), nil
}

// placeName is "Town, Region", or the region alone, in lang.
func (h *Handlers) placeName(lang string, p helpPlace) string {
	reg, ok := h.gaz.Region(p.Region)
	name := p.Region
	if ok {
		name = reg.Name[lang]
	}
	if p.Place == "" || (ok && placeBesideRegion(p.Place, reg) == "") {
		return name
	}
	return p.Place + ", " + name
}

func (h *Handlers) helpAskPhone(r *Request) error {
	return r.ReplyKeyboard(r.T("help.ask_phone", nil), r.FlowKeyboard(
		tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonContact(r.T("help.btn_phone", nil)))))
}

func (h *Handlers) helpAnswerPhone(r *Request) (string, error) {
	var phone string
	if c := r.Contact(); c != nil {
		if c.UserID != r.UserID {
			return Stay, invalid("help.phone_not_own", nil)
		}
		var ok bool
		if phone, ok = contactPhone(c.PhoneNumber); !ok {
			return Stay, invalid("help.phone_invalid", nil)
		}
	} else {
		var ok bool
		if phone, ok = ParsePhone(r.Text); !ok {
			if len(phonesIn(r.Text)) > 1 {
				// "менің нөмірім …, ұлымның нөмірі …": both are
				// Kazakhstan numbers; one is asked for.
				return Stay, invalid("help.phone_one", nil)
			}
			return Stay, invalid("help.phone_invalid", nil)
		}
	}
	r.State.Set("phone", phone)
	return "confirm", nil
}

// ParsePhone reads a typed Kazakhstan phone number: +7 and ten digits, the
// first of them 6 or 7 (+7 9.. and others are Russia), written with or
// without spaces, dashes and brackets, with 8 or 7 instead of +7, or
// without it (701 123 45 67), alone or with words around it ("номерим
// 87011234567", "мой номер: +7 701 123 45 67"; phoneIn). It returns the
// number as +7XXXXXXXXXX.
func ParsePhone(s string) (string, bool) {
	if p, ok := parsePhone(s); ok {
		return p, true
	}
	return phoneIn(s)
}

// phoneRun is a run of what a phone number is written with, from a digit
// (or + or a bracket) to a digit.
var phoneRun = regexp.MustCompile(`[+(]?[0-9][0-9 ()\-\x{00a0}]*[0-9]`)

// phoneIn is the one Kazakhstan number among words ("номерим
// 87011234567"); two numbers, or none, are none.
func phoneIn(s string) (string, bool) {
	if ps := phonesIn(s); len(ps) == 1 {
		return ps[0], true
	}
	return "", false
}

// phonesIn are the different Kazakhstan numbers among words.
func phonesIn(s string) []string {
	var found []string
	for _, run := range phoneRun.FindAllString(s, 20) {
		if p, ok := parsePhone(run); ok && !slices.Contains(found, p) {
			found = append(found, p)
		}
	}
	return found
}

// parsePhone is ParsePhone for the number alone.
func parsePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	var d []byte
	plus := false
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			d = append(d, byte(c))
		case c == '+' && i == 0:
			plus = true
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '\u00a0':
		default:
			return "", false
		}
		if len(d) > 11 {
			return "", false
		}
	}
	if !plus && len(d) == 10 && (d[0] == '6' || d[0] == '7') {
		d = append([]byte{'7'}, d...)
	}
	if len(d) != 11 {
		return "", false
	}
	switch {
	case plus && d[0] == '7':
	case !plus && (d[0] == '8' || d[0] == '7'):
		d[0] = '7'
	default:
		return "", false
	}
	if d[1] != '6' && d[1] != '7' {
		return "", false
	}
	return "+" + string(d), true
}

// contactPhone is the number of a contact the user shared (their own,
// checked by Telegram): Kazakhstan numbers are normalised, others kept as
// + and their digits.
func contactPhone(s string) (string, bool) {
	if p, ok := ParsePhone(s); ok {
		return p, true
	}
	if p, ok := ParsePhone("+" + s); ok {
		return p, true
	}
	var d strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			d.WriteRune(c)
		case c == '+' || c == ' ' || c == '-':
		default:
			return "", false
		}
	}
	if d.Len() < 8 || d.Len() > 15 {
		return "", false
	}
	return "+" + d.String(), true
}

// helpFromState is the request the flow collected.
func (h *Handlers) helpFromState(r *Request) storage.HelpRequest {
	family, _ := strconv.Atoi(r.State.Get("family"))
	return storage.HelpRequest{UserID: r.UserID, Kind: r.State.Get("kind"), FamilySize: family,
		Description: r.State.Get("description"), Region: r.State.Get("region"), Place: r.State.Get("place"),
		Phone: r.State.Get("phone")}
}

// helpDetails describes a request in lang; the phone only when withPhone.
func (h *Handlers) helpDetails(lang string, req storage.HelpRequest, withPhone bool) string {
	text := h.cat.T(lang, "help.details", map[string]any{
		"Kind":        h.cat.T(lang, helpKindLabel(req.Kind), nil),
		"Family":      req.FamilySize,
		"Place":       h.placeName(lang, helpPlace{Region: req.Region, Place: req.Place}),
		"Description": req.Description,
	})
	if withPhone {
		text += "\n" + h.cat.T(lang, "help.phone_line", map[string]any{"Phone": spacedPhone(req.Phone)})
	}
	return text
}

func (h *Handlers) helpAskConfirm(r *Request) error {
	r.State.Set("editing", "")
	r.State.Set("declined", "") // the summary is asked anew
	if err := h.saveState(r); err != nil {
		return err
	}
	key := "help.summary"
	if r.State.Get("update") != "" {
		key = "help.summary_update"
	}
	text := r.T(key, nil) + "\n\n" + h.helpDetails(r.Lang, h.helpFromState(r), true)
	if err := r.ReplyKeyboard(text, r.FlowKeyboard()); err != nil {
		return err
	}
	_, err := r.ReplyInline(r.T("help.confirm_q", nil), tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		r.InlineButton("help.btn_confirm", StepData("confirm", "yes")),
		r.InlineButton("help.btn_edit", StepData("confirm", "edit")),
		r.InlineButton("help.btn_cancel", StepData("confirm", "no")))))
	return err
}

func (h *Handlers) helpAnswerConfirm(r *Request) (string, error) {
	if r.Callback == nil {
		// A button's label typed, in any language ("Подтвердить", "иә").
		r.Data = h.typedButton(r.Text, map[string]string{"help.btn_confirm": "yes", "help.btn_edit": "edit", "help.btn_cancel": "no",
			"help.not_sent": "not"})
		// After a typed "no" the question is "edit or cancel?": a typed
		// "yes" ("да", "иә") answers that, not the summary. Nothing is sent;
		// the summary is shown again with Confirm, where the next "yes"
		// sends. The Confirm button, or its label typed, sends at once.
		if r.Data == "yes" && r.State.Get("declined") != "" && !h.typedLabel(r.Text, "help.btn_confirm") {
			return "confirm", nil
		}
	}
	// The question the pressed button belongs to, marked with the answer:
	// "Send the request?", or the reply to a typed "no".
	asked := r.T("help.confirm_q", nil)
	var notSent []string // the replies to a typed "no", the last three
	if ids := r.State.Get("not_sent"); ids != "" {
		notSent = strings.Split(ids, ",")
	}
	if r.Callback != nil && r.Callback.Message != nil && slices.Contains(notSent, strconv.Itoa(r.Callback.Message.MessageID)) {
		asked = r.T("help.not_sent", nil)
	}
	switch r.Data {
	case "not":
		// "No" typed ("жоқ", "нет"): whether it means "do not send" or
		// "something is wrong", nothing is sent and nothing is dropped;
		// the other two choices again.
		r.State.Set("declined", "1")
		id, err := r.ReplyInline(r.T("help.not_sent", nil), tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
			r.InlineButton("help.btn_edit", StepData("confirm", "edit")),
			r.InlineButton("help.btn_cancel", StepData("confirm", "no")))))
		// Every such reply is remembered (the last few: the state stays
		// small), so that a button pressed on an earlier one marks it with
		// its own text.
		notSent = append(notSent, strconv.Itoa(id))
		r.State.Set("not_sent", strings.Join(notSent[max(0, len(notSent)-3):], ","))
		return Stay, err
	case "edit":
		r.EditAside(asked, nil)
		return "edit", nil
	case "no":
		r.EditAside(asked, nil)
		return End, h.sendMenu(r, "help.cancelled")
	case "yes":
	default:
		return Stay, pressButtons("help.press_button")
	}
	r.Answer("") // before the request is stored, as the mediation's Confirm (answerConfirm)
	req, updated, err := h.helpSubmit(r)
	var open openExists
	if errors.As(err, &open) {
		r.State.Set("existing", strconv.FormatInt(open.ID, 10))
		return "exists", nil
	}
	if err != nil {
		return Stay, err
	}
	r.EditAside(asked+"\n✅", nil)
	key := "help.received"
	if updated {
		key = "help.updated"
	}
	kb := r.mainMenu()
	_, err = r.Send(bot.Message{Text: r.T(key, map[string]any{"Number": req.Number(),
		"Region": h.placeName(r.Lang, helpPlace{Region: req.Region})}), Keyboard: &kb})
	return End, err
}

// openExists is the error of a submission when the user has an open
// request of the kind: the request.
type openExists struct{ storage.HelpRequest }

func (e openExists) Error() string { return "open request " + e.Number() + " exists" }

// helpSubmit stores the request (or updates the open one the user chose
// to update) and, in the same transaction, offers it to the coordinators
// of its region. The user is told only after it is committed.
func (h *Handlers) helpSubmit(r *Request) (storage.HelpRequest, bool, error) {
	req := h.helpFromState(r)
	updateID, _ := strconv.ParseInt(r.State.Get("update"), 10, 64)
	// The same press handled again after its commit (a replica took it
	// over) is the request it stored or updated: "u" and its id for an
	// update, "n" and its id for a new one.
	var saved storage.HelpRequest
	updated := false
	done, again, err := h.stepOnce(r, "help.submit", func(tx *storage.Tx) (string, error) {
		var err error
		saved, updated, err = h.helpSave(tx, req, updateID)
		if updated {
			return "u" + strconv.FormatInt(saved.ID, 10), err
		}
		return "n" + strconv.FormatInt(saved.ID, 10), err
	})
	if err != nil || !again {
		return saved, updated, err
	}
	id, _ := strconv.ParseInt(done[1:], 10, 64)
	saved, err = h.db.HelpRequest(r.ctx, id)
	return saved, done[0] == 'u', err
}

// helpSave is helpSubmit's transaction: req stored as a new request, or as
// the update of the user's request updateID when that is not 0 and still
// open (updated).
func (h *Handlers) helpSave(tx *storage.Tx, req storage.HelpRequest, updateID int64) (saved storage.HelpRequest, updated bool, err error) {
	if updateID != 0 {
		req.ID = updateID
		if cur, err := tx.HelpRequest(updateID); err == nil && cur.UserID == req.UserID && cur.Active() && sameHelp(cur, req) {
			// Nothing to change (the same answers confirmed again, e.g.
			// from a second device): no notice to the coordinators.
			return cur, true, nil
		}
		saved, err = tx.UpdateHelpRequest(req)
		switch {
		case err == nil:
			return saved, true, h.helpChanged(tx, saved)
		case !errors.Is(err, storage.ErrRequestClosed) && !errors.Is(err, storage.ErrNotFound):
			return saved, false, h.helpOpenErr(tx, req.UserID, req.Kind, err)
		}
		req.ID = 0 // closed meanwhile: a new request
	}
	if saved, err = tx.CreateHelpRequest(req); err != nil {
		err = h.helpOpenErr(tx, req.UserID, req.Kind, err)
		var open openExists
		if errors.As(err, &open) && sameHelp(open.HelpRequest, req) && open.UpdatedAt.After(tx.Now().Add(-time.Hour)) {
			// The same request confirmed again (from a second device, or
			// in an update of its own): the one already stored.
			return open.HelpRequest, false, nil
		}
		return saved, false, err
	}
	if err := tx.ScheduleTimer(timerHelpUnclaimed, strconv.FormatInt(saved.ID, 10), tx.Now().Add(helpUnclaimedAfter)); err != nil {
		return saved, false, err
	}
	return saved, false, h.helpDispatch(tx, saved)
}

// sameHelp tells whether the stored request a holds what b asks (the
// caller also requires a to be recent: an identical request open for weeks
// asks whether to update it, as any open request does).
func sameHelp(a, b storage.HelpRequest) bool {
	return a.Kind == b.Kind && a.FamilySize == b.FamilySize && a.Description == b.Description &&
		a.Region == b.Region && a.Place == b.Place && a.Phone == b.Phone
}

// helpOpenErr turns ErrOpenRequest into openExists with the open request.
func (h *Handlers) helpOpenErr(tx *storage.Tx, userID int64, kind string, err error) error {
	if !errors.Is(err, storage.ErrOpenRequest) {
		return err
	}
	open, err2 := tx.OpenHelpRequest(userID, kind)
	if err2 != nil {
		return err2
	}
	return openExists{open}
}

func (h *Handlers) helpAskEdit(r *Request) error {
	var rows [][]tgbotapi.InlineKeyboardButton
	for _, f := range []string{"kind", "family", "description", "where", "phone"} {
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(r.InlineButton("help.field_"+f, StepData("edit", f))))
	}
	_, err := r.ReplyInline(r.T("help.edit_which", nil), tgbotapi.NewInlineKeyboardMarkup(rows...))
	return err
}

func (h *Handlers) helpAnswerEdit(r *Request) (string, error) {
	switch r.Data {
	case "kind", "family", "description", "where", "phone":
		r.State.Set("editing", "1")
		r.EditAside(r.T("help.edit_which", nil)+"\n"+r.T("help.field_"+r.Data, nil), nil)
		return r.Data, nil
	}
	return Stay, pressButtons("help.press_button")
}

// helpRequests (/requests): a coordinator sees the requests of their
// regions; anyone else their own requests.
func (h *Handlers) helpRequests(r *Request) error {
	ok, err := h.hasRole(r, storage.RoleCoordinator)
	if err != nil {
		return err
	}
	if ok {
		return h.coordinatorRequests(r)
	}
	return h.myRequests(r)
}

// myRequests lists the user's requests, with Withdraw for the active ones.
func (h *Handlers) myRequests(r *Request) error {
	reqs, err := h.db.UserHelpRequests(r.ctx, r.UserID, helpRequestsShow)
	if err != nil {
		return err
	}
	// Requests for a mediator are /cases': a citizen looking for "my
	// requests" is told where they are.
	cases, err := h.db.CasesOfCitizen(r.ctx, r.UserID, 1)
	if err != nil {
		return err
	}
	seeCases := ""
	if len(cases) > 0 {
		seeCases = "\n\n" + r.T("help.see_cases", nil)
	}
	if len(reqs) == 0 {
		return r.Reply(r.T("help.none", nil) + seeCases)
	}
	lines := []string{r.T("help.mine_title", nil)}
	var rows [][]tgbotapi.InlineKeyboardButton
	for _, req := range reqs {
		lines = append(lines, h.helpLine(r, req))
		if req.Active() {
			rows = append(rows, tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(
				r.T("help.btn_withdraw", map[string]any{"Number": req.Number()}), fmt.Sprintf("help:w:%d", req.ID))))
		}
	}
	m := bot.Message{Text: strings.Join(lines, "\n\n") + seeCases}
	if len(rows) > 0 {
		m.Inline = ptr(tgbotapi.NewInlineKeyboardMarkup(rows...))
	}
	_, err = r.Send(m)
	return err
}

// helpLine is one request in a list.
func (h *Handlers) helpLine(r *Request, req storage.HelpRequest) string {
	line := r.T("help.line", map[string]any{"Number": req.Number(), "Kind": r.T(helpKindLabel(req.Kind), nil),
		"Date": req.CreatedAt.In(kzZone).Format("02.01.2006"), "Status": r.T("help.status_"+req.Status, nil)})
	switch {
	case req.Status == storage.HelpTaken:
		line += "\n" + r.T("help.line_taken", map[string]any{"Name": req.CoordinatorName})
	case req.Note != "":
		line += "\n" + r.T("help.note_line", map[string]any{"Note": req.Note})
	}
	return line
}

// helpWithdraw asks the citizen to confirm, then withdraws their request:
// the owner is told, or the offers are edited.
func (h *Handlers) helpWithdraw(r *Request, req storage.HelpRequest, action string) error {
	if req.UserID != r.UserID {
		return forbidden("help.not_yours")
	}
	data := map[string]any{"Number": req.Number()}
	switch action {
	case "w":
		if !req.Active() {
			return invalid("help.closed", data)
		}
		_, err := r.ReplyInline(r.T("help.withdraw_q", data), tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
			r.InlineButton("help.btn_withdraw_yes", fmt.Sprintf("help:wy:%d", req.ID)),
			r.InlineButton("help.btn_withdraw_no", fmt.Sprintf("help:wn:%d", req.ID)))))
		return err
	case "wn":
		return r.Edit(r.T("help.withdraw_kept", data), nil)
	}
	err := h.inTx(r.ctx, func(tx *storage.Tx) error {
		var err error
		if req, err = tx.WithdrawHelpRequest(req.ID, r.UserID); err != nil {
			return err
		}
		if req.CoordinatorID != nil {
			owner := *req.CoordinatorID
			return h.notify(tx, Notice{Message: botText(owner, h.tr(r.ctx, owner, "help.withdrawn_owner", data))})
		}
		return h.helpEditOffers(tx, req.ID, 0, "help.withdrawn_offer", data)
	})
	if errors.Is(err, storage.ErrRequestClosed) {
		return invalid("help.closed", data)
	}
	if err != nil {
		return err
	}
	return r.Edit(r.T("help.withdrawn", data), nil)
}
