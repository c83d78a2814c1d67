package bot

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// h1Transport is the RoundTripper of the Bot API requests: HTTP/1.1 over
// kept-alive connections, each request written and its answer read in the
// caller's own goroutine. net/http's Transport hands every request to two
// goroutines of its connection (one writes, one reads) and back; under load
// those hand-offs and its bookkeeping were a third of the bot's CPU (a
// profile in docs/BENCHMARKS.md, sixth round). The parsing is net/http's
// own (Request.Write, ReadResponse), so chunked answers, Connection: close
// and the rest behave as there.
//
// A request with its answer takes at most timeout, set as the
// connection's deadline: http.Client's Timeout would start a goroutine and
// a timer for every request made through a RoundTripper it does not know.
//
// It keeps at most maxConns connections to a host, in flight or idle; a
// request past that waits for one. A connection idle longer than idleFor
// is closed rather than reused (servers close idle connections: nginx
// after 75 s). A request sent on a kept connection that the server had
// closed meanwhile, which fails before any byte of an answer, is sent
// again once on a new connection: the server closed it before reading
// the request. Requests through a proxy (HTTPS_PROXY and the like) go
// through net/http.
type h1Transport struct {
	maxConns int
	idleFor  time.Duration
	timeout  time.Duration // a request and its answer, whole
	dialer   net.Dialer
	tls      *tls.Config
	proxy    func(*http.Request) (*url.URL, error)
	proxied  *http.Transport

	mu    sync.Mutex
	hosts map[string]*h1Host
}

// h1Host holds the connections to one scheme and address.
type h1Host struct {
	open    chan struct{} // one token per open connection
	idle    chan *h1Conn  // connections waiting for a request
	proxied bool          // the environment names a proxy for it
}

type h1Conn struct {
	host      *h1Host
	nc        net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
}

func newH1Transport(maxConns int, timeout time.Duration) *h1Transport {
	proxied := http.DefaultTransport.(*http.Transport).Clone()
	proxied.MaxIdleConnsPerHost, proxied.MaxConnsPerHost = maxConns, maxConns
	proxied.ResponseHeaderTimeout = timeout
	return &h1Transport{
		proxy:    http.ProxyFromEnvironment,
		maxConns: maxConns,
		idleFor:  30 * time.Second,
		timeout:  timeout,
		dialer:   net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second},
		tls:      &tls.Config{NextProtos: []string{"http/1.1"}},
		proxied:  proxied,
		hosts:    map[string]*h1Host{},
	}
}

var errUnsupportedScheme = errors.New("bot: the Bot API address must be http or https")

// RoundTrip implements http.RoundTripper.
func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		closeBody(req)
		return nil, errUnsupportedScheme
	}
	h := t.host(req)
	if h.proxied {
		return t.proxied.RoundTrip(req)
	}
	ctx := req.Context()
	c, reused, err := t.conn(ctx, req, h)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.exchange(ctx, c, req)
	if err != nil && reused && req.GetBody != nil && closedWhileIdle(err) {
		// The server had closed the kept connection: it never read the
		// request. Once more on a connection of its own.
		if body, gerr := req.GetBody(); gerr == nil {
			r2 := req.Clone(ctx)
			r2.Body = body
			if c, err = t.dial(ctx, req, h); err == nil {
				resp, err = t.exchange(ctx, c, r2)
			}
		}
	}
	return resp, err
}

// CloseIdleConnections closes the connections no request is using
// (http.Client.CloseIdleConnections calls it).
func (t *h1Transport) CloseIdleConnections() {
	t.mu.Lock()
	hosts := make([]*h1Host, 0, len(t.hosts))
	for _, h := range t.hosts {
		hosts = append(hosts, h)
	}
	t.mu.Unlock()
	for _, h := range hosts {
		for drained := false; !drained; {
			select {
			case c := <-h.idle:
				c.close()
			default:
				drained = true
			}
		}
	}
	t.proxied.CloseIdleConnections()
}

func (t *h1Transport) host(req *http.Request) *h1Host {
	key := req.URL.Scheme + "://" + req.URL.Host
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.hosts[key]
	if h == nil {
		p, err := t.proxy(req)
		h = &h1Host{open: make(chan struct{}, t.maxConns), idle: make(chan *h1Conn, t.maxConns),
			proxied: err != nil || p != nil}
		t.hosts[key] = h
	}
	return h
}

// conn returns a kept connection (reused) or a new one, waiting while
// maxConns are open and busy.
func (t *h1Transport) conn(ctx context.Context, req *http.Request, h *h1Host) (c *h1Conn, reused bool, err error) {
	for {
		select {
		case c = <-h.idle:
		default:
			select {
			case c = <-h.idle:
			case h.open <- struct{}{}:
				c, err = t.dialOpened(ctx, req, h)
				return c, false, err
			case <-ctx.Done():
				return nil, false, ctx.Err()
			}
		}
		if time.Since(c.idleSince) < t.idleFor {
			return c, true, nil
		}
		c.close()
	}
}

// dial opens a connection beyond the one that failed (whose token it
// takes over).
func (t *h1Transport) dial(ctx context.Context, req *http.Request, h *h1Host) (*h1Conn, error) {
	select {
	case h.open <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return t.dialOpened(ctx, req, h)
}

// dialOpened connects, its token in h.open already taken.
func (t *h1Transport) dialOpened(ctx context.Context, req *http.Request, h *h1Host) (*h1Conn, error) {
	addr := req.URL.Host
	if req.URL.Port() == "" {
		port := "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(req.URL.Hostname(), port)
	}
	nc, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		<-h.open
		return nil, err
	}
	if req.URL.Scheme == "https" {
		cfg := t.tls.Clone()
		cfg.ServerName = req.URL.Hostname()
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			<-h.open
			return nil, err
		}
		nc = tc
	}
	return &h1Conn{host: h, nc: nc, br: bufio.NewReaderSize(nc, 4<<10), bw: bufio.NewWriterSize(nc, 4<<10)}, nil
}

// aLongTimeAgo is a deadline that has passed: it stops a read or write
// at once.
var aLongTimeAgo = time.Unix(1, 0)

// exchange writes req on c and reads the answer's head. The connection
// goes back to the host once the answer's body has been read to the end
// and closed; after any error, or a cancelled request, it is closed.
func (t *h1Transport) exchange(ctx context.Context, c *h1Conn, req *http.Request) (*http.Response, error) {
	c.nc.SetDeadline(time.Now().Add(t.timeout))
	// After the deadline above: a context already done sets its own at once.
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if err := req.Write(c.bw); err != nil {
		return fail(err)
	}
	if err := c.bw.Flush(); err != nil {
		return fail(err)
	}
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		return fail(err)
	}
	b := &h1Body{t: t, c: c, r: resp.Body, stop: stop, keep: !resp.Close}
	if resp.Body == http.NoBody {
		b.finish(true)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

// closedWhileIdle tells whether a request on a kept connection failed the
// way one does when the server had closed the connection while it was
// idle: no answer at all.
func closedWhileIdle(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// close closes the connection and frees its place.
func (c *h1Conn) close() {
	c.nc.Close()
	<-c.host.open
}

// h1Body is an answer's body: at its end the connection is kept for the
// next request.
type h1Body struct {
	t    *h1Transport
	c    *h1Conn
	r    io.ReadCloser
	stop func() bool
	keep bool // the server did not ask to close
	done bool
	mu   sync.Mutex
}

func (b *h1Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return 0, errors.New("bot: read after the answer's body was closed")
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

// Close ends the answer; an unread rest of up to 64 KiB is read so that
// the connection may be kept, a longer one closes it.
func (b *h1Body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	n, err := io.CopyN(io.Discard, b.r, 64<<10)
	b.finish(err == io.EOF && n < 64<<10)
	return nil
}

// finish hands the connection back (whole answer read, not cancelled, no
// Connection: close) or closes it.
func (b *h1Body) finish(complete bool) {
	b.done = true
	if b.stop() && complete && b.keep {
		b.c.idleSince = time.Now()
		b.c.host.idle <- b.c
		return
	}
	b.c.close()
}
