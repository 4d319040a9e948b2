package hl7

import (
	"sync"
	"testing"
	"time"
)

// BenchmarkMLLPFeed measures identity messages applied per second over
// MLLP, each acknowledged only once its change and audit entry are synced
// to disk, with mllp_send (python3-hl7) as the sender: over one connection,
// and over eight at once. Each connection sends persons created (A28) and
// updated twice (A31), as in TestMLLPConcurrentConnections.
//
//	go test ./hl7 -run XXX -bench MLLPFeed -benchtime 1x
func BenchmarkMLLPFeed(b *testing.B) {
	bin := mllpSend(b)
	for _, conns := range []int{1, 8} {
		b.Run(map[int]string{1: "conns=1", 8: "conns=8"}[conns], func(b *testing.B) {
			f := newFeed(b, b.TempDir())
			port := serveFeed(b, f)
			dir := b.TempDir()
			persons := 2400 / 3 / conns
			var msgs int
			var elapsed time.Duration
			for iter := 0; b.Loop(); iter++ {
				b.StopTimer()
				files := make([]string, conns)
				for c := range conns {
					files[c] = feedFile(b, dir, iter*conns+c, persons)
				}
				b.StartTimer()
				t0 := time.Now()
				var wg sync.WaitGroup
				acks := make([]int, conns)
				for c := range conns {
					wg.Go(func() { acks[c] = len(send(b, bin, port, files[c])) })
				}
				wg.Wait()
				elapsed += time.Since(t0)
				for _, n := range acks {
					msgs += n
				}
			}
			b.ReportMetric(float64(msgs)/elapsed.Seconds(), "msgs/s")
			b.Logf("%d connections: %d messages acknowledged in %v: %.0f messages/s", conns, msgs, elapsed.Round(time.Millisecond), float64(msgs)/elapsed.Seconds())
		})
	}
}
