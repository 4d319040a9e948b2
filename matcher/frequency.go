package matcher

import "sync"

// FrequencyTable counts family names and first names over a population of
// records, for the term-frequency adjustment. It is safe for concurrent use.
type FrequencyTable struct {
	mu                sync.RWMutex
	names, firsts     map[string]uint32
	nameTot, firstTot uint64
}

// NewFrequencyTable returns an empty table.
func NewFrequencyTable() *FrequencyTable {
	return &FrequencyTable{names: map[string]uint32{}, firsts: map[string]uint32{}}
}

// Add counts a prepared record's family name and first name.
func (t *FrequencyTable) Add(p *Prepared) { t.add(p, 1) }

// Remove uncounts a record (an update replaces its previous version).
func (t *FrequencyTable) Remove(p *Prepared) { t.add(p, -1) }

func (t *FrequencyTable) add(p *Prepared, d int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := family(p); !n.Empty() {
		t.names[n.CoreGlued] = uint32(int(t.names[n.CoreGlued]) + d)
		t.nameTot = uint64(int64(t.nameTot) + int64(d))
	}
	if !p.First.Empty() {
		t.firsts[p.First.Glued] = uint32(int(t.firsts[p.First.Glued]) + d)
		t.firstTot = uint64(int64(t.firstTot) + int64(d))
	}
}

// NameFrequency returns the share of records with this family name (core
// letters), or 0 when the table has too few records to say.
func (t *FrequencyTable) NameFrequency(v string) float64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.nameTot < 1000 {
		return 0
	}
	return float64(t.names[v]) / float64(t.nameTot)
}

// FirstNameFrequency returns the share of records with this first name.
func (t *FrequencyTable) FirstNameFrequency(v string) float64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.firstTot < 1000 {
		return 0
	}
	return float64(t.firsts[v]) / float64(t.firstTot)
}

// FirstNameCount returns how many records carry this first name.
func (t *FrequencyTable) FirstNameCount(v string) int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return int(t.firsts[v])
}
