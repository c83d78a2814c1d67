package handlers

import "github.com/dostyq/dostyq/storage"

// routes registers every command, button, callback and flow of the bot.
// Adding a flow means adding its file and its lines here.
func (h *Handlers) routes() {
	// Menu, language, help (menu.go).
	h.commandInFlow("start", h.start) // leaves a flow without answers given (menu.go)
	h.command("menu", h.menu)
	// Help, about and the language leave an unfinished flow where it was:
	// a new language asks its step again (setLanguage).
	h.commandInFlow("help", h.help)
	h.commandInFlow("about", h.about)
	h.commandInFlow("language", h.chooseLanguage)
	h.wordInFlow("menu.language", h.chooseLanguage)
	h.wordInFlow("menu.about", h.about)
	h.wordInFlow("menu.help", h.help)
	h.callback("lang", h.setLanguage)
	h.cat.RegisterWords("btn.back", "btn.cancel")

	// Staff: invites, profile, duty, consent (staff.go, consent.go, background.go).
	h.command("invite", h.invite)
	h.command("profile", h.profile)
	h.command("duty", h.duty)
	h.flow(h.profileFlow())

	// Mediation (mediation.go, mediation_staff.go).
	h.word("menu.mediation", h.mediationMenu)
	h.word("mediation.find", h.findMediationOffice)
	h.word("mediation.ask", h.askMediator)
	h.word("mediation.my_cases", h.cases)
	h.word("mediation.to_menu", h.menu)
	h.word("mediation.leave", h.leaveRelay)
	h.cat.RegisterWords("mediation.contact_bot")
	h.commandAside("cases", h.cases)
	h.commandAside("mediators", h.mediators)
	h.commandAside("case", h.caseHistory)
	h.flow(h.mediationFlow())
	h.flow(h.relayFlow())
	h.flow(h.unsentFlowDef())
	h.cat.RegisterWords("mediation.unsent_send", "mediation.unsent_keep")
	h.flow(h.closeFlow())
	h.flow(h.rateFlow())
	h.onText = h.townOutsideFlow    // a town typed: Houses near it (directory.go); else textOutsideFlow
	h.callback("mo", h.offerButton) // offers: mo:a|d:OFFER, mo:r:OFFER:REASON
	h.callback("mc", h.caseButton)  // cases: mc:w|c|x|X|k:CASE, mc:o:CASE:OUTCOME
	h.callback("mr", h.rateButton)  // ratings: mr:CASE:N
	h.callback("ma", h.adminButton) // administrators: ma:rm|RM:USER
	h.commandAside("coordinators", h.coordinators)
	h.callback("ca", h.coordinatorButton) // administrators: ca:rm|RM:USER (coordinators.go)
	h.onTimer(timerOffer, h.offerTimeout)
	h.onTimer(timerEscalate, h.escalateTimer)
	h.dutyHooks = append(h.dutyHooks, h.mediatorDuty)

	// Directory (directory.go). menu.mediation belongs to the mediation
	// flow, whose "Find a mediation office" calls findPlaces.
	h.word("menu.houses", h.houses)
	h.word("menu.councils", h.councils)
	h.word("menu.associations", h.associations)
	// The kinds offered under Councils and Associations, typed instead of
	// pressed ("Аналар кеңесі", "Театр"); kind.house is menu.houses.
	for _, kind := range []string{storage.KindMediation, storage.KindCouncilAccord, storage.KindCouncilMothers,
		storage.KindAssociation, storage.KindYouth, storage.KindTheatre} {
		h.wordInFlow("kind."+kind, h.kindWord(kind))
	}
	h.callback("dir", h.dirCallback)
	h.flow(h.directoryFlow())
	h.onLocation = h.housesNearLocation

	// Charity: help requests (charity.go, charity_coordinator.go); the
	// volunteering buttons call events.go.
	h.word("menu.charity", h.charityMenu)
	h.word("charity.need_help", h.askHelp)
	h.word("charity.volunteer", h.volunteerEvents)
	h.word("charity.my_requests", h.myRequests)
	h.word("charity.my_registrations", h.myRegistrations)
	h.commandAside("requests", h.helpRequests)
	h.flow(h.charityMenuFlow())
	h.flow(h.helpFlow())
	h.flow(h.helpNoteFlow())
	h.callback("help", h.helpButton) // help:t|th|v|ok|no|w|wy|wn:ID
	h.onTimer(timerHelpUnclaimed, h.helpUnclaimed)
	h.dutyHooks = append(h.dutyHooks, h.helpOnDuty)

	// Statistics for administrators (stats.go).
	h.commandAside("stats", h.stats)

	// Events: volunteering at charity events (events.go); the Charity
	// submenu calls volunteerEvents and myRegistrations.
	h.command("newevent", h.newEvent)
	h.commandAside("events", h.coordinatorEvents)
	h.commandAside("myevents", h.myRegistrations)
	h.flow(h.newEventFlow())
	h.flow(h.messageVolunteersFlow())
	h.flow(h.volunteerFlow())
	h.flow(h.volunteerRegFlow())
	h.callback("ev", h.eventButton) // ev:v|r|w:EVENT, ev:u|k:REG, ev:e|m|c|C:EVENT, ev:p:OFFSET:LAT:LON
	h.onTimer(timerEventRemindDay, h.eventReminder("events.remind_day"))
	h.onTimer(timerEventRemind2h, h.eventReminder("events.remind_2h"))
	h.onTimer(timerEventOffer, h.eventOfferExpired)

	// Personal data: /mydata, /forget, retention, /audit (privacy.go).
	h.commandInFlow("mydata", h.myData)            // shows the unfinished answers too
	h.commandInFlow("forget", h.forget)            // erasing ends the flow; keeping asks its step again
	h.wordInFlow("privacy.forget_typed", h.forget) // "Забудь меня", "Деректерімді өшіріңіз"
	h.commandAside("audit", h.audit)
	h.callback("pd", h.forgetButton) // pd:forget|keep, for the sender's own data only
	h.onTimer(timerRetention, h.retentionJob)
}
