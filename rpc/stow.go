package rpc

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"vigie"
	"vigie/auth"
)

// STOW-RS (DICOM PS3.18 §10.5, Store Transaction): POST /dicomweb/studies
// with a multipart/related body whose parts are DICOM Part-10 files, so
// that a PACS or a DICOM node (Orthanc, dcm4chee) forwards dose reports
// without custom code.

// STOWPath is where the STOW-RS endpoint is mounted.
const STOWPath = "/dicomweb/studies"

// Limits of one STOW-RS request.
const (
	MaxSTOWBytes = 512 << 20 // the whole body
	MaxSTOWParts = 10000     // parts of one body
)

// Status codes of the Store Instances Response (PS3.4 Annex B and PS3.18
// table 10.5.3-1) that Vigie uses in FailureReason.
const (
	stowCannotUnderstand = 0xC000 // the part is not a DICOM dose report Vigie can read
	stowNotAuthorized    = 0x0124 // the patient belongs to another assigning authority
	stowProcessing       = 0x0110 // processing failure: send the instance again
	stowOutOfResources   = 0xA700 // refused, out of resources: the store's disk is under its reserve
	// stowOtherStudy: the instance belongs to another study than the one
	// the request's target names (an implementation-specific Cxxx code,
	// the one dcm4chee uses).
	stowOtherStudy = 0xC409
)

// STOW answers STOW-RS requests. Mount it behind auth.Interceptor.HTTP
// (authentication, the ingest role, one audit entry per request); each part
// goes through the same Ingester as IngestService.SubmitDicom. A file
// without IssuerOfPatientID is attached to the caller's authority when it
// has only one, or to the one named by the query parameter
// ?authority=OID (which must be one of the caller's).
type STOW struct {
	Ingester *Ingester
	// MaxBody bounds a request's body (0: MaxSTOWBytes).
	MaxBody int64
}

// stowError is a request-level failure: the body could not be read as a
// STOW-RS request at all.
type stowError struct {
	status int
	msg    string
}

func (e *stowError) Error() string { return e.msg }

// ReadSTOWParts reads a multipart/related body of DICOM parts and calls fn
// with each part's bytes, in order. contentType is the request's
// Content-Type: multipart/related with a boundary, and type
// "application/dicom" when given. A part whose own Content-Type is set must
// be application/dicom. Parts are bounded by maxPart bytes and the body by
// MaxSTOWParts parts. The error names what is wrong; fn's error stops the
// reading and is returned as is.
func ReadSTOWParts(contentType string, body io.Reader, maxPart int64, fn func(i int, part []byte) error) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return &stowError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q cannot be read: %v", contentType, err)}
	}
	if mt != "multipart/related" {
		return &stowError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %s: expected multipart/related; type=\"application/dicom\"", mt)}
	}
	if t := params["type"]; t != "" && !strings.EqualFold(t, "application/dicom") {
		return &stowError{http.StatusUnsupportedMediaType, fmt.Sprintf("multipart/related type %q: only application/dicom (Part-10 files) is accepted", t)}
	}
	boundary := params["boundary"]
	if boundary == "" {
		return &stowError{http.StatusBadRequest, "Content-Type has no boundary"}
	}
	mr := multipart.NewReader(body, boundary)
	for i := 0; ; i++ {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			if i == 0 {
				return &stowError{http.StatusBadRequest, "the body has no part"}
			}
			return nil
		}
		if err != nil {
			return bodyError(i, err)
		}
		if i >= MaxSTOWParts {
			return &stowError{http.StatusRequestEntityTooLarge, fmt.Sprintf("more than %d parts", MaxSTOWParts)}
		}
		if ct := part.Header.Get("Content-Type"); ct != "" {
			pt, _, err := mime.ParseMediaType(ct)
			if err != nil || pt != "application/dicom" {
				return &stowError{http.StatusUnsupportedMediaType, fmt.Sprintf("part %d: Content-Type %q: only application/dicom is accepted", i+1, ct)}
			}
		}
		b, err := io.ReadAll(io.LimitReader(part, maxPart+1))
		if err != nil {
			return bodyError(i, err)
		}
		if int64(len(b)) > maxPart {
			return &stowError{http.StatusRequestEntityTooLarge, fmt.Sprintf("part %d is larger than %d bytes", i+1, maxPart)}
		}
		if err := fn(i, b); err != nil {
			return err
		}
	}
}

// bodyError describes a body that could not be read at part i.
func bodyError(i int, err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &stowError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", mbe.Limit)}
	}
	return &stowError{http.StatusBadRequest, fmt.Sprintf("part %d: malformed multipart body: %v", i+1, err)}
}

// stowResult is one instance of the response.
type stowResult struct {
	classUID, instanceUID string
	failure               int // 0: stored (or already stored)
	// comment says why in words, beside the numeric failure (see
	// errorComment).
	comment string
}

// maxErrorComment is the most characters of an ErrorComment: its VR, LO,
// holds 64 at most.
const maxErrorComment = 64

// errorComment turns the reason of a failure into the text of the failed
// instance's ErrorComment (0000,0902), which PS3.18's FailureReason
// (0008,1197) alone, a number, does not give: the sender's operators read
// it to fix the file. It is in English like the rest of STOW-RS's answers
// (the request-level errors, the API's messages) and in DICOM's default
// character repertoire, since the response declares no Specific Character
// Set: bytes outside printable ASCII, and the backslash LO forbids, become
// '?'. It is cut to LO's 64 characters.
func errorComment(msg string) string {
	b := make([]byte, 0, min(len(msg), maxErrorComment))
	for i := 0; i < len(msg) && len(b) < maxErrorComment; i++ {
		c := msg[i]
		if c < 0x20 || c > 0x7e || c == '\\' {
			c = '?'
		}
		b = append(b, c)
	}
	if len(msg) > maxErrorComment {
		b = append(b[:maxErrorComment-3], "..."...)
	}
	return string(b)
}

// ServeHTTP stores every part and answers the Store Instances Response:
// 200 when every instance is stored (a duplicate counts as stored: the
// transaction is idempotent), 202 when some failed, 409 when none could
// be stored; 400 / 415 / 413 for a body that is not a STOW-RS request
// (413 also when parts were read before the body went over its bound:
// the response lists them).
// When the store's disk is under its reserve, the instances it refused
// carry FailureReason A700 (Refused: Out of Resources, PS3.4 Annex B),
// and a request of which none was stored for that reason alone is
// answered 503 with Retry-After (PS3.18 §8.5, the status codes every
// transaction may use: the origin server is temporarily unable to handle
// it), the response still listing them.
// The response is DICOM JSON (application/dicom+json) unless the client
// accepts only application/dicom+xml.
func (s *STOW) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "STOW-RS takes POST", http.StatusMethodNotAllowed)
		return
	}
	ctx := r.Context()
	authority := r.URL.Query().Get("authority")
	// POST /studies/{StudyInstanceUID}: every instance must be of that
	// study (PS3.18 §10.5.1).
	study := r.PathValue("study")
	if r.URL.Path != STOWPath && !isUID(study) {
		http.Error(w, fmt.Sprintf("the target's StudyInstanceUID %q is not a UID (digits and dots, 64 characters at most)", study), http.StatusBadRequest)
		return
	}
	var results []stowResult
	maxBody := s.MaxBody
	if maxBody <= 0 {
		maxBody = MaxSTOWBytes
	}
	body := http.MaxBytesReader(w, r.Body, maxBody)
	err := ReadSTOWParts(r.Header.Get("Content-Type"), body, MaxDicomBytes, func(i int, part []byte) error {
		out, err := s.Ingester.IngestReader(ctx, fmt.Sprintf("part %d", i+1), bytes.NewReader(part), int64(len(part)), authority, study)
		res := stowResult{instanceUID: out.GetSopInstanceUid(), classUID: sopClassOf(part)}
		if err != nil {
			switch vigie.ErrorCode(err) {
			case vigie.EINVALID:
				res.failure = stowCannotUnderstand
				if study != "" && vigie.ErrorField(err) == "StudyInstanceUID" {
					res.failure = stowOtherStudy
				}
				res.comment = errorComment(out.GetMessage())
			case vigie.EPERMISSION:
				res.failure = stowNotAuthorized
				res.comment = errorComment(out.GetMessage())
			case vigie.EEXHAUSTED:
				res.failure = stowOutOfResources
				res.comment = errorComment(out.GetMessage())
			default:
				if ctx.Err() != nil {
					return ctx.Err()
				}
				// The cause is logged by the ingester, not told.
				res.failure = stowProcessing
				res.comment = "processing failure: send the instance again"
			}
		}
		results = append(results, res)
		return nil
	})
	tooLarge := false
	if err != nil {
		var se *stowError
		switch {
		case !errors.As(err, &se):
			http.Error(w, "the request was interrupted", http.StatusServiceUnavailable)
			return
		case len(results) == 0:
			http.Error(w, se.msg, se.status)
			return
		}
		// Parts were stored before the body went wrong: the response
		// lists them, and one failure without UIDs for the rest. A body
		// over the bound is answered 413 all the same (the sender must
		// split it), the listing saying what was kept.
		tooLarge = se.status == http.StatusRequestEntityTooLarge
		results = append(results, stowResult{failure: stowCannotUnderstand, comment: errorComment(se.msg)})
	}
	stored, failed, noSpace := 0, 0, 0
	for _, res := range results {
		switch res.failure {
		case 0:
			stored++
		case stowOutOfResources:
			noSpace++
			failed++
		default:
			failed++
		}
	}
	status := http.StatusOK
	switch {
	case stored == 0 && noSpace == failed:
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", auth.RetryAfterSeconds)
	case stored == 0:
		status = http.StatusConflict
	case failed > 0:
		status = http.StatusAccepted
	}
	if tooLarge {
		status = http.StatusRequestEntityTooLarge
	}
	if err := writeStoreResponse(w, r, status, results); err != nil && s.Ingester.Log != nil {
		// What was stored stays stored; a sender that resends is counted
		// once (the ledger keys exams by SOP instance).
		s.Ingester.Log.WarnContext(ctx, "STOW-RS: the answer could not be sent to the client", "request", auth.RequestID(ctx),
			"instances", len(results), "error", err.Error())
	}
}

// isUID reports whether s is a DICOM UID: components of digits separated
// by dots, 64 characters at most (PS3.5 §9.1).
func isUID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range strings.Split(s, ".") {
		if c == "" || strings.Trim(c, "0123456789") != "" || (len(c) > 1 && c[0] == '0') {
			return false
		}
	}
	return true
}

// sopClassOf reads the MediaStorageSOPClassUID of a Part-10 file's meta
// header, for the failed-instance list of a file the parser refused; ""
// when it cannot be found.
func sopClassOf(b []byte) string {
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return ""
	}
	p := b[132:]
	// The meta group is explicit VR little endian: tag, VR, length.
	for len(p) >= 8 {
		group := uint16(p[0]) | uint16(p[1])<<8
		elem := uint16(p[2]) | uint16(p[3])<<8
		if group != 0x0002 {
			return ""
		}
		vr := string(p[4:6])
		var n, hdr int
		switch vr {
		case "OB", "OW", "OF", "SQ", "UT", "UN":
			if len(p) < 12 {
				return ""
			}
			n, hdr = int(uint32(p[8])|uint32(p[9])<<8|uint32(p[10])<<16|uint32(p[11])<<24), 12
		default:
			n, hdr = int(uint16(p[6])|uint16(p[7])<<8), 8
		}
		if n < 0 || hdr+n > len(p) {
			return ""
		}
		if elem == 0x0002 {
			return strings.TrimRight(string(p[hdr:hdr+n]), "\x00 ")
		}
		p = p[hdr+n:]
	}
	return ""
}

// Attribute tags of the Store Instances Response Module (PS3.18 table
// 10.5.3-2).
const (
	tagRefSOPClass    = "00081150"
	tagRefSOPInstance = "00081155"
	tagFailureReason  = "00081197"
	tagErrorComment   = "00000902"
	tagFailedSOPSeq   = "00081198"
	tagReferencedSeq  = "00081199"
)

type dicomJSONAttr struct {
	VR    string `json:"vr"`
	Value []any  `json:"Value,omitempty"`
}

func writeStoreResponse(w http.ResponseWriter, r *http.Request, status int, results []stowResult) error {
	var ref, failed []map[string]dicomJSONAttr
	for _, res := range results {
		item := map[string]dicomJSONAttr{}
		if res.classUID != "" {
			item[tagRefSOPClass] = dicomJSONAttr{VR: "UI", Value: []any{res.classUID}}
		}
		if res.instanceUID != "" {
			item[tagRefSOPInstance] = dicomJSONAttr{VR: "UI", Value: []any{res.instanceUID}}
		}
		if res.failure == 0 {
			ref = append(ref, item)
			continue
		}
		item[tagFailureReason] = dicomJSONAttr{VR: "US", Value: []any{res.failure}}
		if res.comment != "" {
			item[tagErrorComment] = dicomJSONAttr{VR: "LO", Value: []any{res.comment}}
		}
		failed = append(failed, item)
	}
	if wantsXML(r.Header.Get("Accept")) {
		w.Header().Set("Content-Type", "application/dicom+xml")
		w.WriteHeader(status)
		return writeStoreXML(w, ref, failed)
	}
	doc := map[string]dicomJSONAttr{}
	seq := func(items []map[string]dicomJSONAttr) dicomJSONAttr {
		a := dicomJSONAttr{VR: "SQ"}
		for _, it := range items {
			a.Value = append(a.Value, it)
		}
		return a
	}
	if len(ref) > 0 {
		doc[tagReferencedSeq] = seq(ref)
	}
	if len(failed) > 0 {
		doc[tagFailedSOPSeq] = seq(failed)
	}
	w.Header().Set("Content-Type", "application/dicom+json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(doc)
}

// wantsXML reports whether the Accept header asks for the XML response and
// not the JSON one.
func wantsXML(accept string) bool {
	return strings.Contains(accept, "application/dicom+xml") && !strings.Contains(accept, "application/dicom+json")
}

var keywords = map[string]string{tagRefSOPClass: "ReferencedSOPClassUID", tagRefSOPInstance: "ReferencedSOPInstanceUID",
	tagFailureReason: "FailureReason", tagErrorComment: "ErrorComment", tagFailedSOPSeq: "FailedSOPSequence", tagReferencedSeq: "ReferencedSOPSequence"}

// writeStoreXML writes the response in the Native DICOM Model (PS3.19).
func writeStoreXML(w io.Writer, ref, failed []map[string]dicomJSONAttr) error {
	var b bytes.Buffer
	b.WriteString(xml.Header + `<NativeDicomModel xmlns="http://dicom.nema.org/PS3.19/models/NativeDICOM">` + "\n")
	writeSeq := func(tag string, items []map[string]dicomJSONAttr) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, `<DicomAttribute tag="%s" vr="SQ" keyword="%s">`+"\n", tag, keywords[tag])
		for n, it := range items {
			fmt.Fprintf(&b, `<Item number="%d">`+"\n", n+1)
			for _, t := range []string{tagErrorComment, tagRefSOPClass, tagRefSOPInstance, tagFailureReason} {
				a, ok := it[t]
				if !ok {
					continue
				}
				fmt.Fprintf(&b, `<DicomAttribute tag="%s" vr="%s" keyword="%s"><Value number="1">`, t, a.VR, keywords[t])
				xml.EscapeText(&b, []byte(fmt.Sprint(a.Value[0]))) // into memory: cannot fail
				b.WriteString("</Value></DicomAttribute>\n")
			}
			b.WriteString("</Item>\n")
		}
		b.WriteString("</DicomAttribute>\n")
	}
	writeSeq(tagFailedSOPSeq, failed)
	writeSeq(tagReferencedSeq, ref)
	b.WriteString("</NativeDicomModel>\n")
	_, err := w.Write(b.Bytes())
	return err
}
