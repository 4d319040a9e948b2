package fhir

import (
	"net/http"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"vigie"
	"vigie/audit"
)

// pix answers GET /fhir/Patient/$ihe-pix (ITI-83): sourceIdentifier
// (urn:oid:<authority>|<local id>) in; a Parameters resource out, with a
// targetIdentifier for every other record linked to the same regional
// identity (and its qualified INS) and the identity as targetId. A
// targetSystem (repeated or comma-separated) keeps only the identifiers of
// those systems. An unknown record, or one whose identity the caller may
// not read, answers 404 as ITI-83 says.
func (h *handler) pix(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := r.URL.Query()
	for name := range v {
		if name != "sourceIdentifier" && name != "targetSystem" && name != "_format" {
			h.fail(w, r, bad(name, "not a parameter of $ihe-pix (sourceIdentifier, targetSystem)"), nil)
			return
		}
	}
	src := v["sourceIdentifier"]
	if len(src) != 1 {
		h.fail(w, r, bad("sourceIdentifier", "give it once, as urn:oid:<assigning authority>|<local id>"), nil)
		return
	}
	system, value, ok := strings.Cut(src[0], "|")
	oid, isOID := strings.CutPrefix(system, "urn:oid:")
	if !ok || !isOID || oid == "" || strings.TrimSpace(value) == "" {
		h.fail(w, r, bad("sourceIdentifier", "%q: give urn:oid:<assigning authority>|<local id>", src[0]), nil)
		return
	}
	if isINSOID(oid) {
		h.fail(w, r, bad("sourceIdentifier", "an INS is not a source record: find its identity with GET Patient?identifier=%s|<INS>", system), nil)
		return
	}
	var targets []string
	for _, t := range v["targetSystem"] {
		for _, s := range strings.Split(t, ",") {
			if s = strings.TrimSpace(s); s != "" {
				targets = append(targets, s)
			}
		}
	}
	notFound := &problem{status: http.StatusNotFound, code: fm.IssueTypeNotFound, param: "sourceIdentifier", msg: "no record with this identifier is known to Vigie"}
	id, err := h.Index.IdentityOf(ctx, oid, value)
	if vigie.ErrorCode(err) == vigie.ENOTFOUND {
		h.fail(w, r, notFound, nil)
		return
	}
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	ident, err := h.Index.Get(ctx, id)
	if err == nil {
		_, err = h.gate.Patient(ctx, &ident, id)
	}
	if vigie.ErrorCode(err) == vigie.ENOTFOUND {
		h.fail(w, r, notFound, nil)
		return
	}
	if err != nil {
		h.fail(w, r, err, map[string]string{"": "sourceIdentifier"})
		return
	}
	audit.Touch(ctx, ident.ID.String())
	wanted := func(system string) bool {
		if len(targets) == 0 {
			return true
		}
		for _, t := range targets {
			if t == system {
				return true
			}
		}
		return false
	}
	out := fm.Parameters{}
	source := vigie.SourceKey{Authority: oid, LocalID: value}
	seenINS := map[string]bool{}
	for _, m := range ident.Members {
		audit.TouchRecord(ctx, m.Authority, m.LocalID)
		if m != source && wanted(OIDSystem(m.Authority)) {
			id := localIdentifier(m)
			out.Parameter = append(out.Parameter, fm.ParametersParameter{Name: "targetIdentifier", ValueIdentifier: &id})
		}
		rec, err := h.Index.Latest(ctx, m)
		if vigie.ErrorCode(err) == vigie.ENOTFOUND {
			continue
		}
		if err != nil {
			h.fail(w, r, err, nil)
			return
		}
		if ins, ok := insIdentifier(&rec.Record); ok && wanted(*ins.System) && !seenINS[*ins.System+"|"+*ins.Value] {
			seenINS[*ins.System+"|"+*ins.Value] = true
			out.Parameter = append(out.Parameter, fm.ParametersParameter{Name: "targetIdentifier", ValueIdentifier: &ins})
		}
	}
	out.Parameter = append(out.Parameter, fm.ParametersParameter{Name: "targetId",
		ValueReference: &fm.Reference{Reference: ptr("Patient/" + ident.ID.String())}})
	writeJSON(w, http.StatusOK, out)
}
