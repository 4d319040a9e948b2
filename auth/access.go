package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"vigie"
	"vigie/store"
)

// The headers in which a clinician gives its basis to read a patient that
// has no record at its sites (see Basis).
const (
	// AccessCodeHeader carries the access code the patient gave.
	AccessCodeHeader = "X-Access-Code"
	// BreakGlassHeader carries the reason of a break-the-glass access,
	// percent-encoded UTF-8 (a browser sends only Latin-1 in headers).
	BreakGlassHeader = "X-Break-Glass"
)

// Basis is the ground on which a principal reads a patient's data; the
// audit entry of the call records it.
type Basis string

// The bases.
const (
	// BasisSite: the patient has a record at one of the principal's sites.
	BasisSite Basis = "site"
	// BasisCode: the patient gave the principal an access code.
	BasisCode Basis = "code"
	// BasisBreakGlass: an emergency access with a stated reason, alerted
	// to the vigilance staff of the patient's sites.
	BasisBreakGlass Basis = "break_glass"
	// BasisRegional: regional identity vigilance.
	BasisRegional Basis = "regional"
)

// Bounds of the access codes and break-the-glass reasons.
const (
	DefaultCodeLifetime = 72 * time.Hour
	MaxCodeLifetime     = 7 * 24 * time.Hour
	// MinBreakGlassReason is the fewest characters a reason may have: a
	// word or two ("urgence") says nothing a reviewer can check.
	MinBreakGlassReason = 15
	maxBreakGlassReason = 500
)

// BreakGlassReason decodes and checks the reason of the X-Break-Glass
// header: "" when the header is absent, an EINVALID error on field
// "break_glass" when it is too short, too long or not text.
func BreakGlassReason(header string) (string, error) {
	h := strings.TrimSpace(header)
	if h == "" {
		return "", nil
	}
	r, err := url.PathUnescape(h)
	if err != nil || !utf8.ValidString(r) {
		return "", vigie.Invalid("break_glass", "the reason is not percent-encoded UTF-8 text")
	}
	r = strings.Join(strings.Fields(strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return ' '
		}
		return c
	}, r)), " ")
	switch n := utf8.RuneCountInString(r); {
	case n < MinBreakGlassReason:
		return "", vigie.Invalid("break_glass", "state the reason of the emergency access in at least %d characters", MinBreakGlassReason)
	case n > maxBreakGlassReason:
		return "", vigie.Invalid("break_glass", "the reason has more than %d characters", maxBreakGlassReason)
	}
	return r, nil
}

// Access keeps the patients' access codes and the break-the-glass
// accesses, in the store (the names of the sites are the site registry's,
// package sites):
//
//	a/acc/<sha256 of the code>        → access code (JSON): identity, expiry, revocation
//	a/bg/<time, 16 hex><random, 8 hex> → break-the-glass access (JSON)
//
// Codes are 60-bit random values shown once and stored as their SHA-256:
// short-lived, revocable, and tried at the rate limits of the API.
type Access struct {
	db  *store.DB
	now func() time.Time
}

// NewAccess returns the access store kept in db.
func NewAccess(db *store.DB) *Access { return &Access{db: db, now: time.Now} }

// Code is an access code as stored: everything but the code.
type Code struct {
	Identity  string    `json:"identity"`
	CreatedBy string    `json:"created_by"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	Revoked   time.Time `json:"revoked,omitzero"`
}

const (
	codePrefix = "a/acc/"
	bgPrefix   = "a/bg/"
)

// codeEncoding leaves out letters read as digits (I, L, O, U).
var codeEncoding = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// normaliseCode makes a typed code comparable: upper case, no spaces or
// dashes, O read as 0 and I, L as 1.
func normaliseCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t':
			return -1
		case 'o', 'O':
			return '0'
		case 'i', 'I', 'l', 'L':
			return '1'
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

func codeKey(code string) []byte {
	sum := sha256.Sum256([]byte("vigie-access-code:" + normaliseCode(code)))
	return []byte(codePrefix + hex.EncodeToString(sum[:]))
}

// CreateCode makes an access code to identity for lifetime (0: the
// default), on behalf of by, and returns it (shown this once).
func (a *Access) CreateCode(identity, by string, lifetime time.Duration) (string, Code, error) {
	if lifetime == 0 {
		lifetime = DefaultCodeLifetime
	}
	if lifetime < time.Hour || lifetime > MaxCodeLifetime {
		return "", Code{}, vigie.Invalid("lifetime_hours", "must be between 1 and %d hours", int(MaxCodeLifetime/time.Hour))
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Code{}, fmt.Errorf("auth: random access code: %w", err)
	}
	raw := codeEncoding.EncodeToString(b[:])[:12] // 60 bits
	code := raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12]
	now := a.now().UTC().Truncate(time.Second)
	c := Code{Identity: identity, CreatedBy: by, Created: now, Expires: now.Add(lifetime)}
	v, err := json.Marshal(c)
	if err != nil {
		return "", Code{}, err
	}
	if err := store.Update(a.db, func(txn *store.Txn) error { return txn.Set(codeKey(code), v) }); err != nil {
		return "", Code{}, fmt.Errorf("auth: store access code: %w", err)
	}
	return code, c, nil
}

// CheckCode reports whether code is an active access code of one of the
// identities given (the identity asked for and the survivor it leads to).
// An error is a failure to read the store: the caller refuses.
func (a *Access) CheckCode(code string, identities ...string) (bool, error) {
	if normaliseCode(code) == "" {
		return false, nil
	}
	var c Code
	var found bool
	err := a.db.View(func(txn *store.Txn) (err error) {
		found, err = store.Read(txn, codeKey(code), func(v []byte) error { return json.Unmarshal(v, &c) })
		return err
	})
	if err != nil {
		return false, fmt.Errorf("auth: check access code: %w", err)
	}
	if !found {
		return false, nil
	}
	return c.Revoked.IsZero() && a.now().Before(c.Expires) && slices.Contains(identities, c.Identity), nil
}

// RevokeCodes revokes every active code of the identity and returns how
// many it revoked.
func (a *Access) RevokeCodes(identity string) (int, error) {
	n := 0
	err := store.Update(a.db, func(txn *store.Txn) error {
		n = 0
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(codePrefix), PrefetchValues: true})
		defer it.Close()
		now := a.now().UTC().Truncate(time.Second)
		type change struct {
			key []byte
			v   []byte
		}
		var changes []change
		for it.Rewind(); it.Valid(); it.Next() {
			var c Code
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &c) }); err != nil {
				return fmt.Errorf("%s: %w", it.Item().Key(), err)
			}
			if c.Identity != identity || !c.Revoked.IsZero() || !now.Before(c.Expires) {
				continue
			}
			c.Revoked = now
			v, err := json.Marshal(c)
			if err != nil {
				return err
			}
			changes = append(changes, change{it.Item().KeyCopy(nil), v})
		}
		for _, c := range changes {
			if err := txn.Set(c.key, c.v); err != nil {
				return err
			}
		}
		n = len(changes)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("auth: revoke access codes: %w", err)
	}
	return n, nil
}

// BreakGlass is one access on the break-the-glass basis.
type BreakGlass struct {
	Time        time.Time `json:"time"`
	Principal   string    `json:"principal"`
	Credential  string    `json:"credential"`
	Authorities []string  `json:"authorities,omitempty"`
	Identity    string    `json:"identity"`
	// PatientAuthorities are the sites holding a record of the patient:
	// their vigilance staff see the access in ListBreakGlass.
	PatientAuthorities []string `json:"patient_authorities,omitempty"`
	Reason             string   `json:"reason"`
	Operation          string   `json:"operation"`
}

// RecordBreakGlass stores a break-the-glass access, for the vigilance
// staff's queue and the weekly report. It must succeed before the data is
// read: an access that cannot be alerted is refused.
func (a *Access) RecordBreakGlass(bg BreakGlass) error {
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return fmt.Errorf("auth: random: %w", err)
	}
	bg.Time = a.now().UTC()
	v, err := json.Marshal(bg)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("%s%016x%s", bgPrefix, bg.Time.UnixNano(), hex.EncodeToString(r[:]))
	if err := store.Update(a.db, func(txn *store.Txn) error { return txn.Set([]byte(key), v) }); err != nil {
		return fmt.Errorf("auth: record break-the-glass access: %w", err)
	}
	return nil
}

// BreakGlassSince lists the break-the-glass accesses from since on, oldest
// first, that keep returns true for (nil: all), at most limit.
func (a *Access) BreakGlassSince(since time.Time, limit int, keep func(*BreakGlass) bool) ([]BreakGlass, error) {
	var out []BreakGlass
	// UnixNano is undefined outside 1678–2262: clamp.
	from := int64(0)
	switch {
	case since.After(time.Unix(0, math.MaxInt64)):
		from = math.MaxInt64
	case since.After(time.Unix(0, 0)):
		from = since.UnixNano()
	}
	err := a.db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(bgPrefix), PrefetchValues: true})
		defer it.Close()
		for it.Seek([]byte(fmt.Sprintf("%s%016x", bgPrefix, from))); it.Valid(); it.Next() {
			var bg BreakGlass
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &bg) }); err != nil {
				return fmt.Errorf("%s: %w", it.Item().Key(), err)
			}
			if keep == nil || keep(&bg) {
				out = append(out, bg)
				if limit > 0 && len(out) >= limit {
					return nil
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("auth: list break-the-glass accesses: %w", err)
	}
	return out, nil
}
