package audit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// bufFile is a run file in memory, outside any runFS.
type bufFile struct{ bytes.Buffer }

func (*bufFile) commit() error { return nil }
func (*bufFile) abort()        {}

// writeRun writes the postings, sorted, as a run in memory.
func writeRun(t testing.TB, level int, from, to uint64, ps []posting) []byte {
	t.Helper()
	var f bufFile
	writeRunTo(t, &f, level, from, to, ps)
	return f.Bytes()
}

// writeRunTo writes the postings, sorted, as a run into f.
func writeRunTo(t testing.TB, f runFile, level int, from, to uint64, ps []posting) {
	t.Helper()
	ps = slices.Clone(ps)
	slices.SortFunc(ps, comparePostings)
	w, err := newRunWriter(f, level, from, to)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if err := w.add(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
}

// TestRunRoundTrip: a run of many blocks gives back every posting, in
// order, and finds each subject's postings, including those of subjects
// spread over several blocks and of subjects absent from the run.
func TestRunRoundTrip(t *testing.T) {
	var ps []posting
	// Subjects of a few KB that differ early (or prefix compression
	// would shrink them) fill blocks fast.
	long := strings.Repeat("x", 3000)
	for i := range 400 {
		for j := range 1 + i%7 {
			ps = append(ps, posting{identitySubject(fmt.Sprintf("%04d%s", i, long)), uint64(1 + i*10 + j)})
		}
	}
	// One subject spread over three blocks at least, with large gaps
	// between its sequences.
	for j := range 30000 {
		ps = append(ps, posting{userSubject("clinician"), uint64(1 + j*1000)})
	}
	b := writeRun(t, 2, 1, 1<<40, ps)
	rn, err := parseRun(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if rn.level != 2 || rn.from != 1 || rn.to != 1<<40 || rn.postings != uint64(len(ps)) {
		t.Errorf("header = level %d, %d-%d, %d postings", rn.level, rn.from, rn.to, rn.postings)
	}
	if len(rn.blocks) < 10 {
		t.Errorf("%d blocks: the test means to span many", len(rn.blocks))
	}
	var got []posting
	if err := rn.each(func(p posting) error { got = append(got, p); return nil }); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(ps)
	slices.SortFunc(want, comparePostings)
	if !slices.Equal(got, want) {
		t.Fatalf("each gave %d postings, want %d (or not in order)", len(got), len(want))
	}
	bySubject := map[string][]uint64{}
	for _, p := range want {
		bySubject[p.subject] = append(bySubject[p.subject], p.seq)
	}
	for s, seqs := range bySubject {
		found, err := rn.find(s)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(found, seqs) {
			t.Errorf("find(%.20q…) = %d sequences, want %d", s, len(found), len(seqs))
		}
	}
	for _, s := range []string{"", "a", identitySubject(long), identitySubject("0399" + long + "z"), identitySubject("9999"), "z"} {
		if found, err := rn.find(s); err != nil || len(found) != 0 {
			t.Errorf("find(absent %.20q…) = %v, %v", s, found, err)
		}
	}
}

// TestParseRunRefusesDamage: a run cut short, altered, or not a run at all
// is refused with the reason; a block altered is refused when read.
func TestParseRunRefusesDamage(t *testing.T) {
	good := writeRun(t, 0, 1, 3, []posting{{userSubject("u"), 1}, {userSubject("u"), 3}, {identitySubject("I1"), 2}})
	edit := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	tests := []struct {
		name   string
		b      []byte
		reason string
	}{
		{"empty", nil, "too short"},
		{"cut short", good[:len(good)-1], "end mark"},
		{"not a run", edit(func(b []byte) []byte { b[0] = 'X'; return b }), "not an audit index run"},
		{"unknown version", edit(func(b []byte) []byte { b[11] = 9; return b }), "unknown version 9"},
		{"range reversed", edit(func(b []byte) []byte { binary.BigEndian.PutUint64(b[16:], 5); return b }), "entries 5-3"},
		{"directory altered", edit(func(b []byte) []byte { b[len(b)-runFooterSize-1] ^= 1; return b }), "checksum mismatch"},
		{"level altered", edit(func(b []byte) []byte { b[15] = 1; return b }), "checksum mismatch"},
		{"footer points outside", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[len(b)-runFooterSize:], 1<<40)
			return b
		}), "directory at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRun(bytes.NewReader(tt.b), int64(len(tt.b)))
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("parseRun = %v, want an error saying %q", err, tt.reason)
			}
		})
	}
	b := edit(func(b []byte) []byte { b[runHeaderSize] ^= 1; return b })
	rn, err := parseRun(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rn.find(userSubject("u")); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("find in an altered block = %v, want a checksum error", err)
	}
}

// FuzzParseRun: whatever the bytes, parsing a run and reading its blocks
// gives postings in strict order or an error, never a panic or a huge
// allocation.
func FuzzParseRun(f *testing.F) {
	f.Add(writeRun(f, 0, 1, 3, []posting{{userSubject("u"), 1}, {userSubject("u"), 3}, {identitySubject("I1"), 2}}))
	f.Add(writeRun(f, 1, 7, 9, []posting{{recordSubject(Record{"1.2.250", "42"}), 8}}))
	f.Add([]byte(runMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		rn, err := parseRun(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for i := range rn.blocks {
			ps, err := rn.readBlock(i)
			if err != nil {
				continue
			}
			for j, p := range ps {
				if p.seq == 0 {
					t.Fatalf("block %d: posting with sequence 0", i)
				}
				if j > 0 && comparePostings(ps[j-1], p) >= 0 {
					t.Fatalf("block %d: postings out of order: %v then %v", i, ps[j-1], p)
				}
			}
		}
	})
}
