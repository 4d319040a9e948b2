package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"vigie/ingest"
	"vigie/ledger"
)

func init() {
	register(verb{name: "dicom inspect", summary: "show what Vigie extracts from one DICOM file, without storing anything", run: runDicomInspect})
}

func runDicomInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dicom inspect", stderr)
	asJSON := fs.Bool("json", false, "print the extraction as JSON")
	authority := fs.String("authority", "", "site assigning authority (OID) to use when the file has no IssuerOfPatientID")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vigie dicom inspect [--json] [--authority OID] FILE")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("one FILE is required")
	}
	rep, err := ingest.ParseDICOMFile(fs.Arg(0), ingest.DICOMOptions{Authority: *authority})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			File string `json:"file"`
			*ingest.DoseReport
			Totals ledger.Totals `json:"totals"`
		}{fs.Arg(0), rep, rep.Exam.Totals()})
	}
	return printInspect(stdout, fs.Arg(0), rep)
}

// printInspect writes the extraction for a person: identity, exam, totals
// in the units of the dose history, then every event.
func printInspect(w io.Writer, file string, rep *ingest.DoseReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	x, p := &rep.Exam, &rep.Patient
	line := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	orNone := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	line("file", "%s", file)
	line("object", "%s (%s, %s)", rep.SOPClass, x.Source, x.Domain)
	line("source record", "%s / %s", orNone(p.Authority), p.LocalID)
	line("patient", "%s, %s, born %s, sex %s", orNone(p.BirthName), orNone(p.FirstNames), orNone(p.BirthDate), orNone(p.Sex))
	if p.INS != "" {
		line("INS", "%s (%s)", p.INS, p.INSOID)
	}
	for _, o := range rep.OtherIDs {
		line("other id", "%s (%s)", o.ID, orNone(o.Issuer))
	}
	line("SOP instance", "%s", x.SOPInstanceUID)
	line("study", "%s, accession %s", orNone(x.StudyUID), orNone(x.Accession))
	line("date", "%s %s, modality %s", orNone(x.Date), x.Time, orNone(x.Modality))
	line("procedure", "%s; protocol %s", orNone(x.Procedure), orNone(x.Protocol))
	line("device", "%s %s, station %s, serial %s", orNone(x.Device.Manufacturer), orNone(x.Device.Model), orNone(x.Device.Station), orNone(x.Device.Serial))
	line("patient size", "age %s, weight %s, height %s", orNone(x.Patient.Age), qty(x.Patient.Weight), qty(x.Patient.Height))
	t := x.Totals()
	switch {
	case x.CT != nil:
		line("CT", "DLP total %s; CTDIvol max %.4g mGy; %d events", qty(x.CT.DLPTotal), t.CTDIvolMax, len(x.CT.Events))
	case x.Projection != nil:
		pr := x.Projection
		line("projection", "DAP total %.6g cGy.cm2 (%s); dose at RP total %s; %d planes", ledger.CGyCm2(t.DAP), qty(pr.DAPTotal), qty(pr.RPTotal), pr.Planes)
		line("fluoroscopy", "DAP %s, RP %s, time %s", qty(pr.FluoroDAP), qty(pr.FluoroRP), qty(pr.FluoroTime))
		line("acquisition", "DAP %s, RP %s, time %s, %d frames", qty(pr.AcqDAP), qty(pr.AcqRP), qty(pr.AcqTime), pr.Frames)
	case x.Mammography != nil:
		m := x.Mammography
		line("mammography", "AGD left %s, right %s, both/unstated %s; thickness %s", qty(m.AGDLeft), qty(m.AGDRight), qty(m.AGDBoth), qty(m.Thickness))
		for _, v := range m.PerView() {
			line("  per view", "%s %s: %.4g mGy over %d exposures", dash(v.Laterality), dash(v.View), v.AGD, v.Exposures)
		}
	case x.NM != nil:
		line("nuclear medicine", "activity %.6g MBq, %d administrations", t.Activity, len(x.NM.Administrations))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printEvents(w, x)
	if len(rep.Warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, s := range rep.Warnings {
			fmt.Fprintln(w, "  "+s)
		}
	}
	return nil
}

func printEvents(w io.Writer, x *ledger.Exam) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	code := func(c ledger.Code) string {
		if c.Meaning != "" {
			return c.Meaning
		}
		if c.Value != "" {
			return c.Value + " " + c.Scheme
		}
		return "-"
	}
	switch {
	case x.CT != nil && len(x.CT.Events) > 0:
		fmt.Fprintf(w, "\nCT events (%d):\n", len(x.CT.Events))
		fmt.Fprintln(tw, "  #\tprotocol\ttarget\ttype\tCTDIvol\tDLP\tphantom\tSSDE\tevent UID")
		for i, e := range x.CT.Events {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, dash(e.Protocol), code(e.TargetRegion), code(e.AcquisitionType),
				qty(e.CTDIvol), qty(e.DLP), code(e.Phantom), qty(e.SSDE), dash(e.UID))
		}
	case x.Projection != nil && len(x.Projection.Events) > 0:
		fmt.Fprintf(w, "\nirradiation events (%d):\n", len(x.Projection.Events))
		fmt.Fprintln(tw, "  #\ttype\tprotocol\tDAP\tdose at RP\tevent UID")
		for i, e := range x.Projection.Events {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", i+1, code(e.Type), dash(e.Protocol), qty(e.DAP), qty(e.RP), dash(e.UID))
		}
	case x.Mammography != nil && len(x.Mammography.Events) > 0:
		fmt.Fprintf(w, "\nexposures (%d):\n", len(x.Mammography.Events))
		fmt.Fprintln(tw, "  #\tbreast\tview\tAGD\tthickness\tevent UID")
		for i, e := range x.Mammography.Events {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", i+1, dash(e.Laterality), code(e.View), qty(e.AGD), qty(e.Thickness), dash(e.UID))
		}
	case x.NM != nil:
		fmt.Fprintf(w, "\nadministrations (%d):\n", len(x.NM.Administrations))
		fmt.Fprintln(tw, "  #\tradiopharmaceutical\tradionuclide\tactivity\tstart\tUID")
		for i, a := range x.NM.Administrations {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", i+1, code(a.Radiopharmaceutical), code(a.Radionuclide), qty(a.Activity), dash(a.Start), dash(a.UID))
		}
	}
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// qty prints a quantity in its canonical unit, with the raw value and unit
// when they differ.
func qty(q *ledger.Quantity) string {
	if q == nil {
		return "-"
	}
	s := fmt.Sprintf("%.6g %s", q.Value, q.Unit)
	if q.RawUnit != q.Unit {
		s += fmt.Sprintf(" [%.6g %s]", q.Raw, q.RawUnit)
	}
	return s
}
