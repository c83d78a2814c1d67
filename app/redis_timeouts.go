package app

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// boundRedisWaits keeps a Redis that is down or stuck from holding an
// update for long: each command gives up within a few seconds (unless
// REDIS_URL sets its own timeouts) and the user is told to try again.
func boundRedisWaits(opts *redis.Options) {
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 2 * time.Second
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = 2 * time.Second
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = 2 * time.Second
	}
	if opts.PoolTimeout == 0 {
		opts.PoolTimeout = 3 * time.Second
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 1
	}
}
