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

	// Not built yet: answer "coming soon" (replaced by the flows' own routes).
	h.word("menu.houses", h.soon)
	h.word("menu.mediation", h.soon)
	h.word("menu.councils", h.soon)
	h.word("menu.associations", h.soon)
	h.word("menu.charity", h.soon)
}
