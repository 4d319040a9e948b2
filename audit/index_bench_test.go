package audit

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchPostings returns n postings shaped like a search's entries: a user,
// then thirty identities and records drawn from a million patients.
func benchPostings(n int) []posting {
	rng := rand.New(rand.NewPCG(1, 2))
	ps := make([]posting, 0, n)
	for seq := uint64(1); len(ps) < n; seq++ {
		ps = append(ps, posting{userSubject("bench-serve-clinician"), seq})
		for range 10 {
			ps = append(ps, posting{identitySubject(fmt.Sprint(rng.IntN(1_000_000))), seq})
			ps = append(ps, posting{recordSubject(Record{fmt.Sprintf("1.2.250.1.213.1.1.1.%d", rng.IntN(30)), fmt.Sprintf("%08d", rng.IntN(1_000_000))}), seq})
		}
	}
	return ps[:n]
}

// BenchmarkWriteRun measures writing one level-0 run of the default size,
// the work the index does every 32,768 postings: sorting them, encoding
// them and writing the file (in memory here).
func BenchmarkWriteRun(b *testing.B) {
	ps := benchPostings(defaultFlushAt)
	ix := &index{fs: newMemFS()}
	b.ReportAllocs()
	for b.Loop() {
		buf := &buffer{from: 1, to: ps[len(ps)-1].seq, ps: ps}
		rn, err := ix.writeSorted(buf)
		if err != nil {
			b.Fatal(err)
		}
		rn.retired.Store(true)
		rn.release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ps)), "ns/posting")
}

// BenchmarkMergeRuns measures merging eight level-0 runs into one.
func BenchmarkMergeRuns(b *testing.B) {
	ps := benchPostings(8 * defaultFlushAt)
	ix := &index{fs: newMemFS()}
	var in []*run
	for i := range 8 {
		part := ps[i*defaultFlushAt : (i+1)*defaultFlushAt]
		rn, err := ix.writeSorted(&buffer{from: part[0].seq, to: part[len(part)-1].seq, ps: part})
		if err != nil {
			b.Fatal(err)
		}
		in = append(in, rn)
	}
	b.ReportAllocs()
	for b.Loop() {
		out, err := ix.write(1, in[0].from, in[7].to, func(add func(posting) error) error { return mergeRuns(in, add) })
		if err != nil {
			b.Fatal(err)
		}
		out.retired.Store(true)
		out.release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ps)), "ns/posting")
}
