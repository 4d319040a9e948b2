package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"vigie"
	"vigie/dosimetry"
	"vigie/ledger"
	"vigie/store"
)

func init() {
	register(verb{name: "dose skin-map", summary: "write the estimated skin-dose map (PNG) of an interventional exam and print its peak skin dose", run: runDoseSkinMap})
}

// runDoseSkinMap writes the skin map of the procedure an exam belongs to:
// the map stored with its skin follow-up alert when there is one (what
// the physicist was alerted with), else one computed now from the
// ledger. It prints the estimate in French.
func runDoseSkinMap(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dose skin-map", stderr)
	data := dataFlag(fs, "")
	sop := fs.String("exam", "", "SOP instance UID of the exam (required)")
	out := fs.String("out", "", "PNG file to write (default: carte_dose_peau_<exam>.png)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	switch {
	case *data == "":
		return usageErr("--data DIR is required")
	case *sop == "":
		return usageErr("--exam SOP_INSTANCE_UID is required")
	}
	if _, err := os.Stat(*data); err != nil {
		return usageErr("--data: %v", err)
	}
	db, err := openStore(*data, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	png, text, stored, err := skinMap(ctx, ledger.Open(db), dosimetry.OpenAlerts(db), *sop)
	if err != nil {
		return err
	}
	path := *out
	if path == "" {
		path = "carte_dose_peau_" + *sop + ".png"
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return err
	}
	from := "calculée à partir du registre (aucune alerte de suivi cutané pour cet examen)"
	if stored {
		from = "jointe à l'alerte de suivi cutané"
	}
	fmt.Fprintf(stdout, "%s\nCarte %s : %s\n", text, from, path)
	return nil
}

// skinMap returns the PNG map of the procedure of exam sop, its estimate
// in French, and whether the map is the one stored with an alert.
func skinMap(ctx context.Context, led *ledger.Ledger, alerts *dosimetry.AlertStore, sop string) ([]byte, string, bool, error) {
	e, err := led.Get(ctx, sop)
	if err != nil {
		return nil, "", false, err
	}
	if e.Exam.Domain != ledger.DomainProjection {
		return nil, "", false, vigie.Invalid("exam", "%s n'est pas un examen de radiologie interventionnelle ou de scopie : pas de carte de dose à la peau", sop)
	}
	es, err := led.Exams(ctx, []vigie.SourceKey{e.Exam.Key})
	if err != nil {
		return nil, "", false, err
	}
	var study []*ledger.Entry
	for i := range es {
		x := &es[i].Exam
		if x.Domain == ledger.DomainProjection && !es[i].Excluded() && ledger.StudyOf(x) == ledger.StudyOf(&e.Exam) {
			study = append(study, &es[i])
		}
	}
	sd := dosimetry.DefaultSkinModel().Estimate(study)
	as, err := alerts.List(ctx, dosimetry.AlertFilter{Kind: dosimetry.AlertSkinDose, Key: e.Exam.Key})
	if err != nil {
		return nil, "", false, err
	}
	for _, a := range as {
		if a.StudyUID != e.Exam.StudyUID || a.Attachment == "" {
			continue
		}
		b, err := alerts.Attachment(ctx, a.ID)
		if err == nil {
			return b, sd.Text(), true, nil
		}
		if vigie.ErrorCode(err) != vigie.ENOTFOUND {
			return nil, "", false, err
		}
	}
	var b bytes.Buffer
	if err := sd.PNG(&b, dosimetry.DefaultAlertConfig().SkinDosemGy, 4); err != nil {
		return nil, "", false, fmt.Errorf("%s : %w", sd.Text(), err)
	}
	return b.Bytes(), sd.Text(), false, nil
}
