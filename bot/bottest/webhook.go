package bottest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// DeliverTo sends webhook deliveries to base (such as
// "http://127.0.0.1:8080") instead of the host of the webhook URL the bot
// registered; the URL's path is kept. Telegram needs https, a test server
// does not. With several bases the server is also the load balancer in
// front of replicas: each delivery goes to the next base in turn, so that
// a chat's updates cross every replica, still one at a time per chat.
func (s *Server) DeliverTo(bases ...string) {
	s.upMu.Lock()
	defer s.upMu.Unlock()
	s.deliverTo = bases
	if d := s.deliver; d != nil {
		d.mu.Lock()
		d.targets = s.targetsLocked()
		d.mu.Unlock()
	}
}

func (s *Server) targetsLocked() []string {
	if s.webhook.URL == "" {
		return nil
	}
	if len(s.deliverTo) == 0 {
		return []string{s.webhook.URL}
	}
	u, err := url.Parse(s.webhook.URL)
	if err != nil {
		return []string{s.webhook.URL}
	}
	out := make([]string, len(s.deliverTo))
	for i, base := range s.deliverTo {
		out[i] = base + u.RequestURI()
	}
	return out
}

// setDelivery sets or (with a zero st) removes the webhook. Updates not yet
// delivered go to the new webhook, or back to getUpdates.
func (s *Server) setDelivery(st webhookState) {
	s.upMu.Lock()
	old := s.deliver
	s.webhook = st
	s.deliver = nil
	var back []pendingUpdate
	if old != nil {
		back = old.drain()
	}
	queued := append(back, s.pending...)
	sort.SliceStable(queued, func(i, j int) bool { return queued[i].id < queued[j].id })
	s.pending = nil
	if st.URL != "" {
		d := &delivery{targets: s.targetsLocked(), secret: st.Secret, chats: map[int64]*deliveryQueue{},
			wake: make(chan struct{}, 1), done: make(chan struct{}), client: deliveryClient(st.MaxConnections)}
		for _, u := range queued {
			d.push(u)
		}
		d.ctx, d.cancel = context.WithCancel(context.Background())
		d.start(st.MaxConnections)
		s.deliver = d
	} else if len(queued) > 0 {
		s.pending = queued
		close(s.upWake)
		s.upWake = make(chan struct{})
	}
	s.upMu.Unlock()
	if old != nil {
		old.stop()
	}
}

// PostWebhook posts update u to the bot's webhook as Telegram would, with
// secret in the X-Telegram-Bot-Api-Secret-Token header (none when empty),
// and returns the HTTP status. A zero UpdateID gets the next id.
func (s *Server) PostWebhook(ctx context.Context, u tgbotapi.Update, secret string) (int, error) {
	if u.UpdateID == 0 {
		u.UpdateID = int(s.nextUpdate.Add(1))
	}
	raw, err := json.Marshal(u)
	if err != nil {
		return 0, err
	}
	return s.PostWebhookRaw(ctx, raw, secret)
}

// PostWebhookRaw posts body to the bot's webhook with the secret header.
func (s *Server) PostWebhookRaw(ctx context.Context, body []byte, secret string) (int, error) {
	s.upMu.Lock()
	targets := s.targetsLocked()
	s.upMu.Unlock()
	if len(targets) == 0 {
		return 0, fmt.Errorf("bottest: no webhook set")
	}
	return post(ctx, http.DefaultClient, targets[0], secret, body)
}

func post(ctx context.Context, c *http.Client, target, secret string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	// Read to the end, so that the connection is kept: the bot's 503
	// "try again" has a body.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// WebhookFailures counts webhook deliveries that did not get a 2xx answer.
func (s *Server) WebhookFailures() int {
	s.upMu.Lock()
	defer s.upMu.Unlock()
	if s.deliver == nil {
		return 0
	}
	return int(s.deliver.failures.Load())
}

// delivery posts updates to the webhook like Telegram: updates of one chat
// one after the other (the next after the previous was answered), chats in
// parallel over up to max_connections connections.
type delivery struct {
	targets []string // taken in turn
	secret  string
	client  *http.Client
	turn    int

	mu     sync.Mutex
	chats  map[int64]*deliveryQueue
	ready  []*deliveryQueue // chats with updates and none in flight
	wake   chan struct{}
	done   chan struct{}
	ctx    context.Context // ends at stop: a delivery in flight is cut
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool

	failures atomic.Int64
}

type deliveryQueue struct {
	chat    int64
	updates []pendingUpdate
	busy    bool
}

type pendingUpdate struct {
	id   int
	chat int64
	raw  json.RawMessage
}

func (d *delivery) push(u pendingUpdate) {
	d.mu.Lock()
	q := d.chats[u.chat]
	if q == nil {
		q = &deliveryQueue{chat: u.chat}
		d.chats[u.chat] = q
	}
	q.updates = append(q.updates, u)
	if !q.busy && len(q.updates) == 1 {
		d.ready = append(d.ready, q)
	}
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *delivery) start(n int) {
	for i := 0; i < n; i++ {
		d.wg.Add(1)
		go d.work()
	}
}

func (d *delivery) work() {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return
		}
		if len(d.ready) == 0 {
			d.mu.Unlock()
			select {
			case <-d.wake:
				continue
			case <-d.done:
				return
			}
		}
		q := d.ready[0]
		d.ready[0] = nil
		d.ready = d.ready[1:]
		if len(d.ready) > 0 {
			select {
			case d.wake <- struct{}{}:
			default:
			}
		}
		q.busy = true
		raw := q.updates[0].raw
		target := d.targets[d.turn%len(d.targets)]
		d.turn++
		d.mu.Unlock()

		ok := d.post(target, raw)

		d.mu.Lock()
		q.busy = false
		if d.closed || len(q.updates) == 0 {
			d.mu.Unlock()
			return // drained: the updates moved elsewhere
		}
		if ok {
			q.updates[0] = pendingUpdate{}
			q.updates = q.updates[1:]
		}
		if len(q.updates) > 0 {
			d.ready = append(d.ready, q)
		} else {
			delete(d.chats, q.chat)
		}
		d.mu.Unlock()
	}
}

// deliveryClient keeps up to n connections open to each webhook target,
// as Telegram does (max_connections is how many it keeps, not how many it
// opens and closes): net/http's default keeps only 2 idle connections a
// host, so 100 parallel deliveries opened a new connection for nearly
// every update.
func deliveryClient(n int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 0 // no limit in all; per host below
	tr.MaxIdleConnsPerHost = n
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}
}

// post delivers one update, retrying a failed delivery a few times.
func (d *delivery) post(target string, raw json.RawMessage) bool {
	backoff := 20 * time.Millisecond
	for attempt := 0; attempt < 5; attempt++ {
		code, err := post(d.ctx, d.client, target, d.secret, raw)
		if err == nil && code >= 200 && code < 300 {
			return true
		}
		d.failures.Add(1)
		select {
		case <-time.After(backoff):
		case <-d.done:
			return false
		}
		backoff *= 2
	}
	return true // given up: drop it, as Telegram eventually does
}

func (d *delivery) stop() {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		close(d.done)
		d.cancel()
	}
	d.mu.Unlock()
	d.wg.Wait()
	d.client.CloseIdleConnections()
}

// drain takes every update not delivered yet, those in flight included
// (they may be delivered twice, as with Telegram).
func (d *delivery) drain() []pendingUpdate {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []pendingUpdate
	for _, q := range d.chats {
		out = append(out, q.updates...)
		q.updates = nil
	}
	d.chats = map[int64]*deliveryQueue{}
	d.ready = nil
	return out
}
