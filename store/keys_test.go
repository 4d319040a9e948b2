package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// keyLiteral is how a key prefix looks in the code: a namespace byte, a
// '/', then a lowercase name ("m/r/", "l/v", "w/current", "a/ihdone").
var keyLiteral = regexp.MustCompile(`^[a-z]/([a-z]+/?)?$`)

// TestPrefixesRegistered reads every Go file of the module but tests and
// fails on a string that looks like a key prefix and that the registry
// (Prefixes, or Dropped) does not cover: a package writing under a prefix
// nobody registered.
func TestPrefixesRegistered(t *testing.T) {
	root := ".."
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || !keyLiteral.MatchString(s) {
				return true
			}
			found++
			if !covered(s) {
				t.Errorf("%s: key prefix %q is not registered in store.Prefixes (store/keys.go)", path, s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The walk must have seen the packages' prefixes, not an empty tree.
	if found < len(Prefixes) {
		t.Errorf("found %d key prefixes in the code, fewer than the %d registered: did the walk miss the packages?", found, len(Prefixes))
	}
}

// TestPrefixesDistinct: no registered prefix lies under another, so that
// every key has one owner.
func TestPrefixesDistinct(t *testing.T) {
	all := append(append([]Prefix{}, Prefixes...), Dropped...)
	for i, a := range all {
		if !keyLiteral.MatchString(a.Prefix) || a.Owner == "" || a.Holds == "" {
			t.Errorf("prefix %+v: malformed, or without an owner or a description", a)
		}
		for j, b := range all {
			if i != j && strings.HasPrefix(b.Prefix, a.Prefix) {
				t.Errorf("prefix %q (%s) lies under %q (%s)", b.Prefix, b.Owner, a.Prefix, a.Owner)
			}
		}
	}
}

func TestUnregistered(t *testing.T) {
	db, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, k := range []string{"m/r/1.2\x00x", "a/ihdone", "q/unknown", "a/idn/I1/1", "a/ihx"} {
		if err := db.b.Update(func(txn *Txn) error { return txn.Set([]byte(k), nil) }); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Unregistered(db, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`"a/idn/I1/1"`, `"a/ihx"`, `"q/unknown"`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Unregistered = %v, want %v", got, want)
	}
}
