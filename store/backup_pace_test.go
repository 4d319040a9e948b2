package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

type chunks struct {
	bytes.Buffer
	sizes []int
}

func (c *chunks) Write(p []byte) (int, error) {
	c.sizes = append(c.sizes, len(p))
	return c.Buffer.Write(p)
}

func TestPacedWriter(t *testing.T) {
	for _, c := range []struct {
		name     string
		bps      int64
		maxChunk int
	}{
		{"unpaced: written as given", 0, 3 << 20},
		{"paced: chunks of at most 64 KiB", 1 << 40, paceChunk},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out chunks
			w := newPacedWriter(context.Background(), &out, c.bps)
			data := bytes.Repeat([]byte("vigie"), 600_000) // 3 MB, past a frame
			n, err := w.Write(data)
			if err != nil || n != len(data) || !bytes.Equal(out.Bytes(), data) {
				t.Fatalf("wrote %d of %d (%v), same bytes %v", n, len(data), err, bytes.Equal(out.Bytes(), data))
			}
			for _, s := range out.sizes {
				if s > c.maxChunk {
					t.Fatalf("a write of %d bytes, over %d", s, c.maxChunk)
				}
			}
		})
	}
	// A slow pace stops at once when its context ends, having written at
	// most its first burst (a second's worth).
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out chunks
	w := newPacedWriter(cctx, &out, 1000)
	if _, err := w.Write(make([]byte, 5000)); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled paced write: %v", err)
	}
	if out.Len() > 1000 {
		t.Fatalf("a cancelled paced write wrote %d bytes", out.Len())
	}
}
