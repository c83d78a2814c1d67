package storage

import (
	"sync"
	"time"
)

// userCache keeps users rows in the process, so that TouchUser costs no
// query on a user's every update (it was a fifth of the allocations and a
// SQLite read per update). It holds the users row only: language, whether
// it was chosen, first and last seen. Staff roles are never cached: every
// role check (HasRole, Roles) reads staff_roles, so a mediator or
// coordinator removed loses the role on their very next update, and
// administrators are ADMIN_IDS.
//
// Every write to users through DB or Tx drops the user's entry once it has
// committed (SetUserLang, EraseUser, GrantRole, RevokeRole, TouchUser's own
// write refills it). A fill races with a write only through gen: a row read
// before a write committed is not stored when an invalidation came in
// between.
//
// The cache is in one process: other processes writing the same database
// (replicas) do not invalidate it, so DB.CacheUsers is only called where
// this process is the only one handling updates (see app.Serve).
type userCache struct {
	mu    sync.Mutex
	on    bool
	ttl   time.Duration
	max   int
	gen   uint64
	users map[int64]cachedUser
}

type cachedUser struct {
	u       User
	expires time.Time
}

// maxCachedUsers bounds the cache: about 100 B an entry.
const maxCachedUsers = 100_000

// CacheUsers keeps users rows in the process for at most ttl (0 turns the
// cache off). Call it only when no other process writes users while this
// one runs: a language switched or a user erased by another process would
// not be seen here until ttl passed.
func (db *DB) CacheUsers(ttl time.Duration) {
	c := &db.userCache
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on, c.ttl, c.max = ttl > 0, ttl, maxCachedUsers
	c.users = nil
	c.gen++
}

// generation is the count of invalidations so far; a row read after it was
// taken is stored only if it has not changed.
func (c *userCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *userCache) get(id int64, now time.Time) (User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.users[id]
	if !ok || !now.Before(e.expires) {
		return User{}, false
	}
	return e.u, true
}

// put stores u unless the cache is off or an invalidation happened since
// generation gen was taken.
func (c *userCache) put(u User, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on || gen != c.gen {
		return
	}
	if c.users == nil {
		c.users = make(map[int64]cachedUser)
	}
	if len(c.users) >= c.max {
		c.evict(now)
	}
	c.users[u.ID] = cachedUser{u: u, expires: now.Add(c.ttl)}
}

// evict drops the expired entries, and when none had expired a quarter of
// the others (the map's order is random enough).
func (c *userCache) evict(now time.Time) {
	for id, e := range c.users {
		if !now.Before(e.expires) {
			delete(c.users, id)
		}
	}
	for id := range c.users {
		if len(c.users) < c.max*3/4 {
			break
		}
		delete(c.users, id)
	}
}

// invalidate drops the entries of ids, the users just written, and makes
// every fill that read before it void.
func (c *userCache) invalidate(ids ...int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.users, id)
	}
	c.gen++
}
