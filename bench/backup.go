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

// backupLoop takes full online backups of the server at base back to back
// (GET admin.BackupPath with an admin key, each written to a temporary
// file, then removed) until ctx ends, as `vigie backup --server` does. The
// returned function waits for the backup in flight and returns a line
// saying how many were taken, their size and duration.
func backupLoop(ctx context.Context, base, key string) func() string {
	var wg sync.WaitGroup
	var n, failed int
	var bytes int64
	var took time.Duration
	wg.Go(func() {
		client := &http.Client{}
		for ctx.Err() == nil {
			t0 := time.Now()
			size, err := oneBackup(ctx, client, base, key)
			if ctx.Err() != nil {
				return // cut by the end of the load: not counted
			}
			if err != nil {
				failed++
				continue
			}
			n++
			bytes += size
			took += time.Since(t0)
		}
	})
	return func() string {
		wg.Wait()
		if n == 0 {
			return fmt.Sprintf("online backups during the load: none finished (%d failed)\n", failed)
		}
		return fmt.Sprintf("online backups during the load: %d full backups finished (%d failed), %.1f MB each, %.1f s each\n",
			n, failed, float64(bytes)/float64(n)/1e6, took.Seconds()/float64(n))
	}
}

func oneBackup(ctx context.Context, client *http.Client, base, key string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+admin.BackupPath, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("backup: %s", resp.Status)
	}
	f, err := os.CreateTemp("", "vigie-bench-backup-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	return io.Copy(f, resp.Body)
}
