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

	// Not built yet: answer "coming soon" (replaced by the flows' own routes).
	h.word("menu.mediation", h.soon)
	h.word("menu.charity", h.soon)

	// Directory (directory.go). menu.mediation belongs to the mediation
	// flow, whose "Find a mediation office" calls findPlaces.
	h.word("menu.houses", h.houses)
	h.word("menu.councils", h.councils)
	h.word("menu.associations", h.associations)
	h.callback("dir", h.dirCallback)
	h.flow(h.directoryFlow())
}
