package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"vigie/auth"
	"vigie/ingest"
	"vigie/rpc"
	v1 "vigie/rpc/gen/vigie/v1"
)

// stowBody builds a multipart/related body of DICOM parts, as a DICOMweb
// client (Orthanc's DICOMweb plugin, dcm4che's stowrs) sends it.
func stowBody(t testing.TB, parts ...[]byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		pw, err := w.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`multipart/related; type="application/dicom"; boundary=%s`, w.Boundary()), buf.Bytes()
}

type stowReply struct {
	status     int
	ctype      string
	retryAfter string
	body       []byte
	// referenced and failed are the SOP instance UIDs of each sequence,
	// failures the FailureReason of each failed item.
	referenced, failed []string
	failures           []int
	// comments are the ErrorComment of each failed item ("" without).
	comments []string
}

func (f *serverFixture) stow(t *testing.T, token, ctype string, body []byte, accept string) stowReply {
	t.Helper()
	return f.stowTo(t, rpc.STOWPath, token, ctype, body, accept)
}

func (f *serverFixture) stowTo(t *testing.T, path, token, ctype string, body []byte, accept string) stowReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := stowReply{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), retryAfter: resp.Header.Get("Retry-After"), body: b}
	if out.ctype == "application/dicom+json" {
		var doc map[string]struct {
			Value []map[string]struct {
				Value []any
			}
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("response is not DICOM JSON: %v\n%s", err, b)
		}
		for _, it := range doc["00081199"].Value {
			out.referenced = append(out.referenced, fmt.Sprint(it["00081155"].Value...))
		}
		for _, it := range doc["00081198"].Value {
			out.failed = append(out.failed, fmt.Sprint(it["00081155"].Value...))
			if v := it["00081197"].Value; len(v) == 1 {
				out.failures = append(out.failures, int(v[0].(float64)))
			}
			out.comments = append(out.comments, fmt.Sprint(it["00000902"].Value...))
		}
	}
	return out
}

func TestSTOWRS(t *testing.T) {
	f := newServerFixture(t)
	ct, dx := dicomFile(t, ctRDSR), dicomFile(t, dxHdr)
	garbage := []byte("not a DICOM object")
	ctype, body := stowBody(t, ct, garbage, dx)

	// Authentication and role, as for the Connect API.
	if r := f.stow(t, "", ctype, body, ""); r.status != http.StatusUnauthorized {
		t.Errorf("no token: %d", r.status)
	}
	if r := f.stow(t, "not-a-key", ctype, body, ""); r.status != http.StatusUnauthorized {
		t.Errorf("bad token: %d", r.status)
	}
	for _, who := range []string{"dr-martin", "iv-team", "physicist-a", "admin"} {
		if r := f.stow(t, f.tokens[who], ctype, body, ""); r.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", who, r.status)
		}
	}
	if !f.audited(t, "dr-martin", auth.STOWProcedure, "permission_denied", "") {
		t.Error("a refused STOW-RS request is not audited")
	}
	if n := f.ledgerCount(t); n != 0 {
		t.Fatalf("refused requests stored %d exams", n)
	}

	// Not a STOW-RS body.
	for _, tc := range []struct {
		ctype string
		body  []byte
		want  int
	}{
		{"application/dicom", ct, http.StatusUnsupportedMediaType},
		{`multipart/related; type="application/dicom+xml"; boundary=x`, body, http.StatusUnsupportedMediaType},
		{`multipart/related; type="application/dicom"`, body, http.StatusBadRequest},
		{strings.Replace(ctype, "boundary=", "boundary=zz", 1), body, http.StatusBadRequest},
	} {
		if r := f.stow(t, f.tokens["pacs-a"], tc.ctype, tc.body, ""); r.status != tc.want {
			t.Errorf("Content-Type %q: %d, want %d (%s)", tc.ctype, r.status, tc.want, r.body)
		}
	}

	// Two dose reports and a bad part: 202, the bad one listed as failed.
	r := f.stow(t, f.tokens["pacs-a"], ctype, body, "")
	if r.status != http.StatusAccepted || len(r.referenced) != 2 || len(r.failed) != 1 || r.failures[0] != 0xC000 {
		t.Fatalf("mixed body: %d %v failed %v %v\n%s", r.status, r.referenced, r.failed, r.failures, r.body)
	}
	if n := f.ledgerCount(t); n != 2 {
		t.Fatalf("ledger holds %d exams, want 2", n)
	}
	// The report is in the patient's dose history.
	e, err := f.ledger.Get(context.Background(), r.referenced[0])
	if err != nil {
		t.Fatal(err)
	}
	id, err := f.index.IdentityOf(context.Background(), e.Exam.Key.Authority, e.Exam.Key.LocalID)
	if err != nil || e.Exam.Key.Authority != siteA {
		t.Fatalf("exam key %v, identity %v", e.Exam.Key, err)
	}
	h, err := f.dose("dr-martin").GetDoseHistory(context.Background(), connect.NewRequest(&v1.GetDoseHistoryRequest{IdentityId: id.String()}))
	if err != nil || len(h.Msg.GetHistory().GetCt()) != 1 {
		t.Fatalf("history after STOW-RS: %v %v", h, err)
	}
	if !f.audited(t, "pacs-a", auth.STOWProcedure, "ok", id.String()) {
		t.Error("the STOW-RS request is not audited with the patient it touched")
	}

	// The same again: duplicates are stored already, 200; in XML if asked.
	ctype2, body2 := stowBody(t, ct, dx)
	r = f.stow(t, f.tokens["pacs-a"], ctype2, body2, "application/dicom+xml")
	if r.status != http.StatusOK || r.ctype != "application/dicom+xml" {
		t.Fatalf("resubmission: %d %s\n%s", r.status, r.ctype, r.body)
	}
	var doc struct {
		Attrs []struct {
			Tag   string `xml:"tag,attr"`
			Items []struct {
				Attrs []struct {
					Tag   string   `xml:"tag,attr"`
					Value []string `xml:"Value"`
				} `xml:"DicomAttribute"`
			} `xml:"Item"`
		} `xml:"DicomAttribute"`
	}
	if err := xml.Unmarshal(r.body, &doc); err != nil || len(doc.Attrs) != 1 || doc.Attrs[0].Tag != "00081199" || len(doc.Attrs[0].Items) != 2 {
		t.Errorf("XML response: %v\n%s", err, r.body)
	}
	if n := f.ledgerCount(t); n != 2 {
		t.Fatalf("duplicates counted: ledger holds %d exams", n)
	}

	// Nothing storable: 409; another site's patients: 0124 (not authorised).
	ctype3, body3 := stowBody(t, garbage, withIssuer(t, ctRDSR, siteB))
	r = f.stow(t, f.tokens["pacs-a"], ctype3, body3, "application/dicom+json")
	if r.status != http.StatusConflict || len(r.failed) != 2 || r.failures[1] != 0x0124 || r.failed[1] == "" {
		t.Fatalf("nothing storable: %d %v %v\n%s", r.status, r.failed, r.failures, r.body)
	}
	if n := f.ledgerCount(t); n != 2 {
		t.Fatalf("ledger holds %d exams after a refused request", n)
	}
}

// A node serving several sites names the authority of files that carry no
// IssuerOfPatientID; it must be one of its own.
func TestSTOWAuthorityParameter(t *testing.T) {
	f := newServerFixture(t)
	ctype, body := stowBody(t, dicomFile(t, ctRDSR))
	if r := f.stow(t, f.tokens["pacs-ab"], ctype, body, ""); r.status != http.StatusConflict || len(r.failures) != 1 || r.failures[0] != 0xC000 {
		t.Errorf("two authorities, none named: %d %v\n%s", r.status, r.failures, r.body)
	}
	if r := f.stowTo(t, rpc.STOWPath+"?authority=1.2.3.4", f.tokens["pacs-ab"], ctype, body, ""); r.status != http.StatusConflict || len(r.failures) != 1 || r.failures[0] != 0x0124 {
		t.Errorf("a foreign authority named: %d %v\n%s", r.status, r.failures, r.body)
	}
	r := f.stowTo(t, rpc.STOWPath+"?authority="+siteB, f.tokens["pacs-ab"], ctype, body, "")
	if r.status != http.StatusOK || len(r.referenced) != 1 {
		t.Fatalf("authority named: %d\n%s", r.status, r.body)
	}
	e, err := f.ledger.Get(context.Background(), r.referenced[0])
	if err != nil || e.Exam.Key.Authority != siteB {
		t.Errorf("stored under %v, %v; want %s", e, err, siteB)
	}
}

func TestReadSTOWParts(t *testing.T) {
	ctype, body := stowBody(t, []byte("one"), []byte("two"))
	for _, tc := range []struct {
		name  string
		ctype string
		body  string
		max   int64
		parts int
		ok    bool
	}{
		{"two parts", ctype, string(body), 100, 2, true},
		{"part too large", ctype, string(body), 2, 0, false},
		{"no boundary", "multipart/related", string(body), 100, 0, false},
		{"not multipart", "application/json", "{}", 100, 0, false},
		{"no part", ctype, "--" + strings.TrimPrefix(ctype[strings.Index(ctype, "boundary=")+9:], "") + "--\r\n", 100, 0, false},
		{"truncated", ctype, string(body[:len(body)-10]), 100, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			err := rpc.ReadSTOWParts(tc.ctype, strings.NewReader(tc.body), tc.max, func(int, []byte) error { n++; return nil })
			if (err == nil) != tc.ok || (tc.ok && n != tc.parts) {
				t.Errorf("%d parts, %v; want %d, ok %v", n, err, tc.parts, tc.ok)
			}
		})
	}
	stop := errors.New("stop")
	if err := rpc.ReadSTOWParts(ctype, bytes.NewReader(body), 100, func(int, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn's error: %v", err)
	}
}

// FuzzReadSTOWParts: any body and Content-Type is either read into parts
// no larger than the bound, or refused with an error; never a panic.
func FuzzReadSTOWParts(f *testing.F) {
	ctype, body := stowBody(f, []byte("DICM"), []byte{0, 1, 2})
	f.Add(ctype, body)
	f.Add(`multipart/related; boundary=a`, []byte("--a\r\nContent-Type: application/dicom\r\n\r\nxyz\r\n--a--\r\n"))
	f.Add(`multipart/related; boundary=a`, []byte("--a\r\n\r\n--a--"))
	f.Add(`multipart/related; type=application/dicom; boundary="a b"`, []byte("--a b\r\nContent-Type: text/plain\r\n\r\nx\r\n--a b--\r\n"))
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		const max = 64
		n := 0
		err := rpc.ReadSTOWParts(ctype, bytes.NewReader(body), max, func(i int, part []byte) error {
			if i != n || len(part) > max {
				t.Fatalf("part %d (expected %d) of %d bytes", i, n, len(part))
			}
			n++
			return nil
		})
		if err == nil && n == 0 {
			t.Fatal("a body without parts was accepted")
		}
	})
}

// Regression of issue 26, defect 4: a refused STOW-RS instance carried a
// FailureReason number alone; now an ErrorComment (0000,0902) says why,
// in DICOM's default repertoire and within LO's 64 characters.
func TestSTOWFailureCarriesErrorComment(t *testing.T) {
	f := newServerFixture(t)
	ctype, body := stowBody(t, []byte("not a DICOM object"), withIssuer(t, ctRDSR, siteB))
	r := f.stow(t, f.tokens["pacs-a"], ctype, body, "")
	if r.status != http.StatusConflict || len(r.comments) != 2 {
		t.Fatalf("%d, comments %q\n%s", r.status, r.comments, r.body)
	}
	for i, want := range []string{"DICOM", "does not act for"} {
		c := r.comments[i]
		if !strings.Contains(c, want) || len(c) > 64 || strings.ContainsFunc(c, func(r rune) bool { return r < 0x20 || r > 0x7e || r == '\\' }) {
			t.Errorf("failure %d (%#x): ErrorComment %q, want ASCII of at most 64 characters saying %q", i, r.failures[i], c, want)
		}
	}
	// Each refusal is logged once with the sender and the reason's field
	// and code, never the reason's text (it may quote a trait).
	logs := f.logs.String()
	for _, want := range []string{`"msg":"dicom file refused"`, `"sender":"pacs-a"`, `"field":"IssuerOfPatientID"`, `"code":"permission"`, `"field":"file"`, `"code":"invalid"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
	if n := strings.Count(logs, `"msg":"dicom file refused"`); n != 2 {
		t.Errorf("%d refusals logged, want 2 (one per file)", n)
	}
	xr := f.stow(t, f.tokens["pacs-a"], ctype, body, "application/dicom+xml")
	if !strings.Contains(string(xr.body), `tag="00000902" vr="LO" keyword="ErrorComment"`) {
		t.Errorf("XML response without ErrorComment:\n%s", xr.body)
	}
}

// TestSTOWStudyTarget: POST /dicomweb/studies/{StudyInstanceUID} stores
// the instances of that study and refuses the others (FailureReason
// C409, the ErrorComment naming both studies); a target that is not a
// UID is a bad request.
func TestSTOWStudyTarget(t *testing.T) {
	f := newServerFixture(t)
	ct, dx := withIssuer(t, ctRDSR, siteA), withIssuer(t, dxHdr, siteA)
	rep, err := ingest.ParseDICOM(bytes.NewReader(ct), int64(len(ct)), ingest.DICOMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	study := rep.Exam.StudyUID
	ctype, body := stowBody(t, ct, dx)
	r := f.stowTo(t, rpc.STOWPath+"/"+study, f.tokens["pacs-a"], ctype, body, "")
	if r.status != http.StatusAccepted || len(r.referenced) != 1 || r.referenced[0] != rep.Exam.SOPInstanceUID {
		t.Fatalf("%d, referenced %q\n%s", r.status, r.referenced, r.body)
	}
	if len(r.failures) != 1 || r.failures[0] != 0xC409 || !strings.Contains(r.comments[0], "StudyInstanceUID") {
		t.Fatalf("failures %x %q, want one C409 naming StudyInstanceUID", r.failures, r.comments)
	}
	if _, err := f.ledger.Get(t.Context(), rep.Exam.SOPInstanceUID); err != nil {
		t.Errorf("the instance of the target study is not in the ledger: %v", err)
	}
	if r := f.stowTo(t, rpc.STOWPath+"/not-a-uid", f.tokens["pacs-a"], ctype, body, ""); r.status != http.StatusBadRequest {
		t.Fatalf("a target that is no UID: %d, want 400\n%s", r.status, r.body)
	}
}

// TestSTOWOversizedBody: issue 32 saw a body over the bound answered 409
// once its first parts had been read. A part over MaxDicomBytes, or a body
// over the bound after parts were read, is 413 (Payload Too Large), the
// listing saying which parts were read before.
func TestSTOWOversizedBody(t *testing.T) {
	part := bytes.Repeat([]byte{0}, 400<<10) // not DICOM: refused, nothing stored
	ctype, body := stowBody(t, part, part, part)
	h := &rpc.STOW{Ingester: &rpc.Ingester{}, MaxBody: 1 << 20}
	for _, tc := range []struct {
		name string
		h    http.Handler
		body []byte
	}{
		{"body over the bound after two parts", h, body},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, rpc.STOWPath, bytes.NewReader(tc.body))
		req.Header.Set("Content-Type", ctype)
		tc.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "larger than") {
			t.Errorf("%s: %d, want 413 naming the bound\n%.500s", tc.name, rec.Code, rec.Body.String())
		}
	}
	big := bytes.Repeat([]byte{0}, rpc.MaxDicomBytes+1)
	ctype, body = stowBody(t, big)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, rpc.STOWPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	(&rpc.STOW{Ingester: &rpc.Ingester{}}).ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a part over %d bytes: %d, want 413\n%.300s", rpc.MaxDicomBytes, rec.Code, rec.Body.String())
	}
}
