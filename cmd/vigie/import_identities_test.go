package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"vigie"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/store"
	"vigie/synth"
)

// genFeed writes a small generated population and returns its folder.
func genFeed(t *testing.T, persons int, seed uint64) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := synth.WriteFiles(synth.DefaultConfig(persons, seed), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestImportExportVerbs(t *testing.T) {
	data := t.TempDir()
	feed := filepath.Join(t.TempDir(), "feed.csv")
	csv := "authority,local_id,birth_name,first_name,birth_date,sex,extra\n" +
		"1.2.250.1.1,A1,LAFFITTE,Bernadette,1948-03-17,F,x\n" +
		"1.2.250.1.2,B1,LAFFITTE,Bernadette,17/03/1948,F,y\n" +
		"1.2.250.1.2,B2,DUPONT,Jean,2090-02-03,M,\n" + // born in the future: rejected
		",B3,DUPONT,Jean,19480203,M,\n" + // no authority: rejected
		"1.2.250.1.3,C1,ETCHEVERRY,Ramuntxo,19901102,M,\n"
	if err := os.WriteFile(feed, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"import", "identities", "--data", data, feed}, &out, &errb); code != 2 {
		t.Fatalf("exit %d (want 2: rows rejected)\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"line 4: rejected: field birth_date", "line 5: rejected: field authority"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if !strings.Contains(out.String(), "5 rows") || !strings.Contains(out.String(), "2 new identities, 1 auto-links") || !strings.Contains(out.String(), "2 rejected") {
		t.Errorf("summary: %s", out.String())
	}
	links := exportMap(t, data)
	if len(links) != 3 || links["1.2.250.1.1/A1"] != links["1.2.250.1.2/B1"] || links["1.2.250.1.3/C1"] == links["1.2.250.1.1/A1"] {
		t.Fatalf("links %v", links)
	}
	// Re-running the import changes nothing.
	out.Reset()
	errb.Reset()
	run([]string{"import", "identities", "--data", data, feed}, &out, &errb)
	if !strings.Contains(out.String(), "3 unchanged") {
		t.Fatalf("re-run: %s", out.String())
	}
	if again := exportMap(t, data); !mapsEqual(again, links) {
		t.Fatalf("re-run changed the links: %v then %v", links, again)
	}
	if code := run([]string{"import", "identities", "--data", "", feed}, &out, &errb); code != 2 {
		t.Fatalf("empty --data: exit %d", code)
	}
}

// TestImportIdentitiesDoor is issue 26 at the CSV door: a Latin-1 file is
// read as such with a notice, an impossible birth date is stored with a
// warning, and an oversized or control-laden name is refused by line.
func TestImportIdentitiesDoor(t *testing.T) {
	data := t.TempDir()
	feed := filepath.Join(t.TempDir(), "feed.csv")
	csv := "authority,local_id,birth_name,first_name,birth_date,sex\n" +
		"1.2.250.1.1,A1,M\xdcLLER,Fran\xe7oise,1948-03-17,F\n" + // Latin-1 bytes
		"1.2.250.1.1,A2,LEF\xc8VRE,Zo\xe9,00/00/0000,F\n" +
		"1.2.250.1.1,A3,DUPONT,Jean,31/02/1980,M\n" +
		"1.2.250.1.1,A4," + strings.Repeat("A", 10<<10) + ",Jean,1980-01-02,M\n" +
		"1.2.250.1.1,A5,DU\x07PONT,Jean,1980-01-02,M\n"
	if err := os.WriteFile(feed, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"import", "identities", "--data", data, feed}, &out, &errb); code != 2 {
		t.Fatalf("exit %d (want 2: rows rejected)\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"line 2: notice: the file is not UTF-8: read as Windows-1252 (Latin-1) from this line on",
		"line 3: stored with a warning: birth_date: \"00/00/0000\": every part is zero",
		"line 4: stored with a warning: birth_date: \"31/02/1980\": 1980-02 has no day 31: kept as sent, not used for matching",
		"line 5: rejected: field birth_name: mpi: resolve 1.2.250.1.1/A4: birth_name: longer than 100 characters (the limit)",
		"line 6: rejected: field birth_name: mpi: resolve 1.2.250.1.1/A5: birth_name: holds the control character U+0007",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if !strings.Contains(out.String(), "2 rejected (2 stored with warnings, listed above)") {
		t.Errorf("summary: %s", out.String())
	}
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	for k, want := range map[string]vigie.Record{
		"A1": {BirthName: "MÜLLER", FirstName: "Françoise", BirthDate: "1948-03-17"},
		"A2": {BirthName: "LEFÈVRE", FirstName: "Zoé", BirthDate: "00/00/0000"},
		"A3": {BirthName: "DUPONT", FirstName: "Jean", BirthDate: "31/02/1980"},
	} {
		h, err := ix.History(context.Background(), vigie.SourceKey{Authority: "1.2.250.1.1", LocalID: k})
		if err != nil {
			t.Fatal(err)
		}
		got := h[len(h)-1].Record
		if got.BirthName != want.BirthName || got.FirstName != want.FirstName || got.BirthDate != want.BirthDate {
			t.Errorf("%s stored as %q %q %q", k, got.BirthName, got.FirstName, got.BirthDate)
		}
	}
}

func exportMap(t *testing.T, data string) map[string]string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run([]string{"export", "links", "--data", data}, &out, &errb); code != 0 {
		t.Fatalf("export: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != "authority,local_id,identity" {
		t.Fatalf("header %q", lines[0])
	}
	m := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		m[f[0]+"/"+f[1]] = f[2]
	}
	return m
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// partition turns links into a canonical set of clusters (identity ids
// differ between runs; the grouping must not).
func partition(t *testing.T, ix *mpi.Index) []string {
	t.Helper()
	groups := map[vigie.IdentityID][]string{}
	err := ix.Links(context.Background(), func(k vigie.SourceKey, id vigie.IdentityID) error {
		groups[id] = append(groups[id], k.String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range groups {
		slices.Sort(g)
		out = append(out, strings.Join(g, " "))
	}
	slices.Sort(out)
	return out
}

func importFileAck(t *testing.T, ix *mpi.Index, db *store.DB, path string, ack func(int, mpi.Result)) importSummary {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rejects bytes.Buffer
	sum, err := importIdentities(context.Background(), ix, db, f, &rejects, nil, importOptions{ack: ack})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

const crashEnv = "VIGIE_CRASH_CHILD"

// TestImportCrashChild is the child process of TestImportCrash: it imports
// the feed and prints every acknowledged row. It does nothing when run
// directly.
func TestImportCrashChild(t *testing.T) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		return
	}
	dataDir, feed, _ := strings.Cut(spec, "|")
	db, err := store.Open(dataDir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(os.Stdout)
	importFileAck(t, ix, db, feed, func(line int, r mpi.Result) {
		fmt.Fprintf(w, "ack %s\t%s\n", r.Key.Authority, r.Key.LocalID)
		w.Flush()
	})
	fmt.Fprintln(w, "done")
	w.Flush()
}

// TestImportCrash kills an import at a random point (SIGKILL), reopens the
// store and checks that every acknowledged record is there, that the
// invariants hold, and that re-running the import converges to the links a
// clean import makes.
func TestImportCrash(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("child process")
	}
	gen := genFeed(t, 500, 7)
	feed := filepath.Join(gen, "records.csv")

	// Reference: a clean import.
	refDB, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer refDB.Close()
	ref, err := mpi.Open(refDB, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	total := importFileAck(t, ref, refDB, feed, nil).Rows
	want := partition(t, ref)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	data := t.TempDir()
	for round := range 2 {
		killAfter := 1 + rng.IntN(total-1)
		acked := runAndKill(t, data, feed, killAfter)
		t.Logf("round %d: killed after %d acknowledged rows (of %d)", round, len(acked), total)

		db, err := store.Open(data, store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
		if err != nil {
			db.Close()
			t.Fatal(err)
		}
		if err := ix.Verify(context.Background()); err != nil {
			t.Fatalf("invariants after the crash:\n%v", err)
		}
		for _, k := range acked {
			if _, err := ix.IdentityOf(context.Background(), k.Authority, k.LocalID); err != nil {
				t.Fatalf("acknowledged record lost: %v", err)
			}
		}
		if round == 1 { // finish the import and compare with the clean one
			importFileAck(t, ix, db, feed, nil)
			if err := ix.Verify(context.Background()); err != nil {
				t.Fatalf("invariants after the re-run:\n%v", err)
			}
			if got := partition(t, ix); !slices.Equal(got, want) {
				t.Fatalf("re-run after a crash: %d identities, the clean import has %d", len(got), len(want))
			}
		}
		ix.Close()
		db.Close()
	}
}

// runAndKill starts the child import and SIGKILLs it once it has
// acknowledged n rows (or when it finishes); it returns the rows acknowledged.
func runAndKill(t *testing.T, data, feed string, n int) []vigie.SourceKey {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestImportCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+data+"|"+feed)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []vigie.SourceKey
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if a, ok := strings.CutPrefix(line, "ack "); ok {
			auth, lid, _ := strings.Cut(a, "\t")
			acked = append(acked, vigie.SourceKey{Authority: auth, LocalID: lid})
			if len(acked) >= n {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
	}
	_ = cmd.Wait()
	if len(acked) == 0 {
		t.Fatalf("the child acknowledged nothing: %s", stderr.String())
	}
	return acked
}

// TestImportStopsUnderTheDiskReserve: a bulk load whose disk falls under
// the reserve midway (the guard's seam: once the first batch of rows is
// acknowledged, the free space is a MiB under the reserve) stops with an
// exhausted error naming the free space and the reserve, exit status 75,
// and every row acknowledged before is in the store when it is opened
// again.
func TestImportStopsUnderTheDiskReserve(t *testing.T) {
	feed := filepath.Join(genFeed(t, 2500, 3), "records.csv")
	data := t.TempDir()
	var low, acks atomic.Int64 // low: the free space once rows are acknowledged
	free := func(string) (int64, error) {
		if acks.Load() > 0 {
			return low.Load(), nil
		}
		return 100 << 30, nil
	}
	db, err := store.Open(data, store.Options{NoSync: true, FreeSpace: free, DiskRecheck: -1})
	if err != nil {
		t.Fatal(err)
	}
	low.Store(store.Guard(db).Reserve() - 1<<20)
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(feed)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rejects bytes.Buffer
	sum, err := importIdentities(t.Context(), ix, db, f, &rejects, nil, importOptions{ack: func(int, mpi.Result) { acks.Add(1) }})
	acked := int(acks.Load())
	reserve := store.Guard(db).Reserve()
	ix.Close()
	if cerr := db.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	t.Logf("stopped after %d rows: %v", acked, err)
	if vigie.ErrorCode(err) != vigie.EEXHAUSTED || exitStatus(err) != 75 {
		t.Fatalf("import under the reserve: %v (exit %d), want %s and exit 75", err, exitStatus(err), vigie.EEXHAUSTED)
	}
	for _, want := range []string{fmt.Sprintf("(%d bytes) free", low.Load()), fmt.Sprintf("reserve of %.1f MiB (%d bytes)", float64(reserve)/(1<<20), reserve)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if acked == 0 || acked >= 2500 {
		t.Errorf("%d rows acknowledged of %d read: the load should stop midway, after some", acked, sum.Rows)
	}
	_, ix2, closeIndex, err := openIndex(data, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer closeIndex()
	if n := ix2.Count(); n != acked {
		t.Errorf("%d records in the store after the stop, %d rows acknowledged", n, acked)
	}
}

// TestImportIdentitiesEmail: the CSV door reads the e-mail under a French
// header, stores it lower-case, and keeps a malformed one with a warning
// naming the field; the two records sharing an address and a name link.
func TestImportIdentitiesEmail(t *testing.T) {
	data := t.TempDir()
	feed := filepath.Join(t.TempDir(), "feed.csv")
	csv := "authority;local_id;nom;prenom;date_naissance;sexe;Courriel\n" +
		"1.2.250.1.1;E1;ROUX;Anne;1976-03-01;F; Anne.Roux@Orange.FR \n" +
		"1.2.250.1.2;E2;ROUX;Anne;1976-03-01;F;anne.roux@orange.fr\n" +
		"1.2.250.1.1;E3;MARTIN;Paul;1980-01-02;M;paul at free\n"
	if err := os.WriteFile(feed, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"import", "identities", "--data", data, feed}, &out, &errb); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if want := "line 4: stored with a warning: email: not an e-mail address"; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errb.String())
	}
	if strings.Contains(errb.String()+out.String(), "paul at free") || strings.Contains(errb.String()+out.String(), "orange.fr") {
		t.Errorf("an e-mail address in the output:\n%s%s", out.String(), errb.String())
	}
	db, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	for k, want := range map[string]string{"E1": "anne.roux@orange.fr", "E2": "anne.roux@orange.fr", "E3": "paul at free"} {
		v, err := ix.Latest(ctx, vigie.SourceKey{Authority: map[bool]string{true: "1.2.250.1.2", false: "1.2.250.1.1"}[k == "E2"], LocalID: k})
		if err != nil || v.Record.Email != want {
			t.Errorf("%s: e-mail %q, %v; want %q", k, v.Record.Email, err, want)
		}
	}
	a, _ := ix.IdentityOf(ctx, "1.2.250.1.1", "E1")
	b, _ := ix.IdentityOf(ctx, "1.2.250.1.2", "E2")
	if a == 0 || a != b {
		t.Errorf("E1 in %v, E2 in %v: want one identity", a, b)
	}
}
