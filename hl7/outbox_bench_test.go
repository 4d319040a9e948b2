package hl7

import (
	"context"
	"path/filepath"
	"testing"

	"vigie"
)

// BenchmarkOutboxDeliver measures the notifications delivered per second
// to python3-hl7's MLLP server (testdata/receiver.py), one subscriber,
// one connection, each message waiting for its acknowledgement, on a
// store on disk set up as vigie serve sets it up (each delivery removed
// from the queue and audited, the audit entry synced). The messages are
// queued before the timer starts (ADT^A31 of attribute changes on four
// identities). The second case, a store in memory without audit trail,
// shows what the peer and the protocol cost alone.
func BenchmarkOutboxDeliver(b *testing.B) {
	b.Run("disk-audited", func(b *testing.B) { benchDeliver(b, b.TempDir(), true) })
	b.Run("memory-no-audit", func(b *testing.B) { benchDeliver(b, "", false) })
}

func benchDeliver(b *testing.B, dir string, audited bool) {
	ctx := context.Background()
	o, ids := newOutbox(b, dir)
	if !audited {
		o.Trail = nil
	}
	r := startReceiver(b, 0, filepath.Join(b.TempDir(), "got.jsonl"))
	sub, err := o.AddSubscriber(ctx, Subscriber{Name: "BENCH", Addr: r.addr(), RegionalOID: regionalOID})
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		id := ids[i%len(ids)]
		add, remove := []string{vigie.AttrDoubtful}, []string(nil)
		if (i/len(ids))%2 == 1 {
			add, remove = nil, add
		}
		if _, err := o.Index.ChangeAttributes(ctx, id, add, remove, "cellule", "banc"); err != nil {
			b.Fatal(err)
		}
	}
	if n, err := o.Enqueue(ctx); err != nil || n != b.N {
		b.Fatalf("queued %d of %d (%v)", n, b.N, err)
	}
	b.ResetTimer()
	d, err := o.Deliver(ctx, sub)
	b.StopTimer()
	if err != nil || d.Delivered != b.N {
		b.Fatalf("delivered %+v of %d (%v)", d, b.N, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notifications/s")
}
