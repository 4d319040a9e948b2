package dosimetry

import (
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strings"
	"sync"

	"vigie"
	"vigie/ledger"
)

// SkinModel is the model of the peak-skin-dose estimate
// (skin_dose_model.json): the body phantom, the reference point, the
// backscatter fit and the table transmission, each with its source.
type SkinModel struct {
	Label   string `json:"label"`
	Phantom struct {
		HalfWidthCm     float64 `json:"half_width_cm"`
		HalfThicknessCm float64 `json:"half_thickness_cm"`
		LengthCm        float64 `json:"length_cm"`
		CellCm          float64 `json:"cell_cm"`
		Note            string  `json:"note,omitempty"`
	} `json:"phantom"`
	ReferencePointCm     float64 `json:"reference_point_cm"`
	ReferencePointSource string  `json:"reference_point_source"`
	Backscatter          struct {
		Source      string      `json:"source"`
		FieldSideCm []float64   `json:"field_side_cm"`
		C           [][]float64 `json:"c"`
		KVPRange    [2]float64  `json:"kvp_range"`
		HVLRange    [2]float64  `json:"hvl_range_mm_al"`
		Note        string      `json:"note,omitempty"`
	} `json:"backscatter"`
	Table struct {
		Low  float64 `json:"low"`
		Note string  `json:"note,omitempty"`
	} `json:"table_transmission"`
	Uncertainty string `json:"uncertainty"`

	cellsOnce sync.Once
	cells     []skinCell
}

// grid returns the phantom's skin cells (computed once; read-only), NPhi
// columns by NZ rows.
func (m *SkinModel) grid(nPhi, nZ int) []skinCell {
	m.cellsOnce.Do(func() {
		p := &m.Phantom
		a, b := p.HalfWidthCm, p.HalfThicknessCm
		m.cells = make([]skinCell, nPhi*nZ)
		for i := 0; i < nPhi; i++ {
			// From the front midline through the patient's right side, the
			// middle of the back (middle column), the left side, to the
			// front.
			phi := math.Pi/2 + 2*math.Pi*(float64(i)+0.5)/float64(nPhi)
			n := vec{math.Cos(phi) / a, math.Sin(phi) / b, 0}
			n = n.scale(1 / n.norm())
			for j := 0; j < nZ; j++ {
				z := p.LengthCm/2 - (float64(j)+0.5)*p.CellCm
				m.cells[j*nPhi+i] = skinCell{vec{a * math.Cos(phi), b * math.Sin(phi), z}, n}
			}
		}
	})
	return m.cells
}

//go:embed skin_dose_model.json
var defaultSkinJSON []byte

// DefaultSkinModel returns the embedded skin-dose model (shared,
// read-only).
func DefaultSkinModel() *SkinModel { return shippedSkinModel() }

// shippedSkinModel parses the embedded file once.
var shippedSkinModel = loadEmbeddedOnce(defaultSkinJSON, LoadSkinModel)

// LoadSkinModel reads and validates a skin-dose model file.
func LoadSkinModel(r io.Reader) (*SkinModel, error) {
	const file coefficientFile = "skin-dose model"
	bad := file.invalid
	m, err := decodeCoefficientFile[SkinModel](r, file, "skin", "skin-dose")
	if err != nil {
		return nil, err
	}
	p := &m.Phantom
	if !(p.HalfWidthCm > 0 && p.HalfThicknessCm > 0 && p.LengthCm > 0 && p.CellCm >= 0.25 && p.LengthCm/p.CellCm <= 1000 &&
		2*math.Pi*max(p.HalfWidthCm, p.HalfThicknessCm)/p.CellCm <= 1000) {
		return nil, bad("phantom", "dimensions must be positive, with at most 1000 cells a side")
	}
	if !(m.ReferencePointCm >= 0 && m.ReferencePointCm < 50) || strings.TrimSpace(m.ReferencePointSource) == "" {
		return nil, bad("reference_point_cm", "needs a distance below 50 cm and its source")
	}
	b := &m.Backscatter
	if strings.TrimSpace(b.Source) == "" || len(b.FieldSideCm) < 2 || len(b.C) != 9 {
		return nil, bad("backscatter", "needs its source, two field sides or more and the 9 rows of coefficients")
	}
	for i, row := range b.C {
		if len(row) != len(b.FieldSideCm) {
			return nil, bad(fmt.Sprintf("backscatter.c[%d]", i), "has %d coefficients for %d field sides", len(row), len(b.FieldSideCm))
		}
	}
	for i := 1; i < len(b.FieldSideCm); i++ {
		if b.FieldSideCm[i] <= b.FieldSideCm[i-1] {
			return nil, bad("backscatter.field_side_cm", "must ascend")
		}
	}
	if !(b.KVPRange[0] > 0 && b.KVPRange[1] > b.KVPRange[0] && b.HVLRange[0] > 0 && b.HVLRange[1] >= b.HVLRange[0]) {
		return nil, bad("backscatter", "kvp_range and hvl_range_mm_al must be positive and ascending")
	}
	if !(m.Table.Low > 0 && m.Table.Low <= 1) {
		return nil, bad("table_transmission.low", "%v must be in (0, 1]", m.Table.Low)
	}
	return m, nil
}

// backscatter returns the fit's factor for a beam (kVp, HVL in mm Al) and
// a square field of side fsl (cm) at the skin, the field side brought
// into the tabulated span and interpolated linearly.
func (m *SkinModel) backscatter(kvp, hvl, fsl float64) float64 {
	b := &m.Backscatter
	at := func(j int) float64 {
		c := b.C
		return (c[0][j] + c[1][j]*kvp + c[2][j]*kvp*kvp) +
			(c[3][j]+c[4][j]*kvp+c[5][j]*kvp*kvp)*hvl +
			(c[6][j]+c[7][j]*kvp+c[8][j]*kvp*kvp)*hvl*hvl
	}
	s := b.FieldSideCm
	fsl = min(max(fsl, s[0]), s[len(s)-1])
	for j := 1; j < len(s); j++ {
		if fsl <= s[j] {
			w := (fsl - s[j-1]) / (s[j] - s[j-1])
			return (1-w)*at(j-1) + w*at(j)
		}
	}
	return at(len(s) - 1)
}

// backscatterRange returns the lowest and highest factor over the HVL
// range (and over the kVp range when the event gives no kVp).
func (m *SkinModel) backscatterRange(kvp *float64, fsl float64) (lo, hi float64) {
	b := &m.Backscatter
	kvs := []float64{}
	if kvp != nil {
		kvs = append(kvs, min(max(*kvp, b.KVPRange[0]), b.KVPRange[1]))
	} else {
		for k := b.KVPRange[0]; k <= b.KVPRange[1]; k += 10 {
			kvs = append(kvs, k)
		}
	}
	lo, hi = math.Inf(1), 0
	for _, kv := range kvs {
		for h := b.HVLRange[0]; h <= b.HVLRange[1]+1e-9; h += 0.5 {
			f := m.backscatter(kv, h, fsl)
			lo, hi = min(lo, f), max(hi, f)
		}
	}
	return lo, hi
}

// SkinDose is the peak-skin-dose estimate of an interventional exam.
type SkinDose struct {
	SOP string `json:"sop_instance_uid"`
	// PeakLowmGy and PeakHighmGy bound the peak skin dose; the high bound
	// is what follow-up is decided on.
	PeakLowmGy  float64 `json:"peak_low_mGy"`
	PeakHighmGy float64 `json:"peak_high_mGy"`
	// ReferencemGy is the air kerma at the reference point the events
	// add up to; VendorTotalmGy the report's own "Dose (RP) Total".
	ReferencemGy   float64 `json:"reference_point_mGy"`
	VendorTotalmGy float64 `json:"vendor_rp_total_mGy,omitempty"`
	Events         int     `json:"events"`
	// Incomplete counts events without the geometry the map needs
	// (angles, distances, field): each is put where the most dose lands.
	Incomplete int    `json:"incomplete_events,omitempty"`
	Reason     string `json:"reason,omitempty"`

	// The skin grid (the high bound), NPhi columns around the body from
	// the front midline through the patient's right side, the back (the
	// middle column) and the left side, NZ rows head first.
	NPhi, NZ int       `json:"-"`
	Grid     []float64 `json:"-"`
}

// Estimated reports whether the exam has a skin-dose estimate.
func (s *SkinDose) Estimated() bool { return s.PeakHighmGy > 0 }

// Text is the estimate in French.
func (s *SkinDose) Text() string {
	if !s.Estimated() {
		return s.Reason
	}
	t := fmt.Sprintf("dose maximale à la peau estimée entre %s et %s mGy (kerma au point de référence %s mGy",
		frNum(round(s.PeakLowmGy, 1)), frNum(round(s.PeakHighmGy, 1)), frNum(round(s.ReferencemGy, 1)))
	if s.PeakLowmGy == 0 {
		// No event could be mapped: only the conservative bound is known.
		t = fmt.Sprintf("dose maximale à la peau au plus %s mGy (borne haute ; kerma au point de référence %s mGy",
			frNum(round(s.PeakHighmGy, 1)), frNum(round(s.ReferencemGy, 1)))
	}
	if s.VendorTotalmGy > 0 {
		t += fmt.Sprintf(", total déclaré par l'appareil %s mGy", frNum(round(s.VendorTotalmGy, 1)))
	}
	t += ")"
	if s.Incomplete > 0 {
		t += fmt.Sprintf(" ; %d événement(s) sans géométrie complète comptés au point le plus exposé", s.Incomplete)
	}
	return t
}

// Reasons an exam has no skin-dose estimate.
const (
	skinNotProjection = "pas de carte de dose à la peau : l'examen n'est pas de radiologie interventionnelle ou de scopie"
	skinNoEvents      = "pas de carte de dose à la peau : le rapport ne détaille pas les événements d'irradiation"
)

type vec struct{ x, y, z float64 }

// skinCell is one cell of the phantom's skin: its centre and outward
// normal.
type skinCell struct{ pos, normal vec }

func (a vec) sub(b vec) vec       { return vec{a.x - b.x, a.y - b.y, a.z - b.z} }
func (a vec) dot(b vec) float64   { return a.x*b.x + a.y*b.y + a.z*b.z }
func (a vec) scale(k float64) vec { return vec{a.x * k, a.y * k, a.z * k} }
func (a vec) norm() float64       { return math.Sqrt(a.dot(a)) }
func (a vec) cross(b vec) vec {
	return vec{a.y*b.z - a.z*b.y, a.z*b.x - a.x*b.z, a.x*b.y - a.y*b.x}
}

func val0(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// Estimate maps the irradiation events of the entries of one procedure
// (a study's RDSR and its continuations: each event is counted once, by
// its UID) onto the phantom and returns the peak skin dose. Coordinates
// are cm, origin at the isocentre, x to the patient's left, y anterior, z
// cranial; the patient lies supine, centred on the isocentre at the first
// event with a geometry.
func (m *SkinModel) Estimate(es []*ledger.Entry) *SkinDose {
	p := &m.Phantom
	a, b := p.HalfWidthCm, p.HalfThicknessCm
	perim := math.Pi * (3*(a+b) - math.Sqrt((3*a+b)*(a+3*b))) // Ramanujan
	out := &SkinDose{NPhi: int(math.Ceil(perim / p.CellCm)), NZ: int(math.Ceil(p.LengthCm / p.CellCm))}
	if len(es) > 0 {
		out.SOP = es[0].Exam.SOPInstanceUID
	}
	// The grids are made for the first event that can be mapped: most
	// projection reports (radiography, mobile C-arms) have none.
	var cells []skinCell
	var low, high []float64
	seen := map[string]bool{}
	var origin *ledger.Geometry
	var anyProjection bool
	for _, e := range es {
		pr := e.Exam.Projection
		if pr == nil {
			continue
		}
		anyProjection = true
		if pr.RPTotal != nil {
			out.VendorTotalmGy += pr.RPTotal.Value
		}
		for k := range pr.Events {
			ev := &pr.Events[k]
			if ev.UID != "" {
				if seen[ev.UID] {
					continue
				}
				seen[ev.UID] = true
			}
			if ev.RP == nil || ev.RP.Value <= 0 {
				continue
			}
			out.Events++
			out.ReferencemGy += ev.RP.Value
			g := ev.Geometry
			if g == nil || g.SourceToIsocenter == nil || (g.FieldArea == nil && (g.FieldHeight == nil || g.FieldWidth == nil)) ||
				g.SourceToDetector == nil {
				// Nothing to spread the dose with: every such event lands
				// where the most dose lands, at the reference point, with
				// the highest backscatter of the model (its kVp if known,
				// the largest tabulated field: the field is unknown).
				out.Incomplete++
				var kvp *float64
				if g != nil {
					kvp = g.KVP
				}
				fs := m.Backscatter.FieldSideCm
				_, hi := m.backscatterRange(kvp, fs[len(fs)-1])
				out.PeakHighmGy += ev.RP.Value * hi
				continue
			}
			if origin == nil {
				origin = g
				cells = m.grid(out.NPhi, out.NZ)
				low, high = make([]float64, len(cells)), make([]float64, len(cells))
			}
			m.addEvent(cells, out.NPhi, low, high, ev.RP.Value, g, origin)
		}
	}
	if !anyProjection {
		out.Reason = skinNotProjection
		return out
	}
	if out.Events == 0 {
		out.Reason = skinNoEvents
		return out
	}
	for i := range low {
		out.PeakLowmGy = max(out.PeakLowmGy, low[i])
	}
	peak := 0.0
	for i := range high {
		peak = max(peak, high[i])
	}
	// Incomplete events were added to PeakHighmGy as if they all hit the
	// most exposed cell: the bound stays conservative.
	out.PeakHighmGy += peak
	out.Grid = high
	return out
}

// addEvent adds one event's skin dose to the grids.
func (m *SkinModel) addEvent(cells []skinCell, nPhi int, low, high []float64, kRP float64, g, origin *ledger.Geometry) {
	alpha, beta := val0(g.PrimaryAngle)*math.Pi/180, val0(g.SecondaryAngle)*math.Pi/180
	u := vec{math.Sin(alpha) * math.Cos(beta), math.Cos(alpha) * math.Cos(beta), math.Sin(beta)}
	dsi := *g.SourceToIsocenter / 10
	sid := *g.SourceToDetector / 10
	drp := dsi - m.ReferencePointCm
	if g.SourceToRP != nil {
		drp = *g.SourceToRP / 10
	}
	if drp <= 0 || sid <= 0 {
		return
	}
	src := u.scale(-dsi)
	// The patient moves with the table; relative to the first event.
	shift := vec{(val0(g.TableLateral) - val0(origin.TableLateral)) / 10, 0,
		(val0(g.TableLongitudinal) - val0(origin.TableLongitudinal)) / 10}
	var hw, hh float64 // half field at the detector, cm
	if g.FieldWidth != nil && g.FieldHeight != nil {
		hw, hh = *g.FieldWidth/20, *g.FieldHeight/20
	} else {
		s := math.Sqrt(*g.FieldArea) / 2
		hw, hh = s, s
	}
	up := vec{0, 0, 1}
	e2 := up.sub(u.scale(up.dot(u)))
	if e2.norm() < 1e-6 {
		e2 = vec{1, 0, 0}
	}
	e2 = e2.scale(1 / e2.norm())
	e1 := e2.cross(u)
	// The field side at the skin decides the backscatter (one factor per
	// event: the entrance is within a few cm of the same distance).
	fsl := 2 * math.Sqrt(hw*hh) * (dsi - m.Phantom.HalfThicknessCm) / sid
	bLo, bHi := m.backscatterRange(g.KVP, fsl)
	throughTable := src.y < -m.Phantom.HalfThicknessCm
	tab := 1.0
	if throughTable {
		tab = m.Table.Low
	}
	// Only the columns facing the source (the facing test does not depend
	// on z) and the rows the field may reach (bounds of v·e2 and t over
	// the phantom's cross-section, so no row in the field is skipped) are
	// visited: a field covers a fraction of the skin.
	var facing []int
	for i := 0; i < nPhi; i++ {
		c := &cells[i]
		pos := vec{c.pos.x + shift.x, c.pos.y + shift.y, 0}
		if (c.normal.x*(src.x-pos.x) + c.normal.y*(src.y-pos.y)) > 0 {
			facing = append(facing, i)
		}
	}
	span := func(k, lo, hi float64) (float64, float64) { return min(k*lo, k*hi), max(k*lo, k*hi) }
	a, b := m.Phantom.HalfWidthCm, m.Phantom.HalfThicknessCm
	x2lo, x2hi := span(e2.x, shift.x-a-src.x, shift.x+a-src.x)
	y2lo, y2hi := span(e2.y, -b-src.y, b-src.y)
	_, xthi := span(u.x, shift.x-a-src.x, shift.x+a-src.x)
	_, ythi := span(u.y, -b-src.y, b-src.y)
	nz := len(cells) / nPhi
	for j := 0; j < nz; j++ {
		dz := cells[j*nPhi].pos.z + shift.z - src.z
		lo2, hi2 := x2lo+y2lo+e2.z*dz, x2hi+y2hi+e2.z*dz
		minAbs := 0.0
		if lo2 > 0 {
			minAbs = lo2
		} else if hi2 < 0 {
			minAbs = -hi2
		}
		if tmax := xthi + ythi + u.z*dz; tmax <= 0 || minAbs > tmax*hh/sid {
			continue
		}
		for _, i := range facing {
			k := j*nPhi + i
			c := &cells[k]
			pos := vec{c.pos.x + shift.x, c.pos.y + shift.y, c.pos.z + shift.z}
			v := pos.sub(src)
			t := v.dot(u)
			if t <= 0 {
				continue
			}
			if math.Abs(v.dot(e1)) > t*hw/sid || math.Abs(v.dot(e2)) > t*hh/sid {
				continue
			}
			d := v.norm()
			isq := (drp / d) * (drp / d)
			low[k] += kRP * isq * bLo * tab
			high[k] += kRP * max(isq, 1) * bHi
		}
	}
}

// PNG writes the skin map (the high bound) as an image: one square of
// scale pixels per skin cell, the front midline at both edges, the
// patient's right side left of the middle, the back in the middle, the
// head at the top; blue for no dose through
// green and yellow to red at the threshold and above (thresholdmGy ≤ 0:
// at the peak). A colour bar runs along the bottom.
func (s *SkinDose) PNG(w io.Writer, thresholdmGy float64, scale int) error {
	if s.NPhi == 0 || s.NZ == 0 || len(s.Grid) != s.NPhi*s.NZ {
		return vigie.Errorf(vigie.EINVALID, "dosimetry: skin map: the estimate has no skin grid (%s)", s.Reason)
	}
	scale = min(max(scale, 1), 16)
	top := thresholdmGy
	if top <= 0 {
		for _, v := range s.Grid {
			top = max(top, v)
		}
	}
	if top <= 0 {
		top = 1
	}
	bar := 3
	img := image.NewRGBA(image.Rect(0, 0, s.NPhi*scale, (s.NZ+bar)*scale))
	for j := 0; j < s.NZ; j++ {
		for i := 0; i < s.NPhi; i++ {
			c := heat(s.Grid[j*s.NPhi+i] / top)
			for y := j * scale; y < (j+1)*scale; y++ {
				for x := i * scale; x < (i+1)*scale; x++ {
					img.SetRGBA(x, y, c)
				}
			}
		}
	}
	for x := 0; x < s.NPhi*scale; x++ {
		c := heat(float64(x) / float64(s.NPhi*scale-1))
		for y := s.NZ * scale; y < (s.NZ+bar)*scale; y++ {
			img.SetRGBA(x, y, c)
		}
	}
	return png.Encode(w, img)
}

// heat maps 0..1 (and above) to blue, cyan, green, yellow, red.
func heat(f float64) color.RGBA {
	if f <= 0 || math.IsNaN(f) {
		return color.RGBA{20, 20, 60, 255}
	}
	f = min(f, 1)
	stops := []color.RGBA{{0, 0, 255, 255}, {0, 200, 255, 255}, {0, 200, 0, 255}, {255, 230, 0, 255}, {220, 0, 0, 255}}
	x := f * float64(len(stops)-1)
	i := min(int(x), len(stops)-2)
	w := x - float64(i)
	mix := func(a, b uint8) uint8 { return uint8(float64(a)*(1-w) + float64(b)*w) }
	a, b := stops[i], stops[i+1]
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}
