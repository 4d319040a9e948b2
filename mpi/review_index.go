package mpi

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"vigie"
	"vigie/store"
)

// The pending reviews by site: one key per pending review and per
// assigning authority the review concerned when it was opened (Review.Sites),
// in queue order under each authority, so that a site's vigilance reads
// its part of the queue without reading the region's:
//
//	m/ps/ <len(authority) uint16> <authority> <priority byte> <order u64>  →  review id
//
// The keys are written and removed in the transaction that opens, skips
// or decides the review. A review's sites grow with its identities: when
// an identity is written with a member of a new site (a link, a merge),
// its pending reviews are filed under that site too, found through
//
//	m/pi/ <identity u64>  →  the ids of the pending reviews naming it (u64s, ascending)
//
// which a merge moves to the survivor. A bulk load cannot read those keys
// back: it keeps the reviews it opened and the identities it wrote, and
// files them once its rows are committed (refileAfterLoad). m/pv records
// that a store's pending reviews have their keys (stores made before the
// index are given theirs at Open).
const (
	pPendingSite      = "m/ps/"
	pPendingIdent     = "m/pi/"
	pPendingSiteBuilt = "m/pv"
)

func pendingIdentKey(id vigie.IdentityID) []byte {
	return append([]byte(pPendingIdent), u64(uint64(id))...)
}

// pendingOf reads the ids of the pending reviews filed under an identity
// (some may have been decided since: callers skip those).
func (t *tx) pendingOf(id vigie.IdentityID) ([]uint64, error) {
	var ids []uint64
	_, err := t.read(pendingIdentKey(id), func(b []byte) error {
		if len(b)%8 != 0 {
			return vigie.Errorf(vigie.EINTERNAL, "pending reviews of identity %s: %d bytes", id, len(b))
		}
		for i := 0; i < len(b); i += 8 {
			ids = append(ids, binary.BigEndian.Uint64(b[i:]))
		}
		return nil
	})
	return ids, err
}

// setPendingOf writes the ids of the pending reviews filed under an
// identity (none: the key is removed).
func (t *tx) setPendingOf(id vigie.IdentityID, ids []uint64) error {
	if len(ids) == 0 {
		return t.Delete(pendingIdentKey(id))
	}
	b := make([]byte, 0, 8*len(ids))
	for _, r := range ids {
		b = binary.BigEndian.AppendUint64(b, r)
	}
	return t.Set(pendingIdentKey(id), b)
}

// fileUnder adds a review to the pending reviews of its identities as
// they are now.
func (t *tx) fileUnder(r *Review) error {
	return t.editPendingOf(r, func(ids []uint64) []uint64 {
		if i, ok := slices.BinarySearch(ids, r.ID); !ok {
			return slices.Insert(ids, i, r.ID)
		}
		return nil
	})
}

// editPendingOf applies edit to the pending reviews of each identity r
// names (as it is now: a retired one's survivor; none that is gone) and
// writes back what edit returns, nothing when it returns nil.
func (t *tx) editPendingOf(r *Review, edit func(ids []uint64) []uint64) error {
	for _, id := range []vigie.IdentityID{r.Identity, r.Candidate} {
		if id == 0 {
			continue
		}
		cur, _, err := live(t.Txn, id)
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			continue
		}
		if err != nil {
			return err
		}
		ids, err := t.pendingOf(cur.ID)
		if err != nil {
			return err
		}
		if ids = edit(ids); ids != nil {
			if err := t.setPendingOf(cur.ID, ids); err != nil {
				return err
			}
		}
	}
	return nil
}

// refilePending follows an identity's write (setIdentity): a retired
// identity's pending reviews move to its survivor; the pending reviews of
// a live identity are filed under the sites of its members they lack.
// Reviews decided since (or being decided: out of the queue) are dropped
// from the list. A bulk load leaves it to refileAfterLoad.
func (t *tx) refilePending(x *identity) error {
	if t.bulk != nil {
		t.bulk.identsWritten = append(t.bulk.identsWritten, x.ID)
		return nil
	}
	ids, err := t.pendingOf(x.ID)
	if err != nil || len(ids) == 0 {
		return err
	}
	target := x
	if x.Retired != 0 {
		surv, _, err := live(t.Txn, x.Retired)
		if err != nil {
			return err
		}
		have, err := t.pendingOf(surv.ID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if i, ok := slices.BinarySearch(have, id); !ok {
				have = slices.Insert(have, i, id)
			}
		}
		if err := t.setPendingOf(x.ID, nil); err != nil {
			return err
		}
		if err := t.setPendingOf(surv.ID, have); err != nil {
			return err
		}
		target = surv
	}
	var sites []string
	for _, m := range target.Members {
		sites = append(sites, m.Authority)
	}
	kept := ids[:0]
	for _, id := range ids {
		pending, err := t.addSites(id, sites)
		if err != nil {
			return err
		}
		if pending {
			kept = append(kept, id)
		}
	}
	if x.Retired == 0 {
		return t.setPendingOf(x.ID, kept)
	}
	return nil
}

// unretired files under an identity coming back from retirement (Unmerge
// calls it before writing the identity) the pending reviews naming it,
// which its merge had moved to its survivor; they stay there too. A bulk
// load unmerges nothing.
func (t *tx) unretired(id vigie.IdentityID) error {
	old, err := readIdentity(t.Txn, id)
	if vigie.ErrorCode(err) == vigie.ENOTFOUND || err == nil && old.Retired == 0 {
		return nil // new, or live already
	}
	if err != nil {
		return err
	}
	surv, _, err := live(t.Txn, old.Retired)
	if err != nil {
		return err
	}
	theirs, err := t.pendingOf(surv.ID)
	if err != nil {
		return err
	}
	mine, err := t.pendingOf(id)
	if err != nil {
		return err
	}
	for _, rid := range theirs {
		var r Review
		found, err := get(t.Txn, reviewKey(rid), &r)
		if err != nil {
			return err
		}
		if !found || r.Status != StatusPending || !t.reaches(r.Identity, id) && !t.reaches(r.Candidate, id) {
			continue
		}
		if i, ok := slices.BinarySearch(mine, rid); !ok {
			mine = slices.Insert(mine, i, rid)
		}
	}
	return t.setPendingOf(id, mine)
}

// reaches reports whether from is id or redirects through it.
func (t *tx) reaches(from, id vigie.IdentityID) bool {
	if from == id {
		return true
	}
	_, via, err := live(t.Txn, from)
	return err == nil && slices.Contains(via, id)
}

// addSites files a pending review under the sites it lacks; false when
// the review is no longer in the queue.
func (t *tx) addSites(id uint64, sites []string) (bool, error) {
	r, found, err := t.reviewToFile(id)
	if err != nil || !found || r.Status != StatusPending {
		return false, err
	}
	return t.addSitesTo(r, sites)
}

// reviewFiling is what filing a review by site reads of it: decoding
// these fields alone spares the score's table and fields, most of a
// review, when no site is added (the usual case).
type reviewFiling struct {
	ID        uint64           `json:"id"`
	Priority  int              `json:"priority"`
	Record    vigie.SourceKey  `json:"record"`
	Identity  vigie.IdentityID `json:"identity"`
	Candidate vigie.IdentityID `json:"candidate"`
	Matched   vigie.SourceKey  `json:"matched"`
	Sites     []string         `json:"sites,omitempty"`
	Status    string           `json:"status"`
	Order     uint64           `json:"order"`
}

// reviewToFile reads what filing review id by site needs of it, as a
// Review with those fields only (see addSitesTo).
func (t *tx) reviewToFile(id uint64) (*Review, bool, error) {
	var f reviewFiling
	found, err := get(t.Txn, reviewKey(id), &f)
	if err != nil || !found {
		return nil, false, err
	}
	return &Review{ID: f.ID, Priority: f.Priority, Record: f.Record, Identity: f.Identity, Candidate: f.Candidate,
		Matched: f.Matched, Sites: f.Sites, Status: f.Status, Order: f.Order}, true, nil
}

// addSitesTo is addSites of a pending review r read in this transaction
// by reviewToFile (and not written since): when it lacks a site, the
// whole review is read to be written back with it.
func (t *tx) addSitesTo(r *Review, sites []string) (bool, error) {
	if found, err := store.Has(t.Txn, pendingKey(r.Priority, r.Order)); err != nil || !found {
		return false, err // !found: being decided in this transaction
	}
	var added []string
	for _, s := range sites {
		if !slices.Contains(r.Sites, s) && !slices.Contains(added, s) {
			added = append(added, s)
		}
	}
	if len(added) == 0 {
		return true, nil
	}
	for _, s := range added {
		if err := t.Set(pendingSiteKey(s, r.Priority, r.Order), u64(r.ID)); err != nil {
			return false, err
		}
	}
	var full Review
	found, err := get(t.Txn, reviewKey(r.ID), &full)
	if err != nil {
		return false, err
	}
	if !found {
		return false, vigie.Errorf(vigie.EINTERNAL, "review %d vanished while filed by site", r.ID)
	}
	full.Sites = append(full.Sites, added...)
	slices.Sort(full.Sites)
	return true, put(t.Txn, reviewKey(r.ID), &full)
}

func pendingSitePrefix(authority string) []byte {
	return append(binary.BigEndian.AppendUint16([]byte(pPendingSite), uint16(len(authority))), authority...)
}

func pendingSiteKey(authority string, priority int, order uint64) []byte {
	return append(append(pendingSitePrefix(authority), byte(priority)), u64(order)...)
}

// reviewSites are the assigning authorities a review concerns: the
// record's, the closest candidate record's, and those of the members of
// both identities as they are (sorted, each once). An identity not found
// counts for nothing: the record's authority is always there.
func (t *tx) reviewSites(r *Review) ([]string, error) {
	sites := []string{r.Record.Authority}
	if r.Matched.Authority != "" {
		sites = append(sites, r.Matched.Authority)
	}
	for _, id := range []vigie.IdentityID{r.Identity, r.Candidate} {
		if id == 0 {
			continue
		}
		ident, err := t.liveIdentity(id)
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, m := range ident.Members {
			sites = append(sites, m.Authority)
		}
	}
	slices.Sort(sites)
	return slices.Compact(sites), nil
}

// liveIdentity reads the identity that now stands for id (a bulk load's
// pending rows included).
func (t *tx) liveIdentity(id vigie.IdentityID) (*identity, error) {
	for range 1000 {
		x, err := t.identity(id)
		if err != nil || x.Retired == 0 {
			return x, err
		}
		id = x.Retired
	}
	return nil, vigie.Errorf(vigie.EINTERNAL, "identity %s: redirect loop", id)
}

// indexPending files a pending review under each of its sites.
func (t *tx) indexPending(r *Review) error {
	for _, s := range r.Sites {
		if err := t.set(pendingSiteKey(s, r.Priority, r.Order), u64(r.ID)); err != nil {
			return err
		}
	}
	return nil
}

// fileOpened files a review just opened: under its sites, and under its
// identities (a bulk load notes it for refileAfterLoad).
func (t *tx) fileOpened(r *Review) error {
	if err := t.indexPending(r); err != nil {
		return err
	}
	if t.bulk != nil {
		t.bulk.reviewsOpened = append(t.bulk.reviewsOpened, r.ID)
		return nil
	}
	return t.fileUnder(r)
}

// refileAfterLoad files, once a bulk load has committed, the reviews it
// opened under their identities and under the sites those hold now, and
// the pending reviews of the identities it wrote under their new sites.
// online tells whether the load resolved rows online (updates), which may
// have retired identities or decided reviews while it ran. It works in
// batches, halved when Badger finds one too large.
func (x *Index) refileAfterLoad(ctx context.Context, reviews []uint64, idents []vigie.IdentityID, online bool) error {
	// The load's reviews first: filing them writes the pending lists
	// (m/pi/) the identities' pass then reads. filed are those the pass
	// found pending and filed under every site of both their identities
	// as they are now.
	filed := map[uint64]bool{}
	var mu sync.Mutex // filed, between the parts
	if err := inParts(len(reviews), func(from, to int) error {
		var batch []uint64
		return x.inBatches(ctx, to-from, func(t *tx, lo, hi int) error {
			batch = batch[:0]
			for _, id := range reviews[from+lo : from+hi] {
				ok, err := t.refileReview(id)
				if err != nil {
					return err
				}
				if ok {
					batch = append(batch, id)
				}
			}
			return nil
		}, func() {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range batch {
				filed[id] = true
			}
		})
	}); err != nil {
		return err
	}
	// Then only the identities written that have a pending list: most
	// have none, and one walk over the lists costs far less than a read
	// per identity. An identity whose list holds only reviews the first
	// pass filed is left as it is when no row went online: it is live
	// (only an online row retires one during a load), each of those
	// reviews is pending and already filed under the sites of its
	// members, so that refilePending would write the list back unchanged
	// and add no site.
	written := map[vigie.IdentityID]bool{}
	for _, id := range idents {
		written[id] = true
	}
	var todo []vigie.IdentityID
	err := x.db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(pPendingIdent), PrefetchValues: !online})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()[len(pPendingIdent):]
			if len(k) != 8 {
				continue
			}
			id := vigie.IdentityID(binary.BigEndian.Uint64(k))
			if !written[id] {
				continue
			}
			settled := !online
			if settled {
				if err := it.Item().Value(func(b []byte) error {
					for i := 0; i+8 <= len(b) && settled; i += 8 {
						settled = filed[binary.BigEndian.Uint64(b[i:])]
					}
					settled = settled && len(b)%8 == 0
					return nil
				}); err != nil {
					return err
				}
			}
			if !settled {
				todo = append(todo, id)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mpi: file the load's reviews by site: %w", err)
	}
	if err := inParts(len(todo), func(from, to int) error {
		return x.inBatches(ctx, to-from, func(t *tx, lo, hi int) error {
			return x.refileIdentities(t, todo[from+lo:from+hi])
		}, nil)
	}); err != nil {
		return err
	}
	return x.file(ctx, func(t *tx) error { return t.Set([]byte(pPendingSiteBuilt), []byte{1}) })
}

// refileIdentities files the pending reviews of identities ids under
// their members' sites (see refilePending).
func (x *Index) refileIdentities(t *tx, ids []vigie.IdentityID) error {
	for _, id := range ids {
		ident, err := readIdentity(t.Txn, id)
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			continue
		}
		if err != nil {
			return err
		}
		if err := t.refilePending(ident); err != nil {
			return err
		}
	}
	return nil
}

// minPart is the fewest items inParts gives a part (tests lower it).
var minPart = 100

// inParts runs fn over [0, n) cut into one contiguous part per processor,
// the parts at once, and returns the first error. The filing after a bulk
// load runs so on both cores: filing commutes (a review id inserted in a
// sorted list, a site added to a sorted set), and two parts writing the
// same key conflict, the later one's transaction running again.
func inParts(n int, fn func(from, to int) error) error {
	parts := max(1, min(runtime.GOMAXPROCS(0), n/minPart))
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Go(func() { errs[i] = fn(n*i/parts, n*(i+1)/parts) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// inBatches runs fn over [0, n) in filing transactions of at most 500
// items, halving the batch when a transaction grows too big; committed,
// when set, is called after each transaction fn ran in has committed.
func (x *Index) inBatches(ctx context.Context, n int, fn func(t *tx, lo, hi int) error, committed func()) error {
	size := 500
	for lo := 0; lo < n; {
		hi := min(lo+size, n)
		err := x.file(ctx, func(t *tx) error { return fn(t, lo, hi) })
		if errors.Is(err, store.ErrTxnTooBig) && size > 1 {
			size /= 2
			continue
		}
		if err != nil {
			return fmt.Errorf("mpi: file the load's reviews by site: %w", err)
		}
		if committed != nil {
			committed()
		}
		lo = hi
	}
	return nil
}

// file runs fn in a write transaction that files reviews: it changes
// neither the records nor the identities, so it reads no clock and
// touches no mirror (a load's store stays the one its rows alone make).
func (x *Index) file(ctx context.Context, fn func(t *tx) error) error {
	return store.Retry(ctx, maxAttempts, func() error {
		txn, err := store.NewWriteTxn(x.db)
		if err != nil {
			return err
		}
		defer txn.Discard()
		if err := fn(&tx{Txn: txn, x: x}); err != nil {
			return err
		}
		return txn.Commit()
	})
}

// unmarkPendingSites marks the store as needing its pending reviews filed
// by site (at the next Open, unless a bulk load files them first).
func (x *Index) unmarkPendingSites(ctx context.Context) error {
	return x.file(ctx, func(t *tx) error { return t.Delete([]byte(pPendingSiteBuilt)) })
}

// refileReview files a pending review under its identities as they are
// and under every site it concerns now (a review no longer pending is
// left alone); filed reports that it was pending and is filed so.
func (t *tx) refileReview(id uint64) (filed bool, err error) {
	r, found, err := t.reviewToFile(id)
	if err != nil || !found || r.Status != StatusPending {
		return false, err
	}
	sites, err := t.reviewSites(r)
	if err != nil {
		return false, err
	}
	if err := t.fileUnder(r); err != nil {
		return false, err
	}
	return t.addSitesTo(r, sites) // fileUnder writes the identities' lists, not the review
}

// unfileDecided takes a decided review out of the pending reviews of its
// identities as they are now.
func (t *tx) unfileDecided(r *Review) error {
	return t.editPendingOf(r, func(ids []uint64) []uint64 {
		if i, ok := slices.BinarySearch(ids, r.ID); ok {
			return slices.Delete(ids, i, i+1)
		}
		return nil
	})
}

// unindexPending removes a review's keys from its sites' queues (before
// it is decided, or moved back by a skip).
func (t *tx) unindexPending(r *Review) error {
	for _, s := range r.Sites {
		if err := t.Delete(pendingSiteKey(s, r.Priority, r.Order)); err != nil {
			return err
		}
	}
	return nil
}

// ReviewsOfSites returns, in queue order, the pending reviews filed under
// any of the sites (each once), with both sides' current golden views,
// passing each to keep until keep has accepted limit of them (all when
// limit ≤ 0). keep decides who sees what: the index only narrows the
// queue to the reviews the sites concerned when opened, it grants
// nothing. It reads the sites' index keys and the reviews it returns or
// refuses, not the region's queue.
func (x *Index) ReviewsOfSites(ctx context.Context, sites []string, limit int, keep func(*Review) (bool, error)) ([]Review, error) {
	type entry struct {
		key []byte // priority and order: the queue order
		id  uint64
	}
	var out []Review
	err := x.view(func(txn *store.Txn) error {
		var entries []entry
		seen := map[uint64]bool{}
		for _, s := range sites {
			prefix := pendingSitePrefix(s)
			it := txn.NewIterator(store.IteratorOptions{Prefix: prefix, PrefetchValues: true})
			for it.Rewind(); it.Valid(); it.Next() {
				var id uint64
				if err := it.Item().Value(func(b []byte) error {
					if len(b) != 8 {
						return vigie.Errorf(vigie.EINTERNAL, "pending review site entry of %d bytes", len(b))
					}
					id = binary.BigEndian.Uint64(b)
					return nil
				}); err != nil {
					it.Close()
					return err
				}
				if !seen[id] {
					seen[id] = true
					entries = append(entries, entry{key: slices.Clone(it.Item().Key()[len(prefix):]), id: id})
				}
			}
			it.Close()
		}
		slices.SortFunc(entries, func(a, b entry) int { return slices.Compare(a.key, b.key) })
		for _, e := range entries {
			if limit > 0 && len(out) >= limit {
				break
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			var r Review
			found, err := get(txn, reviewKey(e.id), &r)
			if err != nil {
				return err
			}
			if !found || r.Status != StatusPending {
				continue // not in the queue: `vigie verify` reports the stale key
			}
			if r.IdentityGolden, err = x.goldenOf(txn, r.Identity); err != nil {
				return err
			}
			if r.CandidateGolden, err = x.goldenOf(txn, r.Candidate); err != nil {
				return err
			}
			ok, err := keep(&r)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mpi: reviews of sites: %w", err)
	}
	return out, nil
}

// indexPendingReviews gives the pending reviews of a store made before
// the per-site index their sites and keys, once (m/pv marks it done), in
// batches of transactions.
func (x *Index) indexPendingReviews(ctx context.Context) error {
	built := false
	var ids []uint64
	err := x.view(func(txn *store.Txn) error {
		if found, err := store.Has(txn, []byte(pPendingSiteBuilt)); err != nil || found {
			built = found
			return err
		}
		return scan(txn, pPending, func(_, v []byte) error {
			if len(v) != 8 {
				return vigie.Errorf(vigie.EINTERNAL, "pending review entry of %d bytes", len(v))
			}
			ids = append(ids, binary.BigEndian.Uint64(v))
			return nil
		})
	})
	if err != nil || built {
		return err
	}
	const batch = 500
	for len(ids) > 0 {
		n := min(batch, len(ids))
		part := ids[:n]
		ids = ids[n:]
		if err := x.file(ctx, func(t *tx) error {
			for _, id := range part {
				if _, err := t.refileReview(id); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return x.file(ctx, func(t *tx) error { return t.Set([]byte(pPendingSiteBuilt), []byte{1}) })
}

// verifyPendingSites checks the per-site index against the queue: every
// pending review is filed under each of its sites at its place in the
// queue and under its identities as they are now, and every key of the
// per-site queue is such a filing.
func verifyPendingSites(txn *store.Txn, bad func(format string, args ...any)) error {
	if found, err := store.Has(txn, []byte(pPendingSiteBuilt)); err != nil {
		return err
	} else if !found {
		bad("the per-site index of pending reviews was never built (open the store with this version)")
		return nil
	}
	want := map[string]uint64{}
	if err := scan(txn, pPending, func(_, v []byte) error {
		if len(v) != 8 {
			bad("pending review entry of %d bytes", len(v))
			return nil
		}
		id := binary.BigEndian.Uint64(v)
		var r Review
		found, err := get(txn, reviewKey(id), &r)
		if err != nil {
			return err
		}
		if !found {
			return nil // the queue's own check reports it
		}
		if len(r.Sites) == 0 {
			bad("pending review %d has no site", id)
		}
		for _, ident := range []vigie.IdentityID{r.Identity, r.Candidate} {
			cur, _, err := live(txn, ident)
			if err != nil {
				continue // the identities' own checks report it
			}
			var ids []uint64
			if _, err := store.Read(txn, pendingIdentKey(cur.ID), func(b []byte) error {
				for i := 0; i+8 <= len(b); i += 8 {
					ids = append(ids, binary.BigEndian.Uint64(b[i:]))
				}
				return nil
			}); err != nil {
				return err
			}
			if !slices.Contains(ids, id) {
				bad("pending review %d is not filed under identity %s", id, cur.ID)
			}
		}
		for _, s := range r.Sites {
			want[string(pendingSiteKey(s, r.Priority, r.Order))] = id
		}
		return nil
	}); err != nil {
		return err
	}
	if err := scan(txn, pPendingSite, func(key, v []byte) error {
		id, ok := want[string(key)]
		switch {
		case !ok:
			bad("per-site review key %q names no pending review at that place", key)
		case len(v) != 8 || binary.BigEndian.Uint64(v) != id:
			bad("per-site review key %q does not name review %d", key, id)
		}
		delete(want, string(key))
		return nil
	}); err != nil {
		return err
	}
	for key, id := range want {
		bad("pending review %d is missing from the per-site index (key %q)", id, key)
	}
	return nil
}
