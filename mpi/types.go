package mpi

import (
	"time"

	"vigie"
	"vigie/matcher"
)

// Actor is who made a change: System for automatic resolution, otherwise a
// person's user name.
type Actor string

// System is the actor of automatic decisions.
const System Actor = "system"

// Decision is what Resolve did with a record.
type Decision string

// Resolve's decisions.
const (
	DecisionNew       Decision = "new"       // no candidate: a new identity
	DecisionLinked    Decision = "linked"    // linked automatically to an existing identity
	DecisionReview    Decision = "review"    // own identity, and the pair(s) put to review
	DecisionUpdated   Decision = "updated"   // new version of a known record, still fitting its identity
	DecisionUnchanged Decision = "unchanged" // same traits as the latest version: nothing written
)

// Result is the outcome of Resolve.
type Result struct {
	Key      vigie.SourceKey
	Identity vigie.IdentityID
	Decision Decision
	Version  int // the record's version (1 for a new record)
	// Candidate is the best candidate identity and Score its best score
	// (nil when there was no candidate).
	Candidate vigie.IdentityID
	Score     *matcher.Score
	// Reviews lists the review items this resolution opened.
	Reviews []uint64
	// Warnings says what of the record was stored but not believed (an
	// unreadable or implausibly old birth date, an INS whose key is wrong), one sentence each naming
	// the field (matcher.Prepared.Warnings).
	Warnings []string
}

// Explanation returns the score table of the best candidate, or "".
func (r *Result) Explanation() string {
	if r.Score == nil {
		return ""
	}
	return r.Score.Table()
}

// Version is one version of a source record as it was received, verbatim.
type Version struct {
	Version  int          `json:"v"`
	Received time.Time    `json:"t"`
	Record   vigie.Record `json:"r"`
}

// Event kinds.
const (
	EventCreate     = "create"     // a new record got a new identity
	EventUpdate     = "update"     // a new version of a record
	EventLink       = "link"       // a record joined an identity (automatically or by a person)
	EventUnlink     = "unlink"     // a record was taken out into a new identity
	EventMerge      = "merge"      // an identity was merged into a survivor
	EventUnmerge    = "unmerge"    // a merge was undone
	EventDistinct   = "distinct"   // records or identities marked as different persons
	EventAttributes = "attributes" // an identity's attributes changed
	EventReview     = "review"     // a pair was put to review
	EventDecide     = "decide"     // a review was decided
)

// Move is one change of a record's identity inside an event. From is 0 for
// a new record.
type Move struct {
	Record vigie.SourceKey  `json:"record"`
	From   vigie.IdentityID `json:"from,omitempty"`
	To     vigie.IdentityID `json:"to"`
}

// Event is one entry of the append-only log of changes.
type Event struct {
	Seq      uint64           `json:"seq"`
	Time     time.Time        `json:"time"`
	Kind     string           `json:"kind"`
	Actor    Actor            `json:"actor"`
	Reason   string           `json:"reason,omitempty"`
	Identity vigie.IdentityID `json:"identity,omitempty"` // the identity the event is about (survivor of a merge)
	Other    vigie.IdentityID `json:"other,omitempty"`    // the second identity (retired one of a merge)
	Record   vigie.SourceKey  `json:"record,omitzero"`    // the record the event is about
	// OtherRecord is the second record of a pair marked distinct.
	OtherRecord vigie.SourceKey `json:"other_record,omitzero"`
	Version     int             `json:"version,omitempty"` // its version
	Moves       []Move          `json:"moves,omitempty"`
	// Matched is the member the record was scored closest to when it was
	// linked automatically (unmerge uses it to send late arrivals back).
	Matched     vigie.SourceKey `json:"matched,omitzero"`
	Probability float64         `json:"probability,omitempty"`
	Weight      float64         `json:"weight,omitempty"`
	Explanation []string        `json:"explanation,omitempty"`
	Review      uint64          `json:"review,omitempty"`
	// Attributes are, for an attributes event, the identity's attributes
	// after the change; for an unlink, those the new identity took back
	// from the identity the record had when it arrived (see Unlink).
	Attributes []string `json:"attributes,omitempty"`
	// Retired is, for an event that retired an identity (a merge, or a
	// link that moved its last record), the retired identity's members and
	// attributes at the time, and Survivor those of the identity it
	// retired into, before: so that Unmerge and Unlink can give each side
	// its own back, and a reader sees what attributes were carried.
	Retired  *snapshot `json:"retired,omitempty"`
	Survivor *snapshot `json:"survivor,omitempty"`
	// Undoes is, for an unmerge, the merge event it undid.
	Undoes uint64 `json:"undoes,omitempty"`
}

// snapshot is an identity's state saved in an event that retired one.
type snapshot struct {
	Members    []vigie.SourceKey `json:"members"`
	Attributes []string          `json:"attributes,omitempty"`
	Pinned     []vigie.SourceKey `json:"pinned,omitempty"`
}

// Review kinds.
const (
	ReviewNew    = "new"    // a new record resembles an existing identity
	ReviewUpdate = "update" // an updated record no longer fits its identity
)

// Review decisions.
const (
	Same      = "same"      // the same person: link / merge
	Different = "different" // different persons: mark distinct (unlink for an update)
	Skip      = "skip"      // not now: back of the queue
)

// Review is a pair put to identity-vigilance staff.
type Review struct {
	ID       uint64          `json:"id"`
	Kind     string          `json:"kind"`
	Created  time.Time       `json:"created"`
	Priority int             `json:"priority"` // 0 potential collision, 1 other
	Record   vigie.SourceKey `json:"record"`   // the record that triggered it
	// Identity is the record's identity when the review was opened, and
	// Candidate the other identity (for an update review, the identity the
	// record no longer fits, which is the same).
	Identity  vigie.IdentityID `json:"identity"`
	Candidate vigie.IdentityID `json:"candidate"`
	Matched   vigie.SourceKey  `json:"matched"` // the candidate's member closest to the record

	Probability float64 `json:"probability"`
	Weight      float64 `json:"weight"`
	// Grade is the pair's grade when the review was opened: never
	// "certain", the grade of the pairs the index links by itself. Empty
	// in reviews stored before it was kept (see ReviewGrade); reviews
	// stored before this rule may hold "certain" where no rule fired.
	Grade matcher.Grade `json:"grade,omitempty"`
	Rules []string      `json:"rules,omitempty"`
	// Fields are the per-field levels and weights of the score, for the
	// waterfall staff read next to the pair.
	Fields      []ReviewField `json:"fields,omitempty"`
	Explanation string        `json:"explanation"` // the score table
	Reasons     []string      `json:"reasons,omitempty"`

	// Sites are the assigning authorities the review concerned when it
	// was opened (the record's, the closest candidate record's, both
	// identities' members'): the sites' queues it is filed in while
	// pending (review_index.go).
	Sites []string `json:"sites,omitempty"`

	Status   string    `json:"status"` // pending or decided
	Decision string    `json:"decision,omitempty"`
	Actor    Actor     `json:"actor,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Decided  time.Time `json:"decided,omitzero"`
	Order    uint64    `json:"order"`

	// Golden views of both sides, filled in by Reviews at reading time.
	IdentityGolden  vigie.Record `json:"-"`
	CandidateGolden vigie.Record `json:"-"`
}

// ReviewField is one compared field of a review's score.
type ReviewField struct {
	Field  string  `json:"field"`
	Level  string  `json:"level"`
	Weight float64 `json:"weight"`
	A      string  `json:"a,omitempty"` // the record's value, for display
	B      string  `json:"b,omitempty"` // the candidate member's value
}

// Review statuses.
const (
	StatusPending = "pending"
	StatusDecided = "decided"
)

// ReviewGrade is the grade shown with a review: the one stored when it was
// opened or, for a review stored before grades were kept, one read from
// its probability, never "certain" when a rule fired.
func ReviewGrade(r *Review, m *matcher.Model) matcher.Grade {
	if r.Grade != "" {
		return r.Grade
	}
	switch {
	case r.Probability >= m.AutoLink && len(r.Rules) == 0:
		return matcher.GradeCertain
	case r.Probability >= m.Review:
		return matcher.GradeProbable
	}
	return matcher.GradePossible
}
