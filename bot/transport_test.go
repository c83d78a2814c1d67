package bot

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/bot/bottest"
)

// echoServer answers every POST with its body, counting the connections
// it accepted.
func echoServer(t *testing.T, tlsToo bool, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.Write(b)
		}
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if tlsToo {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &conns
}

func post1(ctx context.Context, c *http.Client, url, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Requests one after another, and 50 at a time, travel over kept
// connections, plain and TLS, and each gets its own answer.
func TestTransportKeepsConnections(t *testing.T) {
	for _, tlsToo := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tlsToo), func(t *testing.T) {
			srv, conns := echoServer(t, tlsToo, nil)
			tr := newH1Transport(50, 10*time.Second)
			if tlsToo {
				tr.tls = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
			}
			c := &http.Client{Transport: tr}
			for i := range 20 {
				want := fmt.Sprintf("one after another %d", i)
				if got, err := post1(context.Background(), c, srv.URL, want); err != nil || got != want {
					t.Fatalf("answer %q, %v; want %q", got, err, want)
				}
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("20 requests in turn opened %d connections, want 1", n)
			}
			var wg sync.WaitGroup
			for i := range 500 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					want := fmt.Sprintf("at once %d", i)
					if got, err := post1(context.Background(), c, srv.URL, want); err != nil || got != want {
						t.Errorf("answer %q, %v; want %q", got, err, want)
					}
				}()
			}
			wg.Wait()
			if n := conns.Load(); n > 50 {
				t.Errorf("500 requests 50 at a time opened %d connections, want at most 50", n)
			}
		})
	}
}

// A kept connection idle for a while is checked before use: one the
// server closed meanwhile, or wrote on unasked (a proxy's "408 Request
// Timeout" before closing), is dropped and the request goes on a new one.
func TestTransportDoesNotUseAConnectionTheServerClosed(t *testing.T) {
	var got atomic.Int64
	srv, conns := echoServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	tr := newH1Transport(4, 10*time.Second)
	tr.checkIdle = 20 * time.Millisecond
	c := &http.Client{Transport: tr}
	if _, err := post1(context.Background(), c, srv.URL, "first"); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	if a, err := post1(context.Background(), c, srv.URL, "second"); err != nil || a != "second" {
		t.Fatalf("after the server closed the idle connection: %q, %v", a, err)
	}
	if n := got.Load(); n != 2 {
		t.Errorf("the server handled %d requests, want 2", n)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}

	addr := rawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
		body, err := readRequest(br)
		if err != nil {
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		time.Sleep(30 * time.Millisecond) // the proxy's idle timeout
		io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		c.Close()
	})
	for _, want := range []string{"first", "second"} {
		if a, err := post1(context.Background(), c, "http://"+addr+"/bot1:x/sendMessage", want); err != nil || a != want {
			t.Errorf("%s request after a 408 on the idle connection: %q, %v", want, a, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A request the server read, whose answer never came or came in part
// (the server died), fails: it is not sent again here, where the server
// may have done it (a message sent twice); the sender's retries decide.
func TestTransportDoesNotSendAPOSTAgain(t *testing.T) {
	for _, partial := range []bool{false, true} {
		var hello atomic.Int64
		addr := rawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
			for i := 1; ; i++ {
				body, err := readRequest(br)
				if err != nil {
					return
				}
				if body == "hello" {
					hello.Add(1)
				}
				if n == 0 && i == 2 {
					if partial {
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
					}
					c.Close()
					return
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			}
		})
		c := &http.Client{Transport: newH1Transport(4, 5*time.Second)}
		url := "http://" + addr + "/bot1:x/sendMessage"
		if _, err := post1(context.Background(), c, url, "warm"); err != nil {
			t.Fatal(err)
		}
		if _, err := post1(context.Background(), c, url, "hello"); err == nil {
			t.Errorf("partial=%v: no answer, no error", partial)
		}
		if n := hello.Load(); n != 1 {
			t.Errorf("partial=%v: the server got the request %d times, want once", partial, n)
		}
	}
}

// Informational answers (103 Early Hints) before the answer are skipped:
// the request gets its own answer, the next one its own.
func TestTransportSkipsInformationalAnswers(t *testing.T) {
	addr := rawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
		for i := 1; ; i++ {
			body, err := readRequest(br)
			if err != nil {
				return
			}
			if i == 1 {
				io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n")
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
	})
	c := &http.Client{Transport: newH1Transport(4, 5*time.Second)}
	for _, want := range []string{"first", "second"} {
		if a, err := post1(context.Background(), c, "http://"+addr+"/bot1:x/sendMessage", want); err != nil || a != want {
			t.Errorf("request %q: answer %q, %v", want, a, err)
		}
	}
}

// A server that takes the connection and never answers the TLS handshake
// does not hold a request (the long poll has no deadline of its own)
// beyond the transport's timeout.
func TestTransportGivesUpAHandshakeNobodyAnswers(t *testing.T) {
	addr := rawServer(t, func(_ int, c net.Conn, br *bufio.Reader) { io.Copy(io.Discard, br) })
	c := &http.Client{Transport: newH1Transport(2, 300*time.Millisecond)}
	done := make(chan error, 1)
	go func() {
		_, err := post1(context.Background(), c, "https://"+addr+"/bot1:x/getUpdates", "offset=1")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a handshake nobody answered succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Error("a request with a 300 ms timeout still waits for the TLS handshake after 5 s")
	}
}

// rawServer accepts connections and hands each to serve with a reader of
// its requests; everything is closed at the end of the test.
func rawServer(t *testing.T, serve func(n int, c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go serve(n, c, bufio.NewReader(c))
		}
	}()
	return ln.Addr().String()
}

// readRequest reads a request and returns its body.
func readRequest(br *bufio.Reader) (string, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(req.Body)
	return string(b), err
}

// A request given up on (its context cancelled, or past the transport's
// timeout) while the server holds its answer closes its connection: the
// late answer is never read as the next request's.
func TestTransportGivenUpRequestDoesNotLeaveItsAnswerBehind(t *testing.T) {
	release := make(chan struct{})
	srv, _ := echoServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) == "held" {
			<-release
		}
		w.Write(b)
	})
	defer close(release)
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		cancel  bool
	}{{"cancelled", 10 * time.Second, true}, {"timeout", 200 * time.Millisecond, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := &http.Client{Transport: newH1Transport(1, tc.timeout)}
			if _, err := post1(context.Background(), c, srv.URL, "warm"); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				time.AfterFunc(100*time.Millisecond, cancel)
			}
			done := make(chan error, 1)
			go func() {
				_, err := post1(ctx, c, srv.URL, "held")
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the request was not given up on within 10 s")
			}
			if err == nil {
				t.Fatal("a held answer came back")
			}
			if tc.cancel && !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled request: %v, want context.Canceled", err)
			}
			var ne net.Error
			if !tc.cancel && !(errors.As(err, &ne) && ne.Timeout()) {
				t.Errorf("request past the timeout: %v, want a timeout", err)
			}
			if a, err := post1(context.Background(), c, srv.URL, "next"); err != nil || a != "next" {
				t.Errorf("the next request got %q, %v; want its own answer", a, err)
			}
		})
	}
}

// Answers in chunks, answers that close the connection and answers whose
// body is left unread all leave the next request its own answer.
func TestTransportReadsEveryShapeOfAnswer(t *testing.T) {
	srv, conns := echoServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch s := string(b); {
		case strings.HasPrefix(s, "chunked"):
			for _, part := range strings.SplitAfter(s, " ") {
				io.WriteString(w, part)
				w.(http.Flusher).Flush()
			}
		case strings.HasPrefix(s, "close"):
			w.Header().Set("Connection", "close")
			w.Write(b)
		case strings.HasPrefix(s, "long"):
			w.Write([]byte(strings.Repeat("x", 200<<10)))
		default:
			w.Write(b)
		}
	})
	tr := newH1Transport(4, 10*time.Second)
	c := &http.Client{Transport: tr}
	for _, body := range []string{"chunked a b c", "plain", "close me", "plain again", "chunked d e"} {
		if a, err := post1(context.Background(), c, srv.URL, body); err != nil || a != body {
			t.Fatalf("%q: answer %q, %v", body, a, err)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (a new one after Connection: close)", n)
	}
	for _, body := range []string{"short unread", "long unread"} {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if a, err := post1(context.Background(), c, srv.URL, "after "+body); err != nil || a != "after "+body {
			t.Errorf("after an answer left unread (%s): %q, %v", body, a, err)
		}
	}
}

// The Bot API is only ever http or https.
func TestTransportRefusesOtherSchemes(t *testing.T) {
	c := &http.Client{Transport: newH1Transport(4, time.Second)}
	if _, err := post1(context.Background(), c, "ftp://example.org/x", "x"); !errors.Is(err, errUnsupportedScheme) {
		t.Errorf("ftp: %v", err)
	}
}

// With a proxy named in the environment (HTTPS_PROXY and the like) the
// requests go through it, by net/http.
func TestTransportGoesThroughAProxy(t *testing.T) {
	var proxied atomic.Int64
	proxy, _ := echoServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		// A forward proxy is asked for the whole URL.
		if r.URL.IsAbs() {
			proxied.Add(1)
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	tr := newH1Transport(4, 10*time.Second)
	tr.proxy = func(*http.Request) (*url.URL, error) { return url.Parse(proxy.URL) }
	tr.proxied.Proxy = tr.proxy
	c := &http.Client{Transport: tr}
	if a, err := post1(context.Background(), c, "http://api.telegram.invalid/bot1:x/getMe", "via"); err != nil || a != "via" {
		t.Fatalf("through the proxy: %q, %v", a, err)
	}
	if proxied.Load() != 1 {
		t.Error("the request did not go through the proxy")
	}
}

// A connection idle longer than idleFor is closed, not reused.
func TestTransportClosesConnectionsIdleTooLong(t *testing.T) {
	srv, conns := echoServer(t, false, nil)
	tr := newH1Transport(4, 10*time.Second)
	tr.idleFor = 50 * time.Millisecond
	c := &http.Client{Transport: tr}
	for _, pause := range []time.Duration{0, 10 * time.Millisecond, 120 * time.Millisecond} {
		time.Sleep(pause)
		if _, err := post1(context.Background(), c, srv.URL, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the first reused after 10 ms, not after 120 ms)", n)
	}
}

// A connection whose answer leaves bytes behind is not used again: after
// an answer switching protocols (101) the connection speaks the other
// protocol, and bytes a server sends after an answer, unasked, mark it as
// broken. The next request, however soon, goes on a new connection and
// gets its own answer (read on the old one, the bytes would be taken for
// it).
func TestTransportDropsAConnectionThatLeftBytesBehind(t *testing.T) {
	for _, first := range []string{"upgrade", "junk"} {
		t.Run(first, func(t *testing.T) {
			var conns atomic.Int64
			addr := rawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
				conns.Add(1)
				for {
					body, err := readRequest(br)
					if err != nil {
						return
					}
					switch body {
					case "upgrade":
						io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n"+
							"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nother")
					case "junk":
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\njunk"+
							"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale")
					default:
						fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
					}
				}
			})
			c := &http.Client{Transport: newH1Transport(4, 10*time.Second)}
			req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader(first))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if want := map[string]int{"upgrade": http.StatusSwitchingProtocols, "junk": http.StatusOK}[first]; resp.StatusCode != want {
				t.Fatalf("status %d, want %d", resp.StatusCode, want)
			}
			if a, err := post1(context.Background(), c, "http://"+addr+"/", "mine"); err != nil || a != "mine" {
				t.Errorf("the next request got %q, %v; want its own answer", a, err)
			}
			if n := conns.Load(); n != 2 {
				t.Errorf("%d connections, want 2", n)
			}
		})
	}
}

// A connection waiting for its answer holds no read buffer, over plain
// HTTP and over TLS: 50 requests held by the server hold none, and every
// buffer lent to read their answers is back once they are read.
func TestTransportLendsReadBuffersOnlyForReadingAnAnswer(t *testing.T) {
	for _, tlsToo := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tlsToo), func(t *testing.T) {
			var arrived sync.WaitGroup
			release := make(chan struct{})
			srv, _ := echoServer(t, tlsToo, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				arrived.Done()
				<-release
				w.Write(b)
			})
			tr := newH1Transport(50, 10*time.Second)
			if tlsToo {
				tr.tls = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
			}
			c := &http.Client{Transport: tr}
			const n = 50
			arrived.Add(n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					want := fmt.Sprintf("held %d %s", i, strings.Repeat("x", 5000))
					if got, err := post1(context.Background(), c, srv.URL, want); err != nil || got != want {
						t.Errorf("answer of %d bytes, %v; want its own %d", len(got), err, len(want))
					}
				}()
			}
			arrived.Wait()
			time.Sleep(50 * time.Millisecond) // every request is past its write
			waiting := lentReaders.Load()
			close(release)
			wg.Wait()
			if waiting != 0 {
				t.Errorf("%d requests waiting for their answers hold %d read buffers, want none", n, waiting)
			}
			if left := lentReaders.Load(); left != 0 {
				t.Errorf("%d read buffers still lent after every answer was read", left)
			}
		})
	}
}

// Requests in a lane (withLane) use connections of their own: the
// others' connection is not taken even when idle, and the lane's is
// reused by the lane.
func TestTransportKeepsALaneApart(t *testing.T) {
	srv, conns := echoServer(t, false, nil)
	c := &http.Client{Transport: newH1Transport(50, 10*time.Second)}
	ctx, lane := context.Background(), withLane(context.Background(), "getUpdates")
	for i, ctx := range []context.Context{ctx, lane, lane, ctx, lane} {
		want := fmt.Sprintf("request %d", i)
		if got, err := post1(ctx, c, srv.URL, want); err != nil || got != want {
			t.Fatalf("answer %q, %v; want %q", got, err, want)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("5 requests in turn, 3 in a lane, opened %d connections, want 2", n)
	}
}

// The sender's long polls travel in their lane, apart from its sends.
func TestTelegramPollsOnConnectionsOfItsOwn(t *testing.T) {
	tg, srv, _ := newTestTelegram(t, bottest.Options{})
	srv.SendText(bottest.User{ID: 7, LanguageCode: "ru"}, "Привет")
	if _, _, err := tg.getUpdates(context.Background(), tgbotapi.UpdateConfig{Limit: 100}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Send(context.Background(), Message{ChatID: 7, Text: "Hello"}); err != nil {
		t.Fatal(err)
	}
	tr := tg.rt.(*h1Transport)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var keys []string
	for k := range tr.hosts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) != 2 || !strings.HasSuffix(keys[1], "#getUpdates") {
		t.Errorf("the sender's connections are kept as %q, want the Bot API's and its getUpdates lane", keys)
	}
}

// A panic while dialling (here a TLS configuration missing) is raised in
// the goroutine that made the request, where Dispatcher.handle recovers
// it, not in the dial's own goroutine, where nothing would and the
// process would end.
func TestTransportRaisesADialsPanicInTheCaller(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	rt := newH1Transport(1, 5*time.Second)
	rt.tls = nil
	req, err := http.NewRequest("POST", "https://"+ln.Addr().String()+"/botT/getMe", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("the dial's panic did not reach the caller")
		}
	}()
	rt.RoundTrip(req)
}
