package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/dostyq/dostyq/bot"
	"github.com/dostyq/dostyq/storage"
)

// The bot's Redis store sends the commands that workers issue at the same
// moment as pipelines (REDIS_AUTOPIPELINE, on by default): 200 updates read
// and saved at once all land, and the main connection pool holds no more
// connections than before the burst, where a connection per busy worker
// used to be opened. REDIS_AUTOPIPELINE=false sends each command on its own.
func TestRedisStoreBatchesConcurrentUpdates(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://" + miniredis.RunT(t).Addr()
	}
	for _, auto := range []bool{true, false} {
		t.Run(fmt.Sprintf("auto-pipeline=%v", auto), func(t *testing.T) {
			cfg, err := bot.LoadConfig(func(k string) string {
				switch k {
				case "REDIS_URL":
					return url
				case "REDIS_AUTOPIPELINE":
					return fmt.Sprint(auto)
				}
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			ss, err := openState(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			st := ss.(*storage.RedisStateStore)
			defer st.Close()
			st.Prefix = fmt.Sprintf("test:%s:%d:", t.Name(), time.Now().UnixNano())
			before := st.Client().PoolStats().TotalConns

			const n = 200
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					user := int64(1000 + i)
					first, _, _, snap, _, err := st.SeenCountGet(ctx, fmt.Sprintf("upd:%d", i), time.Minute, fmt.Sprintf("flood:%d", user), time.Minute, user)
					if err != nil || !first {
						errs <- fmt.Errorf("user %d: first %v, %v", user, first, err)
						return
					}
					if _, _, err := st.UpdateSnapshot(ctx, user, snap, func(s *storage.State) error { s.Flow = "houses"; s.Set("n", fmt.Sprint(i)); return nil }); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for i := range n {
				s, err := st.Get(ctx, int64(1000+i))
				if err != nil || s.Flow != "houses" || s.Get("n") != fmt.Sprint(i) {
					t.Fatalf("user %d: state %+v, %v", 1000+i, s, err)
				}
				st.Delete(ctx, int64(1000+i))
			}
			after := st.Client().PoolStats().TotalConns
			if auto && after > before {
				t.Errorf("auto-pipelined: %d connections in the main pool after the burst, %d before: the updates' commands did not go through the pipeline", after, before)
			}
			t.Logf("main pool connections: %d before, %d after", before, after)
		})
	}
}
