package rpc

import (
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"vigie"

	"google.golang.org/protobuf/proto"

	vigiev1 "vigie/rpc/gen/vigie/v1"
	"vigie/search"
	"vigie/sites"
)

// RepairText reaches every string: fields, lists of strings, nested
// messages and lists of them; a valid message is left as it is.
func TestRepairText(t *testing.T) {
	bad := "M\xfcller"
	for _, c := range []struct {
		name string
		msg  proto.Message
		want int
	}{
		{"valid", &vigiev1.Identity{Id: "1", Golden: &vigiev1.SourceRecord{BirthName: "MÜLLER"}}, 0},
		{"field", &vigiev1.SourceRecord{BirthName: bad}, 1},
		{"nested", &vigiev1.Identity{Golden: &vigiev1.SourceRecord{City: bad, Address: bad}}, 2},
		{"list of strings", &vigiev1.Identity{Attributes: []string{"OK", bad}}, 1},
		{"list of messages", &vigiev1.Identity{Records: []*vigiev1.SourceRecord{{BirthName: "A"}, {FirstNames: bad}},
			Events: []*vigiev1.IdentityEvent{{Reason: bad}}}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := RepairText(c.msg); got != c.want {
				t.Errorf("%d strings repaired, want %d", got, c.want)
			}
			if _, err := proto.Marshal(c.msg); err != nil {
				t.Errorf("still fails to marshal: %v", err)
			}
		})
	}
}

// The codecs repair a message that fails to marshal, count it, and leave a
// valid one alone; both encodings.
func TestRepairingCodec(t *testing.T) {
	var repaired atomic.Int64
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []*repairingCodec{{name: "proto", repaired: &repaired, log: log}, {name: "json", json: true, repaired: &repaired, log: log}} {
		before := repaired.Load()
		if _, err := c.Marshal(&vigiev1.SourceRecord{BirthName: "MULLER"}); err != nil || repaired.Load() != before {
			t.Errorf("%s: valid message: %v, %d repaired", c.name, err, repaired.Load()-before)
		}
		msg := &vigiev1.SourceRecord{BirthName: "M\xfcller"}
		b, err := c.Marshal(msg)
		if err != nil || repaired.Load() != before+1 {
			t.Fatalf("%s: %v, %d repaired", c.name, err, repaired.Load()-before)
		}
		var back vigiev1.SourceRecord
		if err := c.Unmarshal(b, &back); err != nil || !strings.Contains(back.GetBirthName(), "\uFFFD") {
			t.Errorf("%s: read back %q, %v", c.name, back.GetBirthName(), err)
		}
	}
}

// TestRestrictedResultRepairsEveryString: what a caller without a basis
// sees of a hit holding text that is not UTF-8 is repaired whole (nothing
// is left for RepairText to find), and every string repaired is counted.
func TestRestrictedResultRepairsEveryString(t *testing.T) {
	bad := "\xff"
	tests := []struct {
		name  string
		hit   search.Hit
		names sites.Names
		want  int // strings repaired
	}{
		{"clean", search.Hit{ID: "12", Golden: vigie.Record{BirthName: "DUPONT", BirthDate: "1970-01-02"},
			Sources: []search.Source{{Authority: "1.2.3", LocalID: "A"}}}, sites.Names{"1.2.3": "CHU"}, 0},
		{"names and date", search.Hit{ID: "12", Golden: vigie.Record{BirthName: "DU" + bad, FirstNames: bad, BirthDate: "19" + bad + "0-01-02"},
			Sources: []search.Source{{Authority: "1.2.3", LocalID: "A"}}}, sites.Names{"1.2.3": "CHU"}, 3},
		{"site names", search.Hit{ID: "12", Golden: vigie.Record{BirthName: "DUPONT"},
			Sources: []search.Source{{Authority: "1.2.3"}, {Authority: "1.2.4"}, {Authority: "1.2.5"}}},
			sites.Names{"1.2.3": "CH" + bad, "1.2.4": "CHU", "1.2.5": bad + "X"}, 2},
		{"identity id", search.Hit{ID: "1" + bad, Golden: vigie.Record{BirthName: "DUPONT"}}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, n := restrictedResult(&tt.hit, tt.names)
			if n != tt.want {
				t.Errorf("%d strings repaired, want %d", n, tt.want)
			}
			if left := RepairText(proto.Clone(r)); left != 0 {
				t.Errorf("%d strings left to repair in %v", left, r)
			}
			if (n > 0) != (r.Notice != "") {
				t.Errorf("notice %q with %d strings repaired", r.Notice, n)
			}
		})
	}
}
