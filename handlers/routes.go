package handlers

// routes registers every command, button, callback and flow of the bot.
// Adding a flow means adding its file and its lines here.
func (h *Handlers) routes() {
	// Menu, language, help (menu.go).
	h.command("start", h.start)
	h.command("menu", h.menu)
	h.command("help", h.help)
	h.command("about", h.about)
	h.command("language", h.chooseLanguage)
	h.word("menu.language", h.chooseLanguage)
	h.word("menu.about", h.about)
	h.word("menu.help", h.help)
	h.callback("lang", h.setLanguage)
	h.cat.RegisterWords("btn.back", "btn.cancel")

	// Staff: invites, profile, duty, consent (staff.go, consent.go, background.go).
	h.command("invite", h.invite)
	h.command("profile", h.profile)
	h.command("duty", h.duty)
	h.flow(h.profileFlow())

	// Charity: help requests (charity.go, charity_coordinator.go); the
	// volunteering buttons call events.go.
	h.word("menu.charity", h.charityMenu)
	h.word("charity.need_help", h.askHelp)
	h.word("charity.volunteer", h.volunteerEvents)
	h.word("charity.my_requests", h.myRequests)
	h.word("charity.my_registrations", h.myRegistrations)
	h.command("requests", h.helpRequests)
	h.flow(h.charityMenuFlow())
	h.flow(h.helpFlow())
	h.flow(h.helpNoteFlow())
	h.callback("help", h.helpButton) // help:t|v|ok|no|w|wy|wn:ID
	h.onTimer(timerHelpUnclaimed, h.helpUnclaimed)
	h.dutyHooks = append(h.dutyHooks, h.helpOnDuty)

	// Not built yet: answer "coming soon" (replaced by the flows' own routes).
	h.word("menu.houses", h.soon)
	h.word("menu.mediation", h.soon)
	h.word("menu.councils", h.soon)
	h.word("menu.associations", h.soon)
}
