// Package fhir serves the regional identities in FHIR R4 (JSON only), as
// French and IHE clients query a patient index: PDQm search and read
// (ITI-78), PDQm $match (ITI-119), PIXm $ihe-pix (ITI-83), the
// CapabilityStatement, and the exams' dose summaries as the HL7 Radiation
// Dose Summary IG shapes them (Observation, dose.go). Patients are FR Core-shaped: every linked source
// record's identifier under its assigning authority's OID, the INS once
// qualified, the birth and used names, the identity's status.
//
// It is a thin door over the patient index (mpi) and the search index
// (search): the Connect API's authentication, role table, rate of reads,
// audit entry (rpc.Server's wrap, auth.Interceptor.HTTPWith) and access
// checks (rpc.Gate: a clinician's basis, vigilance's sites, hidden
// identities, break the glass) decide who reads what, the same way for both
// doors. Every error is an OperationOutcome whose diagnostics name the
// parameter at fault.
package fhir

import (
	"log/slog"
	"net/http"

	"vigie/auth"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/mpi"
	"vigie/rpc"
	"vigie/search"
)

// Path is the pattern the FHIR base is mounted on (rpc.Server.Doors): the
// base URL of a client is http(s)://HOST/fhir.
const Path = "/fhir/"

// Server is the FHIR door (an rpc.Door). Mount it through rpc.Server.Doors
// so that it shares the API's checks.
type Server struct {
	Index  *mpi.Index
	Search *search.Index // nil: search and $match answer 503
	// Ledger serves the exams' dose summaries (Observation, see
	// dose.go; nil: not served). Coefficients and ExamTypes make their
	// effective-dose estimate (Coefficients nil: none).
	Ledger       *ledger.Ledger
	Coefficients *dosimetry.Coefficients
	ExamTypes    *dosimetry.Table
	// Pregnancies are the pregnancies declared outside DICOM, which ask
	// for the dose to the uterus / foetus (nil: the DICOM Pregnancy
	// Status alone).
	Pregnancies *dosimetry.PregnancyStore
	// Log receives the internal errors (once, with the request id) and
	// the notices of answers whose stored text was repaired; never a
	// patient's traits. nil discards them.
	Log *slog.Logger
}

var _ rpc.Door = (*Server)(nil)

// handler is a Server with the access checks of the API it is mounted in.
type handler struct {
	*Server
	gate *rpc.Gate
	log  *slog.Logger
}

// Mount returns the FHIR routes behind wrap (see rpc.Door). The
// CapabilityStatement carries no patient data and answers without a
// token, as FHIR clients read it before anything else.
func (s *Server) Mount(gate *rpc.Gate, wrap func(string, http.Handler, auth.HTTPErrorWriter) http.Handler) http.Handler {
	mux, _ := s.routes(gate, wrap)
	return mux
}

// Routes lists the patterns Mount registers, in the order it registers
// them: what the authorization matrix test walks, so that a route added
// without a row in it fails the test.
func (s *Server) Routes() []string {
	_, patterns := s.routes(nil, func(_ string, h http.Handler, _ auth.HTTPErrorWriter) http.Handler { return h })
	return patterns
}

// routes builds the mux of Mount and the list of its patterns: every
// route is registered through add, which records it.
func (s *Server) routes(gate *rpc.Gate, wrap func(string, http.Handler, auth.HTTPErrorWriter) http.Handler) (*http.ServeMux, []string) {
	h := &handler{Server: s, gate: gate, log: s.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	op := func(operation string, f func(http.ResponseWriter, *http.Request)) http.Handler {
		return jsonOnly(wrap(operation, withGate(operation, http.HandlerFunc(f)), writeRefusal))
	}
	mux := http.NewServeMux()
	var patterns []string
	add := func(pattern string, h http.Handler) {
		patterns = append(patterns, pattern)
		mux.Handle(pattern, h)
	}
	add("GET /fhir/metadata", jsonOnly(http.HandlerFunc(h.metadata)))
	add("GET /fhir/Patient", op(auth.FHIRSearchOperation, h.searchPatients))
	add("POST /fhir/Patient/$match", op(auth.FHIRMatchOperation, h.match))
	add("GET /fhir/Patient/$ihe-pix", op(auth.FHIRPIXOperation, h.pix))
	add("GET /fhir/Patient/{id}", op(auth.FHIRReadOperation, h.read))
	if s.Ledger != nil {
		add("GET /fhir/Observation", op(auth.FHIRDoseOperation, h.searchDose))
		add("GET /fhir/Observation/{id}", op(auth.FHIRDoseOperation, h.readDose))
	}
	add("/fhir/", http.HandlerFunc(unsupported))
	return mux, patterns
}

// withGate gives the Gate the request's headers (access code, break the
// glass) and the operation's name.
func withGate(operation string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(rpc.WithHTTPRequest(r.Context(), r.Header, operation)))
	})
}
