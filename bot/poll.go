package bot

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// AllowedUpdates are the kinds of update the bot asks Telegram for.
var AllowedUpdates = []string{"message", "callback_query"}

// Poller receives updates by long polling (getUpdates) and hands them to
// the dispatcher. The offset passed to Telegram, which confirms every
// update below it, moves past an update only after the dispatcher took it.
type Poller struct {
	tg  *Telegram
	d   *Dispatcher
	log *slog.Logger

	// Timeout is the long-poll timeout (default 50 s); Limit the most
	// updates per answer (default 100).
	Timeout int
	Limit   int
	// MaxBackoff caps the wait after failed polls (default 30 s).
	MaxBackoff time.Duration
	sleep      func(ctx context.Context, d time.Duration) error

	offset   int
	lastPoll atomic.Int64 // unix nanoseconds of the last successful poll
}

// LastPoll is when getUpdates last answered (the zero time before the
// first answer). Polling is healthy while it is within about a minute.
func (p *Poller) LastPoll() time.Time {
	n := p.lastPoll.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// NewPoller returns a poller for tg handing updates to d.
func NewPoller(tg *Telegram, d *Dispatcher, log *slog.Logger) *Poller {
	if log == nil {
		log = slog.Default()
	}
	return &Poller{tg: tg, d: d, log: log, Timeout: 50, Limit: 100, MaxBackoff: 30 * time.Second, sleep: sleepCtx}
}

// Run deletes any webhook (getUpdates does not work while one is set) and
// polls until ctx is done. It does not stop the dispatcher.
func (p *Poller) Run(ctx context.Context) error {
	if err := p.tg.Request(ctx, tgbotapi.DeleteWebhookConfig{}); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	p.log.Info("polling for updates")
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		cfg := tgbotapi.UpdateConfig{Offset: p.offset, Limit: p.Limit, Timeout: p.Timeout, AllowedUpdates: AllowedUpdates}
		ups, err := p.tg.getUpdates(ctx, cfg)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			backoff = nextBackoff(backoff, p.MaxBackoff)
			var ae *APIError
			if errors.As(err, &ae) && ae.RetryAfter > backoff {
				backoff = ae.RetryAfter
			}
			p.log.Warn("polling failed; retrying", "err", err, "wait", backoff.Round(time.Millisecond))
			if p.sleep(ctx, backoff) != nil {
				break
			}
			continue
		}
		backoff = 0
		p.lastPoll.Store(time.Now().UnixNano())
		for _, u := range ups {
			if u.UpdateID < p.offset {
				continue // already taken
			}
			if err := p.d.Dispatch(ctx, u); err != nil {
				return nil // ctx done or dispatcher stopped: leave it unconfirmed
			}
			p.offset = u.UpdateID + 1
		}
	}
	return nil
}

// Confirm tells Telegram that every update taken so far is done, so that
// a restart does not receive them again. Call it after the dispatcher has
// handled them all.
func (p *Poller) Confirm(ctx context.Context) error {
	if p.offset == 0 {
		return nil
	}
	_, err := p.tg.getUpdates(ctx, tgbotapi.UpdateConfig{Offset: p.offset, Limit: 1, Timeout: 0, AllowedUpdates: AllowedUpdates})
	return err
}

// nextBackoff doubles the wait from 500 ms up to max, with jitter.
func nextBackoff(prev, max time.Duration) time.Duration {
	next := 2 * prev
	if next < 500*time.Millisecond {
		next = 500 * time.Millisecond
	}
	if next > max {
		next = max
	}
	return next/2 + rand.N(next/2+1)
}
