package handlers

// findPlaces is provided by the directory (directory.go); this stub keeps
// the mediation branch building on its own. The lead deletes it at merge.
func (h *Handlers) findPlaces(r *Request, kind string) error { return r.ReplyKey("menu.soon", nil) }
