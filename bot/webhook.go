package bot

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// MaxWebhookBody is the largest update the webhook accepts.
const MaxWebhookBody = 1 << 20

// Webhook receives updates that Telegram posts to WEBHOOK_URL. A request
// must carry the secret token in the X-Telegram-Bot-Api-Secret-Token
// header; one that does not gets 403 and changes nothing.
type Webhook struct {
	d      *Dispatcher
	secret []byte
	log    *slog.Logger
	// Wait answers only once the update has been handled (see
	// Dispatcher.DispatchWait): for several replicas behind one webhook.
	Wait bool
	// taken, when set, keeps each update in a TakenLog before it is
	// answered (WebhookOptions.Taken).
	taken *WebhookTaken
}

// NewWebhook returns the webhook handler for secret.
func NewWebhook(d *Dispatcher, secret string, log *slog.Logger) *Webhook {
	if log == nil {
		log = slog.Default()
	}
	return &Webhook{d: d, secret: []byte(secret), log: log}
}

// ServeHTTP checks the secret, decodes the update, hands it to the
// dispatcher and answers 200, without waiting for it to be handled unless
// Wait is set.
func (wh *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got := []byte(r.Header.Get("X-Telegram-Bot-Api-Secret-Token"))
	if len(wh.secret) == 0 || subtle.ConstantTimeCompare(got, wh.secret) != 1 {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	bp := updateBodies.Get().(*[]byte)
	body, err := readBody(http.MaxBytesReader(w, r.Body, MaxWebhookBody), (*bp)[:0], r.ContentLength)
	defer func() {
		if cap(body) <= 64<<10 {
			*bp = body[:0]
			updateBodies.Put(bp)
		}
	}()
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read the update", http.StatusBadRequest)
		return
	}
	var u tgbotapi.Update
	if err := json.Unmarshal(body, &u); err != nil || u.UpdateID <= 0 {
		http.Error(w, "not an update", http.StatusBadRequest)
		return
	}
	if wh.taken != nil {
		wh.taken.keep(r.Context(), u.UpdateID, body)
	}
	dispatch := wh.d.Dispatch
	if wh.Wait {
		dispatch = wh.d.DispatchWait
	}
	if err := dispatch(r.Context(), u); err != nil {
		// Stopping, or the client went away: Telegram delivers it again.
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// updateBodies lends the buffer an update is read into until it is decoded
// (the decoded update keeps none of its bytes). io.ReadAll allocated a new
// one, twice grown, for every update: 7 % of the bot's allocations behind a
// webhook (docs/BENCHMARKS.md, fifteenth round). A buffer that an update
// larger than 64 KB grew is not kept.
var updateBodies = sync.Pool{New: func() any { b := make([]byte, 0, 2<<10); return &b }}

// readBody reads r to its end into buf, grown to size first when the
// request says its size.
func readBody(r io.Reader, buf []byte, size int64) ([]byte, error) {
	if size > int64(cap(buf)) && size <= MaxWebhookBody {
		buf = make([]byte, 0, size+1) // +1: room for the read that finds the end
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// WebhookOptions configure ServeWebhook.
type WebhookOptions struct {
	URL    string // public https URL Telegram posts to
	Secret string
	Listen string // address to listen on, such as ":8080"
	// MaxConnections is how many parallel connections Telegram may open
	// (1-100; default 40).
	MaxConnections int
	// WaitHandled answers each update only once it has been handled, so
	// that replicas behind one webhook keep each chat's order and an
	// update whose replica dies before handling it is delivered again
	// (Webhook.Wait).
	WaitHandled bool
	// Taken, when set and WaitHandled is not, keeps each update in its
	// TakenLog from before it is answered until it is handled, and hands
	// on the updates the last process left there before serving; call its
	// Flush after the dispatcher's Stop.
	Taken *WebhookTaken
	// Listener, when set, is used instead of listening on Listen.
	Listener net.Listener
	// ShutdownTimeout bounds waiting for requests in flight at stop.
	ShutdownTimeout time.Duration
	// Serving, when set, is told true once the webhook is registered and
	// served, and false when serving stops (the readiness check).
	Serving func(bool)
}

// ServeWebhook listens, registers the webhook with Telegram (with the
// secret token, through MakeRequest: the library lacks it) and serves it
// at the URL's path until ctx is done, then shuts the server down
// gracefully. It does not stop the dispatcher. The webhook stays set, so
// Telegram keeps updates while the bot restarts.
func ServeWebhook(ctx context.Context, tg *Telegram, d *Dispatcher, o WebhookOptions, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	u, err := url.Parse(o.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return errors.New("webhook: WEBHOOK_URL must be an https URL")
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = 40
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	mux := http.NewServeMux()
	wh := NewWebhook(d, o.Secret, log)
	wh.Wait = o.WaitHandled
	if o.Taken != nil && !o.WaitHandled {
		wh.taken = o.Taken
		d.trackHandled()
		// Before serving: a chat's updates left by the last process come
		// before its new ones.
		if err := wh.taken.handOnTaken(ctx); err != nil {
			return nil // ctx done or dispatcher stopped: the log keeps them
		}
		flushCtx, stopFlushing := context.WithCancel(ctx)
		flushed := make(chan struct{})
		go func() {
			defer close(flushed)
			wh.taken.flushing(flushCtx)
		}()
		defer func() {
			stopFlushing()
			<-flushed
		}()
	}
	mux.Handle(path, wh)
	writeTimeout := 30 * time.Second
	if o.WaitHandled {
		// The answer waits for the update to be handled (up to the
		// dispatcher's 2-minute deadline, after the chat's lock).
		writeTimeout = 3 * time.Minute
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln := o.Listener
	if ln == nil {
		ln, err = net.Listen("tcp", o.Listen)
		if err != nil {
			return fmt.Errorf("webhook: listen on %s: %w", o.Listen, err)
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	allowed, _ := json.Marshal(AllowedUpdates)
	_, err = tg.MakeRequest(ctx, "setWebhook", tgbotapi.Params{
		"url":             o.URL,
		"secret_token":    o.Secret,
		"max_connections": strconv.Itoa(o.MaxConnections),
		"allowed_updates": string(allowed),
	})
	if err != nil {
		srv.Close()
		<-served
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("webhook: setWebhook: %w", err)
	}
	log.Info("webhook set; serving", "addr", ln.Addr().String())
	if o.Serving != nil {
		o.Serving(true)
		defer o.Serving(false)
	}

	select {
	case err := <-served:
		return fmt.Errorf("webhook: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-served
	return err
}
