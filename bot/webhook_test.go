package bot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestWebhookRequest(t *testing.T) {
	const secret = "0123456789abcdef-secret"
	good := `{"update_id": 7, "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "first_name": "A"}, "text": "hi"}}`
	cases := []struct {
		name, method, secret, body string
		want                       int
		handled                    bool
	}{
		{"right secret", "POST", secret, good, 200, true},
		{"no secret", "POST", "", good, 403, false},
		{"wrong secret", "POST", "0123456789abcdef-secreT", good, 403, false},
		{"secret with a prefix of the right one", "POST", secret[:10], good, 403, false},
		{"not POST", "GET", secret, "", 405, false},
		{"broken JSON", "POST", secret, `{"update_id": 7, `, 400, false},
		{"not an update", "POST", secret, `{"hello": "world"}`, 400, false},
		{"too large", "POST", secret, `{"update_id": 7, "message": {"text": "` + strings.Repeat("a", MaxWebhookBody) + `"}}`, 413, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := newRecorder()
			d := NewDispatcher(rec, DispatcherOptions{Logger: quietLog()})
			wh := NewWebhook(d, secret, quietLog())
			req := httptest.NewRequest(c.method, "/hook", strings.NewReader(c.body))
			if c.secret != "" {
				req.Header.Set("X-Telegram-Bot-Api-Secret-Token", c.secret)
			}
			w := httptest.NewRecorder()
			wh.ServeHTTP(w, req)
			stop(t, d)
			if w.Code != c.want {
				t.Errorf("status %d, want %d", w.Code, c.want)
			}
			if got := len(rec.texts[5]) > 0; got != c.handled {
				t.Errorf("handled: %v, want %v", got, c.handled)
			}
		})
	}
}

func TestWebhookAnswers503WhenStopping(t *testing.T) {
	d := NewDispatcher(newRecorder(), DispatcherOptions{Logger: quietLog()})
	stop(t, d)
	wh := NewWebhook(d, "0123456789abcdef", quietLog())
	req := httptest.NewRequest("POST", "/hook", strings.NewReader(`{"update_id": 1}`))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "0123456789abcdef")
	w := httptest.NewRecorder()
	wh.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d while stopping, want 503 so that Telegram delivers it again", w.Code)
	}
}

func TestServeWebhookRefusesAPlainHTTPURL(t *testing.T) {
	err := ServeWebhook(context.Background(), nil, nil, WebhookOptions{URL: "http://example.org/hook"}, quietLog())
	if err == nil {
		t.Error("a webhook at an http:// URL was accepted")
	}
}

// The webhook reads each update into a lent buffer: every update must be
// read whole and alone, whatever size came before it and whether or not
// the request says its length.
func TestWebhookReadsEachUpdateWhole(t *testing.T) {
	const secret = "0123456789abcdef-secret"
	rec := newRecorder()
	d := NewDispatcher(rec, DispatcherOptions{Workers: 1, Logger: quietLog()})
	srv := httptest.NewServer(NewWebhook(d, secret, quietLog()))
	defer srv.Close()
	// Each text is sent with its length and then chunked: a lent buffer
	// grows to a length it is told, and as it reads one it is not.
	sizes := []string{strings.Repeat("ж", 3000), "hi", strings.Repeat("b", 70<<10), "short again", strings.Repeat("c", 1500)}
	texts := append(slices.Clone(sizes), sizes...)
	for i, text := range texts {
		body := fmt.Sprintf(`{"update_id": %d, "message": {"message_id": %d, "date": 1, "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "first_name": "A"}, "text": %q}}`, i+1, i+1, text)
		var r io.Reader = strings.NewReader(body)
		if i >= len(texts)/2 {
			r = io.MultiReader(r) // no length known: sent chunked
		}
		req, _ := http.NewRequest("POST", srv.URL+"/hook", r)
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("update %d: status %d", i+1, resp.StatusCode)
		}
	}
	rec.wait(t, len(texts))
	stop(t, d)
	got := rec.texts[5]
	if len(got) != len(texts) {
		t.Fatalf("%d updates handled, want %d", len(got), len(texts))
	}
	for i := range texts {
		if got[i] != texts[i] {
			t.Errorf("update %d: text of %d bytes (%.20q…), want %d bytes (%.20q…)", i+1, len(got[i]), got[i], len(texts[i]), texts[i])
		}
	}
}
