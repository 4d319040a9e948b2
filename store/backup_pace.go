package store

import (
	"context"
	"io"

	"golang.org/x/time/rate"
)

// DefaultBackupRate is the pace of an online backup taken while the
// server answers calls, in bytes per second (vigie serve --backup-rate).
// At full speed a backup wrote about 100 MB/s to the store's disk, and
// every answer's fsync queued behind that dirty data: the served p99 was
// two to three times worse (docs/benchmarks.md). At this pace a backup of
// a store of a million records (a few GB) takes minutes, once a night.
const DefaultBackupRate = 20 << 20

// paceChunk is the most a paced backup writes at once: small enough that
// the disk sees a steady stream rather than a burst of a whole frame
// (1 MB) each few hundredths of a second.
const paceChunk = 64 << 10

// pacedWriter writes to w at most bps bytes per second on average, in
// chunks of paceChunk, waiting between them; ctx ends a wait.
type pacedWriter struct {
	ctx context.Context
	w   io.Writer
	lim *rate.Limiter
}

func newPacedWriter(ctx context.Context, w io.Writer, bps int64) io.Writer {
	if bps <= 0 {
		return w
	}
	burst := paceChunk
	if bps < paceChunk {
		burst = int(bps)
	}
	return &pacedWriter{ctx: ctx, w: w, lim: rate.NewLimiter(rate.Limit(bps), burst)}
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		c := min(len(b), p.lim.Burst())
		if err := p.lim.WaitN(p.ctx, c); err != nil {
			return n, err
		}
		m, err := p.w.Write(b[:c])
		n += m
		if err != nil {
			return n, err
		}
		b = b[c:]
	}
	return n, nil
}
