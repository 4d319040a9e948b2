package main

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"

	"vigie"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/mpi"
)

func init() {
	register(verb{name: "export exams", summary: "write one CSV row per exam of the dose ledger (--events: and one per CT irradiation event)", run: runExportExams})
}

// examColumns are the columns of `vigie export exams`. The nm_ columns
// are the nuclear-medicine estimates (dosimetry.NMCoefficients): the
// exam's effective dose when every administration has a published
// coefficient, and per administration (joined by "; " in the order of
// radiopharmaceutical) the coefficient, its reference age, the organ
// receiving the largest dose and its dose, and the coefficient's source;
// nm_not_estimated says why an NM exam has no estimate.
var examColumns = []string{"sop_instance_uid", "study_uid", "authority", "local_id", "identity", "modality", "date",
	"procedure", "device", "ct_dlp_total_mGycm", "ct_ctdivol_max_mGy", "dap_total_cGycm2", "rp_dose_total_mGy",
	"fluoro_time_s", "agd_left_mGy", "agd_right_mGy", "nm_activity_MBq", "radiopharmaceutical",
	"nm_effective_dose_mSv", "nm_coefficient_mSv_per_MBq", "nm_reference_age", "nm_organ", "nm_organ_dose_mGy",
	"nm_coefficient_source", "nm_not_estimated", "source", "counts", "not_counted"}

// eventColumns are the columns of `vigie export exams --events`: one row
// per CT irradiation event of a dose SR, with its exam's counts.
// Dual-source figures are the sources' values joined by "/". The SSDE
// columns follow CTDIvol: Vigie's estimate (AAPM Report 204 fit), its
// factor and patient diameter with where the diameter came from, the
// vendor's own SSDE when the report carries one, and why there is no
// estimate.
var eventColumns = []string{"sop_instance_uid", "study_uid", "authority", "local_id", "date", "counts", "event_uid",
	"protocol", "target_region", "acquisition_type", "phantom", "ctdivol_mGy",
	"ssde_mGy", "ssde_factor", "ssde_diameter_cm", "ssde_diameter_from", "vendor_ssde_mGy", "ssde_not_estimated",
	"dlp_mGycm", "scan_length_mm",
	"kvp_kV", "tube_current_mA", "max_tube_current_mA", "exposure_time_s", "rotation_time_s", "mAs"}

// counts says whether an exam's row counts in totals: "yes", "partial"
// (a continued report: the figures are as reported, the events an earlier
// report counted are left out of the totals) or "no", and why not
// (superseded, conflict, repeated, or "N events counted earlier").
func counts(e *ledger.Entry) (string, string) {
	ok, why := e.Counting()
	switch {
	case !ok:
		return "no", why
	case e.RepeatedEvents > 0:
		return "partial", strconv.Itoa(e.RepeatedEvents) + " events counted by an earlier report"
	}
	return "yes", ""
}

func runExportExams(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export exams", stderr)
	data := dataFlag(fs, "")
	out := fs.String("out", "", "file to write (default: standard output)")
	events := fs.String("events", "", "also write one row per CT irradiation event (CTDIvol, DLP, scan length, kVp, mA, mAs, protocol) to this file")
	nmFile := nmCoefficientsFlag(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	nm, err := loadNMCoefficients(*nmFile)
	if err != nil {
		return err
	}
	db, err := openExistingStore(*data, serveCaches)
	if err != nil {
		return err
	}
	defer db.Close()
	// A bulk export of the whole ledger: audited as such, before a row
	// is written (the identities are not listed one by one).
	what := "every exam of the dose ledger, with each record's identity"
	if *events != "" {
		what += ", and every CT irradiation event"
	}
	if err := (operatorRead{Verb: "export exams", What: what}).recordIn(db); err != nil {
		return err
	}
	w, closeOut, err := createOutput(*out, stdout)
	if err != nil {
		return err
	}
	defer closeOut()
	// Each exam's identity is read as its row is written (one read of the
	// store each), not gathered first for every record: the export holds
	// one exam at a time, whatever the size of the index and the ledger.
	links := mpi.NewLinkReader(db)
	defer links.Close()
	identity := func(k vigie.SourceKey) (string, error) {
		id, found, err := links.Identity(k)
		if err != nil || !found {
			return "", err
		}
		return id.String(), nil
	}
	led := ledger.Open(db)
	if err := exportExams(context.Background(), led, identity, nmTable(nm), w); err != nil {
		return err
	}
	if err := closeOut(); err != nil {
		return err
	}
	if *events == "" {
		return nil
	}
	ef, err := os.Create(*events)
	if err != nil {
		return err
	}
	defer ef.Close()
	if err := exportEvents(context.Background(), led, ef); err != nil {
		return err
	}
	return ef.Close()
}

// exportEvents writes the CSV header and one row per CT irradiation event
// of every stored exam (image-header exams have none).
func exportEvents(ctx context.Context, led *ledger.Ledger, w io.Writer) error {
	num := func(q *ledger.Quantity) string {
		if q == nil {
			return ""
		}
		return strconv.FormatFloat(q.Value, 'g', 10, 64)
	}
	code := func(c ledger.Code) string {
		if c.Meaning != "" {
			return c.Meaning
		}
		return c.Value
	}
	fl := func(v float64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	sizes := dosimetry.DefaultSSDE()
	return writeCSV(w, eventColumns, func(write func([]string) error) error {
		return led.Each(ctx, func(e *ledger.Entry) error {
			x := &e.Exam
			if x.CT == nil {
				return nil
			}
			c, _ := counts(e)
			ssde := sizes.Exam(x)
			for i := range x.CT.Events {
				s := ssde[i]
				ev := &x.CT.Events[i]
				per := func(f func(s *ledger.CTSource) string) string {
					vs := make([]string, len(ev.Sources))
					for j := range ev.Sources {
						vs[j] = f(&ev.Sources[j])
					}
					return strings.Join(vs, "/")
				}
				err := write([]string{x.SOPInstanceUID, x.StudyUID, x.Key.Authority, x.Key.LocalID, x.Date, c, ev.UID,
					ev.Protocol, code(ev.TargetRegion), code(ev.AcquisitionType), code(ev.Phantom),
					num(ev.CTDIvol), fl(s.SSDE), fl(s.Factor), fl(s.DiameterCm), s.DiameterFrom, fl(s.Vendor), s.Reason,
					num(ev.DLP), num(ev.ScanLength),
					per(func(s *ledger.CTSource) string { return num(s.KVP) }),
					per(func(s *ledger.CTSource) string { return num(s.Current) }),
					per(func(s *ledger.CTSource) string { return num(s.MaxCurrent) }),
					num(ev.ExposureTime),
					per(func(s *ledger.CTSource) string { return num(s.RotationTime) }),
					per(func(s *ledger.CTSource) string {
						if m := ev.MAs(s); m > 0 {
							return strconv.FormatFloat(m, 'g', 10, 64)
						}
						return ""
					}),
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// exportExams writes the CSV header and one row per stored exam with the
// figures it reports (in the history's units; empty where the exam's kind
// has no such figure), and whether the row counts in totals (counts,
// not_counted): summing the rows whose counts is "yes" never counts an
// exam twice. identity, when not nil, names the regional identity of a
// source record ("" for a record the index does not hold).
func exportExams(ctx context.Context, led *ledger.Ledger, identity func(vigie.SourceKey) (string, error), nmCoef *dosimetry.NMCoefficients, w io.Writer) error {
	num := func(ok bool, v float64) string {
		if !ok {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 10, 64)
	}
	return writeCSV(w, examColumns, func(write func([]string) error) error {
		return led.Each(ctx, func(e *ledger.Entry) error {
			x := &e.Exam
			t := e.Reported
			nm := nmColumns(nmCoef, e)
			id := ""
			if identity != nil {
				var err error
				if id, err = identity(x.Key); err != nil {
					return err
				}
			}
			var rp []string
			if x.NM != nil {
				for _, a := range x.NM.Administrations {
					if s := a.Radiopharmaceutical.Meaning; s != "" {
						rp = append(rp, s)
					} else if a.Radiopharmaceutical.Value != "" {
						rp = append(rp, a.Radiopharmaceutical.Value)
					}
				}
			}
			pr, mg := x.Projection != nil, x.Mammography != nil
			c, why := counts(e)
			return write([]string{
				x.SOPInstanceUID, x.StudyUID, x.Key.Authority, x.Key.LocalID, id, x.Modality, x.Date,
				x.Procedure, x.Device.String(),
				num(x.CT != nil, t.DLP), num(x.CT != nil, t.CTDIvolMax),
				num(pr, ledger.CGyCm2(t.DAP)), num(pr, t.RP), num(pr, t.FluoroTime),
				num(mg, t.AGDLeft), num(mg, t.AGDRight),
				num(x.NM != nil, t.Activity), strings.Join(rp, "; "),
				nm[0], nm[1], nm[2], nm[3], nm[4], nm[5], nm[6],
				string(x.Source), c, why,
			})
		})
	})
}

// nmColumns are the nm_ columns of one exam's row (all empty for an exam
// other than nuclear medicine, or one that counts nothing).
func nmColumns(c *dosimetry.NMCoefficients, e *ledger.Entry) [7]string {
	var out [7]string
	est := c.Exam(e)
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	if est.Estimated() {
		out[0] = g(est.MSv)
	}
	var coef, ref, organ, dose, src []string
	for _, a := range est.Administrations {
		r := a.Coefficient
		if r == nil {
			coef, ref, organ, dose, src = append(coef, ""), append(ref, ""), append(organ, ""), append(dose, ""), append(src, "")
			continue
		}
		coef, ref, organ = append(coef, g(r.MSvPerMBq)), append(ref, r.Reference), append(organ, r.Organ)
		d := ""
		if a.Organ != "" {
			d = g(a.OrganMGy)
		}
		dose, src = append(dose, d), append(src, c.Sources[r.Source]+" — "+r.Table)
	}
	if strings.Join(coef, "") != "" {
		out[1], out[2], out[3], out[4], out[5] = strings.Join(coef, "; "), strings.Join(ref, "; "), strings.Join(organ, "; "),
			strings.Join(dose, "; "), strings.Join(src, "; ")
	}
	out[6] = est.Reason
	if est.Warning != "" {
		out[6] = est.Warning
	}
	return out
}
