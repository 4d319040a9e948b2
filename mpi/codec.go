package mpi

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"vigie/store"

	"vigie"
)

// schemaVersion is the first byte of a value this package writes as JSON
// (see schemaBinary for the compact one).
const schemaVersion = 1

// Key prefixes (see the package doc).
const (
	pRecord   = "m/r/"
	pHistory  = "m/h/"
	pNormal   = "m/n/"
	pIdentity = "m/i/"
	pEvent    = "m/e/"
	pByIdent  = "m/x/"
	pReview   = "m/q/"
	pPending  = "m/p/"
	pDistinct = "m/d/"
	pUndone   = "m/u/"
	pSeq      = "m/s/"
)

// recordState is the value under m/r/: a record's latest version and where
// it belongs.
type recordState struct {
	Version  int              `json:"v"`
	Identity vigie.IdentityID `json:"i"`
	Pinned   bool             `json:"p,omitempty"` // placed by a person: never moved automatically
	Received time.Time        `json:"t"`
	Record   vigie.Record     `json:"r"`
	// Family and First are the values the frequency table counts, so that
	// Open can rebuild it without preparing every record again.
	Family string `json:"f,omitempty"`
	First  string `json:"n,omitempty"`
	// Blocks are the record's blocking keys (rule NUL value), from which
	// Open rebuilds the in-memory blocking index.
	Blocks []string `json:"b,omitempty"`
}

// identity is the value under m/i/.
type identity struct {
	ID         vigie.IdentityID  `json:"id"`
	Members    []vigie.SourceKey `json:"m,omitempty"`
	Attributes []string          `json:"a,omitempty"`
	Retired    vigie.IdentityID  `json:"into,omitempty"` // merged into this survivor
	Created    time.Time         `json:"c"`
	Updated    time.Time         `json:"u"`
}

func (x *identity) remove(k vigie.SourceKey) {
	out := x.Members[:0]
	for _, m := range x.Members {
		if m != k {
			out = append(out, m)
		}
	}
	x.Members = out
}

// distinctMark is the value under m/d/.
type distinctMark struct {
	Event  uint64    `json:"e"`
	Actor  Actor     `json:"a"`
	Reason string    `json:"r,omitempty"`
	Time   time.Time `json:"t"`
}

// encode encodes a value: record states, versions, identities and events
// (but merges) in the compact encoding (see binary.go), everything else as
// JSON.
func encode(v any) ([]byte, error) {
	switch v := v.(type) {
	case *recordState:
		return encodeRecordState(v), nil
	case *identity:
		return encodeIdentity(v), nil
	case *Version:
		return encodeVersion(v), nil
	case *Event:
		if binaryEvent(v) {
			return encodeEvent(v), nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("mpi: encode %T: %w", v, err)
	}
	return append([]byte{schemaVersion}, b...), nil
}

func decode(b []byte, v any) error {
	if len(b) > 0 && b[0] == schemaBinary {
		var err error
		switch v := v.(type) {
		case *recordState:
			err = decodeRecordState(b, v)
		case *identity:
			err = decodeIdentity(b, v)
		case *Version:
			err = decodeVersion(b, v)
		case *Event:
			err = decodeEvent(b, v)
		default:
			return vigie.Errorf(vigie.EINTERNAL, "mpi: a %T is never stored in the compact encoding", v)
		}
		if err != nil {
			return fmt.Errorf("mpi: decode %T: %w", v, err)
		}
		return nil
	}
	if len(b) == 0 || b[0] != schemaVersion {
		return vigie.Errorf(vigie.EINTERNAL, "mpi: value of schema version %v, this build reads %d", first(b), schemaVersion)
	}
	if err := json.Unmarshal(b[1:], v); err != nil {
		return fmt.Errorf("mpi: decode %T: %w", v, err)
	}
	return nil
}

func first(b []byte) any {
	if len(b) == 0 {
		return "none"
	}
	return b[0]
}

// get reads and decodes one key; found is false when it is absent.
func get(txn *store.Txn, key []byte, v any) (found bool, err error) {
	found, err = store.Read(txn, key, func(b []byte) error { return decode(b, v) })
	return found && err == nil, err
}

func put(txn *store.Txn, key []byte, v any) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	return txn.Set(key, b)
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func skey(k vigie.SourceKey) string { return k.Authority + "\x00" + k.LocalID }

func parseSkey(s string) vigie.SourceKey {
	a, l, _ := strings.Cut(s, "\x00")
	return vigie.SourceKey{Authority: a, LocalID: l}
}

func recordKey(k vigie.SourceKey) []byte { return []byte(pRecord + skey(k)) }

func historyKey(k vigie.SourceKey, version int) []byte {
	return binary.BigEndian.AppendUint32([]byte(pHistory+skey(k)+"\x00"), uint32(version))
}

func normalKey(k vigie.SourceKey, version int) []byte {
	return binary.BigEndian.AppendUint32([]byte(pNormal+skey(k)+"\x00"), uint32(version))
}

func identityKey(id vigie.IdentityID) []byte { return append([]byte(pIdentity), u64(uint64(id))...) }

func eventKey(seq uint64) []byte { return append([]byte(pEvent), u64(seq)...) }

func byIdentKey(id vigie.IdentityID, seq uint64) []byte {
	return append(append([]byte(pByIdent), u64(uint64(id))...), u64(seq)...)
}

func reviewKey(id uint64) []byte { return append([]byte(pReview), u64(id)...) }

func pendingKey(priority int, order uint64) []byte {
	return append(append([]byte(pPending), byte(priority)), u64(order)...)
}

func distinctPrefix(a vigie.SourceKey) []byte {
	s := skey(a)
	return append(binary.BigEndian.AppendUint16([]byte(pDistinct), uint16(len(s))), s...)
}

func distinctKey(a, b vigie.SourceKey) []byte { return append(distinctPrefix(a), skey(b)...) }

func undoneKey(mergeSeq uint64) []byte { return append([]byte(pUndone), u64(mergeSeq)...) }
