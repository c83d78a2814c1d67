package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot/bottest"
	"github.com/dostyq/dostyq/storage"
	"github.com/dostyq/dostyq/storage/storagetest"
)

// The two-replica test of issue 9. It builds the real binary and runs two
// bot processes in webhook mode on one Redis (a redis-server of its own)
// and one PostgreSQL schema, each on its own address. The test is the
// load balancer: it posts the updates of many citizens to the replicas in
// turn, each citizen's next update only after the previous one was
// answered 200, as Telegram does. Citizens ask for mediation and charity
// help; a mediator and a coordinator on duty get the notifications. In the
// middle one replica is killed with SIGKILL (everything then goes to the
// survivor) and started again a few seconds later. At the end: every
// request confirmed to a citizen is stored exactly once, every
// notification was delivered (the outbox is empty, none delivered twice),
// each chat's replies came in the order of its updates, and the fake Bot
// API, which enforces Telegram's limits, answered no 429. About 30 s: run
// it with DOSTYQ_REPLICA_TEST=1 and TEST_DATABASE_URL (.ci/run does).
func TestTwoReplicas(t *testing.T) {
	if os.Getenv("DOSTYQ_REPLICA_TEST") == "" {
		t.Skip("set DOSTYQ_REPLICA_TEST=1 (and TEST_DATABASE_URL) to run (about 30 s)")
	}
	if os.Getenv(storagetest.PostgresEnv) == "" {
		t.Fatalf("DOSTYQ_REPLICA_TEST needs %s: the replicas share a PostgreSQL database "+
			"(e.g. postgres://postgres@127.0.0.1:5432/dostyq_test?sslmode=disable; .ci/run sets it)", storagetest.PostgresEnv)
	}
	redisURL := startRedisServer(t, "DOSTYQ_REPLICA_TEST")
	bin := buildBot(t)

	dbURL := storagetest.PostgresURL(t)
	seedStaff(t, dbURL) // migrates the schema before the replicas start

	// Telegram's limits, enforced: 30 messages a second in all, one a
	// second to a chat after a burst of 4. Every send is timed.
	var sendsMu sync.Mutex
	var sends []timedSend
	srv := newFake(t, bottest.Options{Delay: 20 * time.Millisecond, RateLimit: true, Observe: func(s bottest.Sent) {
		if s.Method == "answerCallbackQuery" {
			return
		}
		sendsMu.Lock()
		sends = append(sends, timedSend{at: time.Now(), chat: s.ChatID})
		sendsMu.Unlock()
	}})
	const secret = "replica-test-secret"
	const hookPath = "/tg/hook"
	lb := &balancer{secret: secret, srv: srv}
	lb.nextID.Store(int64(5e8))
	env := append(os.Environ(), "TELEGRAM_BOT_TOKEN="+srv.Token(), "TELEGRAM_API_ENDPOINT="+srv.Endpoint(),
		"DATABASE_URL="+dbURL, "DATABASE_PATH=", "REDIS_URL="+redisURL, "LOG_LEVEL=warn",
		"WORKERS=8", "METRICS_ADDR=", "WEBHOOK_URL=https://bot.example"+hookPath, "WEBHOOK_SECRET="+secret)
	var stderr lockedBuffer
	for i := range lb.replicas {
		r := &lb.replicas[i]
		r.bin, r.addr = bin, "127.0.0.1:"+freePort(t)
		r.url = "http://" + r.addr + hookPath
		r.env = append(env[:len(env):len(env)], "LISTEN_ADDR="+r.addr)
		r.stderr = &stderr
		r.start(t)
	}
	t.Cleanup(func() {
		for i := range lb.replicas {
			lb.replicas[i].kill()
		}
	})
	for i := range lb.replicas {
		waitListening(t, lb.replicas[i].addr)
	}

	// The replies to a few commands, to tell later which command a reply
	// answers (the order check of the bursts below).
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	burst := []string{"/about", "/help", "/language", "/about"}
	replyOf := map[string]string{} // first reply text → command
	probe := bottest.User{ID: 899999, LanguageCode: "en"}
	for _, cmd := range []string{"/start", "/about", "/help", "/language"} {
		lb.post(ctx, probe.ID, srv.Message(probe, cmd))
		got := drain(ctx, srv, probe.ID, 6*time.Second, 700*time.Millisecond)
		if len(got) == 0 {
			t.Fatalf("no answer to %s; stderr:\n%s", cmd, stderr.String())
		}
		if cmd != "/start" {
			if prev, dup := replyOf[got[0].Text]; dup {
				t.Fatalf("%s and %s have the same first reply", prev, cmd)
			}
			replyOf[got[0].Text] = cmd
		}
	}

	const citizens = 40
	start := time.Now()
	var wg sync.WaitGroup
	results := make([]replicaCitizen, citizens)
	for i := range citizens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := bottest.User{ID: int64(910000 + i), LanguageCode: "en"}
			results[i].citizenResult = runCitizenVia(ctx, srv, lb, u, i%2 == 0)
			// Then a burst: four commands posted one after the other as
			// soon as each is acknowledged, without waiting for replies.
			for _, cmd := range burst {
				lb.post(ctx, u.ID, srv.Message(u, cmd))
			}
			for _, e := range drain(ctx, srv, u.ID, 8*time.Second, 2*time.Second) {
				if cmd, ok := replyOf[e.Text]; ok {
					results[i].burst = append(results[i].burst, cmd)
				}
			}
		}()
	}
	// Kill replica 1 in the middle of the conversations, let the survivor
	// take everything for a while, then start it again.
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		select {
		case <-ctx.Done():
			return
		case <-time.After(3 * time.Second):
		}
		r := &lb.replicas[1]
		r.kill()
		t.Logf("replica 1 killed with SIGKILL at %.1f s", time.Since(start).Seconds())
		select {
		case <-ctx.Done():
			return
		case <-time.After(4 * time.Second):
		}
		r.start(t)
		waitListening(t, r.addr)
		t.Logf("replica 1 started again at %.1f s", time.Since(start).Seconds())
	}()
	wg.Wait()
	<-killed
	elapsed := time.Since(start)

	// Let the outboxes empty, then stop both replicas gracefully.
	db, err := storage.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if n, err := db.PendingOutbox(context.Background()); err == nil && n == 0 {
			break
		}
	}
	for i := range lb.replicas {
		if err := lb.replicas[i].stop(); err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}

	// Every confirmed request stored, and exactly once.
	raw, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows := map[int64]int{} // citizen → requests stored
	for _, q := range []string{`SELECT citizen_id, count(*) FROM mediation_cases GROUP BY citizen_id`,
		`SELECT user_id, count(*) FROM help_requests GROUP BY user_id`} {
		rs, err := raw.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var who sql.NullInt64
			var n int
			if err := rs.Scan(&who, &n); err != nil {
				t.Fatal(err)
			}
			rows[who.Int64] += n
		}
		rs.Close()
	}
	confirmed, stored, stalled, orderBroken, burstShort := 0, 0, 0, 0, 0
	for _, n := range rows {
		stored += n
	}
	for _, r := range results {
		if r.number == "" {
			if stalled++; stalled <= 3 {
				t.Logf("citizen %d stopped at %q after %q", r.user, r.stopped, r.last)
			}
		} else {
			confirmed++
			id, _ := strconv.ParseInt(r.number[2:], 10, 64)
			var owner int64
			if strings.HasPrefix(r.number, "M-") {
				c, err := db.Case(context.Background(), id)
				if err != nil || c.CitizenID == nil {
					t.Errorf("confirmed %s to %d, but it is not stored: %v", r.number, r.user, err)
					continue
				}
				owner = *c.CitizenID
			} else {
				h, err := db.HelpRequest(context.Background(), id)
				if err != nil {
					t.Errorf("confirmed %s to %d, but it is not stored: %v", r.number, r.user, err)
					continue
				}
				owner = h.UserID
			}
			if owner != r.user {
				t.Errorf("confirmed %s to %d, but it belongs to %d", r.number, r.user, owner)
			}
		}
		if n := rows[r.user]; n > 1 {
			t.Errorf("citizen %d asked once but %d requests are stored", r.user, n)
		} else if r.number != "" && n != 1 {
			t.Errorf("citizen %d was confirmed %s but %d requests are stored", r.user, r.number, n)
		}
		// The burst's replies in the order of its commands.
		got := strings.Join(r.burst, " ")
		if want := strings.Join(burst, " "); got != want {
			if len(r.burst) < len(burst) && strings.HasPrefix(want, got) {
				burstShort++ // a reply lost with the killed replica, not reordered
				continue
			}
			orderBroken++
			t.Errorf("citizen %d: replies to the burst came as %q, want %q", r.user, got, want)
		}
	}

	pending, err := db.PendingOutbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Errorf("%d notifications still in the outbox", pending)
	}
	sent, dups := deliveredOutbox(t, dbURL, srv)
	if dups != 0 {
		t.Errorf("%d notifications delivered twice", dups)
	}

	// Telegram's limits: the 429s of the fake server, and the busiest second.
	sendsMu.Lock()
	peakAll, peakChat := peakPerSecond(sends)
	messages := len(sends)
	sendsMu.Unlock()
	n429 := srv.TooManyRequests()
	if n429 != 0 {
		where := map[string]int{}
		for _, c := range srv.Calls() {
			if c.Status == http.StatusTooManyRequests {
				kind := "citizen"
				if id, _ := strconv.ParseInt(c.Params.Get("chat_id"), 10, 64); id < 900000 {
					kind = "staff"
				}
				where[c.Method+" to a "+kind]++
			}
		}
		t.Errorf("the fake Bot API answered 429 Too Many Requests %d times: %v", n429, where)
	}
	posts, retried := lb.posts.Load(), lb.retried.Load()
	t.Logf("replicas 2, citizens %d, updates posted %d (%d sent again to the other replica after a refused or failed post), "+
		"requests confirmed %d, stored %d, stored twice 0, stalled %d; notifications %d, pending 0, delivered twice %d; "+
		"bursts in order %d, short %d, out of order %d; messages %d in %.1f s, busiest second %d in all and %d to one chat, 429s %d",
		citizens, posts, retried, confirmed, stored, stalled, sent, dups,
		citizens-orderBroken-burstShort, burstShort, orderBroken, messages, elapsed.Seconds(), peakAll, peakChat, n429)
	// The updates the killed replica was handling are handled by the other
	// one (in progress, then taken over): every citizen gets to the end.
	if confirmed < citizens {
		t.Errorf("only %d of %d citizens got a confirmation; stderr:\n%s", confirmed, citizens, stderr.String())
	}
	if sent == 0 {
		t.Error("no notification was sent to the staff")
	}
}

type replicaCitizen struct {
	citizenResult
	burst []string // the commands of the burst, in the order their replies came
}

type timedSend struct {
	at   time.Time
	chat int64
}

// peakPerSecond is the most messages sent within any one second, in all
// and to one chat.
func peakPerSecond(s []timedSend) (all, chat int) {
	sort.Slice(s, func(i, j int) bool { return s[i].at.Before(s[j].at) })
	window := func(s []timedSend) int {
		best, j := 0, 0
		for i := range s {
			for s[i].at.Sub(s[j].at) >= time.Second {
				j++
			}
			best = max(best, i-j+1)
		}
		return best
	}
	byChat := map[int64][]timedSend{}
	for _, e := range s {
		byChat[e.chat] = append(byChat[e.chat], e)
	}
	for _, c := range byChat {
		chat = max(chat, window(c))
	}
	return window(s), chat
}

// replica is one bot process of the test.
type replica struct {
	bin, addr, url string
	env            []string
	stderr         *lockedBuffer

	mu   sync.Mutex
	proc *exec.Cmd
	up   bool
}

func (r *replica) start(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := exec.Command(r.bin, "serve")
	p.Env, p.Stderr = r.env, r.stderr
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	r.proc, r.up = p, true
}

func (r *replica) alive() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.up
}

// kill stops the process with SIGKILL, as a lost machine.
func (r *replica) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.up {
		return
	}
	r.up = false
	r.proc.Process.Signal(syscall.SIGKILL)
	r.proc.Wait()
}

// stop ends the process with SIGTERM and waits for it to exit.
func (r *replica) stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.up {
		return nil
	}
	r.up = false
	r.proc.Process.Signal(syscall.SIGTERM)
	waited := make(chan error, 1)
	go func() { waited <- r.proc.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			return fmt.Errorf("exited with %v", err)
		}
		return nil
	case <-time.After(15 * time.Second):
		r.proc.Process.Signal(syscall.SIGQUIT) // a goroutine dump in stderr
		select {
		case <-waited:
		case <-time.After(2 * time.Second):
			r.proc.Process.Kill()
		}
		return fmt.Errorf("did not stop within 15 s of SIGTERM")
	}
}

// balancer is the load balancer in front of the replicas, and Telegram
// behind it: each chat's updates go to the replicas in turn (so that every
// conversation crosses both), one at a time; a post that fails goes to the
// other replica, again and again, until one answers 200.
type balancer struct {
	secret   string
	srv      *bottest.Server
	replicas [2]replica
	nextID   atomic.Int64
	turn     sync.Map // chat → *atomic.Int64
	posts    atomic.Int64
	retried  atomic.Int64
	client   http.Client
}

// post delivers u (given the next update_id) and returns once a replica
// acknowledged it, or ctx ends.
func (lb *balancer) post(ctx context.Context, chat int64, u tgbotapi.Update) bool {
	u.UpdateID = int(lb.nextID.Add(1))
	body, err := json.Marshal(u)
	if err != nil {
		panic(err)
	}
	v, _ := lb.turn.LoadOrStore(chat, new(atomic.Int64))
	turn := v.(*atomic.Int64)
	lb.posts.Add(1)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		n := int(turn.Add(1)) % len(lb.replicas)
		r := &lb.replicas[n]
		if !r.alive() {
			// The balancer's health check has taken it out.
			r = &lb.replicas[1-n]
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.url, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", lb.secret)
		resp, err := lb.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		if attempt == 0 {
			lb.retried.Add(1)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// runCitizenVia is runCitizen (crash_test.go) with the updates posted
// through the balancer instead of pushed to the fake server.
func runCitizenVia(ctx context.Context, srv *bottest.Server, lb *balancer, u bottest.User, mediation bool) citizenResult {
	res := citizenResult{user: u.ID}
	steps := citizenSteps(mediation)
	// Every message with buttons, newest last: a late answer to a step
	// repeated after a kill (a second consent question) must not hide the
	// buttons of the step after it.
	var inlines []bottest.Sent
	find := func(label string) (string, int) {
		for i := len(inlines) - 1; i >= 0; i-- {
			if data, msg := buttonData(&inlines[i], label); data != "" {
				return data, msg
			}
		}
		return "", 0
	}
	take := func(got []bottest.Sent) {
		for _, e := range got {
			res.last = e.Text
			if e.Inline != nil && len(e.Inline.InlineKeyboard) > 0 {
				inlines = append(inlines, e)
			}
			if m := confirmedRe.FindStringSubmatch(e.Text); m != nil {
				res.number = m[1] + m[2]
			}
		}
	}
	for _, step := range steps {
		kind, arg := step[:1], step[1:]
		answered := false
		for try := 0; try < 3 && !answered && ctx.Err() == nil; try++ {
			switch kind {
			case "T":
				lb.post(ctx, u.ID, srv.Message(u, arg))
			case "C":
				lb.post(ctx, u.ID, srv.Contact(u, arg))
			case "A", "P":
				data, msg := find(arg)
				if data == "" {
					// The message with the buttons may still be on its way
					// (the sending limits hold it back under load).
					take(drain(ctx, srv, u.ID, 6*time.Second, 1200*time.Millisecond))
					data, msg = find(arg)
				}
				if data == "" {
					if kind == "A" {
						answered = true
						continue
					}
					res.stopped = step
					return res
				}
				lb.post(ctx, u.ID, srv.Callback(u, msg, data))
			}
			got := drain(ctx, srv, u.ID, 6*time.Second, 1200*time.Millisecond)
			answered = len(got) > 0
			take(got)
		}
		if !answered {
			res.stopped = step
			return res
		}
	}
	return res
}

// drain takes what the bot does in chat: waiting up to first for the first
// thing, then until nothing more comes for quiet.
func drain(ctx context.Context, srv *bottest.Server, chat int64, first, quiet time.Duration) []bottest.Sent {
	var out []bottest.Sent
	wait := first
	for {
		c, cancel := context.WithTimeout(ctx, wait)
		e, err := srv.Next(c, chat)
		cancel()
		if err != nil {
			return out
		}
		out = append(out, e)
		wait = quiet
	}
}

// waitListening waits until addr accepts connections.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
			return
		}
	}
	t.Fatalf("nothing listens on %s after 20 s", addr)
}
