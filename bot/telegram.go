package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// MaxTextLength is the longest text Telegram accepts in one message, in
// UTF-16 code units.
const MaxTextLength = 4096

// ErrUnreachable is returned (wrapped) when a chat cannot receive messages:
// the user blocked the bot, deleted their account, or the chat does not
// exist. Sending again will not help.
var ErrUnreachable = errors.New("telegram: chat unreachable")

// APIError is an answer of the Bot API that is not ok. It never holds the
// bot token.
type APIError struct {
	Method      string
	Code        int
	Description string
	RetryAfter  time.Duration
}

func (e *APIError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("telegram: %s: %d %s", e.Method, e.Code, e.Description)
	}
	return fmt.Sprintf("telegram: %s: %s", e.Method, e.Description)
}

// Is makes errors.Is(err, ErrUnreachable) true for a blocked or missing chat.
func (e *APIError) Is(target error) bool {
	return target == ErrUnreachable && e.unreachable()
}

func (e *APIError) unreachable() bool {
	d := strings.ToLower(e.Description)
	return e.Code == http.StatusForbidden ||
		strings.Contains(d, "bot was blocked") ||
		strings.Contains(d, "chat not found") ||
		strings.Contains(d, "user is deactivated") ||
		strings.Contains(d, "bot was kicked") ||
		strings.Contains(d, "peer_id_invalid")
}

// temporary tells whether trying again later may succeed.
func (e *APIError) temporary() bool {
	return e.RetryAfter > 0 || e.Code == http.StatusTooManyRequests || e.Code >= 500
}

// Telegram is the Sender that talks to the Bot API through
// go-telegram-bot-api. It honours Telegram's sending limits (Limiter),
// waits retry_after on 429 and retries server and network errors with
// backoff, a bounded number of times, all within ctx.
type Telegram struct {
	api      *tgbotapi.BotAPI
	endpoint string // tgbotapi format: token, then method
	http     *http.Client
	// rt, when set, is the transport of http made here: requests go to it
	// straight, without http.Client's redirects, cookies and timeout
	// (none of which the Bot API uses; its request copies and contexts
	// were a tenth of a send's allocations).
	rt      http.RoundTripper
	urls    sync.Map // method → *url.URL of the endpoint
	limiter *Limiter
	log     *slog.Logger
	metrics *Metrics

	// Retries is how many times a failed request is tried again (429, 5xx,
	// network errors). MaxRetryAfter is the longest retry_after waited out;
	// a longer one fails the send.
	Retries       int
	MaxRetryAfter time.Duration
	// sleep waits d or until ctx is done; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	requests, tooMany, retries, failed atomic.Int64
}

// SendStats count the sender's Bot API requests since it started.
type SendStats struct {
	Requests        int64 // requests that succeeded
	TooManyRequests int64 // 429 answers received
	Retries         int64 // requests tried again
	Failed          int64 // requests that failed for good
}

// Stats returns the counts so far (for metrics).
func (t *Telegram) Stats() SendStats {
	return SendStats{Requests: t.requests.Load(), TooManyRequests: t.tooMany.Load(),
		Retries: t.retries.Load(), Failed: t.failed.Load()}
}

// TelegramOptions configure NewTelegram.
type TelegramOptions struct {
	Token    string
	Endpoint string // tgbotapi format, see DefaultAPIEndpoint
	Limiter  *Limiter
	Retries  int
	Logger   *slog.Logger
	// HTTPClient makes the requests (default: the HTTP/1.1 transport of
	// transport.go, a request and its answer bounded at 75 s, longer than
	// a long poll, called without http.Client).
	HTTPClient *http.Client
	// Metrics, when set, counts requests, 429s, retries and failures.
	Metrics *Metrics
	// MaxConnections bounds the connections of the default HTTPClient to
	// the Bot API (default DefaultBotAPIConnections); a long poll has its
	// own besides.
	MaxConnections int
}

// NewTelegram checks the token with getMe and returns the sender. Its
// errors never contain the token.
func NewTelegram(ctx context.Context, o TelegramOptions) (*Telegram, error) {
	if o.Endpoint == "" {
		o.Endpoint = DefaultAPIEndpoint
	}
	var rt http.RoundTripper
	if o.HTTPClient == nil {
		// Many sends run at once: over HTTP/1.1 each request in flight
		// holds a connection of its own (and its goroutine a stack; the
		// buffers are lent only while a request is written or its answer
		// read); more than 512 at once (by default) wait for one instead
		// (with a button's answer and its marking edit beside every reply,
		// 256 workers had up to 768 open, 13 MB more at the peak). A
		// request and its answer take at most 75 s, longer than a long
		// poll.
		if o.MaxConnections <= 0 {
			o.MaxConnections = DefaultBotAPIConnections
		}
		rt = newH1Transport(o.MaxConnections, 75*time.Second)
		o.HTTPClient = &http.Client{Transport: rt}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	t := &Telegram{
		api:           &tgbotapi.BotAPI{Token: o.Token, Client: o.HTTPClient, Buffer: 100},
		http:          o.HTTPClient,
		rt:            rt,
		limiter:       o.Limiter,
		log:           o.Logger,
		metrics:       o.Metrics,
		Retries:       o.Retries,
		MaxRetryAfter: time.Minute,
		sleep:         sleepCtx,
	}
	t.setEndpoint(o.Endpoint)
	var me tgbotapi.User
	err := t.do(ctx, "getMe", func(c *botCall) error {
		var err error
		me, err = c.API().GetMe()
		return err
	})
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && (ae.Code == http.StatusUnauthorized || ae.Code == http.StatusNotFound) {
			return nil, fmt.Errorf("telegram: the bot token was refused (getMe: %d %s); check TELEGRAM_BOT_TOKEN, and TELEGRAM_API_ENDPOINT if it is set", ae.Code, ae.Description)
		}
		return nil, fmt.Errorf("telegram: cannot reach the Bot API: %w", err)
	}
	t.api.Self = me
	return t, nil
}

// setEndpoint points the library's requests and post at endpoint.
func (t *Telegram) setEndpoint(endpoint string) {
	t.api.SetAPIEndpoint(endpoint)
	t.endpoint = endpoint
	t.urls.Clear()
}

// methodURL is the URL of method at the endpoint, parsed once.
func (t *Telegram) methodURL(method string) (*url.URL, error) {
	if u, ok := t.urls.Load(method); ok {
		return u.(*url.URL), nil
	}
	u, err := url.Parse(fmt.Sprintf(t.endpoint, t.api.Token, method))
	if err != nil {
		return nil, err
	}
	t.urls.Store(method, u)
	return u, nil
}

// Self is the bot's own user, from getMe.
func (t *Telegram) Self() tgbotapi.User { return t.api.Self }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ctxClient makes the library's requests under ctx; the library itself
// knows no contexts. A 5xx answer that is not a Bot API error becomes an
// error the retry loop sees.
type ctxClient struct {
	ctx    context.Context
	c      *http.Client
	rt     http.RoundTripper // when set, used instead of c
	status *int              // the HTTP status of the answer
}

type statusError struct{ code int }

func (e statusError) Error() string { return "HTTP " + strconv.Itoa(e.code) }

func (c ctxClient) Do(req *http.Request) (*http.Response, error) {
	var (
		resp *http.Response
		err  error
	)
	if req.Context() != c.ctx {
		req = req.WithContext(c.ctx)
	}
	if c.rt != nil {
		resp, err = c.rt.RoundTrip(req)
	} else {
		resp, err = c.c.Do(req)
	}
	if err != nil {
		return nil, err
	}
	return checkStatus(resp, c.status)
}

// checkStatus notes the HTTP status of resp in status; an answer that is
// not a success must be a Bot API error.
func checkStatus(resp *http.Response, status *int) (*http.Response, error) {
	*status = resp.StatusCode
	if resp.StatusCode >= 300 || resp.StatusCode < 200 {
		// A Bot API error is JSON; anything else (a proxy's HTML page, a
		// redirect, a wrong TELEGRAM_API_ENDPOINT) becomes an error with
		// the status.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		var probe struct {
			OK *bool `json:"ok"`
		}
		if json.Unmarshal(body, &probe) != nil || probe.OK == nil {
			return nil, statusError{resp.StatusCode}
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}

// botCall is one try of a request: its client carries the call's context;
// the library's BotAPI around it is made only for a library method (API):
// the requests made here (post) need none, and a copy of it for each was a
// tenth of what the Bot API requests allocated.
type botCall struct {
	t      *Telegram
	client ctxClient
	status int // the HTTP status of the answer
	api    *tgbotapi.BotAPI
}

// API is the library's BotAPI whose requests carry the call's context.
func (c *botCall) API() *tgbotapi.BotAPI {
	if c.api == nil {
		api := *c.t.api
		api.Debug = false
		api.Client = c.client
		c.api = &api
	}
	return c.api
}

// call runs fn once with a call whose requests carry ctx, and returns its
// error cleaned of the token.
func (t *Telegram) call(ctx context.Context, method string, fn func(c *botCall) error) error {
	c := t.newCall(ctx)
	return c.clean(method, fn(c))
}

func (t *Telegram) newCall(ctx context.Context) *botCall {
	c := &botCall{t: t}
	c.client = ctxClient{ctx: ctx, c: t.http, rt: t.rt, status: &c.status}
	return c
}

// clean is the call's error cleaned of the token, with the HTTP status
// of the answer when the error has none.
func (c *botCall) clean(method string, err error) error {
	err = c.t.clean(method, err)
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == 0 {
		ae.Code = c.status // UploadFiles leaves the error code out
	}
	return err
}

// clean turns the library's errors into APIError or a network error that
// cannot leak the token (the library puts it in every request URL).
func (t *Telegram) clean(method string, err error) error {
	if err == nil {
		return nil
	}
	var te *tgbotapi.Error
	if errors.As(err, &te) {
		ae := &APIError{Method: method, Code: te.Code, Description: scrub(te.Message, t.api.Token)}
		if te.RetryAfter > 0 {
			ae.RetryAfter = time.Duration(te.RetryAfter) * time.Second
			if ae.Code == 0 {
				ae.Code = http.StatusTooManyRequests
			}
		}
		return ae
	}
	var se statusError
	if errors.As(err, &se) {
		return &APIError{Method: method, Code: se.code, Description: http.StatusText(se.code)}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &netError{method: method, msg: scrub(ue.Err.Error(), t.api.Token), err: ue.Err}
	}
	return &netError{method: method, msg: scrub(err.Error(), t.api.Token), err: err}
}

// netError is a failure to talk to the Bot API at all (or to read its
// answer). It wraps the cause (so errors.Is(err, context.Canceled) works)
// but prints a message without the token.
type netError struct {
	method, msg string
	err         error
}

func (e *netError) Error() string { return "telegram: " + e.method + ": " + e.msg }
func (e *netError) Unwrap() error { return e.err }

func scrub(s, token string) string {
	if token == "" {
		return s
	}
	s = strings.ReplaceAll(s, token, "<token>")
	return strings.ReplaceAll(s, url.PathEscape(token), "<token>")
}

// do runs one Bot API request with retries: 429 waits retry_after, 5xx and
// network errors back off exponentially with jitter.
func (t *Telegram) do(ctx context.Context, method string, fn func(c *botCall) error) error {
	return t.retry(ctx, method, t.call(ctx, method, fn), fn)
}

// retry finishes a request whose first try ended with err (nil: it
// succeeded): it counts it, and tries fn again as do does.
func (t *Telegram) retry(ctx context.Context, method string, err error, fn func(c *botCall) error) error {
	backoff := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			err = t.call(ctx, method, fn)
		}
		if err == nil {
			t.requests.Add(1)
			t.metrics.MessageSent(method)
			return nil
		}
		var ae *APIError
		isAPI := errors.As(err, &ae)
		if isAPI && (ae.Code == http.StatusTooManyRequests || ae.RetryAfter > 0) {
			t.tooMany.Add(1)
			t.metrics.TooManyRequests()
		}
		if ctx.Err() != nil || attempt >= t.Retries ||
			(isAPI && ae.RetryAfter > t.MaxRetryAfter) ||
			(isAPI && ae.RetryAfter == 0 && !ae.temporary()) {
			t.failed.Add(1)
			t.metrics.SendError(method)
			return err
		}
		var wait time.Duration
		switch {
		case isAPI && ae.RetryAfter > 0:
			wait = ae.RetryAfter
		default:
			wait = backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, 10*time.Second)
		}
		t.retries.Add(1)
		t.metrics.SendRetry()
		t.log.Warn("telegram: retrying", "method", method, "attempt", attempt+1, "wait", wait, "err", err)
		if err := t.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// Send implements the handlers' Sender: a text message (split when longer
// than Telegram allows), an edit, a venue or a document. An edit that
// changes nothing is a success.
func (t *Telegram) Send(ctx context.Context, m Message) (int, error) {
	switch {
	case m.Venue != nil:
		return t.sendVenue(ctx, m)
	case m.Document != nil:
		return t.sendDocument(ctx, m)
	case m.Copy != nil:
		return t.copyMessage(ctx, m)
	case m.EditID != 0:
		return t.editText(ctx, m)
	}
	parts := SplitText(m.Text, MaxTextLength)
	var id int
	for i, part := range parts {
		p := tgbotapi.Params{}
		p.AddNonZero64("chat_id", m.ChatID)
		p["text"] = part
		p.AddBool("protect_content", m.Protect)
		if i == 0 {
			addReply(p, m)
		}
		if i == len(parts)-1 { // the keyboard goes with the last part
			if err := addMarkup(p, m); err != nil {
				return 0, err
			}
		}
		var err error
		id, err = t.sendMessage(ctx, "sendMessage", m.ChatID, m.Bulk, p)
		if err != nil {
			return id, err
		}
	}
	return id, nil
}

// copyMessage sends a copy of m.Copy with m.Text as its caption (Bot API
// 4.5, absent from the library: through the same request path as
// sendMessage; its answer is a MessageId, whose message_id is all
// sendMessage reads).
func (t *Telegram) copyMessage(ctx context.Context, m Message) (int, error) {
	p := tgbotapi.Params{}
	p.AddNonZero64("chat_id", m.ChatID)
	p.AddNonZero64("from_chat_id", m.Copy.FromChatID)
	p.AddNonZero("message_id", m.Copy.MessageID)
	p.AddNonEmpty("caption", m.Text)
	p.AddBool("protect_content", m.Protect)
	addReply(p, m)
	if err := addMarkup(p, m); err != nil {
		return 0, err
	}
	return t.sendMessage(ctx, "copyMessage", m.ChatID, m.Bulk, p)
}

// addReply makes the message a reply to m.ReplyTo, sent even if that
// message was deleted meanwhile.
func addReply(p tgbotapi.Params, m Message) {
	if m.ReplyTo != 0 {
		p.AddNonZero("reply_to_message_id", m.ReplyTo)
		p.AddBool("allow_sending_without_reply", true)
	}
}

func addMarkup(p tgbotapi.Params, m Message) error {
	switch {
	case m.Inline != nil:
		return p.AddInterface("reply_markup", m.Inline)
	case m.Keyboard != nil:
		return p.AddInterface("reply_markup", m.Keyboard)
	case m.RemoveKeyboard:
		return p.AddInterface("reply_markup", tgbotapi.NewRemoveKeyboard(true))
	}
	return nil
}

// sendMessage waits for the rate limiter, then sends one message through
// MakeRequest and returns its id.
func (t *Telegram) sendMessage(ctx context.Context, method string, chatID int64, bulk bool, p tgbotapi.Params) (int, error) {
	if err := t.wait(ctx, chatID, bulk); err != nil {
		return 0, err
	}
	// Only the id of the message sent is used: decoding the whole echo of
	// it (text, keyboard, chat, sender) into a tgbotapi.Message was a fifth
	// of the CPU of a send.
	var msg sentMessage
	err := t.do(ctx, method, func(c *botCall) error {
		return post(c, method, p, &msg)
	})
	return msg.MessageID, err
}

// post does what the library's MakeRequest does, for the requests of
// every update (sendMessage, editMessageText, sendVenue,
// answerCallbackQuery) and getUpdates: the same form POST through
// api.Client, the same errors (tgbotapi.Error with retry_after), but the
// answer is decoded once, straight into result, not into an APIResponse
// and its raw result first. Its decoding was a quarter of the CPU of a
// send.
func post[T any](c *botCall, method string, p tgbotapi.Params, result *T) error {
	req, err := postRequest(c, method, p)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	return decodeAnswer(resp, result)
}

// postRequest is the form POST of method with p, under the call's context.
func postRequest(c *botCall, method string, p tgbotapi.Params) (*http.Request, error) {
	u, err := c.t.methodURL(method)
	if err != nil {
		return nil, err
	}
	body := encodeParams(p)
	r := http.Request{
		Method: "POST", URL: u, Host: u.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        formHeader,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
	}
	// One request with its context, not a copy made by Do.
	return r.WithContext(c.client.ctx), nil
}

// decodeAnswer decodes the Bot API's answer into result, or its error.
func decodeAnswer[T any](resp *http.Response, result *T) error {
	buf := answerBuffers.Get().(*bytes.Buffer)
	defer answerBuffers.Put(buf)
	if err := drainAnswer(resp, buf); err != nil {
		return err
	}
	return decodeBody(buf.Bytes(), result)
}

// drainAnswer reads resp's body whole into buf (emptied first) and closes it.
func drainAnswer(resp *http.Response, buf *bytes.Buffer) error {
	defer resp.Body.Close()
	buf.Reset()
	_, err := buf.ReadFrom(resp.Body)
	return err
}

// decodeBody decodes a Bot API answer read whole into result, or its error.
func decodeBody[T any](body []byte, result *T) error {
	if m, ok := any(result).(*sentMessage); ok {
		if id, ok := sentMessageID(body); ok {
			m.MessageID = id
			return nil
		}
	}
	// A button's answer, and other methods answering true, as the Bot API
	// writes them: read without encoding/json, whose decoding by
	// reflection took a kilobyte and a half of a worker's stack beneath the
	// reply that drains the answer (Dispatcher.handle).
	if v, ok := any(result).(*bool); ok && bytes.Equal(bytes.TrimSpace(body), []byte(answeredTrue)) {
		*v = true
		return nil
	}
	var ans struct {
		OK          bool                         `json:"ok"`
		Result      *T                           `json:"result"`
		ErrorCode   int                          `json:"error_code"`
		Description string                       `json:"description"`
		Parameters  *tgbotapi.ResponseParameters `json:"parameters"`
	}
	ans.Result = result
	if err := json.Unmarshal(body, &ans); err != nil {
		return err
	}
	if !ans.OK {
		te := &tgbotapi.Error{Code: ans.ErrorCode, Message: ans.Description}
		if ans.Parameters != nil {
			te.ResponseParameters = *ans.Parameters
		}
		return te
	}
	return nil
}

// formType is the Content-Type of a request's form, formHeader the
// headers of every request post makes (never changed: a RoundTripper does
// not modify its request).
var (
	formType   = []string{"application/x-www-form-urlencoded"}
	formHeader = http.Header{"Content-Type": formType}
)

// sentMessage is what a send's answer is decoded into.
type sentMessage struct {
	MessageID int `json:"message_id"`
}

// sentOK is how the Bot API begins the answer to a message sent or edited.
const sentOK = `{"ok":true,"result":{"message_id":`

// sentMessageID reads the id of the message sent from the beginning of the
// Bot API's answer, without scanning the rest of it (the echo of the whole
// message: scanning it was most of the decoding). An answer that does not
// begin as the Bot API's do is not read here (false): it is decoded in full.
func sentMessageID(b []byte) (int, bool) {
	if !bytes.HasPrefix(b, []byte(sentOK)) {
		return 0, false
	}
	b = b[len(sentOK):]
	id, n := 0, 0
	for ; n < len(b) && b[n] >= '0' && b[n] <= '9'; n++ {
		if n == 18 {
			return 0, false // longer than an int holds
		}
		id = id*10 + int(b[n]-'0')
	}
	if n == 0 || n == len(b) || (b[n] != ',' && b[n] != '}') {
		return 0, false
	}
	return id, true
}

// answeredTrue is the Bot API's whole answer to a method that answers
// true (answerCallbackQuery, among others).
const answeredTrue = `{"ok":true,"result":true}`

// answerBuffers hold Bot API answers while they are decoded.
var answerBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encodeParams is url.Values.Encode of p (keys sorted) into one
// allocation: no url.Values, no string per escaped key and value (the
// escaping of every message's text and keyboard was a tenth of the bot's
// allocations).
func encodeParams(p tgbotapi.Params) []byte {
	keys := make([]string, 0, 8)
	n := 0
	for k, v := range p {
		keys = append(keys, k)
		n += escapedLen(k) + 1 + escapedLen(v) + 1 // "k=v&"
	}
	slices.Sort(keys)
	b := make([]byte, 0, max(n-1, 0)) // no "&" after the last
	for i, k := range keys {
		if i > 0 {
			b = append(b, '&')
		}
		b = appendQueryEscape(b, k)
		b = append(b, '=')
		b = appendQueryEscape(b, p[k])
	}
	return b
}

// appendQueryEscape appends s escaped as url.QueryEscape escapes it.
func appendQueryEscape(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case unreserved(c):
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

// escapedLen is the length of s escaped by appendQueryEscape (a Cyrillic
// text triples: each of its bytes becomes %XX).
func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && !unreserved(c) {
			n += 2
		}
	}
	return n
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

func (t *Telegram) editText(ctx context.Context, m Message) (int, error) {
	method, p, err := editParams(m)
	if err != nil {
		return 0, err
	}
	_, err = t.sendMessage(ctx, method, m.ChatID, m.Bulk, p)
	return m.EditID, editDone(err)
}

// editParams are the method and parameters of the edit m.
func editParams(m Message) (string, tgbotapi.Params, error) {
	p := tgbotapi.Params{}
	p.AddNonZero64("chat_id", m.ChatID)
	p.AddNonZero("message_id", m.EditID)
	method := "editMessageReplyMarkup"
	if m.Text != "" {
		method = "editMessageText"
		p["text"] = TruncateText(m.Text, MaxTextLength)
	}
	if m.Inline != nil {
		if err := p.AddInterface("reply_markup", m.Inline); err != nil {
			return "", nil, err
		}
	}
	return method, p, nil
}

// editDone is an edit's outcome: one that changes nothing is a success.
func editDone(err error) error {
	var ae *APIError
	if errors.As(err, &ae) && strings.Contains(ae.Description, "message is not modified") {
		return nil
	}
	return err
}

// EditAside makes the edit m (m.EditID) as Send does, alongside whatever
// the caller sends next, without a goroutine (as AnswerCallbackAside):
// after the sending limits' wait the request is written, and the Aside
// reads its answer.
func (t *Telegram) EditAside(ctx context.Context, m Message) *Aside {
	method, p, err := editParams(m)
	if err == nil {
		err = t.wait(ctx, m.ChatID, m.Bulk)
	}
	if err != nil {
		return &Aside{done: true, err: err, again: keep}
	}
	a := aside[sentMessage](ctx, t, method, p)
	again := a.again
	a.again = func(err error) error { return editDone(again(err)) }
	return a
}

func (t *Telegram) sendVenue(ctx context.Context, m Message) (int, error) {
	v := m.Venue
	p := tgbotapi.Params{}
	p.AddNonZero64("chat_id", m.ChatID)
	p["latitude"] = strconv.FormatFloat(v.Latitude, 'f', -1, 64)
	p["longitude"] = strconv.FormatFloat(v.Longitude, 'f', -1, 64)
	p["title"] = v.Title
	p["address"] = v.Address
	p.AddBool("protect_content", m.Protect)
	if err := addMarkup(p, m); err != nil {
		return 0, err
	}
	return t.sendMessage(ctx, "sendVenue", m.ChatID, m.Bulk, p)
}

// wait waits for the rate limiter, if any.
func (t *Telegram) wait(ctx context.Context, chatID int64, bulk bool) error {
	switch {
	case t.limiter == nil:
		return ctx.Err()
	case bulk:
		return t.limiter.WaitBulk(ctx, chatID)
	}
	return t.limiter.Wait(ctx, chatID)
}

func (t *Telegram) sendDocument(ctx context.Context, m Message) (int, error) {
	if err := t.wait(ctx, m.ChatID, m.Bulk); err != nil {
		return 0, err
	}
	d := m.Document
	p := tgbotapi.Params{}
	p.AddNonZero64("chat_id", m.ChatID)
	p.AddNonEmpty("caption", TruncateText(d.Caption, 1024))
	p.AddBool("protect_content", m.Protect)
	if err := addMarkup(p, m); err != nil {
		return 0, err
	}
	var msg tgbotapi.Message
	err := t.do(ctx, "sendDocument", func(c *botCall) error {
		file := tgbotapi.RequestFile{Name: "document", Data: tgbotapi.FileBytes{Name: d.Name, Bytes: d.Data}}
		resp, err := c.API().UploadFiles("sendDocument", p, []tgbotapi.RequestFile{file})
		if err != nil {
			return err
		}
		return json.Unmarshal(resp.Result, &msg)
	})
	return msg.MessageID, err
}

// AnswerCallback answers a callback query, with an optional toast.
func (t *Telegram) AnswerCallback(ctx context.Context, callbackID, text string) error {
	p := answerParams(callbackID, text)
	return t.do(ctx, "answerCallbackQuery", func(c *botCall) error {
		var ok bool
		return post(c, "answerCallbackQuery", p, &ok)
	})
}

func answerParams(callbackID, text string) tgbotapi.Params {
	p := tgbotapi.Params{"callback_query_id": callbackID}
	p.AddNonEmpty("text", TruncateText(text, 200))
	return p
}

// AnswerCallbackAside answers a callback query as AnswerCallback does,
// alongside whatever the caller sends next, without a goroutine: the
// request is written now, on a connection of its own, and Wait reads its
// answer (and tries again, as AnswerCallback does, when it failed). A
// goroutine for every button's answer was a third of the bot's goroutines
// under a burst, each with a stack of 8 KB or more (docs/BENCHMARKS.md,
// eleventh round).
func (t *Telegram) AnswerCallbackAside(ctx context.Context, callbackID, text string) *Aside {
	return aside[bool](ctx, t, "answerCallbackQuery", answerParams(callbackID, text))
}

// Aside is a request sent alongside what its caller does next
// (AnswerCallbackAside, EditAside). Until its answer is read (Read or
// Wait) it holds a connection: Wait must be called, once; a caller that
// may wait for a connection meanwhile reads its asides first (WithDrain).
type Aside struct {
	read  func() error          // the first try's answer
	again func(err error) error // what is left after the first try
	done  bool
	err   error
}

// Read reads the answer of the first try, freeing its connection, and
// keeps it for Wait.
func (a *Aside) Read() {
	if !a.done {
		a.err, a.done = a.read(), true
	}
}

// Wait reads the answer and, when the first try failed, tries again as
// the request's synchronous form does; it returns the outcome.
func (a *Aside) Wait() error {
	a.Read()
	return a.again(a.err)
}

// Go runs f in a goroutine of its own as an Aside, for a request that
// cannot be written now and read later: Read waits for f.
func Go(f func() error) *Aside {
	done := make(chan error, 1)
	go func() { done <- f() }()
	return &Aside{read: func() error { return <-done }, again: keep}
}

// keep is an Aside's again when nothing is tried again.
func keep(err error) error { return err }

// aside writes the request of method with p now; its Aside reads the
// answer (a T). Through a client of the caller's, or a proxy, the request
// is made in a goroutine.
func aside[T any](ctx context.Context, t *Telegram, method string, p tgbotapi.Params) *Aside {
	fn := func(c *botCall) error {
		var result T
		return post(c, method, p, &result)
	}
	c := t.newCall(ctx)
	req, err := postRequest(c, method, p)
	var pending *h1Pending
	if h1, ok := t.rt.(*h1Transport); ok && err == nil {
		pending, err = h1.start(req) // none through a proxy
	}
	if err == nil && pending == nil {
		return Go(func() error { return t.do(ctx, method, fn) })
	}
	return &Aside{
		read: func() error {
			if err != nil {
				return err
			}
			resp, err := pending.answer()
			if err == nil {
				if resp, err = checkStatus(resp, &c.status); err == nil {
					var result T
					err = decodeAnswer(resp, &result)
				}
			}
			return err
		},
		again: func(err error) error { return t.retry(ctx, method, c.clean(method, err), fn) },
	}
}

// Request makes any other Bot API call that answers true (setMyCommands,
// deleteWebhook, ...) with retries.
func (t *Telegram) Request(ctx context.Context, c tgbotapi.Chattable) error {
	return t.do(ctx, methodName(c), func(call *botCall) error {
		_, err := call.API().Request(c)
		return err
	})
}

// SetCommands registers the command menu for language lang ("" for every
// language without its own list), for one chat when chatID is not zero
// (BotCommandScopeChat) or else as the default. An empty list removes it.
func (t *Telegram) SetCommands(ctx context.Context, chatID int64, lang string, cmds []tgbotapi.BotCommand) error {
	scope := tgbotapi.NewBotCommandScopeDefault()
	if chatID != 0 {
		scope = tgbotapi.NewBotCommandScopeChat(chatID)
	}
	if len(cmds) == 0 {
		return t.Request(ctx, tgbotapi.NewDeleteMyCommandsWithScopeAndLanguage(scope, lang))
	}
	return t.Request(ctx, tgbotapi.NewSetMyCommandsWithScopeAndLanguage(scope, lang, cmds...))
}

// MakeRequest calls method with params (for what the library lacks, such
// as setWebhook's secret_token) with retries and returns the raw result.
func (t *Telegram) MakeRequest(ctx context.Context, method string, p tgbotapi.Params) (json.RawMessage, error) {
	var result json.RawMessage
	err := t.do(ctx, method, func(c *botCall) error {
		resp, err := c.API().MakeRequest(method, p)
		if err != nil {
			return err
		}
		result = resp.Result
		return nil
	})
	return result, err
}

// getUpdates makes one getUpdates call, without retries (the poller has
// its own backoff). The request is the library's (UpdateConfig's
// parameters); the answer is decoded straight into the updates, and
// returned as it came too (the poller's TakenLog keeps it). onAnswer, when
// set, is given the answer as it came before it is decoded.
func (t *Telegram) getUpdates(ctx context.Context, cfg tgbotapi.UpdateConfig, onAnswer func([]byte)) (ups []tgbotapi.Update, answer []byte, err error) {
	p := tgbotapi.Params{}
	p.AddNonZero("offset", cfg.Offset)
	p.AddNonZero("limit", cfg.Limit)
	p.AddNonZero("timeout", cfg.Timeout)
	if err := p.AddInterface("allowed_updates", cfg.AllowedUpdates); err != nil {
		return nil, nil, err
	}
	err = t.call(withLane(ctx, "getUpdates"), "getUpdates", func(c *botCall) error {
		req, err := postRequest(c, "getUpdates", p)
		if err != nil {
			return err
		}
		resp, err := c.client.Do(req)
		if err != nil {
			return err
		}
		buf := answerBuffers.Get().(*bytes.Buffer)
		defer answerBuffers.Put(buf)
		if err := drainAnswer(resp, buf); err != nil {
			return err
		}
		answer = bytes.Clone(buf.Bytes())
		if onAnswer != nil {
			onAnswer(answer)
		}
		return decodeBody(answer, &ups)
	})
	return ups, answer, err
}

// decodeUpdates reads the updates of a getUpdates answer.
func decodeUpdates(answer []byte) ([]tgbotapi.Update, error) {
	var ups []tgbotapi.Update
	err := decodeBody(answer, &ups)
	return ups, err
}

func methodName(c tgbotapi.Chattable) string {
	name := fmt.Sprintf("%T", c)
	name = strings.TrimPrefix(name, "tgbotapi.")
	return strings.TrimSuffix(name, "Config")
}

// SplitText cuts text into parts of at most max UTF-16 code units,
// preferring line boundaries, then spaces; it never cuts a character.
func SplitText(text string, max int) []string {
	if utf16Len(text) <= max {
		return []string{text}
	}
	var parts []string
	for utf16Len(text) > max {
		cut := prefixUnits(text, max) // byte index where max units end
		head := text[:cut]
		if i := strings.LastIndexByte(head, '\n'); i > 0 {
			cut = i + 1
		} else if i := strings.LastIndexByte(head, ' '); i > 0 {
			cut = i + 1
		}
		part := strings.TrimRight(text[:cut], "\n")
		if strings.TrimSpace(part) != "" {
			parts = append(parts, part)
		}
		text = text[cut:]
	}
	if strings.TrimSpace(text) != "" {
		parts = append(parts, text)
	}
	return parts
}

// TruncateText shortens text to at most max UTF-16 code units, ending it
// with "…" when cut.
func TruncateText(text string, max int) string {
	if utf16Len(text) <= max {
		return text
	}
	return text[:prefixUnits(text, max-1)] + "…"
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// prefixUnits returns the byte length of the longest prefix of s that is
// at most max UTF-16 code units.
func prefixUnits(s string, max int) int {
	n := 0
	for i, r := range s {
		l := utf16.RuneLen(r)
		if l < 0 {
			l = 1
		}
		if n+l > max {
			return i
		}
		n += l
	}
	return len(s)
}
