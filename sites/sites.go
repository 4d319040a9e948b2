// Package sites keeps the registry of member establishments: for each
// assigning authority (the OID a site numbers its patients under), the
// establishment's name as people read it, and what later connectors need
// to recognise the site (DICOM AE titles, HL7 sending facility ids).
//
// Everything a person reads — the console, the printed dose history, the
// exports — shows an establishment by its name from here, never a raw OID;
// an authority the registry does not know is shown as Unknown.
//
// An administrator manages the registry (`vigie site`, AdminService). An
// identity feed that carries a facility name may propose it (Learn): it
// fills a site nobody named yet and never overrides an administrator's
// name.
//
// Key layout (namespace e/ of the store, see package store):
//
//	e/site/<authority> → Site (JSON)
//	e/sitegen            → count of the registry's changes (8 bytes, big endian)
package sites

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"vigie"
	"vigie/store"
)

// Unknown is how an establishment absent from the registry is shown.
const Unknown = "Établissement non référencé"

// Where a site's name came from.
const (
	SourceAdmin = "admin" // an administrator named it
	SourceFeed  = "feed"  // an identity feed proposed it (Learn)
)

// Site is one member establishment.
type Site struct {
	Authority string `json:"authority"`
	Name      string `json:"name"`
	// AETitles are the DICOM application entity titles of its modalities
	// and PACS (for a DICOM connector to come).
	AETitles []string `json:"ae_titles,omitempty"`
	// HL7Senders are its HL7 v2 sending facility ids (MSH-4).
	HL7Senders []string `json:"hl7_senders,omitempty"`
	// Joined is the day it started feeding the regional ledger
	// (YYYY-MM-DD), when known: a history is complete for a site only
	// from then.
	Joined  string    `json:"joined,omitempty"`
	Source  string    `json:"source"`
	Updated time.Time `json:"updated"`
}

var prefix = []byte("e/site/")

func key(authority string) []byte { return append(append([]byte(nil), prefix...), authority...) }

// genKey counts the registry's changes: every write of a site adds one in
// its own transaction, so that a Names read at one count is the registry
// as long as the store holds that count (a store written before the count
// existed holds none: 0).
var genKey = []byte("e/sitegen")

// Registry is the site registry over a store opened with store.Open. It is
// safe for concurrent use.
type Registry struct {
	db  *store.DB
	now func() time.Time
	// names is the lookup Names last built and the change count it was
	// read at: a search showing sites by name reads one key, not every
	// site (2 ms and 3,000 allocations with 400 sites registered).
	names atomic.Pointer[namesAt]
}

type namesAt struct {
	gen   uint64 // the store's change count (genKey) it was read at
	local uint64 // the process's count of changes (changesOf) it was read at
	names Names
}

// changes counts, per store, the registry's changes made by this process
// (every Registry over that store adds one after each write commits).
// Only one process writes a store (Badger locks its folder), so while this
// count stands still the registry does too, and Names answers from its
// lookup without reading the store: the change count's read was a
// transaction and a lookup through the store's levels at every search
// showing a restricted result (6-9 µs of CPU a call at a million records).
// The map holds its stores weakly, and forgets one once it is collected:
// tests open many stores in one process.
var changes sync.Map // weak.Pointer[store.DB] → *atomic.Uint64

func changesOf(db *store.DB) *atomic.Uint64 {
	k := weak.Make(db)
	if c, ok := changes.Load(k); ok {
		return c.(*atomic.Uint64)
	}
	c, loaded := changes.LoadOrStore(k, new(atomic.Uint64))
	if !loaded {
		runtime.AddCleanup(db, func(k weak.Pointer[store.DB]) { changes.Delete(k) }, k)
	}
	return c.(*atomic.Uint64)
}

// Open returns the registry kept in db.
func Open(db *store.DB) *Registry { return &Registry{db: db, now: time.Now} }

// validate checks and normalises a site before it is stored.
func validate(s *Site) error {
	s.Authority = strings.TrimSpace(s.Authority)
	s.Name = strings.Join(strings.Fields(s.Name), " ")
	if !isOID(s.Authority) {
		return vigie.Invalid("authority", "%q is not an OID (digits separated by dots)", s.Authority)
	}
	if s.Name == "" {
		return vigie.Invalid("name", "the establishment's name is required")
	}
	if len(s.Name) > 200 {
		return vigie.Invalid("name", "at most 200 bytes, got %d", len(s.Name))
	}
	for _, ae := range s.AETitles {
		if ae = strings.TrimSpace(ae); ae == "" || len(ae) > 16 {
			return vigie.Invalid("ae_title", "%q: an AE title has 1 to 16 characters", ae)
		}
	}
	if s.Joined != "" {
		if _, err := time.Parse("2006-01-02", s.Joined); err != nil {
			return vigie.Invalid("joined", "%q is not a date YYYY-MM-DD", s.Joined)
		}
	}
	return nil
}

// isOID reports whether s is a dotted OID such as 1.2.250.1.71.4.2.7.
func isOID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, arc := range strings.Split(s, ".") {
		if arc == "" || strings.Trim(arc, "0123456789") != "" || (len(arc) > 1 && arc[0] == '0') {
			return false
		}
	}
	return strings.Contains(s, ".")
}

// Add registers a site. A site already registered by an administrator is
// a conflict (rename it instead); one only proposed by a feed is taken
// over.
func (r *Registry) Add(ctx context.Context, s Site) (Site, error) {
	if err := validate(&s); err != nil {
		return Site{}, err
	}
	s.Source, s.Updated = SourceAdmin, r.now().UTC()
	err := r.update(ctx, s.Authority, func(old *Site) (*Site, error) {
		if old != nil && old.Source == SourceAdmin {
			return nil, vigie.Errorf(vigie.ECONFLICT, "sites: %s is already registered as %q: rename it", s.Authority, old.Name)
		}
		return &s, nil
	})
	return s, err
}

// Rename changes a registered site's name.
func (r *Registry) Rename(ctx context.Context, authority, name string) (Site, error) {
	var out Site
	err := r.update(ctx, authority, func(old *Site) (*Site, error) {
		if old == nil {
			return nil, vigie.Errorf(vigie.ENOTFOUND, "sites: %s is not registered", authority)
		}
		out = *old
		out.Name, out.Source, out.Updated = name, SourceAdmin, r.now().UTC()
		if err := validate(&out); err != nil {
			return nil, err
		}
		return &out, nil
	})
	return out, err
}

// Remove takes a site out of the registry; its exams stay in the ledger
// and are shown as Unknown.
func (r *Registry) Remove(ctx context.Context, authority string) error {
	return r.update(ctx, authority, func(old *Site) (*Site, error) {
		if old == nil {
			return nil, vigie.Errorf(vigie.ENOTFOUND, "sites: %s is not registered", authority)
		}
		return nil, nil
	})
}

// Learn records the name an identity feed gives a site's facility, unless
// the site is named already. It reports whether it stored it.
func (r *Registry) Learn(ctx context.Context, authority, name string) (bool, error) {
	s := Site{Authority: authority, Name: name, Source: SourceFeed, Updated: r.now().UTC()}
	if err := validate(&s); err != nil {
		return false, err
	}
	learnt := false
	err := r.update(ctx, s.Authority, func(old *Site) (*Site, error) {
		if old != nil {
			return old, nil
		}
		learnt = true
		return &s, nil
	})
	return learnt, err
}

// update applies fn to the stored site of authority (nil when absent) and
// stores what it returns (nil: deletes), in one transaction.
func (r *Registry) update(ctx context.Context, authority string, fn func(old *Site) (*Site, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// The change count makes two changes of different sites conflict:
	// the later one runs again on what the other committed.
	err := store.UpdateRetry(ctx, r.db, func(txn *store.Txn) error {
		old, err := get(txn, authority)
		if err != nil {
			return err
		}
		s, err := fn(old)
		if err != nil {
			return err
		}
		if s == nil {
			if old == nil {
				return nil
			}
			if err := countChange(txn); err != nil {
				return err
			}
			return txn.Delete(key(authority))
		}
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		if err := countChange(txn); err != nil {
			return err
		}
		return txn.Set(key(s.Authority), b)
	})
	// Counted once committed (or failed: a count too many only reads the
	// store once more), so that Names does not keep a lookup read before.
	changesOf(r.db).Add(1)
	var ve *vigie.Error
	if err != nil && !errors.As(err, &ve) {
		return fmt.Errorf("sites: %s: %w", authority, err)
	}
	return err
}

// generation reads the registry's change count in txn (0 when none was
// ever written).
func generation(txn *store.Txn) (uint64, error) {
	v, found, err := store.Get(txn, genKey)
	if err != nil || !found {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("sites: change count of %d bytes, not 8", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// countChange adds one to the registry's change count in txn.
func countChange(txn *store.Txn) error {
	n, err := generation(txn)
	if err != nil {
		return err
	}
	return txn.Set(genKey, binary.BigEndian.AppendUint64(nil, n+1))
}

func get(txn *store.Txn, authority string) (*Site, error) {
	var s Site
	found, err := store.Read(txn, key(authority), func(v []byte) error {
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("decode site %s: %w", authority, err)
		}
		return nil
	})
	if err != nil || !found {
		return nil, err
	}
	return &s, nil
}

// List returns every registered site, by name.
func (r *Registry) List(ctx context.Context) ([]Site, error) {
	var out []Site
	err := r.db.View(func(txn *store.Txn) (err error) {
		out, err = list(ctx, txn)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sites: list: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// list reads every site in txn, in key order.
func list(ctx context.Context, txn *store.Txn) ([]Site, error) {
	var out []Site
	it := txn.NewIterator(store.IteratorOptions{Prefix: prefix})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var s Site
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &s) }); err != nil {
			return nil, fmt.Errorf("decode %q: %w", it.Item().Key(), err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Names returns the registry as a lookup (see Names.Of). The lookup is
// shared with the other callers until the registry changes: read it, never
// change it.
func (r *Registry) Names(ctx context.Context) (Names, error) {
	// The process's count is read before the store: a change committed
	// meanwhile moves it, and the next call reads the store again.
	local := changesOf(r.db).Load()
	if c := r.names.Load(); c != nil && c.local == local {
		return c.names, nil
	}
	var n Names
	err := r.db.View(func(txn *store.Txn) error {
		gen, err := generation(txn)
		if err != nil {
			return err
		}
		if c := r.names.Load(); c != nil && c.gen == gen {
			n = c.names
			r.names.Store(&namesAt{gen: gen, local: local, names: n})
			return nil
		}
		ss, err := list(ctx, txn)
		if err != nil {
			return err
		}
		n = make(Names, len(ss))
		for _, s := range ss {
			n[s.Authority] = s.Name
		}
		r.names.Store(&namesAt{gen: gen, local: local, names: n})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sites: list: %w", err)
	}
	return n, nil
}

// Names maps assigning authorities to establishment names.
type Names map[string]string

// Of returns the name of authority, or Unknown: never the OID itself. A
// nil Names knows no site.
func (n Names) Of(authority string) string {
	if s, ok := n[authority]; ok && s != "" {
		return s
	}
	return Unknown
}

// List returns the names of comma-separated authorities (a history row
// done at two sites), each once, in the order given.
func (n Names) List(authorities string) string {
	var out []string
	for _, a := range strings.Split(authorities, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		name := n.Of(a)
		dup := false
		for _, o := range out {
			dup = dup || o == name
		}
		if !dup {
			out = append(out, name)
		}
	}
	return strings.Join(out, ", ")
}
