package handlers

// Stubs of the volunteering part (branch events), so the Charity submenu
// works before it is merged. The lead deletes this file at merge.

// volunteerEvents lists upcoming charity events near the user.
func (h *Handlers) volunteerEvents(r *Request) error { return r.ReplyKey("menu.soon", nil) }

// myRegistrations lists the user's event registrations.
func (h *Handlers) myRegistrations(r *Request) error { return r.ReplyKey("menu.soon", nil) }
