// Package bot is the Telegram transport: it receives updates (long polling,
// webhook, console), dispatches them (per-chat order, parallel chats, dedupe,
// recover) and sends messages (rate limits, retries).
package bot

import tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

// Message is one thing the bot sends to a chat: a text message, an edit of
// an earlier message, a venue (map pin) or a document. Text is always sent
// as plain text: it is never parsed as Markdown or HTML.
type Message struct {
	ChatID int64
	Text   string

	// At most one of Keyboard, RemoveKeyboard and Inline is used for a new
	// message; an edit may carry Inline only.
	Keyboard       *tgbotapi.ReplyKeyboardMarkup
	RemoveKeyboard bool
	Inline         *tgbotapi.InlineKeyboardMarkup

	// EditID, when set, edits the text and inline keyboard of that message
	// instead of sending a new one.
	EditID int

	Venue    *Venue
	Document *Document
	// Copy, when set, sends a copy of that message (copyMessage: it does
	// not show who sent the original), with Text as its caption.
	Copy *Copy

	// ReplyTo, when set, makes a new message or copy a reply to that
	// message of the chat (the user's own message it answers); it is still
	// sent when that message is gone (allow_sending_without_reply).
	ReplyTo int

	// Protect forbids forwarding and saving (protect_content); set it on
	// every message that carries a citizen's personal data.
	Protect bool

	// Bulk marks a message nobody is waiting for right now (a broadcast, a
	// reminder): it goes only when there is spare sending capacity, so the
	// replies to users who are chatting go first.
	Bulk bool
}

// Copy names a message to copy: a photo, document, voice message, audio or
// video a user sent in chat FromChatID.
type Copy struct {
	FromChatID int64
	MessageID  int
}

// Venue is a map pin with a title and an address.
type Venue struct {
	Latitude, Longitude float64
	Title, Address      string
}

// Document is a file sent as an attachment.
type Document struct {
	Name    string
	Data    []byte
	Caption string
}
