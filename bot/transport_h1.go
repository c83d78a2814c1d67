package bot

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The Bot API's requests and answers are the plainest HTTP/1.1 there is:
// a POST with a body of known length and one header, an answer with a
// Content-Length. writeRequest and readResponse write and read those
// themselves and hand anything else to net/http (Request.Write,
// ReadResponse): net/http's general machinery for them (a header map built
// and canonicalised for every answer, the transfer encodings weighed for
// every request) was 4 % of the bot's CPU under load (docs/BENCHMARKS.md,
// seventh round).

// writeRequest writes req on w as req.Write does.
func writeRequest(w *bufio.Writer, req *http.Request) error {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !plainRequest(req, host) {
		return req.Write(w)
	}
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(req.URL.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	if _, ok := req.Header["User-Agent"]; !ok {
		w.WriteString("\r\nUser-Agent: Go-http-client/1.1")
	}
	w.WriteString("\r\nContent-Length: ")
	var num [20]byte
	w.Write(strconv.AppendInt(num[:0], req.ContentLength, 10))
	w.WriteString("\r\n")
	for k, vs := range req.Header {
		for _, v := range vs {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	w.WriteString("\r\n")
	n, err := io.CopyN(w, req.Body, req.ContentLength)
	if err == nil {
		// A body longer than its length is an error, as in Request.Write.
		var extra int64
		extra, err = io.Copy(io.Discard, req.Body)
		n += extra
		if err == nil && extra > 0 {
			err = io.EOF
		}
	}
	req.Body.Close()
	if err == io.EOF {
		err = errors.New("http: ContentLength=" + strconv.FormatInt(req.ContentLength, 10) +
			" with Body length " + strconv.FormatInt(n, 10))
	}
	return err
}

// plainRequest tells whether req is one writeRequest writes itself: a GET
// or POST with a body of known length, headers that need no cleaning, no
// trailer or transfer encoding, no Connection: close.
func plainRequest(req *http.Request, host string) bool {
	if req.Method != "POST" && req.Method != "GET" || req.Body == nil || req.Body == http.NoBody ||
		req.ContentLength <= 0 || len(req.TransferEncoding) > 0 || req.Close || req.Trailer != nil ||
		req.URL.Opaque != "" || host == "" || !plainText(host) || strings.Contains(host, "%") ||
		strings.ContainsFunc(req.URL.RawQuery, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return false
	}
	for k, vs := range req.Header {
		if k == "Host" || k == "Content-Length" || k == "Transfer-Encoding" || k == "Connection" || k == "Trailer" ||
			!plainText(k) || http.CanonicalHeaderKey(k) != k {
			return false
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n") {
				return false
			}
		}
	}
	return true
}

// plainText tells whether s is printable ASCII without spaces.
func plainText(s string) bool {
	for i := range len(s) {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// readResponse reads the head of an answer to req from br as
// http.ReadResponse does. An answer whose whole head has arrived, HTTP/1.1
// with a Content-Length, a status from 200 and no transfer encoding, is
// read here, its Header left nil (nothing reads an answer's headers: a
// map for them was a fifth of the memory the Bot API requests allocate).
// Anything else is left unread for http.ReadResponse.
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	if _, err := br.Peek(1); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	head, _ := br.Peek(br.Buffered())
	if resp, n := parseHead(head, req); resp != nil {
		br.Discard(n)
		if resp.ContentLength == 0 {
			resp.Body = http.NoBody
		} else {
			resp.Body = &lengthBody{r: br, n: resp.ContentLength}
		}
		return resp, nil
	}
	return http.ReadResponse(br, req)
}

// parseHead parses the answer's head at the start of b and returns it with
// its length, or nil when the head is not all in b or is not one
// readResponse reads itself.
func parseHead(b []byte, req *http.Request) (*http.Response, int) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 || req.Method == "HEAD" {
		return nil, 0
	}
	head := b[:end+2]
	line, head, _ := bytes.Cut(head, []byte("\r\n"))
	// "HTTP/1.1 200 OK": the version, a three-digit status, its text.
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || len(line) > 12 && line[12] != ' ' || !plainLine(line) {
		return nil, 0
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return nil, 0
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code > 599 || code == http.StatusNoContent || code == http.StatusNotModified {
		return nil, 0
	}
	resp := &http.Response{StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		ContentLength: -1, Request: req}
	if code == http.StatusOK && string(line[9:]) == "200 OK" {
		resp.Status = "200 OK"
	} else {
		resp.Status = string(line[9:])
	}
	for len(head) > 0 {
		line, head, _ = bytes.Cut(head, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || !tokenText(name) || !plainLine(value) {
			return nil, 0 // a folded line, a name with spaces, a bare LF: net/http's to judge
		}
		value = bytes.Trim(value, " \t")
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if resp.ContentLength >= 0 || len(value) == 0 || len(value) > 15 {
				return nil, 0
			}
			n := int64(0)
			for _, c := range value {
				if c < '0' || c > '9' {
					return nil, 0
				}
				n = n*10 + int64(c-'0')
			}
			resp.ContentLength = n
		case asciiEqualFold(name, "Transfer-Encoding"):
			return nil, 0
		case asciiEqualFold(name, "Connection"):
			switch {
			case asciiEqualFold(value, "close"):
				resp.Close = true
			case !asciiEqualFold(value, "keep-alive"):
				return nil, 0
			}
		}
	}
	if resp.ContentLength < 0 {
		return nil, 0 // the body ends with the connection
	}
	return resp, end + 4
}

// plainLine tells whether a line of the head holds no control byte but
// tab: net/http ends a line at a bare LF and refuses a header value with
// any other control byte.
func plainLine(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// tokenText tells whether b is an RFC 7230 token, as net/http wants of a
// header name.
func tokenText(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// asciiEqualFold compares a header name as net/http does, ASCII letters
// only (bytes.EqualFold would also take the Kelvin sign for a k).
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// lengthBody is a body of n bytes more; one cut short by the connection's
// end is an io.ErrUnexpectedEOF, never a shorter answer.
type lengthBody struct {
	r *bufio.Reader
	n int64
}

func (b *lengthBody) Read(p []byte) (int, error) {
	if b.n == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	k, err := b.r.Read(p)
	b.n -= int64(k)
	switch {
	case b.n == 0:
		return k, io.EOF
	case err == io.EOF:
		return k, io.ErrUnexpectedEOF
	}
	return k, err
}

func (b *lengthBody) Close() error { return nil }
