package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"vigie"
	"vigie/store"
)

// KeyPrefix starts every API key secret, so that a leaked key is
// recognisable (secret scanners, logs) and the Chain can tell it from a
// JWT.
const KeyPrefix = "vgk_"

// MaxKeyLifetime bounds an API key's lifetime: keys must be rotated.
const MaxKeyLifetime = 5 * 366 * 24 * time.Hour

// Key is an API key as stored: everything but the secret.
type Key struct {
	ID          string    // public identifier, part of the secret, used to revoke
	Name        string    // the principal's name in the audit trail
	Role        Role      // what the key may do
	Authorities []string  // the assigning authorities it acts for
	Created     time.Time // when it was made
	Expires     time.Time // after this instant it authenticates nothing
	Revoked     time.Time // when it was revoked; zero while valid
	// Pending is true while a key made through the API awaits a second
	// person's approval (Approve): it authenticates nothing until then.
	Pending bool
	// CreatedBy and CreatorKey name the principal (and its credential)
	// that made the key through the API; empty for `vigie token create`.
	CreatedBy, CreatorKey string
	// ApprovedBy names the principal that approved a pending key.
	ApprovedBy string
	hash       []byte // SHA-256 of the secret
}

// Active reports whether the key authenticates at instant now.
func (k *Key) Active(now time.Time) bool {
	return k.Revoked.IsZero() && !k.Pending && now.Before(k.Expires)
}

// Keys is the store of API keys. The secrets are 256-bit random values, so
// a plain SHA-256 of each is enough to store (no password hashing needed:
// there is nothing to brute-force), and hashes are compared in constant
// time.
type Keys struct {
	db  *store.DB
	now func() time.Time
	// known caches the keys read or written through this value, so that
	// authenticating a call costs no store read: a read transaction waits
	// for the commits in flight, which under load is most of a call's
	// latency. The store is opened by one process and a server keeps one
	// Keys, whose Revoke updates the cache after its commit, so a revoked
	// key stops working at once.
	mu    sync.RWMutex
	known map[string]knownKey
}

// knownKey is a cached key and when it was read or written.
type knownKey struct {
	key Key
	at  time.Time
}

// NewKeys returns the API keys kept in db. Use one Keys per store in a
// process: revocations through another would reach this one's cache
// only after it forgets the key (see knownFor).
func NewKeys(db *store.DB) *Keys { return &Keys{db: db, now: time.Now, known: map[string]knownKey{}} }

// Store returns the store the keys are kept in (the access codes and
// sites are kept beside them: NewAccess).
func (k *Keys) Store() *store.DB { return k.db }

// knownFor bounds how long a cached key is trusted without reading the
// store again.
const knownFor = time.Minute

// remember caches key as read or written now. A revocation is final, so a
// revoked key in the cache is never replaced by an unrevoked copy: an
// authentication that read the key just before a revocation committed may
// get here after the revocation did, and must not make the key valid again
// for knownFor.
func (k *Keys) remember(key Key) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, ok := k.known[key.ID]; ok && !c.key.Revoked.IsZero() && key.Revoked.IsZero() {
		return
	}
	k.known[key.ID] = knownKey{key: key, at: k.now()}
}

// lookup returns a key from the cache, or from the store.
func (k *Keys) lookup(id string) (Key, error) {
	k.mu.RLock()
	c, ok := k.known[id]
	k.mu.RUnlock()
	if ok && k.now().Sub(c.at) < knownFor {
		return c.key, nil
	}
	key, err := k.Get(id)
	if err == nil {
		k.remember(key)
	}
	return key, err
}

// Create makes a new API key and returns its secret, which is never shown
// again, with the key as stored. It is the host operator's direct path
// (`vigie token create` on the server's store): the key is active at once,
// whatever its role. Through the API, CreatePending is used. Every role
// but admin and regional_vigilance needs at least one authority; lifetime must be positive and at most
// MaxKeyLifetime. Names need not be unique: a holder rotating its key makes
// the new one under the same name before revoking the old, and the audit
// trail tells them apart by key id.
func (k *Keys) Create(role Role, authorities []string, name string, lifetime time.Duration) (string, Key, error) {
	return k.create(role, authorities, name, lifetime, nil)
}

// CreatePending makes a key on behalf of creator (an admin calling the
// API). A key of a role that reads patient data or manages keys (every
// role but ingest) is pending until a second person approves it
// (Approve): an administrator cannot give itself access to patients, nor
// a second administrator key to approve its own requests with.
func (k *Keys) CreatePending(role Role, authorities []string, name string, lifetime time.Duration, creator *Principal) (string, Key, error) {
	if creator == nil {
		return "", Key{}, vigie.Errorf(vigie.EPERMISSION, "a key made through the API needs its creator")
	}
	return k.create(role, authorities, name, lifetime, creator)
}

// NeedsApproval reports whether a key of role made through the API waits
// for a second person's approval.
func NeedsApproval(role Role) bool { return role != RoleIngest }

func (k *Keys) create(role Role, authorities []string, name string, lifetime time.Duration, creator *Principal) (string, Key, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return "", Key{}, err
	}
	if err := checkName(name); err != nil {
		return "", Key{}, err
	}
	auths, err := checkAuthorities(role, authorities)
	if err != nil {
		return "", Key{}, err
	}
	if lifetime <= 0 || lifetime > MaxKeyLifetime {
		return "", Key{}, vigie.Invalid("expires", "lifetime must be between 1s and %d days, got %v", MaxKeyLifetime/(24*time.Hour), lifetime)
	}
	var idb [8]byte
	var secretb [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", Key{}, fmt.Errorf("auth: random key id: %w", err)
	}
	if _, err := rand.Read(secretb[:]); err != nil {
		return "", Key{}, fmt.Errorf("auth: random secret: %w", err)
	}
	id := hex.EncodeToString(idb[:])
	secret := KeyPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secretb[:])
	sum := sha256.Sum256([]byte(secret))
	now := k.now().UTC().Round(0).Truncate(time.Second)
	key := Key{ID: id, Name: name, Role: role, Authorities: auths, Created: now, Expires: now.Add(lifetime), hash: sum[:]}
	if creator != nil {
		key.CreatedBy, key.CreatorKey = creator.Name, credential(creator)
		key.Pending = NeedsApproval(role)
	}
	err = store.Update(k.db, func(txn *store.Txn) error {
		if found, err := store.Has(txn, keyKey(id)); err != nil {
			return err
		} else if found {
			return fmt.Errorf("key id %s already exists", id) // 2^-64: a broken random source
		}
		return putKey(txn, &key)
	})
	if err != nil {
		return "", Key{}, fmt.Errorf("auth: create key %q: %w", name, err)
	}
	return secret, key, nil
}

// checkName accepts 1 to 100 printable characters without surrounding
// spaces: the name appears in audit listings.
func checkName(name string) error {
	if name == "" {
		return vigie.Invalid("name", "required")
	}
	if len(name) > 100 {
		return vigie.Invalid("name", "at most 100 bytes, got %d", len(name))
	}
	if strings.TrimSpace(name) != name {
		return vigie.Invalid("name", "%q has surrounding spaces", name)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			return vigie.Invalid("name", "%q holds a non-printable character", name)
		}
	}
	return nil
}

// checkAuthorities returns the sorted unique authorities, refusing empty or
// spaced ones and a scoped role without any.
func checkAuthorities(role Role, authorities []string) ([]string, error) {
	out := make([]string, 0, len(authorities))
	for _, a := range authorities {
		if a == "" || len(a) > 128 || strings.ContainsFunc(a, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == ',' }) {
			return nil, vigie.Invalid("authority", "%q is not an assigning authority (an OID such as 1.2.250.1.71.4.2.1.330781234)", a)
		}
		out = append(out, a)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if role.NeedsSites() && len(out) == 0 {
		return nil, vigie.Invalid("authority", "role %s acts only for its own sites (assigning authorities): give at least one", role)
	}
	return out, nil
}

// Authenticate implements Authenticator for API keys: ErrNotMine for a
// credential without KeyPrefix, an unauthenticated error for an unknown,
// wrong, expired or revoked key.
func (k *Keys) Authenticate(_ context.Context, credential string) (*Principal, error) {
	if !strings.HasPrefix(credential, KeyPrefix) {
		return nil, ErrNotMine
	}
	id, _, ok := strings.Cut(credential[len(KeyPrefix):], "_")
	if !ok || len(id) != 16 {
		return nil, unauthenticated("malformed API key")
	}
	key, err := k.lookup(id)
	if vigie.ErrorCode(err) == vigie.ENOTFOUND {
		return nil, unauthenticated("unknown API key")
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(credential))
	if subtle.ConstantTimeCompare(sum[:], key.hash) != 1 {
		return nil, unauthenticated("unknown API key")
	}
	now := k.now()
	switch {
	case !key.Revoked.IsZero():
		return nil, unauthenticated("API key revoked")
	case key.Pending:
		return nil, unauthenticated("API key awaiting a second person's approval")
	case !now.Before(key.Expires):
		return nil, unauthenticated("API key expired")
	}
	return &Principal{Name: key.Name, Role: key.Role, Authorities: slices.Clone(key.Authorities), Method: "api_key", CredentialID: key.ID}, nil
}

// readKey reads the key with the given id in txn into key (ENOTFOUND when
// there is none).
func readKey(txn *store.Txn, id string, key *Key) error {
	found, err := store.Read(txn, keyKey(id), func(v []byte) error { return decodeKey(v, key) })
	if err == nil && !found {
		return vigie.Errorf(vigie.ENOTFOUND, "API key %s not found", id)
	}
	return err
}

// Get returns the key with the given id (ENOTFOUND when there is none).
func (k *Keys) Get(id string) (Key, error) {
	var key Key
	err := k.db.View(func(txn *store.Txn) error { return readKey(txn, id, &key) })
	if err != nil {
		return Key{}, fmt.Errorf("auth: get key %s: %w", id, err)
	}
	return key, nil
}

// List returns every key, revoked and expired ones included, by creation
// time.
func (k *Keys) List() ([]Key, error) {
	var keys []Key
	err := k.db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(keyPrefix), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var key Key
			if err := it.Item().Value(func(v []byte) error { return decodeKey(v, &key) }); err != nil {
				return fmt.Errorf("%s: %w", it.Item().Key(), err)
			}
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("auth: list keys: %w", err)
	}
	slices.SortStableFunc(keys, func(a, b Key) int { return a.Created.Compare(b.Created) })
	return keys, nil
}

// Revoke revokes the key with the given id at once: it authenticates
// nothing from then on. Revoking a revoked key changes nothing. The key is
// read in the transaction that writes it; when a concurrent revocation
// commits first (a Badger conflict), the revocation is tried again and
// finds the key revoked.
func (k *Keys) Revoke(id string) (Key, error) {
	var key Key
	if err := store.Retry(context.Background(), store.MaxAttempts, func() error { return k.revoke(id, &key) }); err != nil {
		return Key{}, fmt.Errorf("auth: revoke key %s: %w", id, err)
	}
	k.remember(key)
	return key, nil
}

// revoke is one attempt of Revoke.
func (k *Keys) revoke(id string, key *Key) error {
	return store.Update(k.db, func(txn *store.Txn) error {
		if err := readKey(txn, id, key); err != nil {
			return err
		}
		if !key.Revoked.IsZero() {
			return nil
		}
		key.Revoked = k.now().UTC().Round(0).Truncate(time.Second)
		return putKey(txn, key)
	})
}

// Approve activates a pending key on behalf of approver, who must be a
// second person: not the key's creator (by name or credential), and an
// admin, regional vigilance, or the vigilance staff of every one of the
// key's sites. Approving an active key changes nothing; a revoked or
// expired one cannot be approved.
func (k *Keys) Approve(id string, approver *Principal) (Key, error) {
	var key Key
	if err := store.Retry(context.Background(), store.MaxAttempts, func() error { return k.approve(id, approver, &key) }); err != nil {
		return Key{}, fmt.Errorf("auth: approve key %s: %w", id, err)
	}
	k.remember(key)
	return key, nil
}

func (k *Keys) approve(id string, approver *Principal, key *Key) error {
	return store.Update(k.db, func(txn *store.Txn) error {
		if err := readKey(txn, id, key); err != nil {
			return err
		}
		if !key.Pending {
			return nil
		}
		if err := mayApprove(approver, key); err != nil {
			return err
		}
		if !key.Revoked.IsZero() || !k.now().Before(key.Expires) {
			return vigie.Errorf(vigie.ECONFLICT, "API key %s is revoked or expired: make a new one", id)
		}
		key.Pending, key.ApprovedBy = false, approver.Name
		return putKey(txn, key)
	})
}

// mayApprove says whether approver may activate key (fails closed: any
// doubt refuses).
func mayApprove(approver *Principal, key *Key) error {
	switch {
	case approver == nil || approver.Name == "":
		return vigie.Errorf(vigie.EPERMISSION, "approval needs an authenticated principal")
	case approver.Name == key.CreatedBy || (key.CreatorKey != "" && credential(approver) == key.CreatorKey) ||
		approver.Name == key.Name:
		return vigie.Errorf(vigie.EPERMISSION, "a key is approved by a second person, not by its creator nor its holder")
	}
	switch approver.Role {
	case RoleAdmin, RoleRegionalVigilance:
		return nil
	case RoleVigilance:
		if len(key.Authorities) == 0 {
			return vigie.Errorf(vigie.EPERMISSION, "a key without sites is approved by an admin or regional vigilance")
		}
		for _, a := range key.Authorities {
			if !approver.HasSite(a) {
				return vigie.Errorf(vigie.EPERMISSION, "the vigilance staff of every site of the key approve it (not of %s)", a)
			}
		}
		return nil
	}
	return vigie.Errorf(vigie.EPERMISSION, "role %s does not approve keys", approver.Role)
}

const keyPrefix = "a/tok/"

func keyKey(id string) []byte { return []byte(keyPrefix + id) }

// storedKey is the JSON form of a key in the store.
type storedKey struct {
	V           int       `json:"v"`
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Role        Role      `json:"role"`
	Authorities []string  `json:"authorities,omitempty"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`
	Revoked     time.Time `json:"revoked,omitzero"`
	Pending     bool      `json:"pending,omitempty"`
	CreatedBy   string    `json:"created_by,omitempty"`
	CreatorKey  string    `json:"creator_key,omitempty"`
	ApprovedBy  string    `json:"approved_by,omitempty"`
	Hash        string    `json:"sha256"`
}

const storedKeyVersion = 1

func putKey(txn *store.Txn, k *Key) error {
	v, err := json.Marshal(storedKey{V: storedKeyVersion, ID: k.ID, Name: k.Name, Role: k.Role, Authorities: k.Authorities,
		Created: k.Created, Expires: k.Expires, Revoked: k.Revoked, Pending: k.Pending, CreatedBy: k.CreatedBy,
		CreatorKey: k.CreatorKey, ApprovedBy: k.ApprovedBy, Hash: hex.EncodeToString(k.hash)})
	if err != nil {
		return err
	}
	return txn.Set(keyKey(k.ID), v)
}

func decodeKey(v []byte, k *Key) error {
	var s storedKey
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("decode key: %w", err)
	}
	if s.V != storedKeyVersion {
		return fmt.Errorf("decode key: unknown version %d", s.V)
	}
	h, err := hex.DecodeString(s.Hash)
	if err != nil || len(h) != sha256.Size {
		return fmt.Errorf("decode key: bad hash")
	}
	*k = Key{ID: s.ID, Name: s.Name, Role: s.Role, Authorities: s.Authorities, Created: s.Created, Expires: s.Expires, Revoked: s.Revoked,
		Pending: s.Pending, CreatedBy: s.CreatedBy, CreatorKey: s.CreatorKey, ApprovedBy: s.ApprovedBy, hash: h}
	return nil
}
