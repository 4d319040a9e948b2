package ingest

import (
	"strings"

	"github.com/suyashkumar/dicom"

	"vigie/ledger"
)

// Header figures have no irradiation event UID. Each gets a synthetic one
// built from what identifies the exposure (study, acquisition time, breast
// and view, the figure itself), so that the "For Processing" and "For
// Presentation" images of one exposure, or the many images of one PET
// injection, count once in the ledger. The "hdr:" prefix and the '|'
// separators cannot occur in a DICOM UID.
func headerEventUID(parts ...string) string {
	return "hdr:" + strings.Join(parts, "|")
}

// readHeader reads the dose tags of an image (used when no dose SR covers
// its study). An image without any is refused.
func readHeader(ds elems, rep *DoseReport) error {
	x := &rep.Exam
	mod := strings.ToUpper(x.Modality)
	acq := ds.str(tAcqDateTime)
	if acq == "" {
		acq = ds.str(tAcquisitionDate) + ds.str(tAcquisitionTime)
	}
	if acq == "" {
		acq = ds.str(tContentDate) + ds.str(tContentTime)
	}
	var (
		ctdi     = ctHeader(ds)
		dap, hd  = ds.num(tDAPHeader)
		_, organ = ds.num(tOrganDose)
		rp       = ds.items(tRPInfoSeq)
	)
	switch {
	case organ:
		return mammoHeader(ds, rep, acq)
	case mod == "PT" || mod == "NM" || len(rp) > 0:
		if len(rp) == 0 && ds.find(tRNTotalDose) == nil {
			break
		}
		return nmHeader(ds, rep, rp)
	case len(ctdi) > 0:
		x.Domain = ledger.DomainCT
		x.CT = &ledger.CTDose{Events: ctdi}
		return nil
	case hd:
		q, err := ledger.NewQuantity(dap, "dGy.cm2", ledger.DimDAP)
		if err != nil {
			return refuse("ImageAndFluoroscopyAreaDoseProduct", "%v", err)
		}
		x.Domain = ledger.DomainProjection
		x.Projection = &ledger.ProjectionDose{DAPTotal: &q, Events: []ledger.ProjectionEvent{{
			UID: headerEventUID(x.StudyUID, acq, ds.str(tImageLaterality), ds.str(tViewPosition), formatNum(dap)),
			DAP: &q,
		}}}
		return nil
	}
	return noDose("file", "%s image carries no dose tag (CTDIvol, ImageAndFluoroscopyAreaDoseProduct, OrganDose, RadiopharmaceuticalInformationSequence) and no dose SR", className(x.SOPClassUID))
}

// ctHeader collects the CTDIvol values of a CT image: its own, those of the
// ExposureDoseSequence items (Philips secondary captures), and those of the
// functional groups of enhanced images (distinct values only: every frame
// repeats its acquisition's).
func ctHeader(ds elems) []ledger.CTEvent {
	var out []ledger.CTEvent
	seen := map[float64]bool{}
	add := func(v float64, it elems) {
		q, err := ledger.NewQuantity(v, "mGy", ledger.DimDose)
		if err != nil {
			return
		}
		e := ledger.CTEvent{CTDIvol: &q}
		if it != nil {
			e.Protocol = strings.TrimSpace(it.str(tSeriesDescription))
			e.AcquisitionType = ledger.Code{Meaning: it.str(tAcquisitionType)}
		}
		out = append(out, e)
	}
	if v, ok := ds.num(tCTDIvol); ok {
		seen[v] = true
		add(v, ds)
	}
	for _, it := range ds.items(tExposureDoseSeq) {
		if v, ok := it.num(tCTDIvol); ok {
			add(v, it)
		}
	}
	if len(out) > 0 {
		return out
	}
	ds.walk(func(e *dicom.Element) {
		if e.Tag != tCTDIvol || len(out) > 64 {
			return
		}
		if v, ok := (elems{e}).num(tCTDIvol); ok && !seen[v] {
			seen[v] = true
			add(v, nil)
		}
	})
	return out
}

// mammoHeader reads OrganDose (the image's glandular dose, in dGy).
func mammoHeader(ds elems, rep *DoseReport, acq string) error {
	x := &rep.Exam
	v, _ := ds.num(tOrganDose)
	q, err := ledger.NewQuantity(v, "dGy", ledger.DimDose)
	if err != nil {
		return refuse("OrganDose", "%v", err)
	}
	lat := strings.ToUpper(ds.str(tImageLaterality))
	if lat == "" {
		lat = strings.ToUpper(ds.str(tLaterality))
	}
	if lat != "L" && lat != "R" && lat != "B" {
		lat = ""
	}
	view := strings.TrimSpace(ds.str(tViewPosition))
	ev := ledger.MammographyEvent{
		UID:        headerEventUID(x.StudyUID, acq, lat, view, formatNum(v)),
		Laterality: lat, View: ledger.Code{Meaning: view}, AGD: &q,
	}
	if t, ok := ds.num(tBodyPartThickness); ok && t > 0 {
		if tq, err := ledger.NewQuantity(t, "mm", ledger.DimLength); err == nil {
			ev.Thickness = &tq
		}
	}
	m := &ledger.MammographyDose{Thickness: ev.Thickness, Events: []ledger.MammographyEvent{ev}}
	switch lat {
	case "L":
		m.AGDLeft = &q
	case "R":
		m.AGDRight = &q
	default:
		m.AGDBoth = &q
	}
	x.Domain = ledger.DomainMammography
	x.Mammography = m
	return nil
}

// nmHeader reads the RadiopharmaceuticalInformationSequence of a PET or NM
// image. RadionuclideTotalDose is in Bq by the standard; some Siemens NM
// cameras write MBq, which a value below 10 kBq (no diagnostic injection is
// that small) betrays.
func nmHeader(ds elems, rep *DoseReport, rp []elems) error {
	x := &rep.Exam
	if len(rp) == 0 {
		rp = []elems{ds}
	}
	n := &ledger.NMDose{}
	for _, it := range rp {
		a := ledger.Administration{}
		a.Radiopharmaceutical = readCode(it.first(tRadiopharmCodeSeq)).ledger()
		if s := strings.TrimSpace(it.str(tRadiopharmaceut)); s != "" && a.Radiopharmaceutical.Meaning == "" {
			a.Radiopharmaceutical.Meaning = s
		}
		a.Radionuclide = readCode(it.first(tRadionuclideSeq)).ledger()
		a.Start = isoDateTime(it.str(tRPStartDateTime))
		if a.Start == "" {
			if t := isoTime(it.str(tRPStartTime)); t != "" {
				a.Start = t
				if x.Date != "" {
					a.Start = x.Date + "T" + t
				}
			}
		}
		v, ok := it.num(tRNTotalDose)
		if !ok {
			v, ok = ds.num(tRNTotalDose)
		}
		if ok {
			unit := "Bq"
			if v > 0 && v < 1e4 {
				unit = "MBq"
				rep.Warnings = append(rep.Warnings, "RadionuclideTotalDose "+formatNum(v)+" is implausible in Bq: read as MBq")
			}
			if q, err := ledger.NewQuantity(v, unit, ledger.DimActivity); err == nil {
				a.Activity = &q
			}
		}
		if a.Activity == nil && a.Radiopharmaceutical.IsZero() {
			continue
		}
		a.UID = headerEventUID(x.StudyUID, a.Radiopharmaceutical.Meaning, a.Start, formatNum(v))
		n.Administrations = append(n.Administrations, a)
	}
	if len(n.Administrations) == 0 {
		return noDose("RadiopharmaceuticalInformationSequence", "%s image names no radiopharmaceutical nor administered activity", className(x.SOPClassUID))
	}
	x.Domain = ledger.DomainNM
	x.NM = n
	return nil
}
