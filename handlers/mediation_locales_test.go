package handlers

import (
	"strings"
	"testing"

	"github.com/dostyq/dostyq/locales"
	"github.com/dostyq/dostyq/storage"
)

// Every message of the staff, consent and mediation files exists in kk, ru
// and en with the same placeholders.
func TestMediationMessagesInEveryLanguage(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	prefixes := []string{"mediation.", "staff.", "invite.", "profile.", "duty.", "consent."}
	data := map[string]any{"Count": 2, "Case": "M-1", "Name": "N", "Role": "r", "Link": "l", "Expires": "e", "ID": 1,
		"Max": 1, "Min": 1, "Version": "v", "Kind": "k", "Place": "p", "Region": "r", "Language": "l", "Contact": "c",
		"Description": "d", "Date": "d", "Status": "s", "Outcome": "o", "Note": "n", "Rating": 1, "Comment": "c",
		"Deadline": "d", "To": "t", "Stars": "s", "Reason": "r", "Town": "t", "Phone": "p", "Regions": "r",
		"Languages": "l", "Duty": "d", "Roles": "r", "Kinds": "k", "Open": 1, "Released": 1, "More": 1, "Cases": "M-2",
		"Typed": "t", "Options": "o", "Other": "M-3"}
	checked := 0
	for _, id := range cat.IDs() {
		if !slicesHasPrefix(id, prefixes) {
			continue
		}
		checked++
		var placeholders []int
		for _, lang := range locales.Supported {
			text := cat.T(lang, id, data)
			if strings.HasSuffix(id, "_count") { // plural messages
				text = cat.N(lang, id, 2, data)
			}
			if text == id || text == "" {
				t.Errorf("%s missing in %s", id, lang)
			}
			if strings.Contains(text, "<no value>") {
				t.Errorf("%s in %s has a placeholder the code does not fill: %q", id, lang, text)
			}
			placeholders = append(placeholders, strings.Count(text, "M-1"))
		}
		if placeholders[0] != placeholders[1] || placeholders[1] != placeholders[2] {
			t.Errorf("%s: the case number appears %v times in kk, ru, en", id, placeholders)
		}
	}
	if checked < 150 {
		t.Errorf("only %d messages checked", checked)
	}
}

func slicesHasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Every event of a case's history has its label in every language, so
// that /case never shows a message id (an erased citizen's case showed
// "mediation.event_erased").
func TestEveryCaseEventHasALabel(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range storage.CaseEventKinds {
		for _, lang := range locales.Supported {
			id := "mediation.event_" + kind
			if got := cat.T(lang, id, nil); got == id || got == "" {
				t.Errorf("%s has no label in %s", id, lang)
			}
		}
	}
}

// The history of a case whose citizen erased their data says so in words.
func TestCaseHistoryAfterForgetIsInWords(t *testing.T) {
	c := newChatTest(t, "en", 100)
	c.submit(10, "💬 Through the bot only")
	c.say("@as 10 en\n/forget")
	c.expect(c.say("@press 🗑 Yes, erase my data"), "Your personal data has been erased.")
	out := c.say("@as 100 en\n/case M-000001")
	c.expect(out, "the citizen erased their personal data")
	c.reject(out, "mediation.event")
}
