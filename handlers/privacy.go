package handlers

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// Personal data: /mydata shows a user everything stored about them (text
// and JSON), /forget erases it after a confirmation, the daily retention
// job anonymises what was closed more than Config.Retention ago, and
// /audit shows administrators who viewed or exported personal data.

const (
	// timerRetention is the daily retention job; its ref is retentionRef.
	timerRetention = "privacy.retention"
	retentionRef   = "daily"
	// retentionHour is the hour (Kazakhstan time) the retention job runs.
	retentionHour = 3
	// DefaultRetention is how long closed cases and requests keep their
	// personal data when RETENTION_DAYS is not set.
	DefaultRetention = 365 * 24 * time.Hour

	// checkpointTries is how often /forget tries to checkpoint the
	// write-ahead log, checkpointWait apart.
	checkpointTries = 5
	checkpointWait  = 100 * time.Millisecond

	// messageMax is the longest text sent in one message (Telegram: 4096).
	messageMax   = 4000
	auditDefault = 20
	auditMax     = 1000
	// auditTextMax is the number of audit rows shown as text; more come
	// as a CSV file as well.
	auditTextMax = 30
)

// --- /mydata ---------------------------------------------------------------

// myDataExport is the JSON document of /mydata: the user's own data and
// only what they already see of others (a mediator's or coordinator's
// display name, never their Telegram id).
type myDataExport struct {
	GeneratedAt    time.Time          `json:"generated_at"`
	TelegramUserID int64              `json:"telegram_user_id"`
	Profile        *myDataProfile     `json:"profile,omitempty"`
	Consents       []myDataConsent    `json:"consents"`
	MediationCases []myDataCase       `json:"mediation_cases"`
	HelpRequests   []myDataRequest    `json:"help_requests"`
	Volunteer      *myDataVolunteer   `json:"volunteer,omitempty"`
	Registrations  []myDataReg        `json:"event_registrations"`
	Staff          *myDataStaff       `json:"staff,omitempty"`
	Conversation   *myDataState       `json:"conversation_state,omitempty"`
	Retention      myDataRetentionDoc `json:"retention"`
}

type myDataProfile struct {
	Language       string    `json:"language"`
	LanguageChosen bool      `json:"language_chosen"`
	FirstSeen      time.Time `json:"first_seen"`
	LastSeen       time.Time `json:"last_seen"`
}

type myDataConsent struct {
	Purpose  string    `json:"purpose"`
	Version  string    `json:"text_version"`
	AgreedAt time.Time `json:"agreed_at"`
}

type myDataCase struct {
	Number        string     `json:"number"`
	Kind          string     `json:"kind"`
	Description   string     `json:"description"`
	Region        string     `json:"region"`
	Place         string     `json:"place"`
	Language      string     `json:"language"`
	Phone         string     `json:"phone,omitempty"`
	Status        string     `json:"status"`
	Mediator      string     `json:"mediator,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	AcceptedAt    *time.Time `json:"accepted_at,omitempty"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	Outcome       string     `json:"outcome,omitempty"`
	OutcomeNote   string     `json:"outcome_note,omitempty"`
	Rating        *int       `json:"rating,omitempty"`
	RatingComment string     `json:"rating_comment,omitempty"`
}

type myDataRequest struct {
	Number      string     `json:"number"`
	Kind        string     `json:"kind"`
	FamilySize  int        `json:"family_size"`
	Description string     `json:"description"`
	Region      string     `json:"region"`
	Place       string     `json:"place"`
	Phone       string     `json:"phone"`
	Status      string     `json:"status"`
	Coordinator string     `json:"coordinator,omitempty"`
	Note        string     `json:"note,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	TakenAt     *time.Time `json:"taken_at,omitempty"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
}

type myDataVolunteer struct {
	Name      string    `json:"name"`
	Phone     string    `json:"phone"`
	UpdatedAt time.Time `json:"updated_at"`
}

type myDataReg struct {
	Event        string    `json:"event"`
	Title        string    `json:"title"`
	StartsAt     time.Time `json:"starts_at"`
	Place        string    `json:"place"`
	Status       string    `json:"status"`
	RegisteredAt time.Time `json:"registered_at"`
}

type myDataStaff struct {
	Roles       []string `json:"roles"`
	DisplayName string   `json:"display_name,omitempty"`
	Regions     []string `json:"regions,omitempty"`
	Languages   []string `json:"languages,omitempty"`
	Kinds       []string `json:"kinds,omitempty"`
	MaxOpen     int      `json:"max_open,omitempty"`
	OnDuty      bool     `json:"on_duty"`
}

type myDataState struct {
	Flow    string            `json:"flow"`
	Step    string            `json:"step"`
	Answers map[string]string `json:"answers,omitempty"`
}

type myDataRetentionDoc struct {
	Days int `json:"anonymised_after_days"`
}

// myData (/mydata) sends the user everything stored about them, as text
// in their language (in several messages when long) and as a JSON file.
func (h *Handlers) myData(r *Request) error {
	d, err := h.db.PersonalData(r.ctx, r.UserID)
	if err != nil {
		return err
	}
	doc, err := h.myDataDoc(r, d)
	if err != nil {
		return err
	}
	for _, part := range splitMessage(h.myDataText(r, d, doc), messageMax) {
		if err := r.Reply(part); err != nil {
			return err
		}
	}
	buf, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("mydata: json: %w", err)
	}
	_, err = r.Send(bot.Message{Document: &bot.Document{Name: "dostyq-mydata.json", Data: buf,
		Caption: r.T("privacy.mydata_file", nil)}})
	return err
}

func (h *Handlers) myDataDoc(r *Request, d storage.PersonalData) (myDataExport, error) {
	doc := myDataExport{GeneratedAt: h.now().UTC(), TelegramUserID: r.UserID,
		Consents: []myDataConsent{}, MediationCases: []myDataCase{}, HelpRequests: []myDataRequest{},
		Registrations: []myDataReg{}, Retention: myDataRetentionDoc{Days: int(h.retention() / (24 * time.Hour))}}
	if u := d.User; u != nil {
		doc.Profile = &myDataProfile{Language: u.Lang, LanguageChosen: u.LangChosen, FirstSeen: u.FirstSeen, LastSeen: u.LastSeen}
	}
	for _, c := range d.Consents {
		doc.Consents = append(doc.Consents, myDataConsent{Purpose: c.Purpose, Version: c.Version, AgreedAt: c.AgreedAt})
	}
	names := map[int64]string{}
	staffName := func(id *int64) (string, error) {
		if id == nil {
			return "", nil
		}
		if n, ok := names[*id]; ok {
			return n, nil
		}
		p, err := h.db.StaffProfile(r.ctx, *id)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return "", err
		}
		names[*id] = p.DisplayName
		return p.DisplayName, nil
	}
	for _, c := range d.Cases {
		mediator, err := staffName(c.MediatorID)
		if err != nil {
			return doc, err
		}
		doc.MediationCases = append(doc.MediationCases, myDataCase{Number: c.Number(), Kind: c.Kind,
			Description: c.Description, Region: c.Region, Place: c.Place, Language: c.Lang, Phone: c.Phone,
			Status: c.Status, Mediator: mediator, CreatedAt: c.CreatedAt, AcceptedAt: c.AcceptedAt,
			ClosedAt: c.ClosedAt, Outcome: c.Outcome, OutcomeNote: c.OutcomeNote, Rating: c.Rating,
			RatingComment: c.RatingComment})
	}
	for _, q := range d.HelpRequests {
		doc.HelpRequests = append(doc.HelpRequests, myDataRequest{Number: q.Number(), Kind: q.Kind,
			FamilySize: q.FamilySize, Description: q.Description, Region: q.Region, Place: q.Place, Phone: q.Phone,
			Status: q.Status, Coordinator: q.CoordinatorName, Note: q.Note, CreatedAt: q.CreatedAt,
			TakenAt: q.TakenAt, ClosedAt: q.ClosedAt})
	}
	if v := d.Volunteer; v != nil {
		doc.Volunteer = &myDataVolunteer{Name: v.Name, Phone: v.Phone, UpdatedAt: v.UpdatedAt}
	}
	for _, g := range d.Registrations {
		doc.Registrations = append(doc.Registrations, myDataReg{Event: g.EventNumber(), Title: g.EventTitle,
			StartsAt: g.EventStartsAt, Place: g.EventPlace, Status: g.Status, RegisteredAt: g.RegisteredAt})
	}
	if len(d.Roles) > 0 {
		s := &myDataStaff{Roles: d.Roles}
		if p := d.Staff; p != nil {
			s.DisplayName, s.Regions, s.Languages, s.Kinds = p.DisplayName, p.Regions, p.Languages, p.Kinds
			s.MaxOpen, s.OnDuty = p.MaxOpen, p.OnDuty
		}
		doc.Staff = s
	}
	if st := r.State; st.Flow != "" {
		doc.Conversation = &myDataState{Flow: st.Flow, Step: st.Step, Answers: st.Data}
	}
	return doc, nil
}

func (h *Handlers) myDataText(r *Request, d storage.PersonalData, doc myDataExport) string {
	date := func(t time.Time) string { return t.In(kzZone).Format("02.01.2006 15:04") }
	var b strings.Builder
	b.WriteString(r.T("privacy.mydata_title", map[string]any{"ID": r.UserID}))
	if p := doc.Profile; p != nil {
		b.WriteString("\n\n" + r.T("privacy.mydata_profile", map[string]any{"Lang": languageNames[p.Language],
			"First": date(p.FirstSeen), "Last": date(p.LastSeen)}))
	}
	if len(d.Consents) > 0 {
		b.WriteString("\n\n" + r.T("privacy.mydata_consents", nil))
		for _, c := range d.Consents {
			b.WriteString("\n• " + r.T("privacy.consent_line", map[string]any{
				"Purpose": r.T("privacy.purpose_"+consentPurpose(c.Purpose), nil), "Version": c.Version, "Date": date(c.AgreedAt)}))
		}
	}
	if len(d.Cases) > 0 {
		b.WriteString("\n\n" + r.T("privacy.mydata_cases", nil))
		for i, c := range d.Cases {
			b.WriteString("\n\n" + h.caseDetails(r.Lang, c, caseCitizen))
			b.WriteString("\n" + r.T("mediation.details_status", map[string]any{"Status": r.T(statusLabel(c), nil)}))
			if m := doc.MediationCases[i].Mediator; m != "" {
				b.WriteString("\n" + r.T("privacy.mydata_mediator", map[string]any{"Name": m}))
			}
			if c.Outcome != "" {
				b.WriteString("\n" + r.T("mediation.details_outcome", map[string]any{
					"Outcome": r.T("mediation.outcome_"+c.Outcome, nil), "Note": c.OutcomeNote}))
			}
			if c.Rating != nil {
				b.WriteString("\n" + r.T("mediation.details_rating", map[string]any{"Rating": *c.Rating, "Comment": c.RatingComment}))
			}
		}
	}
	if len(d.HelpRequests) > 0 {
		b.WriteString("\n\n" + r.T("privacy.mydata_requests", nil))
		for _, q := range d.HelpRequests {
			b.WriteString("\n\n" + h.helpLine(r, q) + "\n" + h.helpDetails(r.Lang, q, true))
		}
	}
	if v := d.Volunteer; v != nil {
		b.WriteString("\n\n" + r.T("privacy.mydata_volunteer", map[string]any{"Name": v.Name, "Phone": spacedPhone(v.Phone)}))
	}
	if len(d.Registrations) > 0 {
		b.WriteString("\n\n" + r.T("privacy.mydata_registrations", nil))
		for _, g := range d.Registrations {
			status := r.T("privacy.reg_cancelled", nil)
			if g.Status != storage.RegCancelled {
				status = r.T("events.status_"+g.Status, nil)
			}
			b.WriteString("\n• " + g.EventNumber() + " · " + g.EventTitle + " · " + h.eventDate(r.Lang, g.EventStartsAt) + " — " + status)
		}
	}
	if s := doc.Staff; s != nil {
		roles := make([]string, len(s.Roles))
		for i, role := range s.Roles {
			roles[i] = r.roleName(role)
		}
		b.WriteString("\n\n" + r.T("privacy.mydata_staff", map[string]any{"Roles": strings.Join(roles, ", "), "Name": s.DisplayName}))
	}
	if st := doc.Conversation; st != nil {
		lines := h.stateLines(r, *st)
		b.WriteString("\n\n" + r.T("privacy.mydata_state", map[string]any{"Count": len(lines)}))
		for _, l := range lines {
			b.WriteString("\n• " + l)
		}
	}
	if len(d.Consents) == 0 && len(d.Cases) == 0 && len(d.HelpRequests) == 0 && d.Volunteer == nil &&
		len(d.Registrations) == 0 && doc.Staff == nil && doc.Conversation == nil {
		b.WriteString("\n\n" + r.T("privacy.mydata_nothing_else", nil))
	}
	b.WriteString("\n\n" + r.T("privacy.mydata_footer", map[string]any{"Days": doc.Retention.Days}))
	if doc.Conversation != nil {
		b.WriteString("\n\n" + r.T("privacy.mydata_go_on", nil))
	}
	return b.String()
}

// stateLines are the answers of an unfinished conversation as "label:
// value" lines in the user's language, in the order the flow asks them:
// each under the label of its step, a chosen code as the label of its
// button. The flow's bookkeeping is left out; an answer the flow does not
// describe (a flow of a newer version of the bot) is shown as it is, under
// a general label.
func (h *Handlers) stateLines(r *Request, st myDataState) []string {
	var known []Answer
	if f, ok := h.flows[st.Flow]; ok {
		known = f.Answers
	}
	var lines []string
	described := map[string]bool{}
	for _, a := range known {
		described[a.Key] = true
		v := st.Answers[a.Key]
		if a.Hidden || v == "" {
			continue
		}
		if a.Value != nil {
			v = a.Value(r, v)
		}
		lines = append(lines, r.T(a.Label, nil)+": "+v)
	}
	var other []string
	for k, v := range st.Answers {
		if !described[k] && v != "" {
			other = append(other, k)
		}
	}
	sort.Strings(other)
	for _, k := range other {
		lines = append(lines, r.T("privacy.answer_other", nil)+": "+st.Answers[k])
	}
	return lines
}

// phoneAnswer shows a phone as every message does, "+7 701 123 45 67".
func phoneAnswer(_ *Request, v string) string { return spacedPhone(v) }

// codeAnswer shows a coded answer as the label of message prefix+code,
// and a code not among codes as it is.
func codeAnswer(prefix string, codes []string) func(r *Request, v string) string {
	return func(r *Request, v string) string {
		if slices.Contains(codes, v) {
			return r.T(prefix+v, nil)
		}
		return v
	}
}

// buttonAnswer shows a coded answer as the label (message id) of the
// button that gave it, and a code it does not know as it is.
func buttonAnswer(labels map[string]string) func(r *Request, v string) string {
	return func(r *Request, v string) string {
		if id, ok := labels[v]; ok {
			return r.T(id, nil)
		}
		return v
	}
}

// languageAnswer shows a language code as the language's name.
func languageAnswer(_ *Request, v string) string {
	if name, ok := languageNames[v]; ok {
		return name
	}
	return v
}

// numberAnswer shows an id as the number people see (M-000123), through
// number; a value that is no id as it is.
func numberAnswer(number func(int64) string) func(r *Request, v string) string {
	return func(_ *Request, v string) string {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			return number(id)
		}
		return v
	}
}

// The numbers of a case (M-000123), a help request (C-000045) and an event
// (E-000012).
var (
	caseAnswer    = numberAnswer(storage.CaseNumber)
	requestAnswer = numberAnswer(storage.HelpNumber)
	eventAnswer   = numberAnswer(func(id int64) string { return storage.Event{ID: id}.Number() })
)

// regionAnswer shows a region code as the region's name.
func (h *Handlers) regionAnswer(r *Request, v string) string {
	if reg, ok := h.gaz.Region(v); ok && reg.Name[r.Lang] != "" {
		return reg.Name[r.Lang]
	}
	return v
}

// consentPurpose is the purpose name of the locale keys privacy.purpose_*.
func consentPurpose(p string) string {
	switch p {
	case "mediation", "charity", "volunteer":
		return p
	}
	return "other"
}

// splitMessage cuts text into parts of at most limit runes, at line
// breaks where it can.
func splitMessage(text string, limit int) []string {
	text = strings.ToValidUTF8(text, "\uFFFD") // so that a rune prefix is a byte prefix
	var parts []string
	for runes := []rune(text); len(runes) > limit; runes = []rune(text) {
		head := string(runes[:limit])
		if i := strings.LastIndex(head, "\n"); i > 0 {
			head = head[:i]
		}
		parts = append(parts, strings.TrimRight(head, "\n"))
		text = strings.TrimLeft(text[len(head):], "\n")
	}
	if text != "" {
		parts = append(parts, text)
	}
	return parts
}

// --- /forget ---------------------------------------------------------------

// forget (/forget) asks the user to confirm the erasure of their data.
// Staff are asked to have their role removed first: their cases and
// requests belong to the citizens they serve.
func (h *Handlers) forget(r *Request) error {
	roles, err := h.db.Roles(r.ctx, r.UserID)
	if err != nil {
		return err
	}
	if len(roles) > 0 {
		return r.ReplyKey("privacy.forget_staff", nil)
	}
	_, err = r.ReplyInline(r.T("privacy.forget_confirm", nil), tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		r.InlineButton("privacy.forget_yes", "pd:forget"),
		r.InlineButton("privacy.forget_no", "pd:keep"))))
	return err
}

// forgetButton handles "pd:forget" and "pd:keep". It acts only on the data
// of the sender (from.id): the button carries no user id to forge.
func (h *Handlers) forgetButton(r *Request) error {
	switch r.Data {
	case "keep":
		r.Answer("")
		if err := h.editOrReply(r, r.T("privacy.forget_kept", nil), nil); err != nil {
			return err
		}
		if _, step, ok := h.currentStep(r); ok {
			return step.Ask(r) // back to the unfinished request
		}
		return nil
	case "forget":
	default:
		return invalid("error.button_outdated", nil)
	}
	roles, err := h.db.Roles(r.ctx, r.UserID)
	if err != nil {
		return err
	}
	if len(roles) > 0 {
		return r.ReplyKey("privacy.forget_staff", nil)
	}
	if err := h.EraseUser(r.ctx, r.UserID); err != nil {
		return err
	}
	r.State = storage.State{}
	r.Answer("")
	if err := h.editOrReply(r, r.T("privacy.forget_done", nil), nil); err != nil {
		return err
	}
	return h.sendMenu(r, "privacy.forget_after")
}

// EraseUser erases the personal data of user everywhere: in one
// transaction their open cases and requests are withdrawn (the mediators
// and coordinators holding them told through the outbox), their
// registrations of events yet to start cancelled (the waitlist promoted;
// those of events that took place keep counting), the outbox messages
// carrying their data blanked, and their data erased or anonymised; then
// the database's write-ahead log is checkpointed and truncated, and the
// state store forgets every key of theirs.
func (h *Handlers) EraseUser(ctx context.Context, user int64) error {
	var blanked int64
	err := h.inTx(ctx, func(tx *storage.Tx) error {
		cases, err := tx.ActiveCasesOf(user)
		if err != nil {
			return err
		}
		secrets, err := tx.Secrets(user)
		if err != nil {
			return err
		}
		refs, err := tx.Numbers(user)
		if err != nil {
			return err
		}
		if blanked, err = tx.ScrubOutbox(user, refs, secrets); err != nil {
			return err
		}
		for _, c := range cases {
			if err := tx.CancelTimer(timerEscalate, id64(c.ID)); err != nil {
				return err
			}
			if err := h.withdrawOffers(tx, c, "mediation.offer_withdrawn_citizen"); err != nil {
				return err
			}
			if m := valueOf(c.MediatorID); c.Status == storage.CaseAccepted && m != 0 {
				text := h.tr(ctx, m, "privacy.case_erased", map[string]any{"Case": c.Number()})
				if err := h.notify(tx, Notice{Message: botText(m, text)}); err != nil {
					return err
				}
			}
		}
		active, err := tx.ForgetHelpRequests(user)
		if err != nil {
			return err
		}
		for _, q := range active {
			data := map[string]any{"Number": q.Number()}
			if err := tx.CancelTimer(timerHelpUnclaimed, strconv.FormatInt(q.ID, 10)); err != nil {
				return err
			}
			if q.CoordinatorID != nil {
				owner := *q.CoordinatorID
				if err := h.notify(tx, Notice{Message: botText(owner, h.tr(ctx, owner, "privacy.request_erased", data))}); err != nil {
					return err
				}
				continue
			}
			if err := h.helpEditOffers(tx, q.ID, 0, "help.withdrawn_offer", data); err != nil {
				return err
			}
		}
		regs, err := tx.ActiveRegistrationsOf(user)
		if err != nil {
			return err
		}
		for _, g := range regs {
			_, promoted, err := tx.CancelRegistration(g.ID, user, tx.Now().Add(eventOfferHold))
			if err != nil {
				return err
			}
			if err := tx.CancelTimer(timerEventOffer, strconv.FormatInt(g.ID, 10)); err != nil {
				return err
			}
			if err := h.offerPlace(tx, promoted); err != nil {
				return err
			}
		}
		return tx.EraseUser(user)
	})
	if err != nil {
		return fmt.Errorf("forget: %w", err)
	}
	// A reader still on an older snapshot keeps the checkpoint from
	// finishing: try again a few times, then leave it to the next one.
	for try := 1; ; try++ {
		done, err := h.db.Checkpoint(ctx)
		if err != nil {
			return fmt.Errorf("forget: %w", err)
		}
		if done {
			break
		}
		if try == checkpointTries {
			h.log.Warn("forget: write-ahead log checkpoint incomplete, a reader kept it back")
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("forget: %w", ctx.Err())
		case <-time.After(checkpointWait):
		}
	}
	if f, ok := h.states.(storage.UserForgetter); ok {
		err = f.ForgetUser(ctx, user)
	} else {
		err = h.states.Delete(ctx, user)
	}
	if err != nil {
		return fmt.Errorf("forget: state: %w", err)
	}
	h.log.Info("forget: personal data erased", "outbox_blanked", blanked)
	return nil
}

// --- retention -------------------------------------------------------------

// retention is the configured retention period.
func (h *Handlers) retention() time.Duration {
	if h.cfg.Retention > 0 {
		return h.cfg.Retention
	}
	return DefaultRetention
}

// nextRetentionRun is the next retentionHour (Kazakhstan time) after now.
func nextRetentionRun(now time.Time) time.Time {
	t := now.In(kzZone)
	next := time.Date(t.Year(), t.Month(), t.Day(), retentionHour, 0, 0, 0, kzZone)
	if !next.After(t) {
		next = next.AddDate(0, 0, 1)
	}
	return next.UTC()
}

// scheduleRetention makes sure the daily retention job is scheduled. The
// background worker calls it until it succeeds once.
func (h *Handlers) scheduleRetention(ctx context.Context) error {
	if _, err := h.db.PendingTimer(ctx, timerRetention, retentionRef); err == nil {
		return nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return h.db.Tx(ctx, func(tx *storage.Tx) error {
		return tx.ScheduleTimer(timerRetention, retentionRef, nextRetentionRun(tx.Now()))
	})
}

// retentionJob anonymises what was closed more than the retention period
// ago, forgets the steps done (stepOnce) more than stepsKept ago and
// schedules the next run.
func (h *Handlers) retentionJob(tx *storage.Tx, t storage.Timer) error {
	got, err := tx.Anonymise(tx.Now().Add(-h.retention()))
	if err != nil {
		return err
	}
	if got.Total() > 0 {
		h.log.Info("retention: anonymised", "cases", got.Cases, "help_requests", got.HelpRequests,
			"registrations", got.Registrations, "volunteers", got.Volunteers, "outbox", got.Outbox)
	}
	if _, err := tx.ForgetStepsBefore(tx.Now().Add(-stepsKept)); err != nil {
		return err
	}
	return tx.ScheduleTimer(timerRetention, retentionRef, nextRetentionRun(tx.Now()))
}

// --- /audit ----------------------------------------------------------------

// auditActions are the audit actions with a label (privacy.action_*).
var auditActions = map[string]bool{
	"case.view": true, "case.alert": true, "case.offer": true, "help.offer": true, "help.view": true, "help.take": true, "help.fulfilled": true,
	"help.unfulfilled": true, "event.create": true, "event.export": true, "event.cancel": true,
	"invite.create": true, "invite.redeem": true, "mediator.remove": true, "coordinator.remove": true, "audit.view": true,
}

// audit (/audit [N], administrators) shows the latest N entries of the
// audit log (default 20), and all of them as CSV when there are more than
// fit in a message. Reading the log is itself audited.
func (h *Handlers) audit(r *Request) error {
	if !r.IsAdmin() {
		return forbidden("staff.admins_only")
	}
	n := auditDefault
	if a := strings.TrimSpace(r.Args); a != "" {
		v, err := strconv.Atoi(a)
		if err != nil || v < 1 || v > auditMax {
			return invalid("privacy.audit_usage", map[string]any{"Max": auditMax})
		}
		n = v
	}
	if err := h.db.Audit(r.ctx, r.UserID, "audit.view", strconv.Itoa(n)); err != nil {
		return err
	}
	entries, err := h.db.AuditLog(r.ctx, "", n)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return r.ReplyKey("privacy.audit_empty", nil)
	}
	var b strings.Builder
	b.WriteString(r.N("privacy.audit_title", len(entries), map[string]any{"Count": len(entries)}))
	for i, e := range entries {
		if i == auditTextMax {
			b.WriteString("\n" + r.T("privacy.audit_more_in_file", map[string]any{"Count": len(entries) - auditTextMax}))
			break
		}
		action := e.Action
		if auditActions[action] {
			action = r.T("privacy.action_"+strings.ReplaceAll(action, ".", "_"), nil)
		}
		line := e.At.In(kzZone).Format("02.01.2006 15:04") + " · id " + strconv.FormatInt(e.ActorID, 10) + " · " + action
		if subject := e.Subject; subject != "" {
			if e.Action == "invite.create" || e.Action == "invite.redeem" {
				subject = r.roleName(subject) // "mediator" in words
			}
			line += " · " + subject
		}
		b.WriteString("\n" + line)
	}
	for _, part := range splitMessage(b.String(), messageMax) {
		if _, err := r.Send(bot.Message{Text: part, Protect: true}); err != nil {
			return err
		}
	}
	if len(entries) <= auditTextMax {
		return nil
	}
	_, err = r.Send(bot.Message{Protect: true, Document: &bot.Document{Name: "dostyq-audit.csv", Data: auditCSV(entries),
		Caption: r.T("privacy.audit_file", nil)}})
	return err
}

// auditCSV is the audit log as CSV, times in UTC.
func auditCSV(entries []storage.AuditEntry) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"id", "at_utc", "actor_id", "action", "subject"})
	for _, e := range entries {
		w.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), strconv.FormatInt(e.ActorID, 10),
			e.Action, e.Subject})
	}
	w.Flush()
	return buf.Bytes()
}
