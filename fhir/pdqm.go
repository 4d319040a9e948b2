package fhir

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"vigie"
	"vigie/audit"
	"vigie/auth"
	"vigie/matcher"
	"vigie/search"
)

// maxResults is the most candidates a search or $match returns: the
// search index ranks at most that many (search.Query.Limit).
const maxResults = 100

// defaultCount is the page size of a search without _count.
const defaultCount = 10

// searchFields names, for a search's errors, the PDQm parameter of each
// field of search.Query.
var searchFields = map[string]string{
	"query": "family", "birth_name": "family", "used_name": "family", "first_names": "given", "first_name": "given",
	"birth_date": "birthdate", "sex": "gender", "ins": "identifier", "ins_oid": "identifier", "local_ids": "identifier",
	"limit": "_count", "postal_code": "address-postalcode",
}

// matchFields names them for $match, as elements of the Patient given.
var matchFields = map[string]string{
	"query": "Patient.name", "birth_name": "Patient.name.family", "used_name": "Patient.name.family",
	"first_names": "Patient.name.given", "first_name": "Patient.name.given", "birth_date": "Patient.birthDate",
	"sex": "Patient.gender", "ins": "Patient.identifier", "ins_oid": "Patient.identifier", "local_ids": "Patient.identifier",
	"limit": "count", "postal_code": "Patient.address.postalCode",
}

// searchParams are the PDQm parameters served (ITI-78), and those of
// paging and format.
var searchParams = []string{"family", "given", "birthdate", "gender", "identifier", "address-postalcode", "_count", "_offset", "_format"}

// identifierParam reads a token system|value into the query: an INS under
// an INS OID, a local id under its authority's OID.
func identifierParam(q *search.Query, param, v string) error {
	system, value, ok := strings.Cut(v, "|")
	if !ok || system == "" || strings.TrimSpace(value) == "" {
		return bad(param, "%q: give system|value, the system as urn:oid:<assigning authority or INS OID>", v)
	}
	oid, ok := strings.CutPrefix(system, "urn:oid:")
	if !ok || oid == "" {
		return bad(param, "system %q: Vigie knows identifiers by the OID of their authority (urn:oid:…)", system)
	}
	if isINSOID(oid) {
		if q.INS != "" && q.INS != value {
			return bad(param, "two different INS given")
		}
		q.INS, q.INSOID = value, oid
		return nil
	}
	q.LocalIDs = append(q.LocalIDs, search.LocalID{Authority: oid, LocalID: value})
	return nil
}

// parseSearch reads a PDQm query string. Every parameter is checked: one
// Vigie does not serve, a modifier or a comparison prefix is refused by
// name rather than ignored (an ignored filter would list other patients).
func parseSearch(v url.Values) (search.Query, int, int, error) {
	var q search.Query
	count, offset := defaultCount, 0
	for name, vals := range v {
		if name == "" {
			return q, 0, 0, bad("query", "a parameter without a name (%q)", "="+strings.Join(vals, "&="))
		}
		base, modifier, _ := strings.Cut(name, ":")
		if !contains(searchParams, base) {
			return q, 0, 0, bad(name, "not a search parameter Vigie serves (it serves %s)", strings.Join(searchParams, ", "))
		}
		if modifier != "" {
			return q, 0, 0, bad(name, "modifier :%s is not supported: names are matched as the search index matches them (accents, spelling, phonetics)", modifier)
		}
		if base != "identifier" && base != "given" && len(vals) > 1 {
			return q, 0, 0, bad(name, "given %d times: give it once", len(vals))
		}
		for _, val := range vals {
			var err error
			switch base {
			case "family":
				q.BirthName = val
			case "given":
				q.FirstNames = strings.TrimSpace(q.FirstNames + " " + strings.ReplaceAll(val, ",", " "))
			case "birthdate":
				q.BirthDate, err = dateParam(name, val)
			case "gender":
				q.Sex, err = genderParam(name, val)
			case "identifier":
				err = identifierParam(&q, name, val)
			case "address-postalcode":
				q.PostalCode = val
			case "_count":
				count, err = intParam(name, val, 1, maxResults)
			case "_offset":
				offset, err = intParam(name, val, 0, maxResults-1)
			}
			if err != nil {
				return q, 0, 0, err
			}
		}
	}
	return q, count, offset, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func intParam(name, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, bad(name, "%q: give a whole number from %d to %d", v, lo, hi)
	}
	return n, nil
}

// dateParam reads a birthdate: a day (YYYY-MM-DD) or a year, equality
// only.
func dateParam(name, v string) (string, error) {
	if len(v) >= 2 && strings.Contains("eqnegtlegesaebap", v[:2]) && (v[0] < '0' || v[0] > '9') {
		if v[:2] != "eq" {
			return "", bad(name, "prefix %q is not supported: give the birth date (YYYY-MM-DD) or the year (YYYY)", v[:2])
		}
		v = v[2:]
	}
	if len(v) != 4 && len(v) != 10 {
		return "", bad(name, "%q: give the birth date (YYYY-MM-DD) or the year (YYYY)", v)
	}
	return v, nil
}

func genderParam(name, v string) (string, error) {
	switch v {
	case "male":
		return "M", nil
	case "female":
		return "F", nil
	case "unknown", "other":
		return "", nil
	}
	return "", bad(name, "%q: give male, female, other or unknown", v)
}

// candidates runs a query and turns its hits into Bundle entries, each
// Patient in full or, for a caller without a basis to read it, restricted
// (rpc.Gate.Seen); hidden identities out of the caller's reach are left
// out. Every identity returned is named in the call's audit entry.
func (h *handler) candidates(w http.ResponseWriter, r *http.Request, q search.Query, keep func(*search.Hit) bool) ([]fm.BundleEntry, bool) {
	if h.Search == nil {
		writeJSON(w, http.StatusServiceUnavailable, outcome(fm.IssueTypeTransient, "", "the search index is not open"))
		return nil, false
	}
	ctx := r.Context()
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		writeRefusal(w, http.StatusUnauthorized, "no authenticated principal")
		return nil, false
	}
	q.IncludeHidden = p.Role.SeesHidden()
	hits, err := h.Search.Search(ctx, q)
	if err != nil {
		return nil, h.failed(w, r, err, q)
	}
	base := baseURL(r)
	var out []fm.BundleEntry
	for i := range hits {
		hit := &hits[i]
		if !keep(hit) {
			continue
		}
		id, err := vigie.ParseIdentityID(hit.ID)
		if err != nil {
			h.fail(w, r, fmt.Errorf("search hit id %q: %w", hit.ID, err), nil)
			return nil, false
		}
		ident := vigie.Identity{ID: id, Attributes: hit.Golden.Attributes}
		keys := make([]vigie.SourceKey, 0, len(hit.Sources))
		for _, s := range hit.Sources {
			keys = append(keys, vigie.SourceKey{Authority: s.Authority, LocalID: s.LocalID})
		}
		ident.Members = keys
		if hit.Hidden && !vigie.Hidden(ident.Attributes) {
			ident.Attributes = append(ident.Attributes[:len(ident.Attributes):len(ident.Attributes)], vigie.HiddenAttributes[0])
		}
		seen, err := h.gate.Seen(ctx, p, &ident)
		if err != nil {
			h.fail(w, r, err, nil)
			return nil, false
		}
		var res fm.Patient
		switch {
		case seen:
			res = patient(id, &hit.Golden, keys, nil)
		case vigie.Hidden(ident.Attributes):
			continue // out of a vigilance's scope: not even its name
		default:
			res = restricted(hit.ID, &hit.Golden)
		}
		audit.Touch(ctx, hit.ID)
		b, err := json.Marshal(res)
		if err != nil {
			h.fail(w, r, err, nil)
			return nil, false
		}
		grade := string(hit.Grade)
		out = append(out, fm.BundleEntry{FullUrl: ptr(base + "/Patient/" + hit.ID), Resource: b,
			Search: &fm.BundleEntrySearch{Mode: ptr(fm.SearchEntryModeMatch), Score: ptr(json.Number(strconv.FormatFloat(hit.Probability, 'f', 6, 64))),
				Extension: []fm.Extension{{Url: ExtMatchGrade, ValueCode: &grade}}}})
	}
	return out, true
}

// catchingUp is the outcome entry of a search answered while the search
// index is catching up after a start (as the Connect search's notice; PDQm
// lets a Bundle carry one), nil when it is up to date.
func (h *handler) catchingUp() []fm.BundleEntry {
	if h.Search.Ready() {
		return nil
	}
	oo, _ := json.Marshal(fm.OperationOutcome{Issue: []fm.OperationOutcomeIssue{{Severity: fm.IssueSeverityWarning, Code: fm.IssueTypeIncomplete,
		Diagnostics: ptr("the search index is catching up with the patient index after a start: an identity created or corrected in the last minutes may be missing or out of date")}}})
	return []fm.BundleEntry{{Resource: oo, Search: &fm.BundleEntrySearch{Mode: ptr(fm.SearchEntryModeOutcome)}}}
}

// failed answers the error of a search, its field named as the door's
// caller knows it, and returns false.
func (h *handler) failed(w http.ResponseWriter, r *http.Request, err error, _ search.Query) bool {
	fields := searchFields
	if r.Method == http.MethodPost {
		fields = matchFields
	}
	h.fail(w, r, err, fields)
	return false
}

// baseURL is the FHIR base the client called: scheme, host and /fhir.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + strings.TrimSuffix(Path, "/")
}

// searchPatients answers GET /fhir/Patient (ITI-78): a searchset Bundle of
// the identities the search index ranks for the query, best first, with
// their score and grade; the identities graded certainly-not are left out,
// and an identifier given is a filter (only the identities holding it).
// Paging: _count per page, _offset into the ranked list, which holds the
// best 100 at most.
func (h *handler) searchPatients(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, count, offset, err := parseSearch(v)
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	q.Limit = min(offset+count+1, maxResults)
	wantLocal := q.LocalIDs
	keep := func(hit *search.Hit) bool {
		if hit.Grade == matcher.GradeNone {
			return false
		}
		for _, l := range wantLocal {
			if !holds(hit, l) {
				return false
			}
		}
		return q.INS == "" || hit.Golden.INS == q.INS || hit.Grade == matcher.GradeCertain
	}
	entries, ok := h.candidates(w, r, q, keep)
	if !ok {
		return
	}
	more := len(entries) > offset+count
	if offset < len(entries) {
		entries = entries[offset:min(len(entries), offset+count)]
	} else {
		entries = nil
	}
	link := func(rel string, off int) fm.BundleLink {
		u := url.Values{}
		for k, vals := range v {
			if k != "_offset" {
				u[k] = vals
			}
		}
		u.Set("_count", strconv.Itoa(count))
		if off > 0 {
			u.Set("_offset", strconv.Itoa(off))
		}
		return fm.BundleLink{Relation: rel, Url: baseURL(r) + "/Patient?" + u.Encode()}
	}
	b := fm.Bundle{Type: fm.BundleTypeSearchset, Entry: append(entries, h.catchingUp()...), Link: []fm.BundleLink{link("self", offset)}}
	if more && offset+count < maxResults {
		b.Link = append(b.Link, link("next", offset+count))
	}
	if offset > 0 {
		b.Link = append(b.Link, link("previous", max(0, offset-count)))
	}
	if !more {
		b.Total = ptr(offset + len(entries))
	}
	writeJSON(w, http.StatusOK, b)
}

// holds reports whether a hit's identity holds the local id l.
func holds(hit *search.Hit, l search.LocalID) bool {
	for _, s := range hit.Sources {
		if s.Authority == l.Authority && s.LocalID == l.LocalID {
			return true
		}
	}
	return false
}

// read answers GET /fhir/Patient/{id}: the identity as an FR Core
// Patient, with the identifier of every linked record read from the
// patient index. A retired id (merged away) answers its survivor, whose
// link names the id asked for (type replaces).
func (h *handler) read(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	raw := r.PathValue("id")
	id, err := vigie.ParseIdentityID(raw)
	if err != nil {
		h.fail(w, r, bad("id", "%q is not a Vigie identity id (a number)", raw), nil)
		return
	}
	ident, err := h.Index.Get(ctx, id)
	if err != nil {
		h.fail(w, r, err, map[string]string{"": "id"})
		return
	}
	if _, err := h.gate.Patient(ctx, &ident, id); err != nil {
		h.fail(w, r, err, map[string]string{"": "id"})
		return
	}
	audit.Touch(ctx, ident.ID.String())
	records := make([]vigie.Record, len(ident.Members))
	for i, m := range ident.Members {
		audit.TouchRecord(ctx, m.Authority, m.LocalID)
		records[i] = vigie.Record{Authority: m.Authority, LocalID: m.LocalID}
		v, err := h.Index.Latest(ctx, m)
		switch {
		case err == nil:
			records[i] = v.Record
		case vigie.ErrorCode(err) != vigie.ENOTFOUND:
			h.fail(w, r, err, nil)
			return
		}
	}
	p := patient(ident.ID, &ident.Golden, ident.Members, records)
	if ident.ID != id {
		audit.Touch(ctx, id.String())
		p.Link = []fm.PatientLink{{Other: fm.Reference{Reference: ptr("Patient/" + id.String())}, Type: fm.LinkTypeReplaces}}
	}
	writeJSON(w, http.StatusOK, p)
}

// maxMatchBytes bounds a $match request body.
const maxMatchBytes = vigie.MaxRequestBytes

// match answers POST /fhir/Patient/$match (ITI-119): a Parameters
// resource holding the Patient (parameter resource; a bare Patient is
// read too), count and onlyCertainMatches in; a searchset Bundle of the
// candidates out, best first, each with search.score (the match
// probability) and the match-grade extension (certain, probable,
// possible, certainly-not) as the search index grades them.
func (h *handler) match(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMatchBytes+1))
	if err != nil {
		h.fail(w, r, bad("body", "cannot be read: %v", err), nil)
		return
	}
	if len(body) > maxMatchBytes {
		h.fail(w, r, &problem{status: http.StatusRequestEntityTooLarge, code: fm.IssueTypeTooLong, param: "body", msg: fmt.Sprintf("larger than %d bytes", maxMatchBytes)}, nil)
		return
	}
	q, count, certainOnly, err := parseMatch(body)
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	q.Limit = count
	entries, ok := h.candidates(w, r, q, func(hit *search.Hit) bool { return !certainOnly || hit.Grade == matcher.GradeCertain })
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, fm.Bundle{Type: fm.BundleTypeSearchset, Total: ptr(len(entries)), Entry: append(entries, h.catchingUp()...)})
}

// parseMatch reads the body of $match into a query.
func parseMatch(body []byte) (search.Query, int, bool, error) {
	var q search.Query
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return q, 0, false, bad("body", "not JSON: %v", err)
	}
	count, certainOnly := defaultCount, false
	var pat []byte
	switch head.ResourceType {
	case "Patient":
		pat = body
	case "Parameters":
		params, err := fm.UnmarshalParameters(body)
		if err != nil {
			return q, 0, false, bad("Parameters", "not a Parameters resource: %v", err)
		}
		for i, p := range params.Parameter {
			switch p.Name {
			case "":
				return q, 0, false, bad(fmt.Sprintf("Parameters.parameter[%d].name", i), "required")
			case "resource":
				pat = p.Resource
			case "count":
				if p.ValueInteger == nil || *p.ValueInteger < 1 || *p.ValueInteger > maxResults {
					return q, 0, false, bad("count", "give valueInteger from 1 to %d", maxResults)
				}
				count = *p.ValueInteger
			case "onlyCertainMatches":
				if p.ValueBoolean == nil {
					return q, 0, false, bad("onlyCertainMatches", "give valueBoolean")
				}
				certainOnly = *p.ValueBoolean
			case "onlySingleMatch":
				// Accepted: the best candidate comes first either way.
			default:
				return q, 0, false, bad(p.Name, "not a parameter of $match (resource, count, onlyCertainMatches, onlySingleMatch)")
			}
		}
		if pat == nil {
			return q, 0, false, bad("resource", "the Parameters hold no Patient (parameter resource)")
		}
	default:
		return q, 0, false, bad("resourceType", "%q: send a Parameters resource with the Patient in parameter resource, or a Patient", head.ResourceType)
	}
	p, err := fm.UnmarshalPatient(pat)
	if err != nil {
		return q, 0, false, bad("Patient", "not a Patient resource: %v", err)
	}
	if err := patientQuery(&q, &p); err != nil {
		return q, 0, false, err
	}
	return q, count, certainOnly, nil
}

// patientQuery turns the traits of a Patient into a query: the official
// name (else the first) gives the birth name and first names, the usual
// name the used name; identifiers with an OID system (INS or local id),
// birth date, gender and postal code.
func patientQuery(q *search.Query, p *fm.Patient) error {
	var official, usual *fm.HumanName
	for i := range p.Name {
		n := &p.Name[i]
		switch {
		case n.Use != nil && *n.Use == fm.NameUseUsual:
			if usual == nil {
				usual = n
			}
		case official == nil:
			official = n
		}
	}
	if official == nil {
		official, usual = usual, nil
	}
	if official != nil {
		if official.Family != nil {
			q.BirthName = *official.Family
		}
		q.FirstNames = strings.Join(official.Given, " ")
	}
	if usual != nil && usual.Family != nil {
		q.UsedName = *usual.Family
	}
	if q.FirstNames == "" && usual != nil {
		q.FirstNames = strings.Join(usual.Given, " ")
	}
	for i, id := range p.Identifier {
		if id.System == nil || id.Value == nil {
			return bad(fmt.Sprintf("Patient.identifier[%d]", i), "give system and value")
		}
		if err := identifierParam(q, fmt.Sprintf("Patient.identifier[%d]", i), *id.System+"|"+*id.Value); err != nil {
			return err
		}
	}
	if p.BirthDate != nil {
		q.BirthDate = *p.BirthDate
	}
	if p.Gender != nil {
		switch *p.Gender {
		case fm.AdministrativeGenderMale:
			q.Sex = "M"
		case fm.AdministrativeGenderFemale:
			q.Sex = "F"
		}
	}
	for _, a := range p.Address {
		if a.PostalCode != nil {
			q.PostalCode = *a.PostalCode
			break
		}
	}
	return nil
}
