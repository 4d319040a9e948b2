package rpc

import (
	"fmt"
	"io"
	"sync"
	"time"

	"vigie/store"
)

// Backups remembers the last online backup the server sent whole (the
// admin backup handler's Done), so that /healthz and the metrics say how
// old it is. It knows only the backups taken through this process since
// it started: one taken with `vigie backup --data` on a stopped store, or
// before a restart, is not counted.
type Backups struct {
	mu      sync.Mutex
	started time.Time
	last    store.Manifest
	at      time.Time
	now     func() time.Time
}

// NewBackups returns an empty record, started now.
func NewBackups() *Backups { return &Backups{started: time.Now(), now: time.Now} }

// Done records a backup sent whole (wire it to admin.Backup.Done).
func (b *Backups) Done(m store.Manifest) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last, b.at = m, b.now()
}

// Last returns when the last backup finished and its manifest; ok is
// false when none finished since the start.
func (b *Backups) Last() (at time.Time, m store.Manifest, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.at, b.last, !b.at.IsZero()
}

// Age is the age of the last backup, or the time since the start when
// none finished (what an alert on a missing nightly backup compares).
func (b *Backups) Age() time.Duration {
	at, _, ok := b.Last()
	if !ok {
		at = b.started
	}
	return b.now().Sub(at)
}

// writeHealth writes /healthz's line on the last backup. A missing or
// old backup does not change the status: a probe that took the server
// out of service for it would stop the answers, not start a backup.
func (b *Backups) writeHealth(w io.Writer) {
	if b == nil {
		return
	}
	at, m, ok := b.Last()
	if !ok {
		fmt.Fprintf(w, "backup: none since the start, %s ago\n", b.now().Sub(b.started).Round(time.Second))
		return
	}
	kind := "full"
	if m.Since > 0 {
		kind = fmt.Sprintf("incremental since %d", m.Since)
	}
	fmt.Fprintf(w, "backup: last %s ago (%s, version %d, finished %s)\n", b.now().Sub(at).Round(time.Second), kind, m.Version, at.UTC().Format(time.RFC3339))
}
