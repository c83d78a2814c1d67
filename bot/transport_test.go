package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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

// A server that closed the kept connection while it was idle never read
// the request sent on it: the request goes again, once, on a new one.
func TestTransportSendsAgainOnAConnectionTheServerClosed(t *testing.T) {
	var got atomic.Int64
	srv, conns := echoServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	c := &http.Client{Transport: newH1Transport(4, 10*time.Second)}
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
