package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"os"
	"strconv"
	"strings"

	"vigie/ledger"
	"vigie/mpi"
)

func init() {
	register(verb{name: "export exams", summary: "write one CSV row per exam of the dose ledger", run: runExportExams})
}

// examColumns are the columns of `vigie export exams`.
var examColumns = []string{"sop_instance_uid", "study_uid", "authority", "local_id", "identity", "modality", "date",
	"procedure", "device", "ct_dlp_total_mGycm", "ct_ctdivol_max_mGy", "dap_total_cGycm2", "rp_dose_total_mGy",
	"fluoro_time_s", "agd_left_mGy", "agd_right_mGy", "nm_activity_MBq", "radiopharmaceutical", "source"}

func runExportExams(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export exams", stderr)
	data := fs.String("data", "", "folder of the Vigie store (required)")
	out := fs.String("out", "", "file to write (default: standard output)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	db, ix, closeIndex, err := openIndex(*data, false, 0)
	if err != nil {
		return err
	}
	defer closeIndex()
	w := stdout
	var f *os.File
	if *out != "" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	identities := map[ledger.SourceKey]string{}
	if err := ix.Links(context.Background(), func(k mpi.SourceKey, id mpi.ID) error {
		identities[ledger.SourceKey{Authority: k.Authority, LocalID: k.LocalID}] = id.String()
		return nil
	}); err != nil {
		return err
	}
	identity := func(k ledger.SourceKey) string { return identities[k] }
	if err := exportExams(context.Background(), ledger.Open(db), identity, w); err != nil {
		return err
	}
	if f != nil {
		return f.Close()
	}
	return nil
}

// exportExams writes the CSV header and one row per stored exam with the
// figures it reports (in the history's units; empty where the exam's kind
// has no such figure). identity, when not nil, names the regional identity
// of a source record.
func exportExams(ctx context.Context, led *ledger.Ledger, identity func(ledger.SourceKey) string, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	if err := cw.Write(examColumns); err != nil {
		return err
	}
	num := func(ok bool, v float64) string {
		if !ok {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 10, 64)
	}
	err := led.Each(ctx, func(e *ledger.Entry) error {
		x := &e.Exam
		t := e.Reported
		id := ""
		if identity != nil {
			id = identity(x.Key)
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
		return cw.Write([]string{
			x.SOPInstanceUID, x.StudyUID, x.Key.Authority, x.Key.LocalID, id, x.Modality, x.Date,
			x.Procedure, x.Device.String(),
			num(x.CT != nil, t.DLP), num(x.CT != nil, t.CTDIvolMax),
			num(pr, ledger.CGyCm2(t.DAP)), num(pr, t.RP), num(pr, t.FluoroTime),
			num(mg, t.AGDLeft), num(mg, t.AGDRight),
			num(x.NM != nil, t.Activity), strings.Join(rp, "; "),
			string(x.Source),
		})
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
