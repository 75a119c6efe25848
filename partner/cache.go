package partner

import (
	"sync"
	"time"
)

// ttlCache keeps up to max values for ttl each. It is safe for concurrent use.
// Only successful answers are put in it: an error is never remembered, so a
// customer that did not exist a moment ago is found as soon as it does.
type ttlCache[V any] struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func newTTLCache[V any](ttl time.Duration, max int) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, max: max, entries: make(map[string]ttlEntry[V])}
}

// get returns the value stored under key if it has not expired at now.
func (c *ttlCache[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// put stores v under key until now+ttl. When the cache is full it first drops
// what has expired, then, if still full, the entry closest to expiry.
func (c *ttlCache[V]) put(key string, v V, now time.Time) {
	if c.ttl <= 0 || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		var oldest string
		var oldestAt time.Time
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
				continue
			}
			if oldest == "" || e.expires.Before(oldestAt) {
				oldest, oldestAt = k, e.expires
			}
		}
		if len(c.entries) >= c.max {
			delete(c.entries, oldest)
		}
	}
	c.entries[key] = ttlEntry[V]{v: v, expires: now.Add(c.ttl)}
}
