package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// The bot's Redis store sends the commands that workers issue at the same
// moment as pipelines (REDIS_AUTOPIPELINE, on by default): 200 updates read
// and saved at once all land, and the main connection pool holds no more
// connections than before the burst, where a connection per busy worker
// used to be opened. REDIS_AUTOPIPELINE=false sends each command on its own.
// openRedisStore is the bot's state store (openState) on the Redis at url,
// auto-pipelined or not, with keys of the test's own; closed at the end.
func openRedisStore(t *testing.T, url string, auto bool) *storage.RedisStateStore {
	t.Helper()
	cfg, err := bot.LoadConfig(func(k string) string {
		switch k {
		case "REDIS_URL":
			return url
		case "REDIS_AUTOPIPELINE":
			return fmt.Sprint(auto)
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := openState(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	st := ss.(*storage.RedisStateStore)
	t.Cleanup(func() { st.Close() })
	st.Prefix = fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
	return st
}

func TestRedisStoreBatchesConcurrentUpdates(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://" + miniredis.RunT(t).Addr()
	}
	for _, auto := range []bool{true, false} {
		t.Run(fmt.Sprintf("auto-pipeline=%v", auto), func(t *testing.T) {
			ctx := context.Background()
			st := openRedisStore(t, url, auto)
			before := st.Client().PoolStats().TotalConns

			const n = 200
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					user := int64(1000 + i)
					first, _, _, snap, _, err := st.SeenCountGet(ctx, fmt.Sprintf("upd:%d", i), time.Minute, fmt.Sprintf("flood:%d", user), time.Minute, user)
					if err != nil || !first {
						errs <- fmt.Errorf("user %d: first %v, %v", user, first, err)
						return
					}
					if _, _, err := st.UpdateSnapshot(ctx, user, snap, func(s *storage.State) error { s.Flow = "houses"; s.Set("n", fmt.Sprint(i)); return nil }); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for i := range n {
				s, err := st.Get(ctx, int64(1000+i))
				if err != nil || s.Flow != "houses" || s.Get("n") != fmt.Sprint(i) {
					t.Fatalf("user %d: state %+v, %v", 1000+i, s, err)
				}
				st.Delete(ctx, int64(1000+i))
			}
			after := st.Client().PoolStats().TotalConns
			if auto && after > before {
				t.Errorf("auto-pipelined: %d connections in the main pool after the burst, %d before: the updates' commands did not go through the pipeline", after, before)
			}
			t.Logf("main pool connections: %d before, %d after", before, after)
		})
	}
}

// cutProxy passes Redis traffic through, but the first time a client sends
// EVALSHA it closes that client's connection once the command reached
// Redis, before the reply: Redis ran the command, the client never heard.
type cutProxy struct {
	ln       net.Listener
	upstream string
	armed    atomic.Bool // cut the next EVALSHA
	cut      atomic.Bool // it was cut
}

func newCutProxy(t *testing.T, upstream string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, upstream: upstream}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *cutProxy) serve(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	defer up.Close()
	var mute atomic.Bool // Redis' replies are no longer passed on
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := up.Read(buf)
			if n > 0 && !mute.Load() {
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			// Decided before the command goes on, so that its reply
			// cannot overtake the decision.
			cut := bytes.Contains(bytes.ToUpper(buf[:n]), []byte("EVALSHA")) && p.armed.CompareAndSwap(true, false)
			if cut {
				mute.Store(true)
			}
			if _, err := up.Write(buf[:n]); err != nil {
				return
			}
			if cut {
				p.cut.Store(true)
				time.Sleep(100 * time.Millisecond) // Redis runs it,
				return                             // and the reply never comes back
			}
		}
		if err != nil {
			return
		}
	}
}

// An update's seen mark that reached Redis but whose reply was lost does
// not drop the update: the auto-pipeliner reports the failure (the bot then
// handles the update at the risk of twice), and a plain client that sends
// it again finds its own mark and goes on. Before, the command sent again
// found the mark and the update was dropped as seen before, without a word
// to the user. Likewise a state write sent again is not applied twice.
func TestLostReplyDoesNotDropTheUpdate(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	var upstream string
	if url == "" {
		upstream = miniredis.RunT(t).Addr()
	} else {
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		upstream = opts.Addr
	}
	for _, auto := range []bool{true, false} {
		t.Run(fmt.Sprintf("auto-pipeline=%v", auto), func(t *testing.T) {
			p := newCutProxy(t, upstream)
			db := 0
			if url != "" {
				opts, _ := redis.ParseURL(url)
				db = opts.DB
			}
			ctx := context.Background()
			st := openRedisStore(t, fmt.Sprintf("redis://%s/%d", p.ln.Addr(), db), auto)

			// The scripts are loaded (a lost EVALSHA of an unknown script
			// would only be answered NOSCRIPT).
			if _, _, _, _, _, err := st.SeenCountGet(ctx, "upd:0", time.Minute, "flood:5", time.Minute, 5); err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.UpdateSnapshot(ctx, 4, storage.Snapshot("{}"), func(*storage.State) error { return nil }); err != nil {
				t.Fatal(err)
			}
			p.armed.Store(true)
			first, _, _, _, _, err := st.SeenCountGet(ctx, "upd:1", time.Minute, "flood:5", time.Minute, 5)
			if !p.cut.Load() {
				t.Fatal("the proxy never cut the script's reply")
			}
			if err == nil && !first {
				t.Fatal("the update whose reply was lost came back as seen before: it would be dropped")
			}
			t.Logf("after the lost reply: first %v, err %v", first, err)
			// Redis ran it: a later delivery of the same update is a duplicate.
			again, _, _, _, _, err := st.SeenCountGet(ctx, "upd:1", time.Minute, "flood:5", time.Minute, 5)
			if err != nil || again {
				t.Fatalf("the same update again: first %v, %v; want seen before", again, err)
			}

			// A state write whose reply was lost and that is sent again
			// is not a conflict applied twice.
			_, _, snap, err := st.CountGet(ctx, "flood:6", time.Minute, 6)
			if err != nil {
				t.Fatal(err)
			}
			p.cut.Store(false)
			p.armed.Store(true)
			calls := 0
			saved, _, err := st.UpdateSnapshot(ctx, 6, snap, func(s *storage.State) error {
				calls++
				s.History = append(s.History, "step")
				return nil
			})
			t.Logf("write after the lost reply: %d calls, %+v, %v", calls, saved, err)
			got, err := st.Get(ctx, 6)
			if err != nil {
				t.Fatal(err)
			}
			if !p.cut.Load() {
				t.Fatal("the proxy never cut the state write's reply")
			}
			if len(got.History) != 1 || got.Version != 1 {
				t.Fatalf("the step was applied %d times (version %d), want once", len(got.History), got.Version)
			}

			// FirstSeen (an update without a sender, or another
			// deduper) on the plain client, which sends it again.
			if _, err := st.FirstSeen(ctx, "upd:2", time.Minute); err != nil {
				t.Fatal(err)
			}
			p.cut.Store(false)
			p.armed.Store(true)
			seen, err := st.FirstSeen(ctx, "upd:3", time.Minute)
			if !p.cut.Load() {
				t.Fatal("the proxy never cut FirstSeen's reply")
			}
			if err == nil && !seen {
				t.Fatal("FirstSeen whose reply was lost came back as seen before: the update would be dropped")
			}
			if again, err := st.FirstSeen(ctx, "upd:3", time.Minute); err != nil || again {
				t.Fatalf("the same update again: first %v, %v; want seen before", again, err)
			}
		})
	}
}

// The bot's Redis clients do not ask for Redis Enterprise's maintenance
// notifications: every new connection would send one more command, and
// go-redis would keep a hand-off queue sized by the pool.
func TestRedisClientsAskForNoMaintenanceNotifications(t *testing.T) {
	mr := miniredis.RunT(t)
	// A proxy in front of miniredis records what the client sends.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var sent bytes.Buffer
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", mr.Addr())
			if err != nil {
				c.Close()
				return
			}
			go func() {
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					mu.Lock()
					sent.Write(buf[:n])
					mu.Unlock()
					if _, werr := s.Write(buf[:n]); err != nil || werr != nil {
						s.Close()
						return
					}
				}
			}()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	cfg, err := bot.LoadConfig(func(k string) string {
		if k == "REDIS_URL" {
			return "redis://" + ln.Addr().String()
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	opts, err := redisOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.Set(context.Background(), "k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Contains(sent.Bytes(), []byte("SET")) && !bytes.Contains(sent.Bytes(), []byte("set")) {
		t.Fatalf("the proxy saw no SET: %q", sent.String())
	}
	if bytes.Contains(bytes.ToLower(sent.Bytes()), []byte("maint_notifications")) {
		t.Errorf("the client asked for maintenance notifications: %q", sent.String())
	}
}
