package mpi

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"vigie"
	"vigie/matcher"
	"vigie/store"
)

// The matching model lives in the store, versioned, under a namespace of
// its own (w/, see package store): the links of an index are only as good
// as the model that made them, so the model must be known, kept and
// changed only by an explicit act.
//
//	w/model/<version:8>   one model version: how it was obtained, and the model file
//	w/current             the version the index scores with (8-byte big-endian)
//	w/applied/<time:8>    who made which version current on a live index, and why
const (
	pModel        = "w/model/"
	keyModelCurr  = "w/current"
	modelDocument = 1 // version of the stored model document
)

// How a model version was obtained (ModelInfo.Origin).
const (
	OriginShipped = "shipped" // the model built into Vigie
	OriginFitted  = "fitted"  // fitted without labels on the index's own records
	OriginFile    = "file"    // given by an administrator as a model file
)

// ModelInfo describes one stored model version.
type ModelInfo struct {
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	Origin  string    `json:"origin"`
	// Records is how many records the model was fitted on (fitted only).
	Records int `json:"records,omitempty"`
	// File is the feed or model file it came from (base name only).
	File   string `json:"file,omitempty"`
	Actor  Actor  `json:"actor,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Report is what fitting and calibration said, for the audit.
	Report string `json:"report,omitempty"`
	// Current is set on the version the index scores with (not stored).
	Current bool `json:"-"`
}

func (i ModelInfo) String() string {
	s := fmt.Sprintf("model version %d (%s", i.Version, i.Origin)
	if i.Records > 0 {
		s += fmt.Sprintf(" on %d records", i.Records)
	}
	if i.File != "" {
		s += " of " + i.File
	}
	return s + ", " + i.Created.UTC().Format(time.RFC3339) + ")"
}

// storedModel is the document under w/model/.
type storedModel struct {
	Doc int `json:"doc"`
	ModelInfo
	Model json.RawMessage `json:"model"`
}

func modelKey(v int) []byte {
	k := make([]byte, len(pModel)+8)
	copy(k, pModel)
	binary.BigEndian.PutUint64(k[len(pModel):], uint64(v))
	return k
}

// CurrentModel reads the store's current model and what it is; found is
// false in a store that has none (one written before models were stored).
func CurrentModel(db *store.DB) (m *matcher.Model, info ModelInfo, found bool, err error) {
	err = db.View(func(txn *store.Txn) error {
		var v int
		if ok, err := store.Read(txn, []byte(keyModelCurr), func(b []byte) error {
			if len(b) != 8 {
				return vigie.Errorf(vigie.EINTERNAL, "mpi: current model pointer of %d bytes", len(b))
			}
			v = int(binary.BigEndian.Uint64(b))
			return nil
		}); err != nil || !ok {
			return err
		}
		m, info, err = readModel(txn, v)
		found = err == nil
		return err
	})
	info.Current = found
	return m, info, found, err
}

// ModelVersion reads one stored model version.
func ModelVersion(db *store.DB, version int) (m *matcher.Model, info ModelInfo, err error) {
	err = db.View(func(txn *store.Txn) error {
		m, info, err = readModel(txn, version)
		return err
	})
	return m, info, err
}

func readModel(txn *store.Txn, version int) (*matcher.Model, ModelInfo, error) {
	var sm storedModel
	found, err := store.Read(txn, modelKey(version), func(b []byte) error {
		if err := json.Unmarshal(b, &sm); err != nil {
			return fmt.Errorf("mpi: model version %d: %w", version, err)
		}
		return nil
	})
	if err != nil {
		return nil, ModelInfo{}, err
	}
	if !found {
		return nil, ModelInfo{}, vigie.Errorf(vigie.ENOTFOUND, "model version %d is not in the store", version)
	}
	if sm.Doc != modelDocument {
		return nil, ModelInfo{}, vigie.Errorf(vigie.EINTERNAL, "mpi: model version %d: document version %d, this build reads %d", version, sm.Doc, modelDocument)
	}
	m, err := matcher.ParseModel(sm.Model)
	if err != nil {
		return nil, ModelInfo{}, fmt.Errorf("mpi: model version %d: %w", version, err)
	}
	return m, sm.ModelInfo, nil
}

// ModelVersions lists every stored model version, oldest first, the
// current one flagged.
func ModelVersions(db *store.DB) ([]ModelInfo, error) {
	var out []ModelInfo
	cur := 0
	err := db.View(func(txn *store.Txn) error {
		if item, err := txn.Get([]byte(keyModelCurr)); err == nil {
			if err := item.Value(func(b []byte) error {
				if len(b) == 8 {
					cur = int(binary.BigEndian.Uint64(b))
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return scan(txn, pModel, func(_, v []byte) error {
			var sm storedModel
			if err := json.Unmarshal(v, &sm); err != nil {
				return err
			}
			sm.ModelInfo.Current = sm.Version == cur
			out = append(out, sm.ModelInfo)
			return nil
		})
	})
	return out, err
}

// SaveModel stores m as a new model version (numbered after the last one)
// and, when current is set, makes it the version the index scores with. It
// returns the stored info (Version and Created filled in). The write goes
// through the store's disk guard.
func SaveModel(db *store.DB, m *matcher.Model, info ModelInfo, current bool, now time.Time) (ModelInfo, error) {
	if m == nil {
		return info, vigie.Invalid("model", "a matching model is required")
	}
	if info.Origin == "" {
		return info, vigie.Invalid("origin", "how the model was obtained is required")
	}
	body, err := m.MarshalJSON()
	if err != nil {
		return info, err
	}
	if _, err := matcher.ParseModel(body); err != nil { // never store what cannot be read back
		return info, err
	}
	info.Created = now.UTC()
	info.Report = strings.TrimSpace(info.Report)
	err = store.Update(db, func(txn *store.Txn) error {
		last := 0
		it := txn.NewIterator(store.IteratorOptions{Prefix: []byte(pModel), Reverse: true})
		end := modelKey(1<<62 - 1)
		for it.Seek(end); it.ValidForPrefix([]byte(pModel)); it.Next() {
			last = int(binary.BigEndian.Uint64(it.Item().Key()[len(pModel):]))
			break
		}
		it.Close()
		info.Version = last + 1
		doc, err := json.Marshal(storedModel{Doc: modelDocument, ModelInfo: info, Model: body})
		if err != nil {
			return err
		}
		if err := txn.Set(modelKey(info.Version), doc); err != nil {
			return err
		}
		if current {
			var v [8]byte
			binary.BigEndian.PutUint64(v[:], uint64(info.Version))
			return txn.Set([]byte(keyModelCurr), v[:])
		}
		return nil
	})
	info.Current = current && err == nil
	return info, err
}

// SetCurrentModel makes a stored version the one the index scores with.
// It does not re-link anything: use Index.UseModel on an open index.
func SetCurrentModel(db *store.DB, version int) error {
	return store.Update(db, func(txn *store.Txn) error {
		if found, err := store.Has(txn, modelKey(version)); err != nil {
			return err
		} else if !found {
			return vigie.Errorf(vigie.ENOTFOUND, "model version %d is not in the store", version)
		}
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], uint64(version))
		return txn.Set([]byte(keyModelCurr), v[:])
	})
}

// scoring is the model an index scores with and what it is.
type scoring struct {
	model *matcher.Model
	info  ModelInfo
}

// ModelInfo says which model the index scores with: its stored version
// (0 when the index was opened with a model given by its caller and not
// stored).
func (x *Index) ModelInfo() ModelInfo { return x.scoring.Load().info }

// UseModel stores m as a new current model version and scores with it
// from now on. It re-links nothing: links made so far stay as they are.
// It is refused while a bulk load runs.
func (x *Index) UseModel(m *matcher.Model, info ModelInfo) (ModelInfo, error) {
	if !x.excl.TryLock() {
		return info, vigie.Errorf(vigie.ECONFLICT, "mpi: a bulk load or changes hold the patient index; try again once they are done")
	}
	defer x.excl.Unlock()
	info, err := SaveModel(x.db, m, info, true, x.opts.Now())
	if err != nil {
		return info, err
	}
	x.scoring.Store(&scoring{model: m, info: info})
	return info, nil
}

// openModel chooses the model Open scores with: the caller's when given
// (not stored), else the store's current one; a store without one (written
// before models were stored) gets the shipped model, recorded as its first
// version unless the store is read-only or under its disk reserve (it is
// then recorded at a later opening).
func openModel(db *store.DB, given *matcher.Model, now time.Time) (*scoring, error) {
	if given != nil {
		return &scoring{model: given, info: ModelInfo{Origin: "given by the caller"}}, nil
	}
	m, info, found, err := CurrentModel(db)
	if err != nil {
		return nil, err
	}
	if found {
		return &scoring{model: m, info: info}, nil
	}
	m = matcher.DefaultModel()
	info = ModelInfo{Origin: OriginShipped, Actor: System, Reason: "store without a model: the shipped model"}
	if !db.ReadOnly() {
		if saved, err := SaveModel(db, m, info, true, now); err == nil {
			info = saved
		} else if vigie.ErrorCode(err) != vigie.EEXHAUSTED {
			return nil, err
		}
	}
	return &scoring{model: m, info: info}, nil
}

// pModelApplied holds the audit trace of model changes on a live index:
// w/applied/<time:8> → who made which version current, from which, why.
const pModelApplied = "w/applied/"

// ModelChange is one administrator's act making a stored model version
// the current one (see Index.ApplyModel).
type ModelChange struct {
	Time   time.Time `json:"time"`
	From   int       `json:"from"`
	To     int       `json:"to"`
	Actor  Actor     `json:"actor"`
	Reason string    `json:"reason"`
}

// ApplyModel makes a stored model version (one proposed by `vigie train`)
// the current one, as an explicit act of a named administrator with a
// reason, recorded in the store beside the models. It re-links nothing:
// links made so far stay as they are and manual decisions stand; the new
// model decides only the records resolved from now on. Refused while a
// bulk load runs.
func (x *Index) ApplyModel(version int, actor Actor, reason string) (ModelInfo, error) {
	if actor == "" || actor == System || reason == "" {
		return ModelInfo{}, vigie.Invalid("actor", "changing the model is an administrator's act: a named actor and a reason are required")
	}
	if !x.excl.TryLock() {
		return ModelInfo{}, vigie.Errorf(vigie.ECONFLICT, "mpi: a bulk load or changes hold the patient index; try again once they are done")
	}
	defer x.excl.Unlock()
	m, info, err := ModelVersion(x.db, version)
	if err != nil {
		return info, err
	}
	from := x.ModelInfo().Version
	if from == version {
		return info, vigie.Errorf(vigie.ECONFLICT, "model version %d is already the current one", version)
	}
	now := x.opts.Now().UTC()
	err = store.Update(x.db, func(txn *store.Txn) error {
		doc, err := json.Marshal(ModelChange{Time: now, From: from, To: version, Actor: actor, Reason: reason})
		if err != nil {
			return err
		}
		k := make([]byte, len(pModelApplied)+8)
		copy(k, pModelApplied)
		binary.BigEndian.PutUint64(k[len(pModelApplied):], uint64(now.UnixNano()))
		if err := txn.Set(k, doc); err != nil {
			return err
		}
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], uint64(version))
		return txn.Set([]byte(keyModelCurr), v[:])
	})
	if err != nil {
		return info, err
	}
	info.Current = true
	x.scoring.Store(&scoring{model: m, info: info})
	return info, nil
}

// ModelChanges lists the model changes applied on the index, oldest first.
func ModelChanges(db *store.DB) ([]ModelChange, error) {
	var out []ModelChange
	err := db.View(func(txn *store.Txn) error {
		return scan(txn, pModelApplied, func(_, v []byte) error {
			var c ModelChange
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	return out, err
}
