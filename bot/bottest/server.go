// Package bottest is a fake Telegram Bot API server on httptest. It speaks
// the real protocol to the real go-telegram-bot-api client: getMe,
// getUpdates (long polling with offset and timeout), setWebhook and
// deleteWebhook (and delivers updates to the webhook, with the secret
// token header), sendMessage, editMessageText, editMessageReplyMarkup,
// sendVenue, sendLocation, sendDocument, copyMessage, answerCallbackQuery,
// setMyCommands, deleteMyCommands.
//
// Tests (and the load tool) push updates as users would (SendText,
// SendLocation, SendContact, Press), wait for what the bot sends to a chat
// (Next), and inspect every API call (Calls). Options hold every answer
// for a delay and enforce Telegram's sending limits with 429 and
// retry_after.
package bottest

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Token is the bot token the server accepts unless Options.Token is set.
const Token = "123456:TEST-token-for-the-fake-bot-api"

// BotID and BotUsername describe the bot getMe returns.
const (
	BotID       = 123456
	BotUsername = "dostyq_test_bot"
)

// Options configure a Server. The zero value is a fast server without limits.
type Options struct {
	// Token is the accepted bot token (default Token); other tokens get 401.
	Token string
	// Delay holds every API answer this long (the real Telegram is tens
	// of milliseconds away).
	Delay time.Duration
	// RateLimit makes the server answer 429 with retry_after like
	// Telegram when the bot sends more than GlobalRate messages a second
	// in all or ChatRate a second to one chat (20 a minute to a group).
	RateLimit  bool
	GlobalRate float64 // default 30
	ChatRate   float64 // default 1
	// ChatBurst is how many messages one chat may receive at once before
	// ChatRate applies (default 4: Telegram tolerates short bursts, and a
	// bot keeping one a second is seen with network jitter).
	ChatBurst int
	// NoRecord turns off the call log (Calls), for long load tests.
	NoRecord bool
	// Observe, when set, is called with everything the bot does in a chat
	// (as it is queued for Next), e.g. to count deliveries in a load test.
	Observe func(Sent)
	// TLS serves the Bot API over HTTPS, as Telegram does, with a
	// certificate of its own (CertificatePEM) for 127.0.0.1.
	TLS bool
}

// User is a Telegram user who writes to the bot; their private chat has
// the same id.
type User struct {
	ID           int64
	FirstName    string
	LanguageCode string
}

// Call is one Bot API request the server received.
type Call struct {
	Method string
	Params url.Values
	// Files holds uploaded files by field name.
	Files map[string]File
	// Status is the HTTP status of the answer.
	Status int

	sent *Sent // what the call did in a chat, shown after it is recorded
}

// File is an uploaded file.
type File struct {
	Name string
	Data []byte
}

// Sent is something the bot did in a chat: a message sent or edited, or a
// callback query answered (Method tells which).
type Sent struct {
	Method    string // sendMessage, editMessageText, sendVenue, answerCallbackQuery, ...
	ChatID    int64
	MessageID int
	Text      string // text, or caption of a document
	// Keyboard, Inline and RemoveKeyboard are the reply_markup.
	Keyboard       *tgbotapi.ReplyKeyboardMarkup
	Inline         *tgbotapi.InlineKeyboardMarkup
	RemoveKeyboard bool
	Protect        bool
	ParseMode      string
	Venue          *tgbotapi.Venue
	Location       *tgbotapi.Location
	Document       *File
	// CopyFrom and CopyMessage are the chat and message copied
	// (copyMessage; Text is the caption).
	CopyFrom    int64
	CopyMessage int
	// ReplyTo is the message this one answers (reply_to_message_id), and
	// ReplyAnyway allow_sending_without_reply.
	ReplyTo     int
	ReplyAnyway bool
	// CallbackID and ShowAlert are set for answerCallbackQuery.
	CallbackID string
	ShowAlert  bool
	Params     url.Values
}

// Server is the fake Bot API.
type Server struct {
	*httptest.Server
	opts Options

	nextUpdate atomic.Int64
	nextCB     atomic.Int64
	n429       atomic.Int64

	upMu      sync.Mutex
	pending   []pendingUpdate // updates not yet confirmed, in order
	upWake    chan struct{}   // closed when an update is pushed
	webhook   webhookState
	deliver   *delivery
	deliverTo []string

	chatMu sync.Mutex
	chats  map[int64]*chat
	cbs    map[string]int64 // callback query id → chat
	// commands set with setMyCommands, by scope and language
	commands map[commandScope][]tgbotapi.BotCommand

	callMu   sync.Mutex
	calls    []Call
	callWake chan struct{}

	limMu   sync.Mutex
	global  gcra
	perChat map[int64]*gcra
	swept   time.Time

	failMu sync.Mutex
	fails  []failure
	block  map[int64]bool
	holds  map[string]<-chan struct{} // method → answered once closed (Hold)

	closed chan struct{}
}

type webhookState struct {
	URL, Secret    string
	MaxConnections int
	AllowedUpdates []string
}

type chat struct {
	mu       sync.Mutex
	nextMsg  int
	messages map[int]*message // bot messages by id, for edits
	inbox    []Sent
	wake     chan struct{}
}

type message struct {
	text   string
	inline *tgbotapi.InlineKeyboardMarkup // compared as JSON at an edit
}

type failure struct {
	method     string
	code       int
	desc       string
	retryAfter int
}

// New starts a server; Close it when done.
func New(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = Token
	}
	if opts.GlobalRate <= 0 {
		opts.GlobalRate = 30
	}
	if opts.ChatRate <= 0 {
		opts.ChatRate = 1
	}
	if opts.ChatBurst <= 0 {
		opts.ChatBurst = 4
	}
	s := &Server{
		opts:     opts,
		upWake:   make(chan struct{}),
		chats:    map[int64]*chat{},
		cbs:      map[string]int64{},
		commands: map[commandScope][]tgbotapi.BotCommand{},
		callWake: make(chan struct{}),
		global:   gcra{interval: time.Duration(float64(time.Second) / opts.GlobalRate), burst: 30},
		perChat:  map[int64]*gcra{},
		block:    map[int64]bool{},
		closed:   make(chan struct{}),
	}
	// Telegram's update ids are large numbers; start each server somewhere
	// else so that tests sharing a Redis do not see each other's ids.
	s.nextUpdate.Store(int64(1e8 + rand.IntN(8e8)))
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	if opts.TLS {
		s.Server.StartTLS()
	} else {
		s.Server.Start()
	}
	return s
}

// CertificatePEM is the server's certificate, PEM-encoded, for a client
// to trust (e.g. a bot process through SSL_CERT_FILE); nil without TLS.
func (s *Server) CertificatePEM() []byte {
	if !s.opts.TLS {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// Close stops the server and its webhook deliveries.
func (s *Server) Close() {
	select {
	case <-s.closed:
		return
	default:
	}
	close(s.closed)
	s.upMu.Lock()
	d := s.deliver
	s.deliver = nil
	s.upMu.Unlock()
	if d != nil {
		d.stop()
	}
	s.Server.CloseClientConnections()
	s.Server.Close()
}

// Endpoint is the API endpoint in go-telegram-bot-api's format
// (TELEGRAM_API_ENDPOINT): base URL, then bot%s/%s for token and method.
func (s *Server) Endpoint() string { return s.URL + "/bot%s/%s" }

// Token is the token the server accepts.
func (s *Server) Token() string { return s.opts.Token }

// ---- pushing updates ----

// Push queues an update for getUpdates (or delivers it to the webhook when
// one is set). A zero UpdateID gets the next id; the id is returned.
func (s *Server) Push(u tgbotapi.Update) int {
	// The id is taken under the lock that orders the queue, so that ids
	// stay increasing in it, as getUpdates' offset requires.
	s.upMu.Lock()
	defer s.upMu.Unlock()
	if u.UpdateID == 0 {
		u.UpdateID = int(s.nextUpdate.Add(1))
	} else if int64(u.UpdateID) > s.nextUpdate.Load() {
		s.nextUpdate.Store(int64(u.UpdateID))
	}
	raw, err := json.Marshal(u)
	if err != nil {
		panic(fmt.Sprintf("bottest: marshal update: %v", err))
	}
	p := pendingUpdate{id: u.UpdateID, chat: updateChat(u), raw: raw}
	if s.deliver != nil {
		s.deliver.push(p)
		return u.UpdateID
	}
	s.pending = append(s.pending, p)
	close(s.upWake)
	s.upWake = make(chan struct{})
	return u.UpdateID
}

func updateChat(u tgbotapi.Update) int64 {
	if c := u.FromChat(); c != nil {
		return c.ID
	}
	if f := u.SentFrom(); f != nil {
		return f.ID
	}
	return 0
}

func (s *Server) newMessage(from User) *tgbotapi.Message {
	return &tgbotapi.Message{
		MessageID: s.chat(from.ID).newID(),
		From:      tgUser(from),
		Chat:      &tgbotapi.Chat{ID: from.ID, Type: "private", FirstName: from.FirstName},
		Date:      int(time.Now().Unix()),
	}
}

func tgUser(u User) *tgbotapi.User {
	name := u.FirstName
	if name == "" {
		name = "User" + strconv.FormatInt(u.ID, 10)
	}
	return &tgbotapi.User{ID: u.ID, FirstName: name, LanguageCode: u.LanguageCode}
}

// Message builds the update of a text message from the user, with a
// bot_command entity when text starts with "/"; it is not pushed.
func (s *Server) Message(from User, text string) tgbotapi.Update {
	m := s.newMessage(from)
	m.Text = text
	if strings.HasPrefix(text, "/") {
		n := strings.IndexByte(text, ' ')
		if n < 0 {
			n = len(text)
		}
		m.Entities = []tgbotapi.MessageEntity{{Type: "bot_command", Offset: 0, Length: len(utf16(text[:n]))}}
	}
	return tgbotapi.Update{Message: m}
}

func utf16(s string) []uint16 {
	var out []uint16
	for _, r := range s {
		if r >= 0x10000 {
			out = append(out, 0, 0)
		} else {
			out = append(out, 0)
		}
	}
	return out
}

// SendText pushes a text message from the user and returns its update id.
func (s *Server) SendText(from User, text string) int { return s.Push(s.Message(from, text)) }

// SendLocation pushes a shared location from the user.
func (s *Server) SendLocation(from User, lat, lon float64) int {
	m := s.newMessage(from)
	m.Location = &tgbotapi.Location{Latitude: lat, Longitude: lon}
	return s.Push(tgbotapi.Update{Message: m})
}

// SendContact pushes the user's own contact.
func (s *Server) SendContact(from User, phone string) int {
	return s.Push(s.Contact(from, phone))
}

// Contact builds the update of the user sharing their own contact; it is
// not pushed.
func (s *Server) Contact(from User, phone string) tgbotapi.Update {
	m := s.newMessage(from)
	m.Contact = &tgbotapi.Contact{PhoneNumber: phone, FirstName: m.From.FirstName, UserID: from.ID}
	return tgbotapi.Update{Message: m}
}

// Press pushes a press of an inline button with callback data on the bot's
// message messageID in the user's chat. It returns the update id and the
// callback query id, which the bot's answerCallbackQuery carries.
func (s *Server) Press(from User, messageID int, data string) (updateID int, callbackID string) {
	u := s.Callback(from, messageID, data)
	return s.Push(u), u.CallbackQuery.ID
}

// Callback builds the update of a press of an inline button (see Press)
// without pushing it, e.g. to post it to a webhook of one's choice; its
// callback query id is known to answerCallbackQuery.
func (s *Server) Callback(from User, messageID int, data string) tgbotapi.Update {
	callbackID := "cb" + strconv.FormatInt(s.nextCB.Add(1), 10)
	s.chatMu.Lock()
	s.cbs[callbackID] = from.ID
	s.chatMu.Unlock()
	u := tgbotapi.Update{CallbackQuery: &tgbotapi.CallbackQuery{
		ID:           callbackID,
		From:         tgUser(from),
		Message:      &tgbotapi.Message{MessageID: messageID, Chat: &tgbotapi.Chat{ID: from.ID, Type: "private"}, From: &tgbotapi.User{ID: BotID, IsBot: true, FirstName: "Dostyq", UserName: BotUsername}},
		ChatInstance: strconv.FormatInt(from.ID, 10),
		Data:         data,
	}}
	return u
}

// ---- what the bot did ----

func (s *Server) chat(id int64) *chat {
	s.chatMu.Lock()
	defer s.chatMu.Unlock()
	c := s.chats[id]
	if c == nil {
		c = &chat{messages: map[int]*message{}, wake: make(chan struct{})}
		s.chats[id] = c
	}
	return c
}

func (c *chat) newID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextMsg++
	return c.nextMsg
}

func (c *chat) add(e Sent) {
	c.mu.Lock()
	c.inbox = append(c.inbox, e)
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
}

// Next waits for the next thing the bot does in the chat (a message sent
// or edited, a callback of the chat's user answered) and takes it off the
// chat's queue.
func (s *Server) Next(ctx context.Context, chatID int64) (Sent, error) {
	c := s.chat(chatID)
	for {
		c.mu.Lock()
		if len(c.inbox) > 0 {
			e := c.inbox[0]
			c.inbox[0] = Sent{}
			c.inbox = c.inbox[1:]
			c.mu.Unlock()
			return e, nil
		}
		wake := c.wake
		c.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return Sent{}, fmt.Errorf("bottest: waiting for chat %d: %w", chatID, ctx.Err())
		case <-s.closed:
			return Sent{}, errors.New("bottest: server closed")
		}
	}
}

// Take returns what the bot did in the chat and Next has not taken yet,
// and takes it.
func (s *Server) Take(chatID int64) []Sent {
	c := s.chat(chatID)
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.inbox
	c.inbox = nil
	return out
}

// Forget drops what the server keeps about a chat (its messages and
// queue), for load tests with many users.
func (s *Server) Forget(chatID int64) {
	s.chatMu.Lock()
	delete(s.chats, chatID)
	s.chatMu.Unlock()
}

// Pending returns what the bot did in the chat and Next has not taken yet,
// without taking it.
func (s *Server) Pending(chatID int64) []Sent {
	c := s.chat(chatID)
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Sent(nil), c.inbox...)
}

// Calls returns the recorded API calls, of the given methods only when any
// are named.
func (s *Server) Calls(methods ...string) []Call {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// WaitCall waits until a call of method has been answered and returns the
// first one.
func (s *Server) WaitCall(ctx context.Context, method string) (Call, error) {
	for {
		s.callMu.Lock()
		for _, c := range s.calls {
			if c.Method == method {
				s.callMu.Unlock()
				return c, nil
			}
		}
		wake := s.callWake
		s.callMu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return Call{}, fmt.Errorf("bottest: waiting for %s: %w", method, ctx.Err())
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Webhook returns the webhook URL and secret token set by the bot.
func (s *Server) Webhook() (url, secret string) {
	s.upMu.Lock()
	defer s.upMu.Unlock()
	return s.webhook.URL, s.webhook.Secret
}

type commandScope struct {
	kind string
	chat int64
	lang string
}

func commandsKey(scope, lang string) (commandScope, error) {
	k := commandScope{kind: "default", lang: lang}
	if scope == "" {
		return k, nil
	}
	var sc struct {
		Type   string `json:"type"`
		ChatID int64  `json:"chat_id"`
	}
	if err := json.Unmarshal([]byte(scope), &sc); err != nil || sc.Type == "" {
		return k, errBad("can't parse BotCommandScope")
	}
	k.kind, k.chat = sc.Type, sc.ChatID
	return k, nil
}

// Commands returns the command list the bot set for language lang ("" for
// all) in the default scope (chat 0) or for one chat (scope "chat").
func (s *Server) Commands(chat int64, lang string) []tgbotapi.BotCommand {
	k := commandScope{kind: "default", lang: lang}
	if chat != 0 {
		k = commandScope{kind: "chat", chat: chat, lang: lang}
	}
	s.chatMu.Lock()
	defer s.chatMu.Unlock()
	return append([]tgbotapi.BotCommand(nil), s.commands[k]...)
}

// ---- failures ----

// Fail makes the next call of method fail with the HTTP/Bot API code,
// description and retry_after (for 429). Failures queue up.
func (s *Server) Fail(method string, code int, description string, retryAfter int) {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	s.fails = append(s.fails, failure{method: method, code: code, desc: description, retryAfter: retryAfter})
}

// Hold keeps every answer to method waiting until release is closed (the
// call itself is recorded and queued for Next at once, as Telegram acts on
// a request before its answer is back). A bot that waits
// for that answer before its next call stalls; one that sends alongside
// it goes on.
func (s *Server) Hold(method string, release <-chan struct{}) {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	if s.holds == nil {
		s.holds = map[string]<-chan struct{}{}
	}
	s.holds[method] = release
}

func (s *Server) held(method string) <-chan struct{} {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	return s.holds[method]
}

// Block makes the chat's user block the bot: messages to it get 403
// "Forbidden: bot was blocked by the user".
func (s *Server) Block(chatID int64) {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	s.block[chatID] = true
}

func (s *Server) takeFailure(method string) (failure, bool) {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	for i, f := range s.fails {
		if f.method == method {
			s.fails = append(s.fails[:i], s.fails[i+1:]...)
			return f, true
		}
	}
	return failure{}, false
}

func (s *Server) blocked(chatID int64) bool {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	return s.block[chatID]
}

// ---- HTTP ----

type apiError struct {
	code       int
	desc       string
	retryAfter int
}

func (e *apiError) Error() string { return e.desc }

func errBad(desc string) *apiError { return &apiError{code: 400, desc: "Bad Request: " + desc} }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	botToken, method, ok := strings.Cut(path, "/")
	if !ok || !strings.HasPrefix(botToken, "bot") {
		writeError(w, &apiError{code: 404, desc: "Not Found"})
		return
	}
	if botToken[3:] != s.opts.Token {
		writeError(w, &apiError{code: 401, desc: "Unauthorized"})
		return
	}
	call := Call{Method: method}
	if err := parseParams(r, &call); err != nil {
		writeError(w, errBad(err.Error()))
		return
	}
	if s.opts.Delay > 0 && method != "getUpdates" {
		select {
		case <-time.After(s.opts.Delay):
		case <-r.Context().Done():
			return
		case <-s.closed:
		}
	}
	result, err := s.handle(r.Context(), &call)
	if err == nil {
		if f, ok := s.takeFailure(method); ok {
			err = &apiError{code: f.code, desc: f.desc, retryAfter: f.retryAfter}
			if call.sent != nil && call.sent.CallbackID != "" {
				// A refused answer leaves its query to be answered again.
				s.chatMu.Lock()
				s.cbs[call.sent.CallbackID] = call.sent.ChatID
				s.chatMu.Unlock()
			}
		}
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = errBad(err.Error())
		}
		call.Status = ae.code
		if ae.code == http.StatusTooManyRequests {
			s.n429.Add(1)
		}
		s.record(call)
		writeError(w, ae)
		return
	}
	call.Status = http.StatusOK
	sent := call.sent
	call.sent = nil
	s.record(call)
	if sent != nil {
		if s.opts.Observe != nil {
			s.opts.Observe(*sent)
		}
		s.chat(sent.ChatID).add(*sent)
	}
	if release := s.held(method); release != nil {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		case <-s.closed:
		}
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true,"result":`)
	w.Write(result)
	io.WriteString(w, "}")
}

func (s *Server) record(c Call) {
	if s.opts.NoRecord {
		return
	}
	s.callMu.Lock()
	s.calls = append(s.calls, c)
	close(s.callWake)
	s.callWake = make(chan struct{})
	s.callMu.Unlock()
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"ok": false, "error_code": e.code, "description": e.desc}
	if e.retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": e.retryAfter}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.code)
	json.NewEncoder(w).Encode(body)
}

func parseParams(r *http.Request, c *Call) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			return err
		}
		c.Params = url.Values(r.MultipartForm.Value)
		for name, fhs := range r.MultipartForm.File {
			f, err := fhs[0].Open()
			if err != nil {
				return err
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return err
			}
			if c.Files == nil {
				c.Files = map[string]File{}
			}
			c.Files[name] = File{Name: fhs[0].Filename, Data: data}
		}
	case "application/json":
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			return err
		}
		c.Params = url.Values{}
		for k, v := range m {
			if str, ok := v.(string); ok {
				c.Params.Set(k, str)
			} else {
				b, _ := json.Marshal(v)
				c.Params.Set(k, string(b))
			}
		}
	default:
		if err := r.ParseForm(); err != nil {
			return err
		}
		c.Params = r.Form
	}
	return nil
}

var trueJSON = json.RawMessage("true")

func (s *Server) handle(ctx context.Context, c *Call) (json.RawMessage, error) {
	p := c.Params
	switch c.Method {
	case "getMe":
		return json.Marshal(tgbotapi.User{ID: BotID, IsBot: true, FirstName: "Dostyq", UserName: BotUsername})
	case "getUpdates":
		return s.getUpdates(ctx, p)
	case "setWebhook":
		return s.setWebhook(p)
	case "deleteWebhook":
		s.setDelivery(webhookState{})
		if p.Get("drop_pending_updates") == "true" {
			s.upMu.Lock()
			s.pending = nil
			s.upMu.Unlock()
		}
		return trueJSON, nil
	case "getWebhookInfo":
		u, _ := s.Webhook()
		s.upMu.Lock()
		n := len(s.pending)
		s.upMu.Unlock()
		return json.Marshal(map[string]any{"url": u, "has_custom_certificate": false, "pending_update_count": n})
	case "setMyCommands", "deleteMyCommands":
		var cmds []tgbotapi.BotCommand
		if c.Method == "setMyCommands" {
			if err := json.Unmarshal([]byte(p.Get("commands")), &cmds); err != nil {
				return nil, errBad("can't parse commands JSON object")
			}
		}
		key, err := commandsKey(p.Get("scope"), p.Get("language_code"))
		if err != nil {
			return nil, err
		}
		s.chatMu.Lock()
		if len(cmds) == 0 {
			delete(s.commands, key)
		} else {
			s.commands[key] = cmds
		}
		s.chatMu.Unlock()
		return trueJSON, nil
	case "answerCallbackQuery":
		id := p.Get("callback_query_id")
		s.chatMu.Lock()
		chatID, ok := s.cbs[id]
		delete(s.cbs, id)
		s.chatMu.Unlock()
		if !ok {
			return nil, errBad("query is too old and response timeout expired or query ID is invalid")
		}
		c.sent = &Sent{Method: c.Method, ChatID: chatID, CallbackID: id, Text: p.Get("text"),
			ShowAlert: p.Get("show_alert") == "true", Params: p}
		return trueJSON, nil
	case "sendMessage", "sendVenue", "sendLocation", "sendDocument", "copyMessage":
		return s.send(c)
	case "editMessageText", "editMessageReplyMarkup":
		return s.edit(c)
	}
	return nil, &apiError{code: 404, desc: "Not Found: method not found"}
}

func (s *Server) getUpdates(ctx context.Context, p url.Values) (json.RawMessage, error) {
	offset, _ := strconv.Atoi(p.Get("offset"))
	limit, _ := strconv.Atoi(p.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(p.Get("timeout"))
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		s.upMu.Lock()
		if s.webhook.URL != "" {
			s.upMu.Unlock()
			return nil, &apiError{code: 409, desc: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
		}
		// Updates below offset are confirmed: drop them.
		n := 0
		for n < len(s.pending) && s.pending[n].id < offset {
			n++
		}
		if n > 0 {
			clear(s.pending[:n])
			s.pending = s.pending[n:]
		}
		if len(s.pending) > 0 {
			k := min(limit, len(s.pending))
			out := make([]byte, 0, 256*k)
			out = append(out, '[')
			for i, u := range s.pending[:k] {
				if i > 0 {
					out = append(out, ',')
				}
				out = append(out, u.raw...)
			}
			s.upMu.Unlock()
			if s.opts.Delay > 0 {
				// Telegram is far away: the answer takes the delay to arrive.
				select {
				case <-time.After(s.opts.Delay):
				case <-ctx.Done():
				}
			}
			return append(out, ']'), nil
		}
		wake := s.upWake
		s.upMu.Unlock()
		if timeout <= 0 {
			return json.RawMessage("[]"), nil
		}
		select {
		case <-wake:
		case <-deadline.C:
			return json.RawMessage("[]"), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.closed:
			return json.RawMessage("[]"), nil
		}
	}
}

func (s *Server) setWebhook(p url.Values) (json.RawMessage, error) {
	u := p.Get("url")
	if u == "" {
		s.setDelivery(webhookState{})
		return trueJSON, nil
	}
	if !strings.HasPrefix(u, "https://") {
		return nil, errBad("bad webhook: HTTPS url must be provided for webhook")
	}
	st := webhookState{URL: u, Secret: p.Get("secret_token"), MaxConnections: 40}
	if n, err := strconv.Atoi(p.Get("max_connections")); err == nil && n > 0 {
		st.MaxConnections = min(n, 100)
	}
	if a := p.Get("allowed_updates"); a != "" {
		json.Unmarshal([]byte(a), &st.AllowedUpdates)
	}
	s.setDelivery(st)
	return trueJSON, nil
}

// ---- sending ----

func (s *Server) chatParam(p url.Values) (int64, error) {
	id, err := strconv.ParseInt(p.Get("chat_id"), 10, 64)
	if err != nil || id == 0 {
		return 0, errBad("chat not found")
	}
	if s.blocked(id) {
		return 0, &apiError{code: 403, desc: "Forbidden: bot was blocked by the user"}
	}
	return id, nil
}

func (s *Server) send(c *Call) (json.RawMessage, error) {
	p := c.Params
	chatID, err := s.chatParam(p)
	if err != nil {
		return nil, err
	}
	e := Sent{Method: c.Method, ChatID: chatID, Protect: p.Get("protect_content") == "true",
		ParseMode: p.Get("parse_mode"), Params: p, ReplyAnyway: p.Get("allow_sending_without_reply") == "true"}
	if v := p.Get("reply_to_message_id"); v != "" {
		id, err := strconv.Atoi(v)
		if err != nil || id <= 0 {
			return nil, errBad("wrong reply_to_message_id")
		}
		e.ReplyTo = id
	}
	if err := parseMarkup(p.Get("reply_markup"), &e); err != nil {
		return nil, err
	}
	switch c.Method {
	case "sendMessage":
		e.Text = p.Get("text")
		if strings.TrimSpace(e.Text) == "" {
			return nil, errBad("message text is empty")
		}
		if len(utf16(e.Text)) > 4096 {
			return nil, errBad("message is too long")
		}
	case "sendVenue", "sendLocation":
		lat, err1 := strconv.ParseFloat(p.Get("latitude"), 64)
		lon, err2 := strconv.ParseFloat(p.Get("longitude"), 64)
		if err1 != nil || err2 != nil || math.Abs(lat) > 90 || math.Abs(lon) > 180 {
			return nil, errBad("wrong coordinates")
		}
		loc := tgbotapi.Location{Latitude: lat, Longitude: lon}
		if c.Method == "sendVenue" {
			if p.Get("title") == "" || p.Get("address") == "" {
				return nil, errBad("venue title and address must be non-empty")
			}
			e.Venue = &tgbotapi.Venue{Location: loc, Title: p.Get("title"), Address: p.Get("address")}
		} else {
			e.Location = &loc
		}
	case "sendDocument":
		f, ok := c.Files["document"]
		if !ok {
			return nil, errBad("there is no document in the request")
		}
		e.Document = &f
		e.Text = p.Get("caption")
		if len(utf16(e.Text)) > 1024 {
			return nil, errBad("message caption is too long")
		}
	case "copyMessage":
		from, err1 := strconv.ParseInt(p.Get("from_chat_id"), 10, 64)
		id, err2 := strconv.Atoi(p.Get("message_id"))
		if err1 != nil || err2 != nil || from == 0 || id <= 0 {
			return nil, errBad("message to copy not found")
		}
		e.CopyFrom, e.CopyMessage, e.Text = from, id, p.Get("caption")
		if len(utf16(e.Text)) > 1024 {
			return nil, errBad("message caption is too long")
		}
	}
	if err := s.limit(chatID); err != nil {
		return nil, err
	}
	ch := s.chat(chatID)
	e.MessageID = ch.newID()
	if e.Inline != nil || c.Method == "sendMessage" {
		ch.mu.Lock()
		ch.messages[e.MessageID] = &message{text: e.Text, inline: e.Inline}
		ch.mu.Unlock()
	}
	c.sent = &e
	if c.Method == "copyMessage" { // a MessageId, not a Message
		return json.Marshal(map[string]int{"message_id": e.MessageID})
	}
	return messageJSON(e)
}

func (s *Server) edit(c *Call) (json.RawMessage, error) {
	p := c.Params
	chatID, err := s.chatParam(p)
	if err != nil {
		return nil, err
	}
	id, _ := strconv.Atoi(p.Get("message_id"))
	e := Sent{Method: c.Method, ChatID: chatID, MessageID: id, ParseMode: p.Get("parse_mode"), Params: p}
	if err := parseMarkup(p.Get("reply_markup"), &e); err != nil {
		return nil, err
	}
	if e.Keyboard != nil || e.RemoveKeyboard {
		return nil, errBad("inline keyboard expected")
	}
	ch := s.chat(chatID)
	ch.mu.Lock()
	m := ch.messages[id]
	if m == nil {
		ch.mu.Unlock()
		return nil, errBad("message to edit not found")
	}
	text := m.text
	if c.Method == "editMessageText" {
		text = p.Get("text")
		if strings.TrimSpace(text) == "" {
			ch.mu.Unlock()
			return nil, errBad("message text is empty")
		}
		if len(utf16(text)) > 4096 {
			ch.mu.Unlock()
			return nil, errBad("MESSAGE_TOO_LONG")
		}
	}
	if text == m.text && inlineJSON(e.Inline) == inlineJSON(m.inline) {
		ch.mu.Unlock()
		return nil, errBad("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	ch.mu.Unlock()
	if err := s.limit(chatID); err != nil {
		return nil, err
	}
	ch.mu.Lock()
	m.text, m.inline = text, e.Inline
	ch.mu.Unlock()
	e.Text = text
	c.sent = &e
	return messageJSON(e)
}

// parseMarkup reads reply_markup in one pass (the load tool's fake Bot API
// parses one for nearly every message the bot sends): an inline keyboard,
// a reply keyboard or its removal, checked as Telegram checks them. Unlike
// Telegram it matches the keys as encoding/json does (whatever their
// case), and a keyboard given as null counts as none: the bot sends
// neither.
func parseMarkup(raw string, e *Sent) error {
	if raw == "" {
		return nil
	}
	var m struct {
		tgbotapi.ReplyKeyboardMarkup
		InlineKeyboard [][]tgbotapi.InlineKeyboardButton `json:"inline_keyboard"`
		RemoveKeyboard bool                              `json:"remove_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return errBad("can't parse reply keyboard markup JSON object")
	}
	switch {
	case m.InlineKeyboard != nil:
		for _, row := range m.InlineKeyboard {
			for _, b := range row {
				if b.CallbackData != nil && len(*b.CallbackData) > 64 {
					return errBad("BUTTON_DATA_INVALID")
				}
			}
		}
		e.Inline = &tgbotapi.InlineKeyboardMarkup{InlineKeyboard: m.InlineKeyboard}
	case m.Keyboard != nil:
		e.Keyboard = &m.ReplyKeyboardMarkup
	case m.RemoveKeyboard:
		e.RemoveKeyboard = true
	}
	return nil
}

func inlineJSON(kb *tgbotapi.InlineKeyboardMarkup) string {
	if kb == nil || len(kb.InlineKeyboard) == 0 {
		return ""
	}
	b, _ := json.Marshal(kb)
	return string(b)
}

type sentMessage struct {
	MessageID   int                            `json:"message_id"`
	From        tgbotapi.User                  `json:"from"`
	Chat        tgbotapi.Chat                  `json:"chat"`
	Date        int64                          `json:"date"`
	Text        string                         `json:"text,omitempty"`
	Caption     string                         `json:"caption,omitempty"`
	Venue       *tgbotapi.Venue                `json:"venue,omitempty"`
	Location    *tgbotapi.Location             `json:"location,omitempty"`
	Document    *tgbotapi.Document             `json:"document,omitempty"`
	ReplyMarkup *tgbotapi.InlineKeyboardMarkup `json:"reply_markup,omitempty"`
}

func messageJSON(e Sent) (json.RawMessage, error) {
	m := sentMessage{MessageID: e.MessageID, From: tgbotapi.User{ID: BotID, IsBot: true, FirstName: "Dostyq", UserName: BotUsername},
		Chat: tgbotapi.Chat{ID: e.ChatID, Type: "private"}, Date: time.Now().Unix(), ReplyMarkup: e.Inline}
	switch {
	case e.Venue != nil:
		m.Venue, m.Location = e.Venue, &e.Venue.Location
	case e.Location != nil:
		m.Location = e.Location
	case e.Document != nil:
		m.Document = &tgbotapi.Document{FileID: "doc" + strconv.Itoa(e.MessageID), FileUniqueID: "u" + strconv.Itoa(e.MessageID), FileName: e.Document.Name, FileSize: len(e.Document.Data)}
		m.Caption = e.Text
	default:
		m.Text = e.Text
	}
	if e.ChatID < 0 {
		m.Chat.Type = "group"
	}
	return json.Marshal(m)
}

// ---- rate limits ----

// gcra is a token bucket in its "theoretical arrival time" form.
type gcra struct {
	tat      time.Time
	interval time.Duration
	burst    int
}

// allow takes one token at now, or says how long until one is free.
func (g *gcra) allow(now time.Time) (bool, time.Duration) {
	tat := g.tat
	if tat.Before(now) {
		tat = now
	}
	earliest := tat.Add(-time.Duration(g.burst-1) * g.interval)
	if now.Before(earliest) {
		return false, earliest.Sub(now)
	}
	g.tat = tat.Add(g.interval)
	return true, 0
}

func (s *Server) limit(chatID int64) error {
	if !s.opts.RateLimit {
		return nil
	}
	now := time.Now()
	s.limMu.Lock()
	defer s.limMu.Unlock()
	g := s.perChat[chatID]
	if g == nil {
		g = &gcra{interval: time.Duration(float64(time.Second) / s.opts.ChatRate), burst: s.opts.ChatBurst}
		if chatID < 0 {
			g.interval, g.burst = 3*time.Second, 2
		}
		if len(s.perChat) > 10000 && now.Sub(s.swept) > time.Second {
			s.swept = now
			for id, c := range s.perChat {
				if c.tat.Before(now) {
					delete(s.perChat, id)
				}
			}
		}
		s.perChat[chatID] = g
	}
	// Check both before taking from either.
	gc, gg := *g, s.global
	okChat, waitChat := gc.allow(now)
	okGlobal, waitGlobal := gg.allow(now)
	if !okChat || !okGlobal {
		wait := max(waitChat, waitGlobal)
		return &apiError{code: 429, desc: "Too Many Requests: retry after " + strconv.Itoa(retrySeconds(wait)), retryAfter: retrySeconds(wait)}
	}
	*g, s.global = gc, gg
	return nil
}

func retrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// TooManyRequests counts the 429 answers given so far.
func (s *Server) TooManyRequests() int { return int(s.n429.Load()) }
