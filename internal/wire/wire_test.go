package wire

import (
	"math"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var w Writer
	w.Uint(math.MaxUint64)
	w.Int(math.MinInt64)
	w.Str("Hélène")
	w.Float(math.Copysign(0, -1))
	w.Present(true)
	w.Strs([]string{"a", "", "bc"})
	w.Strs(nil)
	w.Uint(2)
	r := NewReader(string(w.B))
	if v := r.Uint(); v != math.MaxUint64 {
		t.Errorf("Uint %d", v)
	}
	if v := r.Int(); v != math.MinInt64 {
		t.Errorf("Int %d", v)
	}
	if v := r.Str(); v != "Hélène" {
		t.Errorf("Str %q", v)
	}
	if v := r.Float(); v != 0 || !math.Signbit(v) {
		t.Errorf("Float %v", v)
	}
	if !r.Present() {
		t.Error("Present false")
	}
	if v := r.Strs(); len(v) != 3 || v[0] != "a" || v[1] != "" || v[2] != "bc" {
		t.Errorf("Strs %q", v)
	}
	if v := r.Strs(); v != nil {
		t.Errorf("empty Strs %q, want nil", v)
	}
	if n := r.Count(1); n != 0 { // 2 elements cannot fit in no byte left
		t.Errorf("Count %d, want 0 (refused)", n)
	}
	if err := r.End(); err == nil || !strings.Contains(err.Error(), "list longer than the value") {
		t.Errorf("End: %v", err)
	}
}

func TestCorrupt(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		read           func(r *Reader)
	}{
		{"truncated varint", "\x80", "truncated or overlong number", func(r *Reader) { r.Uint() }},
		{"varint over 64 bits", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", "overlong", func(r *Reader) { r.Uint() }},
		{"string past the end", "\x05ab", "string longer than the value", func(r *Reader) { r.Str() }},
		{"short float", "1234567", "truncated number", func(r *Reader) { r.Float() }},
		{"presence byte", "\x02", "bad presence byte", func(r *Reader) { r.Present() }},
		{"trailing bytes", "\x01\x00\x00", "at byte 3: trailing bytes", func(r *Reader) { r.Uint() }},
	} {
		r := NewReader(c.in)
		c.read(&r)
		r.Uint() // reads after a failure give zero and keep the first reason
		if err := r.End(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
