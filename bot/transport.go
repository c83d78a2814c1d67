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
	"sync/atomic"
	"syscall"
	"time"
)

// h1Transport is the RoundTripper of the Bot API requests: HTTP/1.1 over
// kept-alive connections, each request written and its answer read in the
// caller's own goroutine. net/http's Transport hands every request to two
// goroutines of its connection (one writes, one reads) and back; under load
// those hand-offs and their wake-ups were a quarter of the bot's CPU (a
// profile in docs/BENCHMARKS.md, sixth round). Plain requests and answers
// are written and read in transport_h1.go, anything else by net/http's own
// Request.Write and ReadResponse, so chunked answers, Connection: close and
// the rest behave as there.
//
// A request with its answer takes at most timeout, set as the
// connection's deadline: http.Client's Timeout would start a goroutine and
// a timer for every request made through a RoundTripper it does not know.
//
// It keeps at most maxConns connections to a host, in flight or idle; a
// request past that waits for one. A connection idle longer than idleFor
// (90 s, net/http's default) is closed rather than reused, and one idle
// for more than checkIdle is first checked for having been closed, or
// sent something unasked (a proxy's 408), by the server meanwhile:
// net/http's reading goroutine notices that at once, here nobody reads an
// idle connection. A request that fails is not sent
// again here (neither does net/http for a POST): the sender's retries
// decide. Requests through a proxy (HTTPS_PROXY and the like) go through
// net/http.
type h1Transport struct {
	maxConns  int
	idleFor   time.Duration
	checkIdle time.Duration
	timeout   time.Duration // a request and its answer, whole
	dialer    net.Dialer
	tls       *tls.Config
	proxy     func(*http.Request) (*url.URL, error)
	proxied   *http.Transport

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
	raw       net.Conn        // under TLS, the TCP connection
	rc        syscall.RawConn // raw's socket, for awaitAnswer (nil when it has none)
	br        *bufio.Reader   // lent from readers while an answer is read
	idleSince time.Time
}

// The connections' buffers are lent for a request, not owned: a
// connection holds a reader only from the moment its answer starts to
// arrive until it has been read, and a writer only while its request is
// written. With a buffer of each kept by every connection, 4 KB each way,
// they were 40 % of the bot's live heap at 1,000 citizens in flight (530
// connections; docs/BENCHMARKS.md, eighth round), while a connection
// spends nearly all its busy time waiting for the Bot API.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
	// lentReaders counts the readers out on loan (for the tests).
	lentReaders atomic.Int64
)

// lendReader gives c a reader for the answer now arriving.
func (c *h1Conn) lendReader() {
	c.br = readers.Get().(*bufio.Reader)
	c.br.Reset(c.nc)
	lentReaders.Add(1)
}

// returnReader takes the reader back (nothing is left in it that matters:
// a kept connection has no bytes after its answer, a closed one is gone).
func (c *h1Conn) returnReader() {
	if c.br != nil {
		c.br.Reset(nil)
		readers.Put(c.br)
		c.br = nil
		lentReaders.Add(-1)
	}
}

// write writes req on c through a lent writer.
func (c *h1Conn) write(req *http.Request) error {
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(c.nc)
	err := writeRequest(bw, req)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writers.Put(bw)
	return err
}

// awaitAnswer waits, holding no buffer, until the server has sent
// something on c's socket (or closed it, or the deadline passed). Under
// TLS too: whatever the TLS layer may hold already (a session ticket read
// with the handshake's last record) was sent before the request, and the
// answer can only come after it, over the socket; a record that is not the
// answer (a ticket, a key update) only lends the reader a little early.
func (c *h1Conn) awaitAnswer() error {
	if c.rc == nil {
		return nil
	}
	return awaitReadable(c.rc) // a *net.OpError already ("raw-read"), a timeout one past the deadline
}

func newH1Transport(maxConns int, timeout time.Duration) *h1Transport {
	proxied := http.DefaultTransport.(*http.Transport).Clone()
	proxied.MaxIdleConnsPerHost, proxied.MaxConnsPerHost = maxConns, maxConns
	proxied.ResponseHeaderTimeout = timeout
	return &h1Transport{
		proxy:     http.ProxyFromEnvironment,
		maxConns:  maxConns,
		idleFor:   90 * time.Second,
		checkIdle: time.Second,
		timeout:   timeout,
		dialer:    net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second},
		tls:       &tls.Config{NextProtos: []string{"http/1.1"}},
		proxied:   proxied,
		hosts:     map[string]*h1Host{},
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
	c, err := t.conn(ctx, req, h)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	return t.exchange(ctx, c, req)
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

// laneKey marks, in a request's context, a lane of connections of its own
// (withLane).
type laneKey struct{}

// withLane makes the requests made with ctx use connections of their own,
// named lane, apart from the others to the same host. getUpdates takes one:
// its answers of up to 100 updates grow the TLS layer's record buffer of
// the connection they arrive on to 16 KB and more, kept for the
// connection's life, and a long poll's connection shared with the sends
// had left such a buffer in every connection of the pool in turn (4.7 MB
// of the bot's heap over HTTPS at 1,000 citizens in flight;
// docs/BENCHMARKS.md, eighth round).
func withLane(ctx context.Context, lane string) context.Context {
	return context.WithValue(ctx, laneKey{}, lane)
}

func (t *h1Transport) host(req *http.Request) *h1Host {
	key := req.URL.Scheme + "://" + req.URL.Host
	if lane, ok := req.Context().Value(laneKey{}).(string); ok {
		key += "#" + lane
	}
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

// drainKey marks, in a request's context, what its caller does before
// waiting for a connection (WithDrain).
type drainKey struct{}

// WithDrain makes the requests made with ctx call drain before they wait
// for a connection (all the host's are open and busy): drain reads the
// answers of its caller's requests sent aside (AnswerCallbackAside,
// EditAside), which hold connections until read. Without it, callers each
// holding such answers while waiting for a connection could wait for one
// another for ever. drain must not block on anything but those answers.
func WithDrain(ctx context.Context, drain func()) context.Context {
	return context.WithValue(ctx, drainKey{}, drain)
}

// Drain calls ctx's drain (WithDrain), if it has one, now: before a
// request made with another context, whose wait for a connection would
// not call it.
func Drain(ctx context.Context) {
	if drain, ok := ctx.Value(drainKey{}).(func()); ok {
		drain()
	}
}

// conn returns a kept connection or a new one, waiting while maxConns
// are open and busy (after the context's drain, WithDrain).
func (t *h1Transport) conn(ctx context.Context, req *http.Request, h *h1Host) (*h1Conn, error) {
	drained := false
	for {
		var c *h1Conn
		select {
		case c = <-h.idle:
		default:
			select {
			case c = <-h.idle:
			case h.open <- struct{}{}:
				return t.dialOpened(ctx, req, h)
			default:
				if drain, ok := ctx.Value(drainKey{}).(func()); ok && !drained {
					drained = true
					drain()
					continue
				}
				select {
				case c = <-h.idle:
				case h.open <- struct{}{}:
					return t.dialOpened(ctx, req, h)
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
		}
		idle := time.Since(c.idleSince)
		if idle < t.idleFor && (idle < t.checkIdle || !c.stale()) {
			return c, nil
		}
		c.close()
	}
}

// stale tells whether the server closed the idle connection, or sent
// anything on it, since its last answer: such a connection is not used.
// (Its reader holds nothing: finish keeps no connection with bytes after
// the answer.) Whatever the check reads is thrown away with the
// connection. A live connection costs the check a millisecond (a deadline
// already past when the read starts would not read at all).
func (c *h1Conn) stale() bool {
	c.raw.SetReadDeadline(time.Now().Add(time.Millisecond))
	var b [1]byte
	n, err := c.raw.Read(b[:])
	var ne net.Error
	return n > 0 || !(errors.As(err, &ne) && ne.Timeout())
}

// dialOpened connects, its token in h.open already taken. It dials in a
// goroutine of its own (net/http's Transport dials in one too) and waits
// for it: the dialer's and the TLS handshake's frames (13 KB beneath an
// update) would otherwise grow the stack of the worker that happens to
// open a connection, and the worker would keep the larger stack
// (docs/BENCHMARKS.md, thirteenth round). The dial heeds ctx, so the wait
// ends when ctx does. A panic in the dial is raised again here, in the
// caller's goroutine, where it would have been raised before.
func (t *h1Transport) dialOpened(ctx context.Context, req *http.Request, h *h1Host) (*h1Conn, error) {
	done := make(chan dialed, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- dialed{panicked: p}
			}
		}()
		c, err := t.dial(ctx, req, h)
		done <- dialed{c: c, err: err}
	}()
	d := <-done
	if d.panicked != nil {
		panic(d.panicked)
	}
	return d.c, d.err
}

type dialed struct {
	c        *h1Conn
	err      error
	panicked any
}

// dial connects (dialOpened).
func (t *h1Transport) dial(ctx context.Context, req *http.Request, h *h1Host) (*h1Conn, error) {
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
	raw := nc
	if req.URL.Scheme == "https" {
		cfg := t.tls.Clone()
		cfg.ServerName = req.URL.Hostname()
		tc := tls.Client(nc, cfg)
		// A server that takes the connection and never answers the
		// handshake is given up on as net/http does (10 s), not never.
		nc.SetDeadline(time.Now().Add(min(t.timeout, 10*time.Second)))
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			<-h.open
			return nil, err
		}
		nc = tc
	}
	c := &h1Conn{host: h, nc: nc, raw: raw}
	if sc, ok := raw.(syscall.Conn); ok {
		c.rc, _ = sc.SyscallConn()
	}
	return c, nil
}

// aLongTimeAgo is a deadline that has passed: it stops a read or write
// at once.
var aLongTimeAgo = time.Unix(1, 0)

// exchange writes req on c and reads the answer's head. The connection
// goes back to the host once the answer's body has been read to the end
// and closed; after any error, or a cancelled request, it is closed.
func (t *h1Transport) exchange(ctx context.Context, c *h1Conn, req *http.Request) (*http.Response, error) {
	var p h1Pending
	if err := t.send(ctx, c, req, &p); err != nil {
		return nil, err
	}
	return p.answer()
}

// h1Pending is a request written whose answer is still to be read
// (answer): the connection is the request's until then.
type h1Pending struct {
	ctx  context.Context
	c    *h1Conn
	req  *http.Request
	stop func() bool
	// readFor is the transport's timeout for an answer read later than its
	// request was written (start): the deadline set with the write may
	// have passed meanwhile, though the answer came in time.
	readFor time.Duration
}

// send writes req on c, the pending answer in p; the deadline covers the
// request and its answer.
func (t *h1Transport) send(ctx context.Context, c *h1Conn, req *http.Request, p *h1Pending) error {
	c.nc.SetDeadline(time.Now().Add(t.timeout))
	// After the deadline above: a context already done sets its own at once.
	*p = h1Pending{ctx: ctx, c: c, req: req}
	p.stop = context.AfterFunc(ctx, func() { c.nc.SetDeadline(aLongTimeAgo) })
	if err := c.write(req); err != nil {
		return p.fail(err)
	}
	return nil
}

// fail closes the connection of a request that failed; a cancelled
// request's error is its context's.
func (p *h1Pending) fail(err error) error {
	p.stop()
	p.c.close()
	if p.ctx.Err() != nil {
		return p.ctx.Err()
	}
	return err
}

// answer waits for the answer of the request written and reads its head.
func (p *h1Pending) answer() (*http.Response, error) {
	c, req := p.c, p.req
	if p.readFor > 0 {
		c.nc.SetDeadline(time.Now().Add(p.readFor))
		// After the deadline above, as in send: a request cancelled
		// meanwhile stays cancelled.
		if err := p.ctx.Err(); err != nil {
			return nil, p.fail(err)
		}
	}
	if err := c.awaitAnswer(); err != nil {
		return nil, p.fail(err)
	}
	c.lendReader()
	resp, err := readResponse(c.br, req)
	// Informational answers (103 Early Hints, 100 Continue unasked) come
	// before the answer, without a body.
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = readResponse(c.br, req)
	}
	if err != nil {
		return nil, p.fail(err)
	}
	// After a 101 the connection speaks another protocol: never reused.
	b := &h1Body{c: c, r: resp.Body, stop: p.stop, keep: !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols}
	if resp.Body == http.NoBody {
		b.finish(true)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

// start writes req, on a kept connection or a new one, and returns its
// pending answer; none (and no error) for a request this transport hands
// to net/http (through a proxy), which the caller then makes otherwise.
// Every pending answer must be read (answer), or the connection stays
// taken.
func (t *h1Transport) start(req *http.Request) (*h1Pending, error) {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		closeBody(req)
		return nil, errUnsupportedScheme
	}
	h := t.host(req)
	if h.proxied {
		return nil, nil
	}
	ctx := req.Context()
	c, err := t.conn(ctx, req, h)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	p := new(h1Pending)
	if err := t.send(ctx, c, req, p); err != nil {
		return nil, err
	}
	p.readFor = t.timeout
	return p, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// close closes the connection and frees its place.
func (c *h1Conn) close() {
	c.nc.Close()
	c.returnReader()
	<-c.host.open
}

// h1Body is an answer's body: at its end the connection is kept for the
// next request.
type h1Body struct {
	c    *h1Conn
	r    io.ReadCloser
	stop func() bool
	keep bool // the server did not ask to close
	done bool
	eof  bool // read to its end
	mu   sync.Mutex
}

func (b *h1Body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		if b.eof {
			return 0, io.EOF
		}
		return 0, errors.New("bot: read after the answer's body was closed")
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.eof = true
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

// Close ends the answer; an unread rest of up to 64 KiB is read so that
// the connection may be kept, a longer one closes it. (A Close during a
// Read in another goroutine waits for the Read: to stop a request, cancel
// its context.)
func (b *h1Body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	_, err := io.CopyN(io.Discard, b.r, 64<<10)
	b.finish(err == io.EOF) // the rest was shorter than 64 KiB
	return nil
}

// finish hands the connection back (whole answer read, not cancelled, no
// Connection: close) or closes it.
func (b *h1Body) finish(complete bool) {
	b.done = true
	// Bytes after the answer, unasked, are a broken server's: its
	// connection is not used again (the next request would read them as
	// its answer).
	if b.stop() && complete && b.keep && b.c.br.Buffered() == 0 {
		b.c.returnReader()
		b.c.idleSince = time.Now()
		b.c.host.idle <- b.c
		return
	}
	b.c.close()
}
