package bot

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
)

// readAnswer reads one answer with read and everything after it, as the
// transport would: the head, the body to its end, then what the
// connection holds for the next request.
func readAnswer(read func(*bufio.Reader, *http.Request) (*http.Response, error), raw string, oneByte bool) string {
	var r io.Reader = strings.NewReader(raw)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	br := bufio.NewReaderSize(r, 4<<10)
	req, _ := http.NewRequest("POST", "http://api.example.org/botTOKEN/sendMessage", nil)
	resp, err := read(br, req)
	if err != nil {
		return "error: " + errors.Unwrap(fmt.Errorf("%w", err)).Error()
	}
	body, err := io.ReadAll(resp.Body)
	rest, _ := io.ReadAll(br)
	return fmt.Sprintf("status %d %q length %d close %v body %q (%v) rest %q",
		resp.StatusCode, resp.Status, resp.ContentLength, resp.Close, body, err, rest)
}

// Every answer reads as net/http reads it, whether the transport reads it
// itself or leaves it to net/http, and whether it arrives at once or a
// byte at a time: status, length, Connection: close, body, and the bytes
// left for the next answer (a body read too far or too short would give
// the next request this answer's end).
func TestReadResponseReadsAsNetHTTP(t *testing.T) {
	next := "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"
	for _, raw := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nDate: Sun, 29 Nov 2026 16:00:00 GMT\r\n\r\n{\"ok\":true}",
		"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length:2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 17\r\nRetry-After: 3\r\n\r\n{\"ok\":false,\"a\":1}",
		"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\n<html",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
		"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nConnection: upgrade\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nthe body ends with the connection",
		"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\ncut short",
		"HTTP/1.1 200 OK\r\nContent-Len",
		"",
		"garbage\r\n\r\n",
		// Heads net/http splits at a bare LF or refuses (a control byte in
		// a value, a name that is not a token): read here, the chunked
		// body would be taken for two bytes and the rest left for the next
		// answer, or the next answer's head taken for this one's.
		"HTTP/1.1 200 OK\r\nX-A: a\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 5\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
		"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX(A): b\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n",
	} {
		for _, oneByte := range []bool{false, true} {
			input := raw
			if strings.Contains(raw, "Content-Length: 2\r\n") || strings.Contains(raw, "Content-Length: 2\n") ||
				strings.Contains(raw, "Content-Length: 11") {
				input += next
			}
			got := readAnswer(readResponse, input, oneByte)
			want := readAnswer(http.ReadResponse, input, oneByte)
			if got != want {
				t.Errorf("%q (a byte at a time: %v):\n got %s\nwant %s", raw, oneByte, got, want)
			}
		}
	}
}

// The Bot API's requests, and any other, arrive as Request.Write sends
// them: method, path with the token, host, headers, body.
func TestWriteRequestWritesAsNetHTTP(t *testing.T) {
	u, _ := url.Parse("https://api.telegram.org/bot123:abc/sendMessage")
	form := func() *http.Request {
		body := "chat_id=42&text=%D0%A1%D3%99%D0%BB%D0%B5%D0%BC"
		return &http.Request{Method: "POST", URL: u, Host: u.Host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": formType}, Body: io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body))}
	}
	other := func(f func(r *http.Request)) func() *http.Request {
		return func() *http.Request { r := form(); f(r); return r }
	}
	for name, mk := range map[string]func() *http.Request{
		"sendMessage":    form,
		"user agent set": other(func(r *http.Request) { r.Header.Set("User-Agent", "dostyq") }),
		"no body": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://127.0.0.1:8081/bot1:a/getMe", nil)
			return r
		},
		"from NewRequest": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://127.0.0.1:8081/bot1:a/getUpdates?x=1", strings.NewReader("offset=5"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		},
		"IPv6 zone": func() *http.Request {
			r, _ := http.NewRequest("POST", "http://[fe80::1%25eth0]:8081/bot1:a/getMe", strings.NewReader("x=1"))
			return r
		},
		"length unknown":      other(func(r *http.Request) { r.ContentLength = -1 }),
		"newline in a header": other(func(r *http.Request) { r.Header.Set("X-A", "a\r\nX-Injected: 1") }),
		"close":               other(func(r *http.Request) { r.Close = true }),
	} {
		var got, want bytes.Buffer
		gw, ww := bufio.NewWriter(&got), bufio.NewWriter(&want)
		if err := writeRequest(gw, mk()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := mk().Write(ww); err != nil {
			t.Fatalf("%s: Request.Write: %v", name, err)
		}
		gw.Flush()
		ww.Flush()
		if g, w := parsedRequest(t, got.String()), parsedRequest(t, want.String()); g != w {
			t.Errorf("%s:\n got %s\nwant %s", name, g, w)
		}
	}
	// A body shorter or longer than its ContentLength, and a URL built by
	// hand with CR LF in its query (url.Parse refuses them; written, it
	// would add a header of the caller's choosing), are errors, as there.
	for name, f := range map[string]func(r *http.Request){
		"body shorter than its length": func(r *http.Request) { r.ContentLength += 5 },
		"body longer than its length":  func(r *http.Request) { r.ContentLength -= 5 },
		"CR LF in the URL": func(r *http.Request) {
			u := *r.URL
			u.RawQuery = "a=1 HTTP/1.1\r\nX-Injected: 1\r\nX-B: b"
			r.URL = &u
		},
	} {
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		if err := other(f)().Write(bufio.NewWriter(io.Discard)); err == nil {
			t.Fatalf("%s: Request.Write took it", name)
		}
		if err := writeRequest(w, other(f)()); err == nil {
			w.Flush()
			t.Errorf("%s: written without an error: %q", name, out.String())
		}
	}
}

// FuzzReadResponse: whatever answer the transport reads itself, net/http
// reads the same way — status, length, Connection: close, body, and the
// bytes left for the next answer.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}",
		"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
		"HTTP/1.1 429 Too Many\r\nContent-Length: 2\r\nRetry-After: 3\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 2\r\n\r\nok",
	} {
		f.Add(s)
	}
	next := "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"
	f.Fuzz(func(t *testing.T, raw string) {
		req, _ := http.NewRequest("POST", "http://api.example.org/bot1:a/sendMessage", nil)
		if r, _ := parseHead([]byte(raw), req); r == nil {
			return // left to net/http
		}
		if got, want := readAnswer(readResponse, raw+next, false), readAnswer(http.ReadResponse, raw+next, false); got != want {
			t.Errorf("%q:\n got %s\nwant %s", raw, got, want)
		}
	})
}

func parsedRequest(t *testing.T, raw string) string {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("%q does not parse: %v", raw, err)
	}
	body, _ := io.ReadAll(r.Body)
	return fmt.Sprintf("%s %s host %s length %d close %v headers %v body %q", r.Method, r.RequestURI, r.Host,
		r.ContentLength, r.Close, r.Header, body)
}
