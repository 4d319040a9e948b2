package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"vigie/internal/wire"
)

// Stored values. An exam row starts with a format byte, so that a value
// written by an earlier layout is always recognised:
//
//	'{'             Entry as JSON (layout 1, before the compact rows)
//	formatEntryV1   Entry in the binary form below (layout 2)
//	formatEntryV2   the same, each CT event followed by its acquisition
//	                parameters (scan length, exposure time, X-ray
//	                sources), and the entry by its conflict (layout 3)
//	formatEntryV3   the same, each CT event followed by its water-equivalent
//	                diameter, each projection event by its geometry (a
//	                presence byte, a uvarint mask of the fields reported,
//	                those fields), and the entry by the patient's pregnancy
//	                status. A row of an earlier format reads with none of
//	                them: nothing to convert, the estimates that need them
//	                say so.
//
// The binary form is the fields of Entry in declaration order: strings as
// a uvarint length and their bytes, float64 as 8 bytes little-endian, ints
// as varints, optional parts (a *Quantity, the CT, projection, mammography
// and NM parts) behind a presence byte, lists behind a uvarint count, the
// non-zero fields of a Totals behind a uvarint bit mask. Decoding the
// JSON form it replaces took 35–55 µs per exam; this one takes about a
// microsecond, which is what makes a site-year evaluation from the store
// fast. Changing the form means a new format byte, never a new meaning
// for an old one.
const (
	formatEntryV1 = 0x01
	formatEntryV2 = 0x03 // 0x02 is formatPointer, an l/x/ value: never reused for a row
	formatEntryV3 = 0x04
)

// encodeEntry returns the binary form of e.
func encodeEntry(e *Entry) []byte {
	w := encoder{wire.Writer{B: make([]byte, 0, 512)}}
	w.B = append(w.B, formatEntryV3)
	x := &e.Exam
	for _, s := range []string{x.SOPInstanceUID, x.SOPClassUID, x.StudyUID, x.Accession, x.Date, x.Time,
		x.Modality, x.Procedure, x.Protocol,
		x.Device.Manufacturer, x.Device.Model, x.Device.Station, x.Device.Serial,
		x.Patient.Age} {
		w.Str(s)
	}
	w.qty(x.Patient.Weight)
	w.qty(x.Patient.Height)
	for _, s := range []string{string(x.Source), string(x.Domain), x.Key.Authority, x.Key.LocalID} {
		w.Str(s)
	}
	if c := x.CT; w.Present(c != nil) {
		w.qty(c.DLPTotal)
		w.Uint(uint64(len(c.Events)))
		for i := range c.Events {
			ev := &c.Events[i]
			w.Str(ev.UID)
			w.Str(ev.Protocol)
			w.code(ev.TargetRegion)
			w.code(ev.AcquisitionType)
			w.code(ev.Phantom)
			w.qty(ev.CTDIvol)
			w.qty(ev.DLP)
			w.qty(ev.SSDE)
			w.qty(ev.ScanLength)
			w.qty(ev.ExposureTime)
			w.Uint(uint64(len(ev.Sources)))
			for j := range ev.Sources {
				src := &ev.Sources[j]
				w.Str(src.ID)
				for _, q := range []*Quantity{src.KVP, src.MaxCurrent, src.Current, src.RotationTime} {
					w.qty(q)
				}
			}
			w.qty(ev.WED)
		}
	}
	if p := x.Projection; w.Present(p != nil) {
		w.Int(int64(p.Planes))
		for _, q := range []*Quantity{p.DAPTotal, p.RPTotal, p.FluoroDAP, p.FluoroRP, p.AcqDAP, p.AcqRP, p.FluoroTime, p.AcqTime} {
			w.qty(q)
		}
		w.Int(int64(p.Frames))
		w.Uint(uint64(len(p.Events)))
		for i := range p.Events {
			ev := &p.Events[i]
			w.Str(ev.UID)
			w.code(ev.Type)
			w.Str(ev.Protocol)
			w.qty(ev.DAP)
			w.qty(ev.RP)
			w.qty(ev.Duration)
			w.Present(ev.Fluoro)
			w.geometry(ev.Geometry)
		}
	}
	if m := x.Mammography; w.Present(m != nil) {
		for _, q := range []*Quantity{m.AGDLeft, m.AGDRight, m.AGDBoth, m.Thickness} {
			w.qty(q)
		}
		w.Uint(uint64(len(m.Events)))
		for i := range m.Events {
			ev := &m.Events[i]
			w.Str(ev.UID)
			w.Str(ev.Laterality)
			w.code(ev.View)
			w.qty(ev.AGD)
			w.qty(ev.Thickness)
		}
	}
	if n := x.NM; w.Present(n != nil) {
		w.Uint(uint64(len(n.Administrations)))
		for i := range n.Administrations {
			a := &n.Administrations[i]
			w.Str(a.UID)
			w.code(a.Radiopharmaceutical)
			w.code(a.Radionuclide)
			w.qty(a.Activity)
			w.Str(a.Start)
		}
	}
	w.totals(&e.Reported)
	w.totals(&e.Counted)
	w.Int(int64(e.NewEvents))
	w.Int(int64(e.RepeatedEvents))
	w.Int(e.StoredAt.Unix())
	w.Int(int64(e.StoredAt.Nanosecond()))
	w.Str(e.SupersededBy)
	w.Str(e.Conflict)
	w.Str(x.Patient.Pregnancy)
	return w.B
}

// decodeEntry reads a stored exam row in any of its formats (see
// formatEntryV1).
func decodeEntry(v []byte) (*Entry, error) {
	var e Entry
	switch {
	case len(v) == 0:
		return nil, errors.New("empty value")
	case v[0] == '{':
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, err
		}
		return &e, nil
	case v[0] != formatEntryV1 && v[0] != formatEntryV2 && v[0] != formatEntryV3:
		return nil, fmt.Errorf("unknown value format %#x (written by a later version of vigie?)", v[0])
	}
	v3 := v[0] == formatEntryV3
	v2 := v[0] == formatEntryV2 || v3
	// One string holds every text field of the entry: the fields are
	// slices of it, not one allocation each.
	r := decoder{wire.NewReader(string(v[1:]))}
	x := &e.Exam
	for _, p := range []*string{&x.SOPInstanceUID, &x.SOPClassUID, &x.StudyUID, &x.Accession, &x.Date, &x.Time,
		&x.Modality, &x.Procedure, &x.Protocol,
		&x.Device.Manufacturer, &x.Device.Model, &x.Device.Station, &x.Device.Serial,
		&x.Patient.Age} {
		*p = r.Str()
	}
	x.Patient.Weight = r.qty()
	x.Patient.Height = r.qty()
	x.Source = SourceKind(r.Str())
	x.Domain = Domain(r.Str())
	x.Key.Authority = r.Str()
	x.Key.LocalID = r.Str()
	if r.Present() {
		c := &CTDose{DLPTotal: r.qty()}
		if n := r.Count(minCTEvent); n > 0 {
			c.Events = make([]CTEvent, n)
			for i := range c.Events {
				ev := &c.Events[i]
				ev.UID = r.Str()
				ev.Protocol = r.Str()
				ev.TargetRegion = r.code()
				ev.AcquisitionType = r.code()
				ev.Phantom = r.code()
				ev.CTDIvol = r.qty()
				ev.DLP = r.qty()
				ev.SSDE = r.qty()
				if !v2 {
					continue
				}
				ev.ScanLength = r.qty()
				ev.ExposureTime = r.qty()
				if k := r.Count(minCTSource); k > 0 {
					ev.Sources = make([]CTSource, k)
					for j := range ev.Sources {
						src := &ev.Sources[j]
						src.ID = r.Str()
						for _, q := range []**Quantity{&src.KVP, &src.MaxCurrent, &src.Current, &src.RotationTime} {
							*q = r.qty()
						}
					}
				}
				if v3 {
					ev.WED = r.qty()
				}
			}
		}
		x.CT = c
	}
	if r.Present() {
		p := &ProjectionDose{Planes: r.int()}
		for _, q := range []**Quantity{&p.DAPTotal, &p.RPTotal, &p.FluoroDAP, &p.FluoroRP, &p.AcqDAP, &p.AcqRP, &p.FluoroTime, &p.AcqTime} {
			*q = r.qty()
		}
		p.Frames = r.int()
		if n := r.Count(minProjectionEvent); n > 0 {
			p.Events = make([]ProjectionEvent, n)
			for i := range p.Events {
				ev := &p.Events[i]
				ev.UID = r.Str()
				ev.Type = r.code()
				ev.Protocol = r.Str()
				ev.DAP = r.qty()
				ev.RP = r.qty()
				ev.Duration = r.qty()
				ev.Fluoro = r.Present()
				if v3 {
					ev.Geometry = r.geometry()
				}
			}
		}
		x.Projection = p
	}
	if r.Present() {
		m := &MammographyDose{}
		for _, q := range []**Quantity{&m.AGDLeft, &m.AGDRight, &m.AGDBoth, &m.Thickness} {
			*q = r.qty()
		}
		if n := r.Count(minMammographyEvent); n > 0 {
			m.Events = make([]MammographyEvent, n)
			for i := range m.Events {
				ev := &m.Events[i]
				ev.UID = r.Str()
				ev.Laterality = r.Str()
				ev.View = r.code()
				ev.AGD = r.qty()
				ev.Thickness = r.qty()
			}
		}
		x.Mammography = m
	}
	if r.Present() {
		n := &NMDose{}
		if k := r.Count(minAdministration); k > 0 {
			n.Administrations = make([]Administration, k)
			for i := range n.Administrations {
				a := &n.Administrations[i]
				a.UID = r.Str()
				a.Radiopharmaceutical = r.code()
				a.Radionuclide = r.code()
				a.Activity = r.qty()
				a.Start = r.Str()
			}
		}
		x.NM = n
	}
	e.Reported = r.totals()
	e.Counted = r.totals()
	e.NewEvents = r.int()
	e.RepeatedEvents = r.int()
	sec, nsec := r.Int(), r.Int()
	if nsec < 0 || nsec >= 1e9 {
		r.Fail("stored_at nanoseconds out of range")
	}
	e.StoredAt = time.Unix(sec, nsec).UTC()
	e.SupersededBy = r.Str()
	if v2 {
		e.Conflict = r.Str()
	}
	if v3 {
		x.Patient.Pregnancy = r.Str()
	}
	if err := r.End(); err != nil {
		return nil, fmt.Errorf("corrupt exam value %w", err)
	}
	return &e, nil
}

// The fewest bytes an element of each list takes (every string, code and
// quantity at least one byte each).
const (
	minCTEvent          = 2 + 3*3 + 3
	minProjectionEvent  = 1 + 3 + 1 + 3 + 1
	minMammographyEvent = 2 + 3 + 2
	minAdministration   = 1 + 3 + 3 + 1 + 1
	minCTSource         = 1 + 4
)

// encoder and decoder add the ledger's compound values (quantities, codes,
// totals) to the shared primitives.
type encoder struct{ wire.Writer }

func (w *encoder) qty(q *Quantity) {
	if !w.Present(q != nil) {
		return
	}
	w.Float(q.Value)
	w.Str(q.Unit)
	w.Float(q.Raw)
	w.Str(q.RawUnit)
}

// geometry writes a presence byte, then a bit mask of the fields
// reported, then those fields.
func (w *encoder) geometry(g *Geometry) {
	if !w.Present(g != nil) {
		return
	}
	fs := g.Fields()
	var mask uint64
	for i, f := range fs {
		if *f != nil {
			mask |= 1 << i
		}
	}
	w.Uint(mask)
	for i, f := range fs {
		if mask&(1<<i) != 0 {
			w.Float(**f)
		}
	}
}

func (w *encoder) code(c Code) {
	w.Str(c.Value)
	w.Str(c.Scheme)
	w.Str(c.Meaning)
}

// totals writes a bit mask of the non-zero fields, then those fields.
func (w *encoder) totals(t *Totals) {
	fs := totalFields(t)
	var mask uint64
	for i, f := range fs {
		if *f != 0 || math.Signbit(*f) {
			mask |= 1 << i
		}
	}
	w.Uint(mask)
	for i, f := range fs {
		if mask&(1<<i) != 0 {
			w.Float(*f)
		}
	}
}

// totalFields lists the fields of a Totals in their stored order.
func totalFields(t *Totals) [10]*float64 {
	return [10]*float64{&t.DLP, &t.CTDIvolMax, &t.DAP, &t.RP, &t.FluoroTime, &t.AcqTime,
		&t.AGDLeft, &t.AGDRight, &t.AGDBoth, &t.Activity}
}

type decoder struct{ wire.Reader }

// int reads a varint that must fit in 32 bits (counts, frame numbers).
func (r *decoder) int() int {
	v := r.Int()
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.Fail("count out of range")
		return 0
	}
	return int(v)
}

func (r *decoder) qty() *Quantity {
	if !r.Present() {
		return nil
	}
	q := &Quantity{Value: r.Float(), Unit: r.Str(), Raw: r.Float(), RawUnit: r.Str()}
	if r.Err() != nil {
		return nil
	}
	return q
}

func (r *decoder) geometry() *Geometry {
	if !r.Present() {
		return nil
	}
	g := &Geometry{}
	fs := g.Fields()
	mask := r.Uint()
	if mask >= 1<<len(fs) {
		r.Fail("bad geometry mask")
		return nil
	}
	for i, f := range fs {
		if mask&(1<<i) != 0 {
			v := r.Float()
			*f = &v
		}
	}
	return g
}

func (r *decoder) code() Code {
	return Code{Value: r.Str(), Scheme: r.Str(), Meaning: r.Str()}
}

func (r *decoder) totals() Totals {
	var t Totals
	mask := r.Uint()
	if mask >= 1<<10 {
		r.Fail("bad totals mask")
		return t
	}
	for i, f := range totalFields(&t) {
		if mask&(1<<i) != 0 {
			*f = r.Float()
		}
	}
	return t
}
