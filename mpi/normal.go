package mpi

import (
	"errors"

	"vigie"
	"vigie/matcher"
)

// The normalised form of each record version (matcher.Prepared without the
// raw record) is stored beside the version, so that scoring a record that
// is not in the cache costs a read and a decode (a few microseconds) rather
// than preparing it again (tens of microseconds: folding, phonetic keys).
// The encoding is matcher's prepared-form codec (matcher.AppendPrepared),
// whose own tests fail when matcher.Prepared gains a field it does not
// carry. Snapshots hand the forms to derived indexes (Snapshot.Normals):
// the search index stores them as they are rather than preparing every
// member of each identity it re-indexes.

// normalVersion is the first byte of an encoded normalised form; a form of
// another version is ignored (the record is prepared again).
const normalVersion = matcher.PreparedFormat

var errNormal = errors.New("mpi: malformed normalised form")

func encodeNormal(p *matcher.Prepared) []byte {
	return matcher.AppendPrepared(make([]byte, 0, 512), p)
}

// decodeNormal decodes a normalised form; rec becomes its Record.
func decodeNormal(b []byte, rec *vigie.Record) (*matcher.Prepared, error) {
	p, rest, err := matcher.DecodePrepared(string(b), rec)
	if err != nil || rest != "" {
		return nil, errNormal
	}
	return p, nil
}

// normalReadable reports whether a stored normalised form is of the
// format this build decodes; a form of another is prepared again.
func normalReadable(b byte) bool { return matcher.PreparedFormatReadable(b) }
