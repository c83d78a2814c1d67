package bot

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// RedisHook counts failed Redis commands in dostyq_redis_errors_total. Add
// it to the state store: RedisStateStore.AddHook(m.RedisHook()). Not
// failures: a missing key (redis.Nil), a lost optimistic-lock race that is
// retried (redis.TxFailedErr), a cancelled context, and the connection
// handshake commands (HELLO, CLIENT SETINFO) whose refusal go-redis
// tolerates on older servers.
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if failed(cmd, err) {
			h.m.RedisError()
		}
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err == nil {
			return nil
		}
		// Each failed command of the pipeline counts: the bot's
		// auto-pipelined batches carry many updates' commands, and an
		// outage should count as many as it fails.
		for _, cmd := range cmds {
			if failed(cmd, cmd.Err()) {
				h.m.RedisError()
			}
		}
		return err
	}
}

func failed(cmd redis.Cmder, err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.TxFailedErr) || errors.Is(err, context.Canceled) {
		return false
	}
	switch cmd.Name() {
	case "hello", "client":
		return false
	}
	return true
}
