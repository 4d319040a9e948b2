package vigie_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The architecture of Vigie: every package of the module, the layer it sits
// in and the module packages it may import (its non-test imports; what
// _test.go files import is not checked). The README's "Architecture"
// section draws the same graph and lists the same packages, one line of
// purpose each; TestArchitecture keeps the three in step.
//
// Layers, bottom to top. A package imports only from its own layer (as the
// table says) or from a layer below; an edge that climbs is a known
// exception, listed in knownExceptions with the reason and the way out.
type layer int

const (
	base     layer = iota // the root vocabulary and the internal helpers
	storage               // the one Badger database
	domain                // the patient index, the dose ledger and what they decide
	adapter               // formats, the search index, the console's pages
	tool                  // the populations and measurements of the benchmarks and the demo
	protocol              // the Connect API and the services behind it
	harness               // the benchmarks' harnesses and the demonstration data, which drive the protocol
	command               // the one binary
)

var layerNames = map[layer]string{base: "base", storage: "storage", domain: "domain",
	adapter: "adapter", tool: "tool", protocol: "protocol", harness: "harness", command: "command"}

// Package names are import paths without the module's "vigie/" prefix; the
// root package is "vigie".
var architecture = map[string]struct {
	layer   layer
	imports []string
}{
	"vigie":               {base, nil},
	"internal/wire":       {base, nil},
	"internal/sharedtest": {base, nil},
	"internal/cputime":    {base, nil},

	"store": {storage, []string{"vigie"}},

	"matcher":       {domain, []string{"vigie", "internal/wire"}},
	"internal/door": {domain, []string{"vigie", "matcher"}},
	"mpi":           {domain, []string{"vigie", "internal/wire", "store", "matcher", "internal/door"}},
	"ledger":        {domain, []string{"vigie", "internal/wire", "store"}},
	"sites":         {domain, []string{"vigie", "store"}},
	"dosimetry":     {domain, []string{"vigie", "store", "ledger", "sites"}},
	"audit":         {domain, []string{"vigie", "store"}},
	"retention":     {domain, []string{"vigie", "store", "mpi", "ledger", "dosimetry", "audit"}},

	"ingest": {adapter, []string{"vigie", "matcher", "ledger"}},
	"search": {adapter, []string{"vigie", "matcher", "mpi"}},
	"web":    {adapter, nil},
	"dimse":  {adapter, nil},

	"synth":    {tool, []string{"vigie"}},
	"census":   {tool, nil},
	"linkeval": {tool, []string{"vigie", "matcher", "ingest"}},

	"rpc/gen/vigie/v1":                {protocol, nil},
	"rpc/gen/vigie/v1/vigiev1connect": {protocol, []string{"rpc/gen/vigie/v1"}},
	"auth":                            {protocol, []string{"vigie", "store", "audit", "rpc/gen/vigie/v1", "rpc/gen/vigie/v1/vigiev1connect"}},
	"auth/authtest":                   {protocol, nil},
	"rpc/admin": {protocol, []string{"vigie", "store", "mpi", "ledger", "sites",
		"audit", "auth", "rpc/gen/vigie/v1", "rpc/gen/vigie/v1/vigiev1connect"}},
	"rpc": {protocol, []string{"vigie", "store", "matcher", "mpi", "ledger", "sites", "dosimetry",
		"ingest", "search", "dimse", "audit", "auth", "rpc/admin", "rpc/gen/vigie/v1", "rpc/gen/vigie/v1/vigiev1connect"}},
	"fhir": {protocol, []string{"vigie", "matcher", "mpi", "ledger", "dosimetry", "search", "audit", "auth", "rpc"}},

	"hl7": {protocol, []string{"vigie", "store", "matcher", "mpi", "ledger", "sites", "dosimetry", "audit", "auth"}},

	"bench": {harness, []string{"vigie", "internal/cputime", "store", "matcher", "mpi", "search", "synth", "linkeval", "auth", "rpc/admin", "rpc",
		"rpc/gen/vigie/v1", "rpc/gen/vigie/v1/vigiev1connect"}},
	"demo": {harness, []string{"vigie", "store", "mpi", "ledger", "sites", "dosimetry", "synth", "auth", "rpc"}},

	"cmd/vigie": {command, []string{"vigie", "internal/sharedtest", "store", "matcher", "mpi", "ledger", "hl7",
		"sites", "dosimetry", "retention", "ingest", "search", "web", "dimse", "synth", "census", "linkeval",
		"audit", "auth", "rpc/admin", "rpc", "fhir", "bench", "demo"}},
}

// knownExceptions are the edges of the table that climb a layer, each with
// why it is there and how it goes away. The README names them too.
var knownExceptions = map[string]string{}

const readmeSection = `README.md, "Architecture"`

// TestArchitecture fails when a package imports a module package the table
// does not allow (an import against the drawn direction), when a package
// exists that the table does not list or the table lists one that is gone,
// when an allowed edge is no longer used, and when the README's drawing or
// its list of packages says something else than the table.
func TestArchitecture(t *testing.T) {
	actual := modulePackages(t)

	// The table against the packages and imports that exist.
	for _, p := range sortedKeys(actual) {
		want, ok := architecture[p]
		if !ok {
			t.Errorf("package %s is not in the architecture table: add it, its layer and its imports to architecture_test.go, and a line of purpose and its edges to %s", p, readmeSection)
			continue
		}
		for _, imp := range actual[p] {
			if !slices.Contains(want.imports, imp) {
				t.Errorf("%s imports %s, against the direction drawn in %s (not in the architecture table)", p, imp, readmeSection)
			}
		}
		for _, imp := range want.imports {
			if !slices.Contains(actual[p], imp) {
				t.Errorf("the architecture table lets %s import %s but it no longer does: remove the edge from architecture_test.go and from the drawing in %s", p, imp, readmeSection)
			}
		}
	}
	for _, p := range sortedKeys(architecture) {
		if _, ok := actual[p]; !ok {
			t.Errorf("the architecture table lists %s, which is not a package of the module: remove it from architecture_test.go and %s", p, readmeSection)
		}
	}

	// The table against its own layers.
	for _, p := range sortedKeys(architecture) {
		a := architecture[p]
		for _, imp := range a.imports {
			b, ok := architecture[imp]
			if !ok {
				t.Errorf("the architecture table lets %s import %s, which the table does not list", p, imp)
				continue
			}
			edge := p + " -> " + imp
			_, excused := knownExceptions[edge]
			if b.layer > a.layer && !excused {
				t.Errorf("%s: %s (%s layer) imports upward into %s (%s layer); see %s", edge, p, layerNames[a.layer], imp, layerNames[b.layer], readmeSection)
			}
			if b.layer <= a.layer && excused {
				t.Errorf("%s is listed as a known exception but no longer climbs a layer: remove it from knownExceptions and the README", edge)
			}
		}
	}
	for edge := range knownExceptions {
		p, imp, _ := strings.Cut(edge, " -> ")
		if !slices.Contains(architecture[p].imports, imp) {
			t.Errorf("known exception %s is not an edge of the table: remove it", edge)
		}
	}

	// The table against the README.
	drawn, listed := readmeArchitecture(t)
	tableEdges := map[string]bool{}
	for p, a := range architecture {
		for _, imp := range a.imports {
			tableEdges[p+" -> "+imp] = true
		}
	}
	for _, e := range sortedKeys(tableEdges) {
		if !drawn[e] {
			t.Errorf("%s: %s is in the architecture table but not drawn", readmeSection, e)
		}
	}
	for _, e := range sortedKeys(drawn) {
		if !tableEdges[e] {
			t.Errorf("%s draws %s, which the architecture table does not allow", readmeSection, e)
		}
	}
	for _, p := range sortedKeys(architecture) {
		if !slices.Contains(listed, p) {
			t.Errorf("%s: no line of purpose for package %s", readmeSection, p)
		}
	}
	for _, p := range listed {
		if _, ok := architecture[p]; !ok {
			t.Errorf("%s lists package %s, which the architecture table does not", readmeSection, p)
		}
	}
}

// modulePackages returns each package of the module with the module
// packages its non-test files import, from `go list`. Files left out by
// build constraints on this platform (store/statfs_other.go) are read too,
// so that an import on another platform does not escape the check.
func modulePackages(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	type pkg struct {
		ImportPath     string
		Dir            string
		Imports        []string
		IgnoredGoFiles []string
		Module         *struct{ Path string }
	}
	packages := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list: %v", err)
		}
		if p.Module == nil || p.Module.Path != "vigie" {
			t.Fatalf("go list: %s is not in module vigie", p.ImportPath)
		}
		imports := slices.Clone(p.Imports)
		for _, f := range p.IgnoredGoFiles {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, s := range file.Imports {
				path, _ := strconv.Unquote(s.Path.Value)
				imports = append(imports, path)
			}
		}
		var own []string
		for _, imp := range imports {
			if name, ok := moduleName(imp); ok && !slices.Contains(own, name) {
				own = append(own, name)
			}
		}
		name, _ := moduleName(p.ImportPath)
		packages[name] = own
	}
	if len(packages) == 0 {
		t.Fatal("go list found no packages")
	}
	return packages
}

// moduleName turns an import path of the module into a table name.
func moduleName(importPath string) (string, bool) {
	if importPath == "vigie" {
		return "vigie", true
	}
	return strings.CutPrefix(importPath, "vigie/")
}

// readmeArchitecture reads the README's Architecture section: the edges of
// its drawing ("a, b ◄── c ◄── d" says c imports a and b, and d imports c)
// and the packages of its table, one line of purpose each.
func readmeArchitecture(t *testing.T) (drawn map[string]bool, listed []string) {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Architecture\n")
	if !ok {
		t.Fatalf("README.md has no Architecture section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, drawing, ok := strings.Cut(section, "```\n")
	if !ok {
		t.Fatalf("%s: no drawing", readmeSection)
	}
	drawing, _, _ = strings.Cut(drawing, "```")
	drawn = map[string]bool{}
	for _, line := range strings.Split(drawing, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var groups [][]string
		for _, g := range strings.Split(line, "◄──") {
			var names []string
			for _, n := range strings.Split(g, ",") {
				n = strings.TrimSpace(n)
				if n == "" || strings.ContainsAny(n, " \t") {
					t.Fatalf("%s: drawing line %q: %q is not a package name", readmeSection, line, n)
				}
				names = append(names, n)
			}
			groups = append(groups, names)
		}
		for i := 1; i < len(groups); i++ {
			for _, importer := range groups[i] {
				for _, imported := range groups[i-1] {
					drawn[importer+" -> "+imported] = true
				}
			}
		}
	}
	_, table, ok := strings.Cut(section, "| package | purpose |\n|---|---|\n")
	if !ok {
		t.Fatalf("%s: no table of packages", readmeSection)
	}
	for _, row := range strings.Split(table, "\n") {
		if !strings.HasPrefix(row, "| `") {
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(row, "| `"), "`")
		listed = append(listed, name)
	}
	return drawn, listed
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// storageEngine is the import path of the storage engine; only package
// store imports it (see TestOneDoorToStorage).
const storageEngine = "github.com/dgraph-io/badger"

// TestOneDoorToStorage fails when a file of the module other than package
// store's imports Badger: the other packages reach the store through
// package store's names (store.DB, store.Txn, store.ErrNotFound, …) and its
// helpers, so that transactions, retries, batches, the disk guard and the
// key space have one owner. _test.go files are left out: a test may build
// a store Badger's way to provoke what package store does not offer.
func TestOneDoorToStorage(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || filepath.Dir(path) == "store" {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, s := range f.Imports {
			imp, _ := strconv.Unquote(s.Path.Value)
			if imp == storageEngine || strings.HasPrefix(imp, storageEngine+"/") {
				t.Errorf("%s imports %s: only package store does; use store.DB, store.Txn, store.ErrNotFound and the helpers of store/txn.go", path, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked %d files: the walk missed the module's packages", checked)
	}
}
