package vigie

import (
	"strconv"
	"strings"
	"time"
)

// SourceKey names a source record: the site's assigning authority (an OID)
// and its local patient id (IPP). The patient index links source keys into
// identities; the dose ledger keys exams by source key, never by identity,
// so a merge or an unmerge changes a history without rewriting dose data.
type SourceKey struct {
	Authority string `json:"authority"`
	LocalID   string `json:"local_id"`
}

func (k SourceKey) String() string { return k.Authority + "/" + k.LocalID }

// IdentityID is a regional super-identity's stable opaque identifier.
type IdentityID uint64

// String returns the identifier as it is shown and exported.
func (id IdentityID) String() string { return strconv.FormatUint(uint64(id), 10) }

// ParseIdentityID reads an identifier written by IdentityID.String.
func ParseIdentityID(s string) (IdentityID, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || n == 0 {
		return 0, Invalid("identity", "%q is not an identity id", s)
	}
	return IdentityID(n), nil
}

// Identity is a regional super-identity: the source records linked as one
// person, the attributes identity-vigilance staff set on it, and its golden
// view computed from its members by survivorship rules.
type Identity struct {
	ID         IdentityID
	Members    []SourceKey
	Attributes []string
	Golden     Record
	Created    time.Time
	Updated    time.Time
	// Redirected lists the retired ids followed to reach this identity,
	// starting with the one asked for (empty when it was asked for itself).
	Redirected []IdentityID
}
