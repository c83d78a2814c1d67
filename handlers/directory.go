package handlers

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// The directory: the nearest Houses of Friendship, mediation offices,
// councils and associations to a shared location or a typed town.
//
// Choosing a kind starts the "directory" flow, whose one step "where" waits
// for a location or a town. The results message carries its whole query in
// its buttons' callback data ("dir:p:..."), so paging, map pins and the
// ethnic-group filter keep working after the flow is left or the bot
// restarts, and forged data is refused like an outdated button.

const (
	dirFlow     = "directory"
	dirPageSize = 5
	// dirGroupsNear is how many nearest associations the ethnic-group
	// filter offers the groups of.
	dirGroupsNear = 30
)

// dirKindCodes are the short codes of the kinds in callback data.
var dirKindCodes = map[string]string{
	storage.KindHouse: "h", storage.KindMediation: "m", storage.KindCouncilAccord: "ca",
	storage.KindCouncilMothers: "cm", storage.KindAssociation: "a", storage.KindYouth: "y", storage.KindTheatre: "t",
}

func dirKindByCode(code string) (string, bool) {
	for k, c := range dirKindCodes {
		if c == code {
			return k, true
		}
	}
	return "", false
}

// directoryFlow asks where the user is, then lists the places of the kind
// in the state ("kind") nearest to it.
func (h *Handlers) directoryFlow() *Flow {
	return &Flow{
		Name:  dirFlow,
		First: "where",
		Steps: map[string]Step{
			"kind":  {Ask: h.askDirKind, Answer: h.answerDirKind},
			"where": {Ask: h.askWhere, Answer: h.answerWhere},
		},
		// Back from the first question goes where the search was chosen:
		// the Mediation menu for its offices, else the main menu.
		OnBack: func(r *Request) error {
			if r.Left.Get("kind") == storage.KindMediation {
				return h.mediationMenu(r)
			}
			return h.sendMenu(r, "menu.main")
		},
		OnCancel: func(r *Request) error { return h.sendMenu(r, "menu.main") },
		Answers: []Answer{{Key: "kind", Label: "privacy.answer_looking_for", Value: codeAnswer("kind.", storage.PlaceKinds)},
			{Key: "at", Label: "privacy.answer_near", Value: h.dirAtAnswer}, {Key: "kinds", Hidden: true},
			{Key: resultsShown, Hidden: true}},
	}
}

// findPlaces asks the user where they are and then lists the nearest places
// of kind (one of storage.PlaceKinds). Other flows call it too: the
// mediation menu's "Find a mediation office" is findPlaces(r, "mediation_office").
//
// A town or a location given at Councils' or Associations' question,
// before the kind (answerDirKind keeps it), is searched at once.
func (h *Handlers) findPlaces(r *Request, kind string) error {
	if !storage.IsPlaceKind(kind) {
		return fmt.Errorf("directory: unknown kind %q", kind)
	}
	at := ""
	if r.State.Flow == dirFlow && r.State.Step == "kind" {
		at = r.State.Get("at")
	}
	if err := h.StartFlow(r, dirFlow, map[string]string{"kind": kind}); err != nil || at == "" {
		return err
	}
	q, ok := h.dirQueryAt(kind, at)
	if !ok {
		return nil
	}
	return h.sendResults(r, q)
}

// sendResults sends the first page of the places q finds.
func (h *Handlers) sendResults(r *Request, q dirQuery) error {
	text, kb, err := h.dirResults(r, q)
	if err != nil {
		return err
	}
	_, err = r.Send(bot.Message{Text: text, Inline: kb})
	return err
}

func (h *Handlers) houses(r *Request) error { return h.findPlaces(r, storage.KindHouse) }

// kindWord is the handler of a kind's label typed ("Театр", "Аналар
// кеңесі"). In the directory it is the search of that kind, a town or
// location given at Councils' or Associations' question kept (findPlaces);
// in another flow it does as any menu item: the question again once an
// answer is given, else the flow left for the search.
func (h *Handlers) kindWord(kind string) HandlerFunc {
	return func(r *Request) error {
		if r.State.Flow != dirFlow {
			if asked, err := h.askAgain(r); asked || err != nil {
				return err
			}
			if err := h.leaveFlow(r); err != nil {
				return err
			}
		}
		return h.findPlaces(r, kind)
	}
}

// housesNearLocation answers a location shared outside any flow (from
// Telegram's attachment menu, before choosing anything) with the nearest
// Houses of Friendship; its buttons need no state.
func (h *Handlers) housesNearLocation(r *Request) error {
	loc := r.Location()
	return h.sendResults(r, dirQuery{Kind: storage.KindHouse, Lat: loc.Latitude, Lon: loc.Longitude})
}

// townOutsideFlow answers text typed outside any flow. A citizen whose
// case a mediator took is shown how to write to the mediator (relayHint,
// mediation.go): "Шымкент" may answer the mediator's question. Otherwise a
// known town or village, exactly (storage.Gazetteer.Exact: "Шымкент",
// "Сайрам ауылы", "Karaganda"), lists the Houses of Friendship nearest to
// it, as if the user had chosen Houses of Friendship and typed it: they
// are then in that search, so namesake buttons and another town work. A
// village named like an everyday word (everydayWords) is the word here.
// Other text goes to textOutsideFlow (mediation.go).
func (h *Handlers) townOutsideFlow(r *Request) error {
	if code, named := languageNamed(r.Text); named && code != "" {
		// "Орысша" from a citizen whose case a mediator holds too: the
		// bot's language, not a message for the mediator.
		r.Data = code
		return h.setLanguage(r)
	}
	if hinted, err := h.relayHint(r); hinted || err != nil {
		return err
	}
	if t := r.Text; utf8.RuneCountInString(t) <= 100 && !strings.HasPrefix(t, "/") && !everydayWord(t) &&
		len(h.gaz.Exact(t, 1)) > 0 {
		r.State = storage.State{Flow: dirFlow, Step: "where", Data: map[string]string{"kind": storage.KindHouse}, Version: r.State.Version}
		return h.answerFlow(r)
	}
	return h.textOutsideFlow(r)
}

// everydayWords are names of villages in the gazetteer that people type
// alone for what they mean: "Жақсы" (fine, OK) after a reply, "Достық",
// "Дружба", "Dostyk" (friendship, the bot's name). At the main menu they
// are the word, not a place 1,000 km away; typed to Houses of Friendship's
// "where?" they are the village. (Алға, "forward", is a town of 20,000
// people, more likely typed as the town.)
// They are kept folded as typed words are compared (locales.Fold: "Жаксы"
// is "Жақсы").
var everydayWords = foldedSet("Жақсы", "Zhaksy", "Достық", "Дружба", "Dostyk", "Dostyq", "Druzhba",
	"Қазақстан", "Kazakhstan", "Qazaqstan") // the country: "North Kazakhstan Region", "живу в Казахстане"

// everydayWord tells whether s, or its part before a comma (which the
// gazetteer's exact search also tries: "Жақсы, рақмет"), is one of
// everydayWords. (Fold keeps a comma inside: s whole with one is never
// one of them.)
func everydayWord(s string) bool {
	first, _, _ := strings.Cut(s, ",")
	return everydayWords[locales.Fold(first)]
}

// councils offers the two kinds of councils.
func (h *Handlers) councils(r *Request) error {
	return h.startFlowAt(r, dirFlow, "kind", map[string]string{"kinds": storage.KindCouncilAccord + "," + storage.KindCouncilMothers})
}

// associations offers associations, youth organisations and theatres.
func (h *Handlers) associations(r *Request) error {
	return h.startFlowAt(r, dirFlow, "kind", map[string]string{
		"kinds": storage.KindAssociation + "," + storage.KindYouth + "," + storage.KindTheatre})
}

// askDirKind asks which of the kinds of a submenu (councils, associations)
// the user looks for; its buttons are dir:k (dirCallback).
func (h *Handlers) askDirKind(r *Request) error {
	kinds := strings.Split(r.State.Get("kinds"), ",")
	key := "dir.choose_association"
	if slices.Contains(kinds, storage.KindCouncilAccord) {
		key = "dir.choose_council"
	}
	_, err := r.ReplyInline(r.T(key, nil), dirKindKeyboard(r, kinds...))
	return err
}

// answerDirKind keeps a town or a location given before the kind ("at"),
// searched once the kind is chosen (findPlaces), not taken for Houses of
// Friendship; anything else gets the kinds' buttons again.
func (h *Handlers) answerDirKind(r *Request) (string, error) {
	// A kind's label typed is a word of its own (kindWord), as pressed.
	at := ""
	if loc := r.Location(); loc != nil {
		// About 100 m: enough for the nearest places, no more kept.
		at = strconv.FormatFloat(loc.Latitude, 'f', 3, 64) + "," + strconv.FormatFloat(loc.Longitude, 'f', 3, 64)
	} else if t := r.Text; utf8.RuneCountInString(t) <= 100 && !everydayWord(t) {
		if ms := h.gaz.Exact(t, 1); len(ms) > 0 {
			at = "s" + strconv.FormatInt(ms[0].ID, 10)
		}
	}
	if at == "" {
		return Stay, pressButtons("dir.kind_choose")
	}
	r.State.Set("at", at)
	if err := h.saveState(r); err != nil {
		return Stay, err
	}
	return Stay, pressButtons("dir.kind_first")
}

// dirAtAnswer shows a place answerDirKind kept, for /mydata: the town's
// name, or the location's coordinates as kept.
func (h *Handlers) dirAtAnswer(r *Request, at string) string {
	if id, ok := strings.CutPrefix(at, "s"); ok {
		n, _ := strconv.ParseInt(id, 10, 64)
		if s, found := h.gaz.Settlement(n); found {
			return townName(r, s)
		}
	}
	return at
}

// dirQueryAt is the search of kind at a place answerDirKind kept: a
// settlement ("s" and its id) or a location ("lat,lon").
func (h *Handlers) dirQueryAt(kind, at string) (dirQuery, bool) {
	if id, ok := strings.CutPrefix(at, "s"); ok {
		n, err := strconv.ParseInt(id, 10, 64)
		s, found := h.gaz.Settlement(n)
		if err != nil || !found {
			return dirQuery{}, false
		}
		return dirQuery{Kind: kind, Lat: s.Lat, Lon: s.Lon, Town: s.ID}, true
	}
	latText, lonText, _ := strings.Cut(at, ",")
	lat, err1 := strconv.ParseFloat(latText, 64)
	lon, err2 := strconv.ParseFloat(lonText, 64)
	if err1 != nil || err2 != nil {
		return dirQuery{}, false
	}
	return dirQuery{Kind: kind, Lat: lat, Lon: lon}, true
}

func dirKindKeyboard(r *Request, kinds ...string) tgbotapi.InlineKeyboardMarkup {
	var rows [][]tgbotapi.InlineKeyboardButton
	for _, k := range kinds {
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(r.InlineButton("kind."+k, "dir:k:"+dirKindCodes[k])))
	}
	return tgbotapi.NewInlineKeyboardMarkup(rows...)
}

// askWhere asks for a location or a town, with the request_location button.
func (h *Handlers) askWhere(r *Request) error {
	kb := tgbotapi.NewReplyKeyboard(
		tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonLocation(r.T("dir.btn_location", nil))),
		tgbotapi.NewKeyboardButtonRow(r.Button("btn.back")),
	)
	kb.ResizeKeyboard = true
	text := r.T("dir.ask", map[string]any{"Kind": r.T("kind."+r.State.Get("kind"), nil)})
	if g := r.State.Get("group"); g != "" {
		text += "\n" + r.T("dir.filtered", map[string]any{"Group": h.groupName(r, g)})
	}
	return r.ReplyKeyboard(text, kb)
}

// whereTyped answers a "where?" typed as a sentence that names a kind of
// place or an ethnic group ("Шымкент достық үйі", "корейцы Алматы",
// "совет матерей"), unless it is a town's name ("Украинка" is a village):
// the kind it names becomes the search's, and the group its filter (for
// ethnicKinds). A town among its words is then the answer: r.Text becomes
// the town, and it reports false for the step to go on; without one the
// question is asked again for the new search, and it reports true.
func (h *Handlers) whereTyped(r *Request) (bool, error) {
	if r.Callback != nil || r.Text == "" || len(h.gaz.Exact(r.Text, 1)) > 0 {
		return false, nil
	}
	kind, rest := placeKindIn(r.Text)
	named := kind != ""
	if !named {
		kind, rest = r.State.Get("kind"), words(r.Text)
	} else if kind != r.State.Get("kind") {
		r.State.Set("kind", kind)
		delete(r.State.Data, "group")
	}
	if slices.Contains(ethnicKinds, kind) {
		if group, others := ethnicGroupIn(rest); group != "" {
			r.State.Set("group", group)
			rest, named = others, true
		}
	}
	if !named {
		return false, nil
	}
	if town := h.townIn(rest, r.Lang); town != "" {
		r.Text = town
		return false, nil
	}
	if err := h.saveState(r); err != nil {
		return true, err
	}
	return true, h.askWhere(r)
}

// answerWhere lists the places nearest to the location or town given; the
// user stays on the step and may give another.
func (h *Handlers) answerWhere(r *Request) (string, error) {
	if asked, err := h.whereTyped(r); asked || err != nil {
		return Stay, err
	}
	if left, err := h.textAfterResults(r); left || err != nil {
		return Stay, err
	}
	where, ok, err := h.resolvePlace(r, func(v string) string { return StepData("where", v) })
	if err != nil || !ok {
		return Stay, err
	}
	q := dirQuery{Kind: r.State.Get("kind"), Lat: where.Lat, Lon: where.Lon, Group: r.State.Get("group")}
	if where.Typed {
		q.Town = where.Settlement.ID
	}
	r.State.Set(resultsShown, "1")
	return Stay, h.sendResults(r, q)
}

// resultsShown is the answer a "where?" step keeps once it has listed
// places or events: what is typed next may be for the menu
// (textAfterResults).
const resultsShown = "shown"

// textAfterResults answers a text typed after a "where?" step listed its
// results that names no town and is thanks, a greeting, an "OK", a
// language, a request in the user's own words, a question or a sentence
// of three words or more ("рахмет", "телефоны кандай?", "не смогу прийти,
// заболел"): not another town but for the menu, where the flow is left
// for (townOutsideFlow), rather than "I do not know the village
// «рахмет»; Махамбет?". A sentence naming a town ("я живу в Аксукенте")
// is that town. It reports whether it answered.
func (h *Handlers) textAfterResults(r *Request) (bool, error) {
	if r.State.Get(resultsShown) == "" || r.Callback != nil || r.Text == "" {
		return false, nil
	}
	// The cheap tests first: a town typed after the results (the common
	// case) is searched once, by the step.
	ws := words(r.Text)
	_, language := languageNamed(r.Text)
	question := strings.ContainsRune(r.Text, '?')
	if len(ws) < 3 && !question && h.smalltalkIn(r.Text) == "" && intentIn(r.Text) == "" && !language {
		return false, nil
	}
	if ms := h.gaz.Search(r.Text, 1); len(ms) > 0 && ms[0].Distance <= typoTaken {
		return false, nil
	}
	if _, ok := h.regionCenterTyped(r.Text); ok {
		return false, nil
	}
	if town := h.townIn(ws, r.Lang); town != "" && len(ws) >= 2 {
		r.Text = town
		return false, nil
	}
	if err := h.leaveFlow(r); err != nil {
		return true, err
	}
	return true, h.townOutsideFlow(r)
}

// Where is a place the user gave: a shared location, or a town they typed
// (or chose among namesakes or suggestions).
type Where struct {
	Lat, Lon float64
	// Settlement is the typed town, or the settlement nearest to a shared
	// location; Region is its region code.
	Settlement storage.Settlement
	Region     string
	// Typed is true for a typed or chosen town (Lat, Lon are its centre).
	Typed bool
	// Outside is true for a shared location outside Kazakhstan.
	Outside bool
}

// resolvePlace turns the user's message into a place: a shared location, a
// typed town or village in any language and script, or a press of one of
// the namesake or suggestion buttons it sends. When it cannot decide it
// replies itself (which region?, did you mean?, please share a location)
// and returns ok false: the caller stays on its step. choice makes the
// callback data of those buttons from a value; the caller's step must pass
// the pressed value back in r.Data (StepData does: pass
// func(v string) string { return StepData(step, v) }).
func (h *Handlers) resolvePlace(r *Request, choice func(value string) string) (Where, bool, error) {
	if loc := r.Location(); loc != nil {
		w := Where{Lat: loc.Latitude, Lon: loc.Longitude, Outside: !h.gaz.OnKazakhstanSide(loc.Latitude, loc.Longitude)}
		if h.gaz.Len() > 0 {
			w.Settlement, _ = h.gaz.Nearest(loc.Latitude, loc.Longitude)
			w.Region = w.Settlement.Region
		}
		return w, true, nil
	}
	if r.Callback != nil {
		id, err := strconv.ParseInt(strings.TrimPrefix(r.Data, "s"), 10, 64)
		s, ok := h.gaz.Settlement(id)
		if err != nil || !strings.HasPrefix(r.Data, "s") || !ok {
			r.Answer(r.T("error.button_outdated", nil))
			return Where{}, false, nil
		}
		return whereTown(s), true, nil
	}
	return h.resolveTyped(r, choice)
}

// resolveTyped is resolvePlace for a town's name the user typed. (The
// replies asking again are functions of their own, so that their texts'
// arguments are not on the stack while the name is searched for:
// Dispatcher.handle.)
func (h *Handlers) resolveTyped(r *Request, choice func(value string) string) (Where, bool, error) {
	typed := r.Text
	if typed == "" || len([]rune(typed)) > 100 || strings.HasPrefix(typed, "/") {
		return Where{}, false, r.ReplyKey("dir.ask_again", nil)
	}
	matches := h.gaz.Search(typed, 20)
	if (len(matches) == 0 || matches[0].Distance > typoTaken) && storage.NamesDistrict(typed) {
		// "Шымкент қаласы Абай ауданы": a town beside the district.
		if town := h.townIn(words(typed), r.Lang); town != "" {
			matches = h.gaz.Search(town, 20)
		}
	}
	if len(matches) == 0 || matches[0].Distance > typoTaken {
		if s, ok := h.regionCenterTyped(typed); ok {
			// "Туркестанская область": near its main town, which the
			// results name.
			return whereTown(s), true, nil
		}
		return Where{}, false, h.unknownPlace(r, typed, choice)
	}
	// Namesakes: the best matches with the same name in other regions are
	// asked about (the same name twice in one region goes to the bigger).
	// A typo'd name goes to the biggest of the equally close settlements
	// unless they are namesakes.
	best := matches[:1]
	regions := []string{matches[0].Region}
	for _, m := range matches[1:] {
		if m.Distance != matches[0].Distance {
			break
		}
		namesake := m.Distance == 0 || storage.SameName(m.Settlement, matches[0].Settlement)
		if namesake && !slices.Contains(regions, m.Region) {
			regions = append(regions, m.Region)
			best = append(best, m)
		}
	}
	if len(best) == 1 {
		return whereTown(best[0].Settlement), true, nil
	}
	return Where{}, false, h.whichRegion(r, typed, best, choice)
}

// regionCenterTyped is the main town of the region typed by its name,
// with or without the word for a region ("Туркестанская область",
// "Алматинская обл.", "Түркістан облысы", "North Kazakhstan Region").
func (h *Handlers) regionCenterTyped(typed string) (storage.Settlement, bool) {
	if code := h.regionTyped(typed); code != "" {
		return h.gaz.RegionCenter(code)
	}
	return storage.Settlement{}, false
}

// regionTyped is the code of the one region typed by its name
// (storage.RegionTyped), or "".
func (h *Handlers) regionTyped(typed string) string { return storage.RegionTyped(h.gaz, typed) }

// typoTaken is how many typos a typed town's name may have and still be
// taken for the town without asking. Two letters apart are often two
// places ("Манкент", a village by Sairam the gazetteer lacks, and
// "Жаркент", 700 km away): those are offered as suggestions instead.
const typoTaken = 1

// unknownPlace answers a town's name the bot does not know, with the
// nearest names it knows as buttons when there are any; a district's name
// is told to be one.
//
//go:noinline
func (h *Handlers) unknownPlace(r *Request, typed string, choice func(value string) string) error {
	sugg := h.gaz.Suggest(typed, 5)
	name := truncateRunes(typed, 60)
	key := "dir.unknown_place"
	if storage.NamesDistrict(typed) {
		// "Толебийский район": districts are no places the gazetteer
		// knows; their village is. Only names a typo away are offered
		// ("Сарыагашскии район"), not Suggest's guesses across the country.
		key = "dir.unknown_district"
		sugg = h.gaz.Search(typed, 5)
	}
	if len(sugg) == 0 {
		return r.ReplyKey(key+"_none", map[string]any{"Name": name})
	}
	_, err := r.ReplyInline(r.T(key, map[string]any{"Name": name}), h.townKeyboard(r, sugg, choice, true))
	return err
}

// whichRegion asks which of the namesakes best the user meant.
//
//go:noinline
func (h *Handlers) whichRegion(r *Request, typed string, best []storage.Match, choice func(value string) string) error {
	_, err := r.ReplyInline(r.T("dir.which_region", map[string]any{"Name": truncateRunes(typed, 60)}),
		h.townKeyboard(r, best, choice, false))
	return err
}

func whereTown(s storage.Settlement) Where {
	return Where{Lat: s.Lat, Lon: s.Lon, Settlement: s, Region: s.Region, Typed: true}
}

// townKeyboard is one button a settlement: its region (for namesakes), or
// its name and region (for suggestions).
func (h *Handlers) townKeyboard(r *Request, ms []storage.Match, choice func(string) string, withName bool) tgbotapi.InlineKeyboardMarkup {
	var rows [][]tgbotapi.InlineKeyboardButton
	for _, m := range ms {
		label := h.regionName(r, m.Region)
		if withName {
			label = townName(r, m.Settlement) + " — " + label
		}
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(
			tgbotapi.NewInlineKeyboardButtonData(label, choice("s"+strconv.FormatInt(m.ID, 10)))))
	}
	return tgbotapi.NewInlineKeyboardMarkup(rows...)
}

func (h *Handlers) regionName(r *Request, code string) string {
	reg, ok := h.gaz.Region(code)
	if !ok {
		return code
	}
	return nameIn(reg.Name, r.Lang)
}

func townName(r *Request, s storage.Settlement) string { return nameIn(s.Name, r.Lang) }

func nameIn(names map[string]string, lang string) string {
	if n := names[lang]; n != "" {
		return n
	}
	for _, l := range []string{"kk", "ru", "en"} {
		if names[l] != "" {
			return names[l]
		}
	}
	return ""
}

// dirQuery is a results page: everything needed to show it again, carried
// in callback data ("dir:p:KIND:LAT:LON:OFFSET:GROUP:TOWN", under 64 bytes).
type dirQuery struct {
	Kind     string
	Lat, Lon float64
	Offset   int
	Group    string // ethnic group filter, or ""
	Town     int64  // the typed town's id, or 0 for a shared location
}

func (q dirQuery) data(verb string) string {
	town := ""
	if q.Town != 0 {
		town = strconv.FormatInt(q.Town, 10)
	}
	s := fmt.Sprintf("dir:%s:%s:%.4f:%.4f:%d:%s:%s", verb, dirKindCodes[q.Kind], q.Lat, q.Lon, q.Offset, q.Group, town)
	if len(s) > 64 {
		// Too long with the town's name: fall back to "near you".
		s = fmt.Sprintf("dir:%s:%s:%.4f:%.4f:%d:%s:", verb, dirKindCodes[q.Kind], q.Lat, q.Lon, q.Offset, q.Group)
	}
	return s
}

var errForged = errors.New("directory: bad callback data")

// parseDirQuery reads the part of callback data after "dir:VERB:",
// refusing anything the bot would not have made.
func (h *Handlers) parseDirQuery(s string) (dirQuery, error) {
	f := strings.Split(s, ":")
	if len(f) != 6 {
		return dirQuery{}, errForged
	}
	var q dirQuery
	var ok bool
	if q.Kind, ok = dirKindByCode(f[0]); !ok {
		return dirQuery{}, errForged
	}
	var err1, err2, err3 error
	q.Lat, err1 = strconv.ParseFloat(f[1], 64)
	q.Lon, err2 = strconv.ParseFloat(f[2], 64)
	q.Offset, err3 = strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || err3 != nil || math.Abs(q.Lat) > 90 || math.Abs(q.Lon) > 180 ||
		q.Offset < 0 || q.Offset%dirPageSize != 0 || q.Offset > 100000 {
		return dirQuery{}, errForged
	}
	q.Group = f[4]
	if q.Group != "" && !isCode(q.Group) {
		return dirQuery{}, errForged
	}
	if f[5] != "" {
		id, err := strconv.ParseInt(f[5], 10, 64)
		if _, ok := h.gaz.Settlement(id); err != nil || !ok {
			return dirQuery{}, errForged
		}
		q.Town = id
	}
	return q, nil
}

func isCode(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// dirCallback handles the buttons of the directory:
//
//	dir:k:KIND                 a kind chosen (councils, associations)
//	dir:p:KIND:LAT:LON:OFF:G:T a results page (More, Previous, a group)
//	dir:g:KIND:LAT:LON:OFF:G:T the ethnic groups near the point
//	dir:v:ID                   the map pin of place ID
func (h *Handlers) dirCallback(r *Request) error {
	verb, rest, _ := strings.Cut(r.Data, ":")
	outdated := func() error { r.Answer(r.T("error.button_outdated", nil)); return nil }
	switch verb {
	case "k":
		kind, ok := dirKindByCode(rest)
		if !ok {
			return outdated()
		}
		r.Answer("")
		return h.findPlaces(r, kind)
	case "v":
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return outdated()
		}
		found, err := h.dirVenue(r, id)
		if err == nil && !found {
			return outdated() // re-imported without it since
		}
		return err
	case "p", "g":
		q, err := h.parseDirQuery(rest)
		if err != nil {
			return outdated()
		}
		if verb == "g" {
			return h.dirGroups(r, q)
		}
		text, kb, err := h.dirResults(r, q)
		if err != nil {
			return err
		}
		r.Answer("")
		return r.Edit(text, kb)
	}
	return outdated()
}

// dirVenue sends place id as a map pin, unless it is not in the directory
// (found false).
//
//go:noinline
func (h *Handlers) dirVenue(r *Request, id int64) (found bool, err error) {
	p, err := h.db.Place(r.ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	r.Answer("")
	address := p.Address(r.Lang)
	if address == "" {
		address = strings.TrimSpace(h.localityName(r.Lang, p.Locality, p.Region) + ", " + h.regionName(r, p.Region))
		address = strings.Trim(address, ", ")
	}
	_, err = r.Send(bot.Message{Venue: &bot.Venue{Latitude: p.Lat, Longitude: p.Lon, Title: p.Name(r.Lang), Address: address}})
	return true, err
}

// dirGroups edits the results into a choice of the ethnic groups of the
// places near the point.
func (h *Handlers) dirGroups(r *Request, q dirQuery) error {
	groups, err := h.db.EthnicGroupsNear(r.ctx, []string{q.Kind}, q.Lat, q.Lon, dirGroupsNear)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		r.Answer(r.T("dir.no_groups", nil))
		return nil
	}
	var rows [][]tgbotapi.InlineKeyboardButton
	var row []tgbotapi.InlineKeyboardButton
	for _, g := range groups {
		gq := q
		gq.Group, gq.Offset = g, 0
		row = append(row, tgbotapi.NewInlineKeyboardButtonData(h.groupName(r, g), gq.data("p")))
		if len(row) == 2 {
			rows, row = append(rows, row), nil
		}
	}
	if row != nil {
		rows = append(rows, row)
	}
	all := q
	all.Group, all.Offset = "", 0
	rows = append(rows, tgbotapi.NewInlineKeyboardRow(r.InlineButton("dir.btn_all_groups", all.data("p"))))
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	r.Answer("")
	return r.Edit(r.T("dir.choose_group", nil), &kb)
}

func (h *Handlers) groupName(r *Request, code string) string {
	id := "ethnic." + code
	ids := h.cat.IDs()
	if i := sort.SearchStrings(ids, id); i < len(ids) && ids[i] == id {
		return r.T(id, nil)
	}
	return code
}

// dirResults is the text and buttons of a page of results.
func (h *Handlers) dirResults(r *Request, q dirQuery) (string, *tgbotapi.InlineKeyboardMarkup, error) {
	hits, more, err := h.db.NearestPlaces(r.ctx, storage.PlaceQuery{Lat: q.Lat, Lon: q.Lon, Kinds: []string{q.Kind},
		EthnicGroup: q.Group, Offset: q.Offset, Limit: dirPageSize})
	if err != nil {
		return "", nil, err
	}
	text, kb := h.dirPage(r, q, hits, more)
	return text, kb, nil
}

// dirPage writes a page of results. It is a function of its own, not part
// of dirResults, because its texts' arguments take 4 KB of stack: beside
// the query's call into SQLite, that grew every worker's stack to 16 KB
// (docs/BENCHMARKS.md, twelfth round).
//
//go:noinline
func (h *Handlers) dirPage(r *Request, q dirQuery, hits []storage.PlaceHit, more bool) (string, *tgbotapi.InlineKeyboardMarkup) {
	var b strings.Builder
	h.dirHeader(&b, r, q)
	if len(hits) == 0 {
		switch {
		case q.Offset > 0:
			b.WriteString("\n\n" + r.T("dir.no_more", nil))
		case q.Group != "":
			b.WriteString("\n\n" + r.T("dir.none_group", nil))
		default:
			return r.T("dir.none", nil), nil
		}
	}
	sample := false
	pins := make([]tgbotapi.InlineKeyboardButton, 0, len(hits))
	for i := range hits {
		sample = sample || hits[i].Sample
		pins = append(pins, h.dirHit(&b, r, &hits[i], q.Offset+i+1))
	}
	if sample {
		b.WriteString("\n\n" + r.T("dir.sample", nil))
	}
	var rows [][]tgbotapi.InlineKeyboardButton
	if len(pins) > 0 {
		rows = append(rows, pins)
	}
	var nav []tgbotapi.InlineKeyboardButton
	if q.Offset > 0 {
		prev := q
		prev.Offset = max(0, q.Offset-dirPageSize)
		nav = append(nav, r.InlineButton("dir.btn_prev", prev.data("p")))
	}
	if more {
		next := q
		next.Offset = q.Offset + dirPageSize
		nav = append(nav, r.InlineButton("dir.btn_more", next.data("p")))
	}
	if nav != nil {
		rows = append(rows, nav)
	}
	if q.Kind == storage.KindAssociation || q.Kind == storage.KindTheatre {
		g := q
		g.Offset = 0
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(r.InlineButton("dir.btn_filter", g.data("g"))))
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return b.String(), &kb
}

// dirHeader writes what a page of results is: near the user or a town,
// which kind, which ethnic group. (Its texts' arguments are on the stack
// only while it writes them: dirPage.)
//
//go:noinline
func (h *Handlers) dirHeader(b *strings.Builder, r *Request, q dirQuery) {
	kind := r.T("kind."+q.Kind, nil)
	if town, ok := h.gaz.Settlement(q.Town); ok && q.Town != 0 {
		b.WriteString(r.T("dir.header_near_town", map[string]any{"Kind": kind, "Town": townName(r, town), "Region": h.regionName(r, town.Region)}))
	} else {
		if !h.gaz.OnKazakhstanSide(q.Lat, q.Lon) {
			b.WriteString(r.T("dir.outside", nil) + "\n\n")
		}
		b.WriteString(r.T("dir.header_near_you", map[string]any{"Kind": kind}))
	}
	if q.Group != "" {
		b.WriteString("\n" + r.T("dir.filtered", map[string]any{"Group": h.groupName(r, q.Group)}))
	}
}

// dirHit writes result number n of a page, and returns its map-pin button.
//
//go:noinline
func (h *Handlers) dirHit(b *strings.Builder, r *Request, hit *storage.PlaceHit, n int) tgbotapi.InlineKeyboardButton {
	fmt.Fprintf(b, "\n\n%d. %s — %s", n, hit.Name(r.Lang), formatDistance(r, hit.Km))
	line := func(s string) {
		if s != "" {
			b.WriteString("\n   " + s)
		}
	}
	line(hit.Address(r.Lang))
	if hit.Phone != "" {
		line("☎️ " + strings.ReplaceAll(hit.Phone, "|", ", "))
	}
	if hit.Hours != "" {
		line("🕒 " + hit.Hours)
	}
	if hit.Website != "" {
		line("🌐 " + hit.Website)
	}
	if hit.Level != "" || hit.EthnicGroup != "" {
		h.dirHitTags(b, r, hit)
	}
	return tgbotapi.NewInlineKeyboardButtonData(r.T("dir.btn_pin", map[string]any{"N": n}), "dir:v:"+strconv.FormatInt(hit.ID, 10))
}

// dirHitTags writes a result's level and ethnic group (dirHit).
//
//go:noinline
func (h *Handlers) dirHitTags(b *strings.Builder, r *Request, hit *storage.PlaceHit) {
	if hit.Level != "" {
		b.WriteString("\n   " + r.T("dir.level", map[string]any{"Level": r.T("level."+hit.Level, nil)}))
	}
	if hit.EthnicGroup != "" {
		b.WriteString("\n   " + r.T("dir.ethnic_group", map[string]any{"Group": h.groupName(r, hit.EthnicGroup)}))
	}
}

// formatDistance writes km the user's way: "850 м", "1,2 км", "37 km".
func formatDistance(r *Request, km float64) string {
	key := "dir.distance_km"
	var n any
	if m := max(10, int(math.Round(km*100))*10); km < 1 && m < 1000 {
		key, n = "dir.distance_m", m
	} else if km < 10 {
		f := strconv.FormatFloat(math.Round(km*10)/10, 'f', 1, 64)
		if r.Lang != "en" {
			f = strings.Replace(f, ".", ",", 1)
		}
		n = f
	} else {
		n = groupThousands(int(math.Round(km)), r.Lang)
	}
	// One map for both keys: each literal would take its own stack (dirPage).
	return r.T(key, map[string]any{"N": n})
}

// groupThousands writes 1234 as "1 234" (kk, ru) or "1,234" (en).
func groupThousands(n int, lang string) string {
	s := strconv.Itoa(n)
	sep := "\u00a0"
	if lang == "en" {
		sep = ","
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + sep + s[i:]
	}
	return s
}

// localityName is the name in lang of a place's locality, as the directory
// CSV wrote it in any script: the settlement of that name in the place's
// region, or the locality as written when the gazetteer lacks it.
func (h *Handlers) localityName(lang, locality, region string) string {
	for _, m := range h.gaz.Exact(locality, 5) {
		if m.Distance == 0 && m.Region == region && m.Name[lang] != "" {
			return m.Name[lang]
		}
	}
	return locality
}
