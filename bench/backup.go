package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"vigie/rpc/admin"
)

// backups is what backupLoop leaves once the load is over: how many
// backups finished, and the last one kept for a restore check.
type backups struct {
	n, failed int
	bytes     int64
	took      time.Duration
	// last is the file of the last backup that finished ("" when none),
	// and ackedBefore the number of writes acknowledged before its
	// request was sent: every one of them must be in it.
	last        string
	ackedBefore int
}

// String is the report's line on the backups.
func (b *backups) String() string {
	if b.n == 0 {
		return fmt.Sprintf("online backups during the load: none finished (%d failed)\n", b.failed)
	}
	return fmt.Sprintf("online backups during the load: %d full backups finished (%d failed), %.1f MB each, %.1f s each\n",
		b.n, b.failed, float64(b.bytes)/float64(b.n)/1e6, b.took.Seconds()/float64(b.n))
}

// remove removes the kept backup file.
func (b *backups) remove() {
	if b.last != "" {
		os.Remove(b.last)
	}
}

// backupLoop takes full online backups of the server at base back to back
// (GET admin.BackupPath with an admin key, each written to a temporary
// file) until ctx ends, as `vigie backup --server` does. It keeps the last
// finished backup's file (the others are removed) with acked() read just
// before its request was sent. The returned function waits for the backup
// in flight and returns what was taken.
func backupLoop(ctx context.Context, base, key string, acked func() int) func() *backups {
	var wg sync.WaitGroup
	b := &backups{}
	wg.Go(func() {
		client := &http.Client{}
		for ctx.Err() == nil {
			t0 := time.Now()
			before := acked()
			name, size, err := oneBackup(ctx, client, base, key)
			if ctx.Err() != nil {
				if name != "" {
					os.Remove(name)
				}
				return // cut by the end of the load: not counted
			}
			if err != nil {
				b.failed++
				continue
			}
			b.n++
			b.bytes += size
			b.took += time.Since(t0)
			b.remove()
			b.last, b.ackedBefore = name, before
		}
	})
	return func() *backups {
		wg.Wait()
		return b
	}
}

// oneBackup takes one online backup into a temporary file and returns its
// name (removed on error) and size.
func oneBackup(ctx context.Context, client *http.Client, base, key string) (string, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+admin.BackupPath, nil)
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("backup: %s", resp.Status)
	}
	f, err := os.CreateTemp("", "vigie-bench-backup-*")
	if err != nil {
		return "", 0, err
	}
	n, err := io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", 0, err
	}
	return f.Name(), n, nil
}
