// Package mpi is Vigie's patient index: for each real person it keeps one
// regional super-identity linking all of that person's source records, and
// it never loses or silently rewrites what a site sent.
//
// # Model
//
// A source record is keyed by (assigning authority, local id) — a SourceKey.
// Every version a site sent is kept verbatim with the time it was received;
// an update with new traits is a new version. A super-identity (ID) holds the
// current member records, attributes set by identity-vigilance staff, and a
// golden view computed on read by survivorship rules (see Golden). Every
// change of membership is an Event with its actor, reason, score and
// explanation; replaying the events in order gives the current membership.
//
// # Decisions
//
// Resolve links each record to at most ONE identity: the candidate identity
// whose best member scores highest, provided its probability reaches the
// model's auto-link threshold, no hard rule forbids it and it is clearly
// ahead of the second-best candidate (Options.MarginBits). Pairwise links are
// never closed transitively, and identities are merged only by an explicit
// decision (Merge, or Decide on a review). Between the thresholds, or when a
// hard rule flags the pair (one INS on conflicting traits, different INS on
// identical traits, a doubtful or fictitious identity), the record gets its
// own identity and the pair goes to the review queue. Pairs marked distinct
// are never linked automatically, and a manual decision always wins over a
// later automatic one: records a person placed are pinned.
//
// # Attributes
//
// Attributes (vigie.Attributes: doubtful, fictitious, the patient's
// objection OPPO...) belong to an identity and follow its records. When an
// identity retires because its records joined another (Merge, a Link of
// its last record, an updated record linked automatically), the identity
// joined gains its attributes, and the event saves both sides' (see
// Event.Retired); Unmerge and Unlink give the records' new identity those
// attributes back, with the changes made since. An identity whose
// attributes forbid automatic links into it is not merged away
// automatically either.
//
// # Storage
//
// Badger (opened by package store) is the source of truth. Every key of this
// package starts with "m/"; every value is one schema-version byte followed by
// JSON, except those read and written by every resolution: record states
// (m/r/), versions (m/h/), identities (m/i/) and events (m/e/, but for
// those that retire an identity, which carry snapshots) are in a compact
// positional encoding (schema byte 2, see binary.go; JSON values of earlier builds are
// still read), and
// the normalised forms (m/n/) in their own (see normal.go). Numbers in keys
// are 8-byte big-endian so that keys sort numerically;
// a source key inside a key is authority 0x00 local id (neither may contain
// a control character, Resolve refuses them).
//
//	m/r/<auth>\0<local>                     record: latest version, its identity, pinned flag, blocking keys
//	m/h/<auth>\0<local>\0<version:4>        every version received (verbatim traits, time)
//	m/n/<auth>\0<local>\0<version:4>        its normalised form (compact binary, see normal.go)
//	m/i/<identity:8>                        identity: members, attributes, or the survivor it was merged into
//	m/e/<event:8>                           membership event (append-only)
//	m/x/<identity:8><event:8>               events touching an identity (empty value)
//	m/q/<review:8>                          review of a pair, pending or decided
//	m/p/<priority:1><order:8>               pending review queue; value is the review id
//	m/ps/<len:2><authority><priority:1><order:8>  the same queue by site (review_index.go)
//	m/pi/<identity:8>                       ids of the pending reviews naming an identity
//	m/pv                                    the per-site queue is built
//	m/d/<len(a):2><a><b>                    pair of source keys marked distinct (both orders stored)
//	m/u/<merge event:8>                     the unmerge event that undid a merge
//	m/s/identity, m/s/event, m/s/review,
//	m/s/order                               Badger sequences
//	m/z/<identity:8>                        tombstone of an identity purged at the end of its retention (ids and counts)
//	m/y/<token>                             a retention purge run: its day and the ids it confirmed (see PurgeIn)
//
// Derived state kept in memory is rebuilt from the store by Open: the
// blocking index (each record's blocking keys are stored in its m/r/ value;
// memory maps each key to the records filed under it, so that finding
// candidates costs no store read), the mirror of every record's identity and
// every live identity's members, the term-frequency table, the record count
// used for the model's prior, and a bounded cache of normalised forms
// (encoded, in a ring of bytes, see cache.go). Each
// is updated only after the transaction that changed the store committed.
// The mirror knows records by ordinal and holds almost no pointers (see
// mirror.go), so that it stays small and cheap for the garbage collector at
// a million records.
//
// # Concurrency
//
// Every operation is one read-write Badger transaction, retried when Badger
// reports a conflict: every identity an operation writes, it has read in
// the same transaction, so two concurrent changes of one identity cannot
// both commit. Candidates are found in memory, which no transaction
// conflict covers, so Resolve also holds in-process locks on its record's
// blocking keys until the in-memory state reflects its commit: two records
// of the same person share at least one blocking key and are therefore
// resolved one after the other, the second seeing the first as a
// candidate. The identity a record is linked to is read again in the
// transaction and compared with what was scored; a difference retries. The
// store is opened by one process only (Badger locks its folder), so
// in-process locks are enough.
//
// # Bulk loads
//
// Import resolves a whole feed with the decisions Resolve would make row
// after row, without a transaction per row: new records are decided in
// feed order by one goroutine against the in-memory state, which is
// updated as each row is decided (ahead of the store, unlike online), and
// written a batch of rows per transaction, committed in the background.
// What the pending batches wrote stays readable to the decisions until
// they commit. This bypasses the stripe locks and Badger's conflict
// checks, so a load holds the index exclusively: every change asked
// meanwhile fails with ECONFLICT. Updates of known records go through
// Resolve itself, once the batches before them have committed.
package mpi
