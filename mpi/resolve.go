package mpi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"vigie"
	"vigie/internal/door"
	"vigie/matcher"
	"vigie/store"
)

// noAutoLinkAttributes are identity attributes that forbid automatic links
// into the identity: doubtful, fictitious, anonymous, confirmed homonym,
// confirmed collision.
var noAutoLinkAttributes = map[string]bool{
	vigie.AttrDoubtful: true, vigie.AttrFictitious: true, vigie.AttrAnonymous: true,
	"HOMA": true, "COLV": true,
}

// maxReviews bounds the review items one resolution opens.
const maxReviews = 3

// candidate is an identity scored against a record.
type candidate struct {
	id      vigie.IdentityID
	members []uint32 // as scored (ordinals, read from memory)
	best    matcher.Score
	matched vigie.SourceKey // the member the best score was against
	// noAuto is set when something other than the best member's score
	// forbids an automatic link: a member carrying a different INS or the
	// same INS on conflicting traits, or an attribute of the identity.
	noAuto    bool
	collision bool // a potential collision rule fired on some member
	// attrs are the identity's attributes as mirrored when it was scored;
	// byAttrs is set when one of them forbids an automatic link. The
	// mirror may lag behind the store (see refresh), so a decision that
	// depends on them checks them against the store (see checkAttrs).
	attrs   []string
	byAttrs bool
	// chained is set when a member differs from the record on its birth
	// date (or first name) while the member it matches best, matched,
	// cannot tell (see score), and the record would auto-link with that
	// member on their own score: the member may be another person's
	// record linked before this one arrived (see undoLateEvidence).
	chained bool
	// listed is a member without a usable birth date whose later first
	// names the record's whole list (filled from INSi) lacks: another
	// person's record, a father's beside his namesake son, that the
	// record shows was linked there wrongly (see undoLateEvidence).
	listed vigie.SourceKey
	// twinSlip is set when a member is the record's possible twin (rule
	// possible_twins: the record is held from the identity) while the
	// member it matches best, whose first name is no given name, would
	// link with it on their own score: that member may be the record's
	// own, garbled, linked to the twin before the record came (see
	// undoTwinSlip).
	twinSlip bool
}

func (c *candidate) autoLink() bool { return c.best.AutoLink && !c.noAuto }

// Resolve files a record a site sent: it validates it, stores it as a new
// version (nothing is written when its traits are unchanged), and links it
// to the one identity it matches, or gives it its own identity, opening
// reviews for the doubtful cases (see the package doc). An invalid record is
// an EINVALID error naming the field, and nothing is written for it.
func (x *Index) Resolve(ctx context.Context, rec vigie.Record, actor Actor) (Result, error) {
	r, err := prepareRow(rec, actor)
	if err != nil {
		return Result{}, err
	}
	return x.resolveRow(ctx, r, actor, false)
}

// resolveRow resolves a prepared row online: under the stripe locks of its
// source key and blocking keys, in a transaction of its own. held is set
// by a bulk load, which holds the index exclusively (see Import).
func (x *Index) resolveRow(ctx context.Context, r *row, actor Actor, held bool) (Result, error) {
	names := make([]string, 0, len(r.keys)+1)
	names = append(names, "k\x00"+skey(r.k))
	for _, b := range r.keys {
		names = append(names, b.Rule+"\x00"+b.Value)
	}
	unlock := x.lock(names)
	defer unlock()
	run := x.update
	if held {
		run = x.run
	}
	var res Result
	err := run(ctx, func(t *tx) error {
		var err error
		res, err = t.resolve(r, actor)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("mpi: resolve %s: %w", r.k, err)
	}
	return res, nil
}

// row is a record ready to be resolved: validated, trimmed, prepared, with
// what its stored state derives from it (blocking keys, normalised form,
// the frequency table's values). Resolve computes it inline; a bulk load
// computes it on worker goroutines.
type row struct {
	k             vigie.SourceKey
	rec           vigie.Record
	p             *matcher.Prepared
	keys          []matcher.BlockingKey
	blocks        []string // blockString of each of keys
	form          []byte   // encodeNormal(p)
	family, first string   // freqValues(p)
}

// prepareRow validates and prepares a record sent by actor: the door of
// Resolve and Import alike (and so of the API, the CSV import and DICOM
// files), through matcher.Admit (the limits, the text rule, a birth date
// in the future), called as door.Admit: tests may open the door to write
// what stores of earlier versions hold (see package vigie/internal/door).
// The record is stored as Admit leaves it. An invalid record is an
// EINVALID error naming the field.
func prepareRow(rec vigie.Record, actor Actor) (*row, error) {
	k := vigie.SourceKey{Authority: strings.TrimSpace(rec.Authority), LocalID: strings.TrimSpace(rec.LocalID)}
	rec.Authority, rec.LocalID = k.Authority, k.LocalID
	if len(rec.Attributes) == 0 {
		rec.Attributes = nil
	}
	if err := checkKey(k); err != nil {
		// The key is not named: it may be a megabyte or hold controls.
		return nil, fmt.Errorf("mpi: resolve: %w", err)
	}
	wrap := func(err error) error { return fmt.Errorf("mpi: resolve %s: %w", k, err) }
	if actor == "" {
		return nil, wrap(vigie.Invalid("actor", "who sends the record is required"))
	}
	r := &row{k: k, rec: rec}
	if len(rec.Attributes) > 0 { // Admit cleans in place: not the caller's slice
		r.rec.Attributes = slices.Clone(rec.Attributes)
	}
	var err error
	if r.p, err = door.Admit(&r.rec); err != nil {
		return nil, wrap(err)
	}
	r.keys = matcher.BlockingKeys(r.p)
	for _, b := range r.keys {
		r.blocks = append(r.blocks, blockString(b))
	}
	r.form = encodeNormal(r.p)
	r.family, r.first = freqValues(r.p)
	return r, nil
}

// checkKey refuses source keys that cannot be stored in a key: empty,
// holding a control character, or longer than vigie.MaxKeyBytes (Admit
// applies the whole text rule to them afterwards).
func checkKey(k vigie.SourceKey) error {
	for _, f := range []struct{ name, v string }{{"authority", k.Authority}, {"local_id", k.LocalID}} {
		if f.v == "" {
			return vigie.Invalid(f.name, "the %s is required", strings.ReplaceAll(f.name, "_", " "))
		}
		if len(f.v) > vigie.MaxKeyBytes {
			return vigie.Invalid(f.name, "longer than %d bytes (the limit)", vigie.MaxKeyBytes)
		}
		if i := strings.IndexFunc(f.v, unicode.IsControl); i >= 0 {
			return vigie.Invalid(f.name, "holds a control character (byte %d)", i+1)
		}
	}
	return nil
}

// resolve files a prepared row. In a bulk load (t.bulk set) the row is new:
// the load resolves every record the index knows online.
func (t *tx) resolve(r *row, actor Actor) (Result, error) {
	x := t.x
	k, rec, p, keys := r.k, &r.rec, r.p, r.keys
	var old *recordState
	if t.bulk == nil {
		var err error
		old, err = t.record(k)
		if err != nil && vigie.ErrorCode(err) != vigie.ENOTFOUND {
			return Result{}, err
		}
	}
	if old != nil && sameRecord(&old.Record, rec) {
		return Result{Key: k, Identity: old.Identity, Decision: DecisionUnchanged, Version: old.Version, Warnings: p.Warnings()}, nil
	}
	st := &recordState{Version: 1, Received: t.now, Record: *rec, Family: r.family, First: r.first, Blocks: r.blocks}
	if old != nil {
		st.Version = old.Version + 1
		st.Identity, st.Pinned = old.Identity, old.Pinned
	}
	res := Result{Key: k, Version: st.Version, Warnings: p.Warnings()}
	if err := t.put(historyKey(k, st.Version), &Version{Version: st.Version, Received: t.now, Record: *rec}); err != nil {
		return res, err
	}
	form := r.form
	if err := t.set(normalKey(k, st.Version), form); err != nil {
		return res, err
	}

	model := x.scoringModel()
	if old == nil {
		cands, err := t.candidates(k, p, keys, model, 0, false)
		if err != nil {
			return res, err
		}
		if err := t.decideNew(k, p, st, cands, model, actor, &res); err != nil {
			return res, err
		}
	} else if err := t.decideUpdate(k, st, p, keys, model, actor, &res); err != nil {
		return res, err
	}
	if err := t.setRecord(k, st); err != nil {
		return res, err
	}
	var oldBlocks []string
	if old != nil {
		oldBlocks = old.Blocks
	}
	t.setBlocks(k, oldBlocks, st.Blocks)
	res.Identity = st.Identity
	version := st.Version
	t.after = append(t.after, func() {
		if old != nil {
			x.freq.Remove(freqForm(old.Family, old.First))
		} else {
			x.records.Add(1)
		}
		x.freq.Add(p)
		x.memMu.RLock()
		ord, ok := x.keys.find(k)
		x.memMu.RUnlock()
		if ok {
			x.cache.put(ord, version, form)
		}
	})
	return res, nil
}

// sameRecord reports whether two versions carry the same traits.
func sameRecord(a, b *vigie.Record) bool {
	if !slices.Equal(a.Attributes, b.Attributes) {
		return false
	}
	return reflect.DeepEqual(withoutAttributes(*a), withoutAttributes(*b))
}

func withoutAttributes(r vigie.Record) vigie.Record {
	r.Attributes = nil
	return r
}

// candidates gathers the identities of the records sharing a blocking key
// with p, except exclude, and scores each by its best member. With
// checkDistinct, identities holding a record marked distinct from k are left
// out. Memberships are read from memory (see Index.mem); the identity a
// record is finally linked to is read again in the transaction.
func (t *tx) candidates(k vigie.SourceKey, p *matcher.Prepared, keys []matcher.BlockingKey, model *matcher.Model, exclude vigie.IdentityID, checkDistinct bool) ([]*candidate, error) {
	x := t.x
	// How many blocking rules each record shares a key of with k (a shared
	// INS counts for all): a record sharing a single key of many (the same
	// birth date and nothing else) is not worth scoring.
	need := min(x.opts.MinShared, matcher.RulesOf(keys))
	rare := matcher.RareBlock(x.opts.RareBlock, model)
	ids := map[vigie.IdentityID]bool{}
	var lagging []vigie.SourceKey
	var hashBuf [12]uint64
	hashes := hashBuf[:0]
	for _, b := range keys {
		hashes = append(hashes, x.blockHash(blockString(b)))
	}
	shared := x.counters.get()
	defer x.counters.put(shared)
	// The lookups below are reads of memory scattered over hundreds of
	// megabytes at a million records, each a miss of the cache: they are
	// made in passes of independent reads (every key's posting, then every
	// record's count, then every record's identity), so that the processor
	// overlaps the misses of one pass instead of waiting for each in turn.
	var one [1]uint32
	x.memMu.RLock()
	shared.reset(x.keys.len())
	self, isKnown := x.keys.find(k)
	shared.warm = 0
	for _, h := range hashes { // brings every key's slot and list into the cache at once
		shared.warm += len(x.blocks.list(h, &one))
	}
	run := uint8(0) // keys of one rule follow each other (see matcher.BlockingKeys)
	for i, b := range keys {
		if i == 0 || b.Rule != keys[i-1].Rule {
			run++
		}
		posting := x.blocks.list(hashes[i], &one)
		if len(posting) > x.opts.MaxBlock && b.Rule != matcher.BlockINS {
			continue // too common to say anything
		}
		inc := 1
		if b.Rule == matcher.BlockINS || len(posting) <= rare && matcher.RareSuffices(b.Rule) {
			inc = len(keys)
		}
		for _, o := range posting {
			if !isKnown || o != self {
				shared.add(o, inc, run)
			}
		}
	}
	found := shared.touched[:0] // the records sharing enough keys, in place
	for _, o := range shared.touched {
		if shared.count(o) >= need {
			found = append(found, o)
		}
	}
	idents := shared.idents[:0]
	for _, o := range found {
		idents = append(idents, x.recIdent[o])
	}
	shared.idents = idents
	for i, o := range found {
		if id := idents[i]; x.liveLocked(id) {
			ids[id] = true
		} else {
			lagging = append(lagging, x.keys.key(o))
		}
	}
	x.memMu.RUnlock()
	for _, ck := range lagging { // the mirror lags a concurrent commit: ask the store
		st, err := t.record(ck)
		if err != nil {
			return nil, err
		}
		ids[st.Identity] = true
	}
	var out []*candidate
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		if id == exclude {
			continue
		}
		c, err := t.score(k, p, id, model, checkDistinct)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b *candidate) int {
		if c := cmp.Compare(b.best.Probability, a.best.Probability); c != 0 {
			return c
		}
		return cmp.Compare(b.best.Weight, a.best.Weight)
	})
	holdHouseholdHomonyms(p, out, model)
	if err := t.holdTwinNames(out, model); err != nil {
		return nil, err
	}
	if err := t.holdHouseholdNoDate(p, keys, out, model); err != nil {
		return nil, err
	}
	if err := t.holdMinorNamesake(p, out, model); err != nil {
		return nil, err
	}
	return out, nil
}

// holdHouseholdNoDate keeps a record without a usable birth date from
// joining automatically an identity it reaches through the home alone (its
// score without the household weight is under the auto-link threshold):
// always where the model's birth-date guard is on (true matches of this
// population hardly ever differ on the date, so a home's homonym is a
// father or a son, seen yet or not), and otherwise when the home holds
// another identity of its family name. A son's record
// without birth date, typed before his own identity exists, agrees with
// his father's on everything it says; what tells the home apart from a
// lone patient's is that a family of that name lives there. A home with
// nobody else of the name (the usual patient, and every FEBRL record) is
// left to the weights. A woman's record is left to them too (see
// womanNoHomonym). Where the names alone would link (the household weight
// not needed), the weights decide: a father's only record, dateless, then
// reaches his namesake son's identity through a rare name, and nothing at
// that moment tells it from the son's own, unless the son is a boy under
// age (see holdMinorNamesake); a later record of the father, dated, undoes
// the link (see undoLateEvidence).
func (t *tx) holdHouseholdNoDate(p *matcher.Prepared, keys []matcher.BlockingKey, cands []*candidate, model *matcher.Model) error {
	if len(cands) == 0 || !cands[0].autoLink() {
		return nil
	}
	c := cands[0]
	f := &c.best.Fields
	// The record has no usable date, or the member it matches best has
	// none (a father's dated record reaching the son's dateless one).
	if (p.Date.Year != 0 && !p.Date.Placeholder) && f[matcher.FieldBirthDate].Level != matcher.Null {
		return nil
	}
	if h := f[matcher.FieldHousehold].Level; h == matcher.Null || h > matcher.HousePhone || f[matcher.FieldINS].Level == matcher.INSSame {
		return nil
	}
	if without := c.best.Weight - f[matcher.FieldHousehold].Weight + c.best.Prior; 1/(1+math.Exp2(-without)) >= model.AutoLink {
		return nil
	}
	hold := func() { c.hold(matcher.RuleHouseholdNoDate, matcher.HouseholdNoDateMessage, model) }
	if womanNoHomonym(p, &c.best) {
		return nil
	}
	if model.BirthDateGuard {
		// Where true matches hardly ever differ on the birth date (the
		// guard), a home is where a father and the son bearing his name
		// live, whether or not the other's records have arrived yet.
		hold()
		return nil
	}
	others, err := t.homeRecords(keys, c.id)
	if err != nil {
		return err
	}
	for _, mp := range others {
		cmp := matcher.Compare(p, mp)
		if l := cmp.Levels[matcher.FieldName]; l == matcher.Null || l > matcher.NameCross || cmp.Levels[matcher.FieldHousehold] == matcher.Null || cmp.Levels[matcher.FieldHousehold] > matcher.HousePhone {
			continue
		}
		hold()
		return nil
	}
	return nil
}

// holdHouseholdHomonyms keeps a record without a usable birth date (none,
// or a placeholder) from linking automatically when two of its candidate
// identities bear its family and first names and share its home: a father
// and the son named after him agree on everything such a record says, so
// a person decides, the review naming both (see openReviews).
func holdHouseholdHomonyms(p *matcher.Prepared, cands []*candidate, model *matcher.Model) {
	if p.Date.Year != 0 && !p.Date.Placeholder {
		return
	}
	var homonyms []*candidate
	for _, c := range cands {
		f := &c.best.Fields
		if c.best.Probability >= model.Review &&
			f[matcher.FieldName].Level != matcher.Null && f[matcher.FieldName].Level <= matcher.NameCross &&
			f[matcher.FieldFirstName].Level != matcher.Null && f[matcher.FieldFirstName].Level <= matcher.NameCompound &&
			f[matcher.FieldHousehold].Level != matcher.Null && f[matcher.FieldHousehold].Level <= matcher.HousePhone {
			homonyms = append(homonyms, c)
		}
	}
	if len(homonyms) < 2 {
		return
	}
	for _, c := range homonyms {
		c.hold(matcher.RuleHouseholdHomonyms, matcher.HouseholdHomonymsMessage, model)
	}
}

// hold keeps candidate c from linking automatically by rule code: the
// rule is added to its score, which drops under the auto-link level.
func (c *candidate) hold(code, message string, model *matcher.Model) {
	c.noAuto = true
	c.best.Rules = append(slices.Clip(c.best.Rules), matcher.Rule{Code: code, Message: message})
	c.best.AutoLink = false
	c.best.Probability = min(c.best.Probability, math.Nextafter(model.AutoLink, 0))
	c.best.Grade = matcher.GradeProbable
}

// score scores record k (prepared p) against the members of identity id.
// It returns nil when the identity must not be considered (marked distinct,
// or nothing to compare with).
func (t *tx) score(k vigie.SourceKey, p *matcher.Prepared, id vigie.IdentityID, model *matcher.Model, checkDistinct bool) (*candidate, error) {
	x := t.x
	x.memMu.RLock()
	var one [1]uint32
	ords := slices.Clone(x.members.list(uint64(id), &one))
	attrs := x.attrs[id]
	type member struct {
		k       vigie.SourceKey
		ord     uint32
		version int
	}
	members := make([]member, 0, min(len(ords), x.opts.MaxMembers))
	for i, o := range ords {
		if i >= x.opts.MaxMembers {
			break
		}
		members = append(members, member{x.keys.key(o), o, int(x.recVersion[o])}) // 0: not mirrored yet
	}
	x.memMu.RUnlock()
	if len(ords) == 0 {
		return nil, nil // retired since the blocking entry was read
	}
	c := &candidate{id: id, members: ords, attrs: attrs}
	for _, a := range attrs {
		if noAutoLinkAttributes[a] {
			c.noAuto, c.byAttrs = true, true
		}
	}
	first := true
	var dateConflict, firstConflict, twin bool // with some member
	var bestForm *matcher.Prepared
	for _, m := range members {
		if m.k == k {
			continue
		}
		if checkDistinct {
			d, err := distinct(t.Txn, k, m.k)
			if err != nil {
				return nil, err
			}
			if d {
				return nil, nil
			}
		}
		if m.version == 0 { // a concurrent commit is mirroring itself: ask the store
			st, err := t.record(m.k)
			if err != nil {
				return nil, t.mirrored(err)
			}
			m.version = st.Version
		}
		mp, err := t.prepared(m.k, m.ord, m.version)
		if err != nil {
			return nil, t.mirrored(err)
		}
		cmpr := matcher.Compare(p, mp)
		s := model.Score(&cmpr, x.freq)
		for _, r := range s.Rules {
			switch r.Code {
			case matcher.RuleDifferentINS:
				c.noAuto = true
			case matcher.RuleINSConflict:
				c.noAuto, c.collision = true, true
			case matcher.RuleOtherFirsts:
				// A member's first names say the identity's person has
				// other birth first names than the record's: whatever
				// another member without that list says, a person
				// decides (a father's record beside his namesake son).
				c.noAuto = true
				if mp.Date.Year == 0 || mp.Date.Placeholder {
					c.listed = m.k
				}
			case matcher.RuleTwins:
				// A member is a possible twin of the record: whatever
				// another member says (a typo between the twins' names,
				// LEOE between LEO and LEONE), a person decides.
				c.noAuto = true
				twin = true
			case matcher.RuleBirthDate:
				dateConflict = true
			case matcher.RuleFirstName:
				firstConflict = true
			}
		}
		if first || s.Probability > c.best.Probability || s.Probability == c.best.Probability && s.Weight > c.best.Weight {
			c.best, c.matched, bestForm, first = s, m.k, mp, false
		}
	}
	if first {
		return nil, nil
	}
	// A member differs from the record on its birth date (or first name)
	// beyond a slip, and the member it matches best cannot tell: that
	// member has no usable birth date (or first name). The identity may
	// hold a record of another person of the household (a son's record
	// without birth date linked to his father, named alike), and the
	// record would chain them: a person decides.
	bd := c.best.Fields[matcher.FieldBirthDate].Level
	if dateConflict && (bd == matcher.Null || bd == matcher.DatePlaceholder || bd == matcher.DatePartial) ||
		firstConflict && c.best.Fields[matcher.FieldFirstName].Level == matcher.Null {
		c.noAuto = true
		c.chained = c.best.AutoLink
	}
	if _, given := matcher.KnownGivenName(bestForm.First.Glued); twin && c.best.AutoLink && !given {
		c.noAuto, c.twinSlip = true, true
	}
	if c.listed != (vigie.SourceKey{}) && c.listed != c.matched {
		c.chained = c.best.AutoLink
	} else {
		c.listed = vigie.SourceKey{}
	}
	return c, nil
}

// target reads the identity a record is about to join in the transaction
// (so that a concurrent change of it is a conflict) and checks that it is
// still what the candidate was scored against: its members, and its
// attributes, one of which may now forbid the link.
func (t *tx) target(c *candidate) (*identity, error) {
	ident, err := t.identity(c.id)
	if err != nil {
		return nil, t.mirrored(err)
	}
	if ident.Retired != 0 || !t.x.sameMembers(ident.Members, c.members) || !slices.Equal(ident.Attributes, c.attrs) {
		if t.bulk != nil { // the load holds the index: this cannot lag
			return nil, vigie.Errorf(vigie.EINTERNAL, "identity %s: the in-memory members differ from the stored ones", c.id)
		}
		t.x.refresh(c.id)
		return nil, errStale
	}
	return ident, nil
}

// heldByAttrs checks, when the best candidate was kept from an automatic
// link by its mirrored attributes, that the store still holds them (see
// checkAttrs). The identity is read in the transaction, so that a
// concurrent change of its attributes is a conflict.
func (t *tx) heldByAttrs(cands []*candidate) error {
	if len(cands) == 0 || !cands[0].byAttrs {
		return nil
	}
	ident, err := t.identity(cands[0].id)
	if err != nil {
		return t.mirrored(err)
	}
	return t.checkAttrs(cands[0], ident)
}

// checkAttrs returns errStale, after refreshing the mirror, when the
// attributes candidate c was scored with are not those stored in ident.
// Commits mirror themselves after committing, in whatever order their
// goroutines get there, so two concurrent changes of an identity's
// attributes can leave the mirror with the older set until the next
// change; resolution must not link into an identity the patient or staff
// marked doubtful (nor hold back from one no longer so) on such a lag.
func (t *tx) checkAttrs(c *candidate, ident *identity) error {
	if slices.Equal(ident.Attributes, c.attrs) {
		return nil
	}
	if t.bulk != nil { // the load holds the index: this cannot lag
		return vigie.Errorf(vigie.EINTERNAL, "identity %s: the in-memory attributes differ from the stored ones", c.id)
	}
	t.x.refresh(c.id)
	return errStale
}

// errStale makes update retry: the in-memory view lagged behind the store.
var errStale = errors.New("mpi: membership changed during resolution")

// mirrored passes on the error of reading, in the transaction, something
// the in-memory mirror named (a candidate identity, a member record, one
// of its versions). The mirror follows commits, not snapshots: a change
// committed after the transaction began (an unlink putting a record into
// a new identity) is in the mirror but not in the snapshot, and the read
// finds nothing. That is a lag to retry on a fresh snapshot (errStale),
// not a missing identity to report. A bulk load holds the index: there
// the mirror cannot be ahead, and not found stays an error.
func (t *tx) mirrored(err error) error {
	if t.bulk == nil && vigie.ErrorCode(err) == vigie.ENOTFOUND {
		return errStale
	}
	return err
}

// refresh reloads one identity's in-memory mirror from the latest committed
// state. Commits mirror themselves right after committing, so the mirror
// can only lag by a race between two commits' follow-ups: the retry that
// follows a refresh sees the store's state.
func (x *Index) refresh(id vigie.IdentityID) {
	var ident identity
	var found bool
	err := x.view(func(txn *store.Txn) error {
		var err error
		found, err = get(txn, identityKey(id), &ident)
		return err
	})
	if err != nil {
		return // the retry will fail on the same read and report it
	}
	x.memMu.Lock()
	defer x.memMu.Unlock()
	x.setIdentLocked(id, found && ident.Retired == 0, ident.Members, ident.Attributes)
}

// sameMembers reports whether the stored members of an identity are those
// the mirror gave (ordinals, in the same order).
func (x *Index) sameMembers(stored []vigie.SourceKey, mirrored []uint32) bool {
	if len(stored) != len(mirrored) {
		return false
	}
	x.memMu.RLock()
	defer x.memMu.RUnlock()
	for i, k := range stored {
		if o, ok := x.keys.find(k); !ok || o != mirrored[i] {
			return false
		}
	}
	return true
}

// linkable reports whether the best candidate may be linked automatically:
// it may by its own score and rules, and it is clearly ahead of the second.
func (x *Index) linkable(cands []*candidate, model *matcher.Model) bool {
	if len(cands) == 0 || !cands[0].autoLink() {
		return false
	}
	if len(cands) == 1 || cands[1].best.Probability < model.Review {
		return true
	}
	return cands[0].best.Weight-cands[1].best.Weight >= x.opts.MarginBits
}

// splitRivals handles the case linkable refuses for want of a margin: the
// best candidate may be linked by its own score and rules, and so may
// others, too close behind it. When every such rival matches the best
// candidate as strongly as the record does (see sameSplit), the record is
// evidence that they are one person split earlier: splitRivals returns the
// rivals (the record joins the best one and each rival is proposed for a
// merge, see openSplitReviews). Otherwise, and whenever linkable already
// allows the link, it returns nil: today's review.
func (t *tx) splitRivals(cands []*candidate, model *matcher.Model) ([]*candidate, error) {
	if len(cands) < 2 || !cands[0].autoLink() || t.x.linkable(cands, model) {
		return nil, nil
	}
	var rivals []*candidate
	for _, c := range cands[1:] {
		if c.best.Probability < model.Review {
			break // sorted by probability: no more rivals
		}
		if cands[0].best.Weight-c.best.Weight >= t.x.opts.MarginBits {
			continue
		}
		if !c.autoLink() || len(rivals) == maxReviews {
			return nil, nil
		}
		ok, err := t.sameSplit(cands[0], c, model)
		if err != nil || !ok {
			return nil, err
		}
		rivals = append(rivals, c)
	}
	for _, c := range rivals {
		// Read in the transaction: a concurrent change of a rival is a
		// conflict, and a lagging mirror a retry.
		if _, err := t.target(c); err != nil {
			return nil, err
		}
	}
	return rivals, nil
}

// sameSplit reports whether identities a and b may be one person split
// earlier: their closest pair of members is worth a person's look (at
// least the review level: the record, matching both at the auto-link
// level, is the evidence that bridges them), no hard rule fires between
// any pair of their members (twins, a father and his son, two INS), and
// no person marked any pair distinct.
func (t *tx) sameSplit(a, b *candidate, model *matcher.Model) (bool, error) {
	ma, err := t.memberForms(a.members)
	if err != nil {
		return false, err
	}
	mb, err := t.memberForms(b.members)
	if err != nil {
		return false, err
	}
	strong := false
	for _, x := range ma {
		for _, y := range mb {
			d, err := t.read(distinctKey(x.k, y.k), func([]byte) error { return nil })
			if err != nil || d {
				return false, err
			}
			c := matcher.Compare(x.p, y.p)
			s := model.Score(&c, t.x.freq)
			for _, r := range s.Rules {
				if r.Code != matcher.RuleINSMismatch {
					return false, nil
				}
			}
			strong = strong || s.Probability >= model.Review
		}
	}
	return strong, nil
}

type memberForm struct {
	k vigie.SourceKey
	p *matcher.Prepared
}

// memberForms reads the prepared forms of an identity's members (the first
// Options.MaxMembers of them, as score does).
func (t *tx) memberForms(ords []uint32) ([]memberForm, error) {
	x := t.x
	type member struct {
		k       vigie.SourceKey
		ord     uint32
		version int
	}
	ms := make([]member, 0, min(len(ords), x.opts.MaxMembers))
	x.memMu.RLock()
	for i, o := range ords {
		if i >= x.opts.MaxMembers {
			break
		}
		ms = append(ms, member{x.keys.key(o), o, int(x.recVersion[o])})
	}
	x.memMu.RUnlock()
	out := make([]memberForm, 0, len(ms))
	for _, m := range ms {
		if m.version == 0 { // a concurrent commit is mirroring itself: ask the store
			st, err := t.record(m.k)
			if err != nil {
				return nil, t.mirrored(err)
			}
			m.version = st.Version
		}
		p, err := t.prepared(m.k, m.ord, m.version)
		if err != nil {
			return nil, t.mirrored(err)
		}
		out = append(out, memberForm{m.k, p})
	}
	return out, nil
}

// openSplitReviews asks a person, for each rival, whether it is the same
// person as identity id, which record k has just joined (see splitRivals):
// a review of the record against the rival, with rule
// matcher.RuleSplitIdentity; "same" merges them.
func (t *tx) openSplitReviews(k vigie.SourceKey, id vigie.IdentityID, rivals []*candidate, res *Result) error {
	for _, c := range rivals {
		rc := *c
		rc.best.Rules = append(slices.Clip(c.best.Rules), matcher.Rule{Code: matcher.RuleSplitIdentity, Message: matcher.SplitIdentityMessage})
		rid, err := t.openReview(ReviewNew, k, id, &rc)
		if err != nil {
			return err
		}
		res.Reviews = append(res.Reviews, rid)
	}
	return nil
}

// decideNew places a new record: link, review or new identity.
func (t *tx) decideNew(k vigie.SourceKey, p *matcher.Prepared, st *recordState, cands []*candidate, model *matcher.Model, actor Actor, res *Result) error {
	if len(cands) > 0 {
		res.Candidate, res.Score = cands[0].id, &cands[0].best
	}
	rivals, err := t.splitRivals(cands, model)
	if err != nil {
		return err
	}
	if len(rivals) > 0 || t.x.linkable(cands, model) {
		c := cands[0]
		ident, err := t.target(c)
		if err != nil {
			return err
		}
		ident.Members = append(ident.Members, k)
		if err := t.setIdentity(ident); err != nil {
			return err
		}
		st.Identity = ident.ID
		res.Decision = DecisionLinked
		if err := t.event(&Event{Kind: EventLink, Actor: actor, Reason: "automatic link", Identity: ident.ID, Record: k, Version: st.Version,
			Moves: []Move{{Record: k, To: ident.ID}}, Matched: c.matched, Probability: c.best.Probability, Weight: c.best.Weight, Explanation: c.best.Reasons()}); err != nil {
			return err
		}
		if err := t.openSplitReviews(k, ident.ID, rivals, res); err != nil {
			return err
		}
		return t.undoLateEvidence(k, p, ident.ID, cands, model, res)
	}
	if err := t.heldByAttrs(cands); err != nil {
		return err
	}
	id, err := t.newID()
	if err != nil {
		return err
	}
	if err := t.setIdentity(&identity{ID: id, Members: []vigie.SourceKey{k}, Created: t.now}); err != nil {
		return err
	}
	if t.bulk != nil {
		t.bulk.born(id, t.now)
	}
	st.Identity = id
	res.Decision = DecisionNew
	if err := t.event(&Event{Kind: EventCreate, Actor: actor, Identity: id, Record: k, Version: st.Version, Moves: []Move{{Record: k, To: id}}}); err != nil {
		return err
	}
	if err := t.openReviews(ReviewNew, k, id, cands, model, res); err != nil {
		return err
	}
	return t.undoLateEvidence(k, p, id, cands, model, res)
}

// openReviews puts the record's identity and each candidate in the review
// band (up to maxReviews) to review.
func (t *tx) openReviews(kind string, k vigie.SourceKey, id vigie.IdentityID, cands []*candidate, model *matcher.Model, res *Result) error {
	for _, c := range cands {
		if len(res.Reviews) >= maxReviews || c.best.Probability < model.Review && !c.collision {
			break
		}
		rid, err := t.openReview(kind, k, id, c)
		if err != nil {
			return err
		}
		res.Reviews = append(res.Reviews, rid)
		res.Decision = DecisionReview
	}
	return nil
}

func (t *tx) openReview(kind string, k vigie.SourceKey, id vigie.IdentityID, c *candidate) (uint64, error) {
	n, err := t.x.seqReview.Next()
	if err != nil {
		return 0, err
	}
	order, err := t.x.seqOrder.Next()
	if err != nil {
		return 0, err
	}
	r := &Review{ID: n + 1, Kind: kind, Created: t.now, Priority: 1, Record: k, Identity: id, Candidate: c.id, Matched: c.matched,
		Probability: c.best.Probability, Weight: c.best.Weight, Explanation: c.best.Table(), Reasons: c.best.Reasons(),
		Status: StatusPending, Order: order + 1}
	for _, rule := range c.best.Rules {
		r.Rules = append(r.Rules, rule.Code)
	}
	r.Grade = c.best.Grade
	if r.Grade == matcher.GradeCertain {
		// Another member, the identity or a rival identity as close
		// held the link back: "certain" is the grade of the pairs the
		// index links by itself, and the review queue's pairs graded so
		// were two persons once in a hundred on the census populations
		// (issue 37), against one in ten thousand links.
		r.Grade = matcher.GradeProbable
	}
	for _, f := range c.best.Fields {
		r.Fields = append(r.Fields, ReviewField{Field: f.Field.String(), Level: f.Field.LevelName(f.Level), Weight: f.Weight, A: f.A, B: f.B})
	}
	if c.collision || slices.Contains(r.Rules, matcher.RuleDifferentINS) {
		r.Priority = 0
	}
	if r.Sites, err = t.reviewSites(r); err != nil {
		return 0, err
	}
	if err := t.put(reviewKey(r.ID), r); err != nil {
		return 0, err
	}
	if err := t.set(pendingKey(r.Priority, r.Order), u64(r.ID)); err != nil {
		return 0, err
	}
	if err := t.fileOpened(r); err != nil {
		return 0, err
	}
	return r.ID, t.event(&Event{Kind: EventReview, Actor: System, Identity: id, Other: c.id, Record: k, Matched: c.matched,
		Review: r.ID, Probability: c.best.Probability, Weight: c.best.Weight, Explanation: r.Reasons})
}

// decideUpdate re-resolves a new version of a known record. A record that
// shares its identity stays there: if it no longer fits, the change goes to
// review rather than silently splitting. A record alone in its identity (and
// not placed by a person) is resolved again like a new one, and its old
// identity retires into the one it joins, which gains its attributes (see
// retireInto: the patient's objection follows their record). That link
// merges two identities, so it is not made automatically when the old
// identity carries an attribute that forbids automatic links (doubtful,
// fictitious...: see noAutoLinkAttributes), just as no record is linked
// automatically into such an identity: the pair goes to review.
func (t *tx) decideUpdate(k vigie.SourceKey, st *recordState, p *matcher.Prepared, keys []matcher.BlockingKey, model *matcher.Model, actor Actor, res *Result) error {
	cur, _, err := live(t.Txn, st.Identity)
	if err != nil {
		return err
	}
	st.Identity = cur.ID
	res.Decision = DecisionUpdated
	upd := &Event{Kind: EventUpdate, Actor: actor, Identity: cur.ID, Record: k, Version: st.Version}
	if len(cur.Members) > 1 {
		c, err := t.score(k, p, cur.ID, model, false)
		if err != nil {
			return err
		}
		if c != nil {
			if err := t.checkAttrs(c, cur); err != nil {
				return err
			}
		}
		if err := t.event(upd); err != nil {
			return err
		}
		if c == nil || c.autoLink() {
			return nil
		}
		res.Candidate, res.Score = cur.ID, &c.best
		rid, err := t.openReview(ReviewUpdate, k, cur.ID, c) // always put to a person
		res.Reviews, res.Decision = append(res.Reviews, rid), DecisionReview
		return err
	}
	if st.Pinned {
		return t.event(upd)
	}
	cands, err := t.candidates(k, p, keys, model, cur.ID, true)
	if err != nil {
		return err
	}
	if len(cands) > 0 {
		res.Candidate, res.Score = cands[0].id, &cands[0].best
	}
	held := slices.ContainsFunc(cur.Attributes, func(a string) bool { return noAutoLinkAttributes[a] })
	var rivals []*candidate
	if !held {
		if rivals, err = t.splitRivals(cands, model); err != nil {
			return err
		}
	}
	if held || len(rivals) == 0 && !t.x.linkable(cands, model) {
		if err := t.heldByAttrs(cands); err != nil {
			return err
		}
		if err := t.event(upd); err != nil {
			return err
		}
		return t.openReviews(ReviewNew, k, cur.ID, cands, model, res)
	}
	c := cands[0]
	ident, err := t.target(c)
	if err != nil {
		return err
	}
	e := &Event{Kind: EventLink, Actor: actor, Reason: "automatic link of an updated record", Identity: ident.ID, Other: cur.ID,
		Record: k, Version: st.Version, Moves: []Move{{Record: k, From: cur.ID, To: ident.ID}}, Matched: c.matched,
		Probability: c.best.Probability, Weight: c.best.Weight, Explanation: c.best.Reasons()}
	retireInto(e, cur, ident, []vigie.SourceKey{k})
	ident.Members = append(ident.Members, k)
	for _, x := range []*identity{ident, cur} {
		if err := t.setIdentity(x); err != nil {
			return err
		}
	}
	st.Identity = ident.ID
	res.Decision = DecisionLinked
	if err := t.event(e); err != nil {
		return err
	}
	return t.openSplitReviews(k, ident.ID, rivals, res)
}
