package rpc

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"vigie"
	"vigie/audit"
	"vigie/auth"
	"vigie/matcher"
	"vigie/mpi"
	vigiev1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
	"vigie/search"
	"vigie/sites"
)

// IdentityService serves vigie.v1.IdentityService over the patient index and
// its search index. Authentication, authorisation and the audit entry of
// every call are the interceptor's (auth); the handlers name the
// identities and records they read or change for that entry, and hide what
// the caller's role must not see.
type IdentityService struct {
	Index  *mpi.Index
	Search *search.Index
	// Log receives the warnings of answers whose stored text was
	// repaired (identity ids only); nil discards them.
	Log *slog.Logger
	// Gate decides who reads and changes which patient (access.go); nil
	// is a Gate without access codes nor break-the-glass.
	Gate *Gate
	// Sites names the establishments of restricted search results
	// (package sites); nil shows each as sites.Unknown.
	Sites *sites.Registry
}

func (s *IdentityService) gate() *Gate {
	if s.Gate == nil {
		return &Gate{Log: s.Log}
	}
	return s.Gate
}

// inScope checks, before a correction, that the caller may act on every
// identity given (vigilance: those holding a record of its sites). Any
// failure to read an identity refuses the call.
func (s *IdentityService) inScope(ctx context.Context, ids ...vigie.IdentityID) error {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return denied("", "no authenticated principal")
	}
	if p.Role == auth.RoleRegionalVigilance {
		audit.SetBasis(ctx, string(auth.BasisRegional))
		return nil
	}
	for _, id := range ids {
		ident, err := s.Index.Get(ctx, id)
		if err != nil {
			return err
		}
		if _, err := s.gate().Patient(ctx, &ident, id); err != nil {
			return err
		}
	}
	return nil
}

// warnRepaired logs, by identity id and never by content, that an answer
// showed an identity's stored text with U+FFFD in place of bytes that are
// not UTF-8.
func (s *IdentityService) warnRepaired(ctx context.Context, proc, id string, n int) {
	if s.Log != nil {
		s.Log.WarnContext(ctx, "stored text that is not valid UTF-8 shown with U+FFFD", "procedure", proc, "identity", id, "strings", n)
	}
}

// catchingUpNotice is the notice of a search answered while the index is
// catching up (see SearchIdentitiesResponse.partial).
const catchingUpNotice = "the search index is catching up with the patient index after a start: an identity created or corrected in the last minutes may be missing or out of date"

var _ vigiev1connect.IdentityServiceHandler = (*IdentityService)(nil)

// seesHidden reports whether the caller may see hidden identities and those
// of patients who objected: identity-vigilance staff only.
func seesHidden(ctx context.Context) bool {
	p, ok := auth.PrincipalFrom(ctx)
	return ok && p.Role.SeesHidden()
}

// actor is who the patient index records as the author of a change.
func actor(ctx context.Context) mpi.Actor {
	if p, ok := auth.PrincipalFrom(ctx); ok && p.Name != "" {
		return mpi.Actor(p.Name)
	}
	return mpi.System
}

func hidden(attrs []string) bool {
	for _, a := range attrs {
		if slices.Contains(vigie.HiddenAttributes, a) {
			return true
		}
	}
	return false
}

// sync brings the search index up to date after a change, so that the
// caller's next search sees it.
//
// An index still catching up after a start is left to its follower: the
// caller's call must not wait for a whole catch-up (or rebuild), and the
// follower applies the change with the others.
//
// A catch-up that fails leaves the index behind until the follower's next
// round (it retries every interval): the change is stored, the call
// answers, and the failure is logged once with the call's request id, as
// the caller's next search may not see the change yet.
func (s *IdentityService) sync(ctx context.Context) {
	if s.Search != nil && s.Search.Ready() {
		if _, err := s.Search.CatchUp(ctx, s.Index); err != nil && s.Log != nil {
			s.Log.WarnContext(ctx, "search index: catching up after a change failed; the follower tries again", "request", auth.RequestID(ctx), "error", err.Error())
		}
	}
}

// readBackFailed logs, once with the call's request id, that a change was
// stored but its event could not be read back for the answer, which then
// says what was done without the stored event's details.
func (s *IdentityService) readBackFailed(ctx context.Context, what string, err error) {
	if s.Log != nil {
		s.Log.WarnContext(ctx, "a change was stored but its event could not be read back for the answer", "request", auth.RequestID(ctx),
			"change", what, "error", err.Error())
	}
}

func parseID(field, v string) (vigie.IdentityID, error) {
	id, err := vigie.ParseIdentityID(v)
	if err != nil {
		return 0, vigie.Invalid(field, "%q is not an identity id", v)
	}
	return id, nil
}

func parseSeq(field, v string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil || n == 0 {
		return 0, vigie.Invalid(field, "%q is not an event or review id", v)
	}
	return n, nil
}

// needReason checks the reason of a correction: required, and text by the
// rule and bound every stored text obeys (matcher.CleanText).
func needReason(reason string) error {
	if strings.TrimSpace(reason) == "" {
		return vigie.Invalid("reason", "a correction needs a reason: it is kept in the identity's history")
	}
	_, err := matcher.CleanText("reason", reason, vigie.MaxReasonChars)
	return err
}

// ResolveRecord stores a source record and links it.
func (s *IdentityService) ResolveRecord(ctx context.Context, req *connect.Request[vigiev1.ResolveRecordRequest]) (*connect.Response[vigiev1.ResolveRecordResponse], error) {
	r := req.Msg.GetRecord()
	if r == nil {
		return nil, ConnectError(vigie.Invalid("record", "a source record is required"))
	}
	rec := RecordFromProto(r)
	audit.TouchRecord(ctx, rec.Authority, rec.LocalID)
	res, err := s.Index.Resolve(ctx, rec, actor(ctx))
	if err != nil {
		return nil, ConnectError(err)
	}
	audit.Touch(ctx, res.Identity.String())
	out := &vigiev1.ResolveRecordResponse{IdentityId: res.Identity.String(), Decision: decisionToProto(res.Decision)}
	if res.Score != nil {
		out.Probability = res.Score.Probability
		out.Grade = GradeToProto(res.Score.Grade)
		out.Explanation = ExplanationToProto(res.Score)
		if p, _ := auth.PrincipalFrom(ctx); p == nil || p.Role != auth.RoleRegionalVigilance && p.Role != auth.RoleVigilance {
			// A feed needs the identity and the decision: the values
			// compared are the matched identity's demographics, from
			// other sites and perhaps of a hidden identity.
			stripValues(out.Explanation)
		}
	}
	if len(res.Reviews) > 0 {
		out.ReviewId = strconv.FormatUint(res.Reviews[0], 10)
	}
	out.Warnings = res.Warnings
	// No catch-up of the search index here: ingestion pipelines resolve
	// thousands of records a second and the server's follower indexes
	// them within its interval; corrections by people do catch up at once.
	return connect.NewResponse(out), nil
}

// stripValues keeps an explanation's fields, levels, weights and rule
// codes, and drops every value and rule message (which may quote them).
func stripValues(e *vigiev1.Explanation) {
	for _, f := range e.GetFields() {
		f.ValueA, f.ValueB = "", ""
	}
	for _, r := range e.GetRules() {
		r.Message = ""
	}
}

func decisionToProto(d mpi.Decision) vigiev1.Decision {
	switch d {
	case mpi.DecisionNew:
		return vigiev1.Decision_DECISION_NEW_IDENTITY
	case mpi.DecisionLinked, mpi.DecisionUpdated:
		return vigiev1.Decision_DECISION_AUTO_LINK
	case mpi.DecisionReview:
		return vigiev1.Decision_DECISION_REVIEW
	case mpi.DecisionUnchanged:
		return vigiev1.Decision_DECISION_UNCHANGED
	}
	return vigiev1.Decision_DECISION_UNSPECIFIED
}

// GetIdentity returns an identity with its sources and history. A retired
// id leads to its survivor; a hidden identity is not found for callers who
// may not see it.
func (s *IdentityService) GetIdentity(ctx context.Context, req *connect.Request[vigiev1.GetIdentityRequest]) (*connect.Response[vigiev1.GetIdentityResponse], error) {
	id, err := parseID("identity_id", req.Msg.GetIdentityId())
	if err != nil {
		return nil, ConnectError(err)
	}
	ident, err := s.Index.Get(ctx, id)
	if err != nil {
		return nil, ConnectError(err)
	}
	if _, err := s.gate().Patient(ctx, &ident, id); err != nil {
		return nil, ConnectError(err)
	}
	events, err := s.Index.Events(ctx, ident.ID)
	if err != nil {
		return nil, ConnectError(err)
	}
	// The console shows each record's establishment by name, never its
	// OID (sites.Unknown for one the registry does not know).
	names, err := s.siteNames(ctx)
	if err != nil {
		return nil, ConnectError(err)
	}
	audit.Touch(ctx, ident.ID.String())
	golden, bad := recordToProto(ident.Golden)
	out := &vigiev1.Identity{Id: ident.ID.String(), Golden: golden, Attributes: ident.Attributes}
	if ident.ID != id {
		out.MergedIntoIdentityId = ident.ID.String()
		audit.Touch(ctx, id.String())
	}
	for _, m := range ident.Members {
		out.Sources = append(out.Sources, &vigiev1.SourceKey{Authority: m.Authority, LocalId: m.LocalID, Site: names.Of(m.Authority)})
		audit.TouchRecord(ctx, m.Authority, m.LocalID)
		rec := vigie.Record{Authority: m.Authority, LocalID: m.LocalID}
		if v, err := s.Index.Latest(ctx, m); err == nil {
			rec = v.Record
		}
		r, n := recordToProto(rec)
		bad += n
		out.Records = append(out.Records, r)
	}
	for i := range events {
		e := EventToProto(&events[i])
		for _, k := range e.Records {
			k.Site = names.Of(k.GetAuthority())
		}
		out.Events = append(out.Events, e)
	}
	// One record holding bytes that are not UTF-8 must not fail the whole
	// identity: it is shown repaired, with a notice. RecordToProto has
	// repaired the records (counted in bad); RepairText repairs the rest
	// (attributes, source keys, events).
	if bad += RepairText(out); bad > 0 {
		out.Notice = textNotice
		s.warnRepaired(ctx, "GetIdentity", out.Id, bad)
	}
	return connect.NewResponse(&vigiev1.GetIdentityResponse{Identity: out}), nil
}

// SearchIdentities ranks identities against what the caller knows.
func (s *IdentityService) SearchIdentities(ctx context.Context, req *connect.Request[vigiev1.SearchIdentitiesRequest]) (*connect.Response[vigiev1.SearchIdentitiesResponse], error) {
	if s.Search == nil {
		return nil, connect.NewError(connect.CodeUnavailable, errors.New("the search index is not open"))
	}
	m := req.Msg
	q := search.Query{INS: m.GetIns(), Limit: int(m.GetLimit()), IncludeHidden: seesHidden(ctx)}
	for _, l := range m.GetLocalIds() {
		q.LocalIDs = append(q.LocalIDs, search.LocalID{Authority: l.GetAuthority(), LocalID: l.GetLocalId()})
	}
	if t := m.GetTraits(); t != nil {
		q.BirthName, q.FirstNames, q.BirthDate, q.Sex = t.GetName(), t.GetFirstNames(), t.GetBirthDate(), t.GetSex()
		q.BirthPlace, q.PostalCode = t.GetBirthPlace(), t.GetPostalCode()
	}
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil, ConnectError(denied("", "no authenticated principal"))
	}
	hits, err := s.Search.Search(ctx, q)
	if err != nil {
		return nil, ConnectError(err)
	}
	var names sites.Names // read at the first restricted hit
	out := &vigiev1.SearchIdentitiesResponse{}
	if !s.Search.Ready() {
		out.Partial, out.Notice = true, catchingUpNotice
	}
	for _, h := range hits {
		id, err := vigie.ParseIdentityID(h.ID)
		if err != nil {
			return nil, ConnectError(s.gate().internal(ctx, "search hit id", err))
		}
		ident := vigie.Identity{ID: id, Attributes: h.Golden.Attributes}
		for _, src := range h.Sources {
			ident.Members = append(ident.Members, vigie.SourceKey{Authority: src.Authority, LocalID: src.LocalID})
		}
		if h.Hidden || hidden(h.Golden.Attributes) {
			ident.Attributes = append(slices.Clone(ident.Attributes), vigie.HiddenAttributes[0])
		}
		seen, err := s.gate().Seen(ctx, p, &ident)
		if err != nil {
			return nil, ConnectError(err)
		}
		if !seen {
			if hidden(ident.Attributes) {
				continue // out of a vigilance's scope: not even its name
			}
			if names == nil {
				if names, err = s.siteNames(ctx); err != nil {
					return nil, ConnectError(err)
				}
			}
			audit.Touch(ctx, h.ID)
			r, bad := restrictedResult(&h, names)
			if bad > 0 {
				s.warnRepaired(ctx, "SearchIdentities", h.ID, bad)
			}
			out.Results = append(out.Results, r)
			continue
		}
		golden, bad := recordToProto(h.Golden)
		r := &vigiev1.SearchResult{IdentityId: h.ID, Probability: h.Probability, Grade: GradeToProto(h.Grade),
			Reasons: h.Reasons, Golden: golden}
		valid := bad == 0
		for _, src := range h.Sources {
			valid = valid && utf8.ValidString(src.Authority) && utf8.ValidString(src.LocalID)
			r.Sources = append(r.Sources, &vigiev1.SourceKey{Authority: src.Authority, LocalId: src.LocalID})
		}
		// One identity holding bytes that are not UTF-8 is shown
		// repaired, with a notice, and never fails the whole list.
		if !valid {
			bad += RepairText(r) // the source keys
			r.Notice = textNotice
			s.warnRepaired(ctx, "SearchIdentities", h.ID, bad)
		}
		audit.Touch(ctx, h.ID)
		out.Results = append(out.Results, r)
	}
	return connect.NewResponse(out), nil
}

// siteNames reads the site registry (never nil: an empty lookup without
// one, every establishment then sites.Unknown).
func (s *IdentityService) siteNames(ctx context.Context) (sites.Names, error) {
	if s.Sites == nil {
		return sites.Names{}, nil
	}
	names, err := s.Sites.Names(ctx)
	if err != nil {
		return nil, s.gate().internal(ctx, "site names", err)
	}
	if names == nil {
		names = sites.Names{}
	}
	return names, nil
}

// restrictedResult is what a caller without a basis sees of a hit: what
// is needed to choose (names, sex, birth year, sites by name), nothing
// that identifies the patient further (no birth date, address, phone,
// INS, source records).
//
// It returns the number of strings shown that were repaired (text that is
// not UTF-8, shown as U+FFFD): the result then carries textNotice, as a
// full result or GetIdentity does.
func restrictedResult(h *search.Hit, names sites.Names) (*vigiev1.SearchResult, int) {
	g := &h.Golden
	golden, bad := recordToProto(vigie.Record{BirthName: g.BirthName, UsedName: g.UsedName, FirstNames: g.FirstNames,
		FirstName: g.FirstName, Sex: g.Sex})
	r := &vigiev1.SearchResult{IdentityId: h.ID, Probability: h.Probability, Grade: GradeToProto(h.Grade),
		Golden: golden, Restricted: true}
	if len(g.BirthDate) >= 4 {
		if !utf8.ValidString(g.BirthDate) {
			bad++
		}
		r.BirthYear = strings.ToValidUTF8(g.BirthDate[:4], "")
	}
	var shown []string
	for _, src := range h.Sources {
		shown = append(shown, names.Of(src.Authority))
	}
	slices.Sort(shown)
	r.SiteNames = slices.Compact(shown)
	// The site names and the id: recordToProto repaired the golden
	// record's strings and the birth year is cut valid, so these are the
	// only ones left (what RepairText would find, without walking the
	// whole message by reflection at every restricted hit).
	for i, s := range r.SiteNames {
		if !utf8.ValidString(s) {
			r.SiteNames[i], bad = strings.ToValidUTF8(s, "\uFFFD"), bad+1
		}
	}
	if !utf8.ValidString(r.IdentityId) {
		r.IdentityId, bad = strings.ToValidUTF8(r.IdentityId, "\uFFFD"), bad+1
	}
	if bad > 0 {
		r.Notice = textNotice
	}
	return r, bad
}

// maxReviewPage bounds a page of the review queue.
const maxReviewPage = 200

// ListReviews pages through the pending reviews, most urgent first. The page
// token is the number of reviews already returned.
func (s *IdentityService) ListReviews(ctx context.Context, req *connect.Request[vigiev1.ListReviewsRequest]) (*connect.Response[vigiev1.ListReviewsResponse], error) {
	size := int(req.Msg.GetPageSize())
	if size <= 0 {
		size = 50
	}
	if size > maxReviewPage {
		return nil, ConnectError(vigie.Invalid("page_size", "%d is above %d", size, maxReviewPage))
	}
	offset := 0
	if tok := req.Msg.GetPageToken(); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 {
			return nil, ConnectError(vigie.Invalid("page_token", "%q is not a page token from this service", tok))
		}
		offset = n
	}
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil, ConnectError(denied("", "no authenticated principal"))
	}
	var reviews []mpi.Review
	var err error
	if p.Role == auth.RoleRegionalVigilance {
		reviews, err = s.Index.Reviews(ctx, offset+size+1)
	} else {
		// Site vigilance: the reviews filed under its sites (the
		// per-site queue), each checked by reviewVisible as it is now:
		// the index narrows the reading, it grants nothing.
		reviews, err = s.Index.ReviewsOfSites(ctx, p.Authorities, offset+size+1, func(r *mpi.Review) (bool, error) {
			return s.reviewVisible(ctx, p, r)
		})
	}
	if err != nil {
		return nil, ConnectError(err)
	}
	names, err := s.siteNames(ctx)
	if err != nil {
		return nil, ConnectError(err)
	}
	out := &vigiev1.ListReviewsResponse{}
	if len(reviews) > offset+size {
		out.NextPageToken = strconv.Itoa(offset + size)
		reviews = reviews[:offset+size]
	}
	if offset < len(reviews) {
		reviews = reviews[offset:]
	} else {
		reviews = nil
	}
	for i := range reviews {
		r := &reviews[i]
		rec := vigie.Record{Authority: r.Record.Authority, LocalID: r.Record.LocalID}
		if v, err := s.Index.Latest(ctx, r.Record); err == nil {
			rec = v.Record
		}
		pr := &vigiev1.Review{Id: strconv.FormatUint(r.ID, 10), Created: timestamppb.New(r.Created), Record: RecordToProto(rec),
			IdentityId: r.Identity.String(), Site: names.Of(r.Record.Authority)}
		cand := &vigiev1.ReviewCandidate{IdentityId: r.Candidate.String(), Probability: r.Probability,
			Golden: RecordToProto(r.CandidateGolden), Explanation: reviewExplanation(r)}
		cand.Grade = GradeToProto(mpi.ReviewGrade(r, s.Index.Model()))
		pr.Candidates = append(pr.Candidates, cand)
		audit.Touch(ctx, r.Identity.String(), r.Candidate.String())
		audit.TouchRecord(ctx, r.Record.Authority, r.Record.LocalID)
		out.Reviews = append(out.Reviews, pr)
	}
	return connect.NewResponse(out), nil
}

// reviewExplanation is the explanation of a stored review: its fields,
// weight and the rules that fired.
func reviewExplanation(r *mpi.Review) *vigiev1.Explanation {
	e := &vigiev1.Explanation{Weight: r.Weight}
	for _, code := range r.Rules {
		e.Rules = append(e.Rules, &vigiev1.RuleExplanation{Code: code})
	}
	for _, f := range r.Fields {
		e.Fields = append(e.Fields, &vigiev1.FieldExplanation{Field: f.Field, Level: f.Level, Weight: f.Weight, ValueA: f.A, ValueB: f.B})
	}
	return e
}

// DecideReview settles a pending review.
func (s *IdentityService) DecideReview(ctx context.Context, req *connect.Request[vigiev1.DecideReviewRequest]) (*connect.Response[vigiev1.DecideReviewResponse], error) {
	m := req.Msg
	id, err := parseSeq("review_id", m.GetReviewId())
	if err != nil {
		return nil, ConnectError(err)
	}
	if err := s.reviewInScope(ctx, id); err != nil {
		return nil, ConnectError(err)
	}
	if err := needReason(m.GetReason()); err != nil {
		return nil, ConnectError(err)
	}
	var decision string
	switch m.GetOutcome() {
	case vigiev1.ReviewOutcome_REVIEW_OUTCOME_LINK:
		decision = mpi.Same
	case vigiev1.ReviewOutcome_REVIEW_OUTCOME_DISTINCT:
		decision = mpi.Different
	case vigiev1.ReviewOutcome_REVIEW_OUTCOME_KEEP_SEPARATE:
		// Not the same person for now, without forbidding a later link:
		// the review goes to the back of the queue.
		decision = mpi.Skip
	default:
		return nil, ConnectError(vigie.Invalid("outcome", "an outcome is required (link, keep_separate or distinct)"))
	}
	since, err := s.Index.LastEvent(ctx)
	if err != nil {
		return nil, ConnectError(err)
	}
	if err := s.Index.Decide(ctx, id, decision, actor(ctx), m.GetReason()); err != nil {
		return nil, ConnectError(err)
	}
	// Every event the decision wrote (the decision itself, the merge,
	// distinct mark or unlink it caused) names the review; events other
	// callers wrote meanwhile do not.
	out := &vigiev1.DecideReviewResponse{}
	err = s.Index.EventsAfter(ctx, since, func(e mpi.Event) error {
		if e.Review == id {
			out.Events = append(out.Events, EventToProto(&e))
			if out.IdentityId == "" && e.Identity != 0 {
				out.IdentityId = e.Identity.String()
			}
			for _, t := range e.Touched() {
				audit.Touch(ctx, t.String())
			}
		}
		return nil
	})
	if err != nil {
		return nil, ConnectError(err)
	}
	s.sync(ctx)
	return connect.NewResponse(out), nil
}

// reviewVisible reports whether p may see and decide review r: regional
// vigilance every review; site vigilance a review whose record is of one
// of its sites, or whose record's identity or candidate identity (as they
// are now, after merges) holds a record of one of its sites; any other
// role none. An identity that no longer exists counts for nothing; any
// other error refuses.
func (s *IdentityService) reviewVisible(ctx context.Context, p *auth.Principal, r *mpi.Review) (bool, error) {
	switch p.Role {
	case auth.RoleRegionalVigilance:
		return true, nil
	case auth.RoleVigilance:
	default:
		return false, nil
	}
	if p.HasSite(r.Record.Authority) {
		return true, nil
	}
	for _, id := range []vigie.IdentityID{r.Identity, r.Candidate} {
		ident, err := s.Index.Get(ctx, id)
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			continue
		}
		if err != nil {
			return false, err
		}
		if anyMember(&ident, p.HasSite) {
			return true, nil
		}
	}
	return false, nil
}

// reviewInScope checks that the caller may decide review id
// (reviewVisible). A review out of its scope is not found, with the same
// answer as a review that does not exist; one in scope but already
// decided is left to Decide to refuse.
func (s *IdentityService) reviewInScope(ctx context.Context, id uint64) error {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return denied("", "no authenticated principal")
	}
	notFound := vigie.Errorf(vigie.ENOTFOUND, "review %d does not exist", id)
	r, err := s.Index.Review(ctx, id)
	if vigie.ErrorCode(err) == vigie.ENOTFOUND {
		return notFound
	}
	if err != nil {
		return err
	}
	ok, err = s.reviewVisible(ctx, p, &r)
	if err != nil {
		return err
	}
	if !ok {
		return notFound
	}
	if p.Role == auth.RoleRegionalVigilance {
		audit.SetBasis(ctx, string(auth.BasisRegional))
	} else {
		audit.SetBasis(ctx, string(auth.BasisSite))
	}
	return nil
}

// Link moves a source record into an identity.
func (s *IdentityService) Link(ctx context.Context, req *connect.Request[vigiev1.LinkRequest]) (*connect.Response[vigiev1.LinkResponse], error) {
	m := req.Msg
	k, err := sourceKey("record", m.GetRecord())
	if err != nil {
		return nil, ConnectError(err)
	}
	to, err := parseID("target_identity_id", m.GetTargetIdentityId())
	if err != nil {
		return nil, ConnectError(err)
	}
	if err := s.inScope(ctx, to); err != nil {
		return nil, ConnectError(err)
	}
	if err := needReason(m.GetReason()); err != nil {
		return nil, ConnectError(err)
	}
	seq, err := s.Index.Link(ctx, k, to, actor(ctx), m.GetReason())
	if err != nil {
		return nil, ConnectError(err)
	}
	audit.TouchRecord(ctx, k.Authority, k.LocalID)
	audit.Touch(ctx, to.String())
	s.sync(ctx)
	return connect.NewResponse(&vigiev1.LinkResponse{Event: s.event(ctx, seq, mpi.EventLink, m.GetReason())}), nil
}

// Unlink takes a source record out into a new identity.
func (s *IdentityService) Unlink(ctx context.Context, req *connect.Request[vigiev1.UnlinkRequest]) (*connect.Response[vigiev1.UnlinkResponse], error) {
	m := req.Msg
	k, err := sourceKey("record", m.GetRecord())
	if err != nil {
		return nil, ConnectError(err)
	}
	if cur, err := s.Index.IdentityOf(ctx, k.Authority, k.LocalID); err != nil {
		return nil, ConnectError(err)
	} else if err := s.inScope(ctx, cur); err != nil {
		return nil, ConnectError(err)
	}
	if err := needReason(m.GetReason()); err != nil {
		return nil, ConnectError(err)
	}
	since, err := s.Index.LastEvent(ctx)
	if err != nil {
		return nil, ConnectError(err)
	}
	id, err := s.Index.Unlink(ctx, k, actor(ctx), m.GetReason())
	if err != nil {
		return nil, ConnectError(err)
	}
	audit.TouchRecord(ctx, k.Authority, k.LocalID)
	audit.Touch(ctx, id.String())
	out := &vigiev1.UnlinkResponse{NewIdentityId: id.String()}
	err = s.Index.EventsAfter(ctx, since, func(e mpi.Event) error {
		if e.Kind == mpi.EventUnlink && e.Record == k {
			out.Event = EventToProto(&e)
		}
		return nil
	})
	if err != nil {
		s.readBackFailed(ctx, mpi.EventUnlink, err)
	}
	if out.Event == nil {
		out.Event = &vigiev1.IdentityEvent{Time: timestamppb.New(time.Now()), Actor: string(actor(ctx)), Kind: mpi.EventUnlink,
			Reason: m.GetReason(), Records: []*vigiev1.SourceKey{{Authority: k.Authority, LocalId: k.LocalID}}, IdentityIds: []string{id.String()}}
	}
	s.sync(ctx)
	return connect.NewResponse(out), nil
}

// Merge merges one identity into a survivor.
func (s *IdentityService) Merge(ctx context.Context, req *connect.Request[vigiev1.MergeRequest]) (*connect.Response[vigiev1.MergeResponse], error) {
	m := req.Msg
	survivor, err := parseID("survivor_identity_id", m.GetSurvivorIdentityId())
	if err != nil {
		return nil, ConnectError(err)
	}
	retired, err := parseID("merged_identity_id", m.GetMergedIdentityId())
	if err != nil {
		return nil, ConnectError(err)
	}
	if err := s.inScope(ctx, survivor, retired); err != nil {
		return nil, ConnectError(err)
	}
	if err := needReason(m.GetReason()); err != nil {
		return nil, ConnectError(err)
	}
	seq, err := s.Index.Merge(ctx, survivor, retired, actor(ctx), m.GetReason())
	if err != nil {
		return nil, ConnectError(err)
	}
	audit.Touch(ctx, survivor.String(), retired.String())
	s.sync(ctx)
	return connect.NewResponse(&vigiev1.MergeResponse{Event: s.event(ctx, seq, mpi.EventMerge, m.GetReason())}), nil
}

// Unmerge undoes a merge.
func (s *IdentityService) Unmerge(ctx context.Context, req *connect.Request[vigiev1.UnmergeRequest]) (*connect.Response[vigiev1.UnmergeResponse], error) {
	m := req.Msg
	mergeSeq, err := parseSeq("merge_event_id", m.GetMergeEventId())
	if err != nil {
		return nil, ConnectError(err)
	}
	ev, err := s.Index.Event(ctx, mergeSeq)
	if err != nil {
		return nil, ConnectError(err)
	}
	if err := s.inScope(ctx, ev.Touched()...); err != nil {
		return nil, ConnectError(err)
	}
	if err := needReason(m.GetReason()); err != nil {
		return nil, ConnectError(err)
	}
	seq, err := s.Index.Unmerge(ctx, mergeSeq, actor(ctx), m.GetReason())
	if err != nil {
		return nil, ConnectError(err)
	}
	done := s.event(ctx, seq, mpi.EventUnmerge, m.GetReason())
	out := &vigiev1.UnmergeResponse{Event: done, IdentityIds: done.GetIdentityIds()}
	audit.Touch(ctx, out.IdentityIds...)
	s.sync(ctx)
	return connect.NewResponse(out), nil
}

// MarkDistinct records that two identities are different persons.
func (s *IdentityService) MarkDistinct(ctx context.Context, req *connect.Request[vigiev1.MarkDistinctRequest]) (*connect.Response[vigiev1.MarkDistinctResponse], error) {
	m := req.Msg
	a, err := parseID("first_identity_id", m.GetFirstIdentityId())
	if err != nil {
		return nil, ConnectError(err)
	}
	b, err := parseID("second_identity_id", m.GetSecondIdentityId())
	if err != nil {
		return nil, ConnectError(err)
	}
	if err := s.inScope(ctx, a, b); err != nil {
		return nil, ConnectError(err)
	}
	if err := needReason(m.GetReason()); err != nil {
		return nil, ConnectError(err)
	}
	seq, err := s.Index.MarkDistinct(ctx, a, b, actor(ctx), m.GetReason())
	if err != nil {
		return nil, ConnectError(err)
	}
	audit.Touch(ctx, a.String(), b.String())
	return connect.NewResponse(&vigiev1.MarkDistinctResponse{Event: s.event(ctx, seq, mpi.EventDistinct, m.GetReason())}), nil
}

// SetAttributes adds and removes attributes of an identity.
func (s *IdentityService) SetAttributes(ctx context.Context, req *connect.Request[vigiev1.SetAttributesRequest]) (*connect.Response[vigiev1.SetAttributesResponse], error) {
	m := req.Msg
	id, err := parseID("identity_id", m.GetIdentityId())
	if err != nil {
		return nil, ConnectError(err)
	}
	if err := s.inScope(ctx, id); err != nil {
		return nil, ConnectError(err)
	}
	if err := needReason(m.GetReason()); err != nil {
		return nil, ConnectError(err)
	}
	for _, l := range []struct {
		field string
		v     []string
	}{{"add", m.GetAdd()}, {"remove", m.GetRemove()}} {
		if len(l.v) > vigie.MaxAttributes {
			return nil, ConnectError(vigie.Invalid(l.field, "more than %d entries (the limit)", vigie.MaxAttributes))
		}
		for _, a := range l.v {
			if _, err := matcher.CleanText(l.field, a, vigie.MaxCodeChars); err != nil {
				return nil, ConnectError(err)
			}
		}
	}
	// The index applies the additions and removals to the attributes as
	// they are in its write transaction: reading them here and sending
	// the whole set back lost concurrent changes.
	ch, err := s.Index.ChangeAttributes(ctx, id, m.GetAdd(), m.GetRemove(), actor(ctx), m.GetReason())
	if err != nil {
		return nil, ConnectError(err)
	}
	audit.Touch(ctx, ch.Identity.String())
	s.sync(ctx)
	return connect.NewResponse(&vigiev1.SetAttributesResponse{Attributes: ch.Attributes, Event: s.event(ctx, ch.Seq, mpi.EventAttributes, m.GetReason())}), nil
}

// event reads back the event a correction wrote, or describes it from what
// is known when it cannot be read.
func (s *IdentityService) event(ctx context.Context, seq uint64, kind, reason string) *vigiev1.IdentityEvent {
	e, err := s.Index.Event(ctx, seq)
	if err == nil {
		return EventToProto(&e)
	}
	s.readBackFailed(ctx, kind, err)
	return &vigiev1.IdentityEvent{Id: strconv.FormatUint(seq, 10), Time: timestamppb.New(time.Now()), Actor: string(actor(ctx)), Kind: kind, Reason: reason}
}

func sourceKey(field string, k *vigiev1.SourceKey) (vigie.SourceKey, error) {
	if k == nil || strings.TrimSpace(k.GetAuthority()) == "" || strings.TrimSpace(k.GetLocalId()) == "" {
		return vigie.SourceKey{}, vigie.Invalid(field, "both authority and local_id are required")
	}
	return vigie.SourceKey{Authority: k.GetAuthority(), LocalID: k.GetLocalId()}, nil
}

// RecordFromProto converts a source record message.
func RecordFromProto(r *vigiev1.SourceRecord) vigie.Record {
	return vigie.Record{Authority: r.GetAuthority(), LocalID: r.GetLocalId(), INS: r.GetIns(), INSOID: r.GetInsOid(),
		Status: r.GetStatus(), BirthName: r.GetBirthName(), UsedName: r.GetUsedName(), FirstNames: r.GetFirstNames(),
		FirstName: r.GetFirstName(), BirthDate: r.GetBirthDate(), Sex: r.GetSex(), BirthPlace: r.GetBirthPlace(),
		PostalCode: r.GetPostalCode(), City: r.GetCity(), Address: r.GetAddress(), Phone: r.GetPhone(),
		Email: r.GetEmail(), Attributes: r.GetAttributes()}
}

// RecordToProto converts a record to its message. A record stored before
// the door refused invalid UTF-8 (issue 26) may hold some: protobuf cannot
// carry it, and every answer holding the record failed; such bytes are
// shown as U+FFFD instead.
func RecordToProto(r vigie.Record) *vigiev1.SourceRecord {
	m, _ := recordToProto(r)
	return m
}

// recordToProto is RecordToProto, also returning the number of strings it
// repaired: the answers holding the record flag it with textNotice.
func recordToProto(r vigie.Record) (*vigiev1.SourceRecord, int) {
	bad := 0
	v := func(s string) string {
		if utf8.ValidString(s) {
			return s
		}
		bad++
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	attrs := r.Attributes
	if slices.ContainsFunc(attrs, func(a string) bool { return !utf8.ValidString(a) }) {
		attrs = slices.Clone(attrs)
		for i := range attrs {
			attrs[i] = v(attrs[i])
		}
	}
	return &vigiev1.SourceRecord{Authority: v(r.Authority), LocalId: v(r.LocalID), Ins: v(r.INS), InsOid: v(r.INSOID), Status: v(r.Status),
		BirthName: v(r.BirthName), UsedName: v(r.UsedName), FirstNames: v(r.FirstNames), FirstName: v(r.FirstName),
		BirthDate: v(r.BirthDate), Sex: v(r.Sex), BirthPlace: v(r.BirthPlace), PostalCode: v(r.PostalCode), City: v(r.City),
		Address: v(r.Address), Phone: v(r.Phone), Email: v(r.Email), Attributes: attrs}, bad
}

// GradeToProto converts a match grade.
func GradeToProto(g matcher.Grade) vigiev1.Grade {
	switch g {
	case matcher.GradeCertain:
		return vigiev1.Grade_GRADE_CERTAIN
	case matcher.GradeProbable:
		return vigiev1.Grade_GRADE_PROBABLE
	case matcher.GradePossible:
		return vigiev1.Grade_GRADE_POSSIBLE
	case matcher.GradeNone:
		return vigiev1.Grade_GRADE_CERTAINLY_NOT
	}
	return vigiev1.Grade_GRADE_UNSPECIFIED
}

// ExplanationToProto converts a score's explanation.
func ExplanationToProto(s *matcher.Score) *vigiev1.Explanation {
	e := &vigiev1.Explanation{Weight: s.Weight}
	for _, f := range s.Fields {
		e.Fields = append(e.Fields, &vigiev1.FieldExplanation{Field: f.Field.String(), ValueA: f.A, ValueB: f.B,
			Level: f.Field.LevelName(f.Level), Weight: f.Weight})
	}
	for _, r := range s.Rules {
		e.Rules = append(e.Rules, &vigiev1.RuleExplanation{Code: r.Code, Message: r.Message})
	}
	return e
}

// EventToProto converts an identity event. A link the matcher decided is
// of kind auto_link whoever sent the record (a feed's key through the API
// as well as the system): the console labels the decision, not the actor.
// The index records the member it scored the record against (Matched)
// on an automatic link only; a person's Link names none.
func EventToProto(e *mpi.Event) *vigiev1.IdentityEvent {
	kind := e.Kind
	if kind == mpi.EventLink && (e.Actor == mpi.System || e.Matched != (vigie.SourceKey{})) {
		kind = "auto_link"
	}
	out := &vigiev1.IdentityEvent{Id: strconv.FormatUint(e.Seq, 10), Time: timestamppb.New(e.Time), Actor: string(e.Actor),
		Kind: kind, Reason: e.Reason, Score: e.Probability}
	seen := map[vigie.SourceKey]bool{}
	addRec := func(k vigie.SourceKey) {
		if k.Authority != "" && !seen[k] {
			seen[k] = true
			out.Records = append(out.Records, &vigiev1.SourceKey{Authority: k.Authority, LocalId: k.LocalID})
		}
	}
	addRec(e.Record)
	addRec(e.OtherRecord)
	for _, m := range e.Moves {
		addRec(m.Record)
	}
	for _, id := range e.Touched() {
		out.IdentityIds = append(out.IdentityIds, id.String())
	}
	return out
}
