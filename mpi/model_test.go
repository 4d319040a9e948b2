package mpi

import (
	"testing"
	"time"

	"vigie"
	"vigie/matcher"
	"vigie/synth"
)

// Model versions are numbered in order, read back as stored, and only
// the one made current is scored with.
func TestModelStorageVersions(t *testing.T) {
	db := memStore(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if _, _, found, err := CurrentModel(db); err != nil || found {
		t.Fatalf("empty store: found %v, err %v; want no model", found, err)
	}
	v1, err := SaveModel(db, matcher.DefaultModel(), ModelInfo{Origin: OriginShipped}, true, now)
	if err != nil {
		t.Fatal(err)
	}
	strict := matcher.DefaultModel()
	strict.AutoLink = 0.9999
	v2, err := SaveModel(db, strict, ModelInfo{Origin: OriginFitted, Records: 5000, File: "feed.csv"}, false, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		setCurrent  int
		wantVersion int
		wantAuto    float64
		wantOrigin  string
		wantCode    string
	}{
		{"first version current", 0, 1, 0.999, OriginShipped, ""},
		{"second made current", 2, 2, 0.9999, OriginFitted, ""},
		{"unknown version refused", 9, 2, 0.9999, OriginFitted, vigie.ENOTFOUND},
		{"back to the first", 1, 1, 0.999, OriginShipped, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setCurrent > 0 {
				err := SetCurrentModel(db, tc.setCurrent)
				if vigie.ErrorCode(err) != tc.wantCode && !(tc.wantCode == "" && err == nil) {
					t.Fatalf("set current %d: %v, want code %q", tc.setCurrent, err, tc.wantCode)
				}
			}
			m, info, found, err := CurrentModel(db)
			if err != nil || !found {
				t.Fatalf("current model: found %v, err %v", found, err)
			}
			if info.Version != tc.wantVersion || m.AutoLink != tc.wantAuto || info.Origin != tc.wantOrigin || !info.Current {
				t.Errorf("current: version %d auto-link %g origin %q current %v; want %d %g %q", info.Version, m.AutoLink, info.Origin, info.Current, tc.wantVersion, tc.wantAuto, tc.wantOrigin)
			}
		})
	}
	if v1.Version != 1 || v2.Version != 2 || !v2.Created.Equal(now.Add(time.Hour)) || v2.Records != 5000 || v2.File != "feed.csv" {
		t.Errorf("saved %+v and %+v", v1, v2)
	}
	list, err := ModelVersions(db)
	if err != nil || len(list) != 2 || !list[0].Current || list[1].Current {
		t.Fatalf("versions %+v, err %v; want two, the first current", list, err)
	}
	if _, err := SaveModel(db, strict, ModelInfo{}, true, now); vigie.ErrorCode(err) != vigie.EINVALID {
		t.Errorf("a model without origin: %v, want EINVALID", err)
	}
}

// A store written before models were stored scores with the shipped
// model, recorded as its first version at the first opening, and only
// then.
func TestOpenOlderStoreRecordsShippedModel(t *testing.T) {
	db := memStore(t)
	for range 2 {
		ix, err := Open(db, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		info := ix.ModelInfo()
		if info.Version != 1 || info.Origin != OriginShipped || ix.Model().AutoLink != matcher.DefaultModel().AutoLink {
			t.Errorf("model %+v, want version 1, shipped", info)
		}
		ix.Close()
	}
	if list, err := ModelVersions(db); err != nil || len(list) != 1 {
		t.Errorf("versions %+v, err %v: want one", list, err)
	}
}

// A model fitted at the first load is stored as the current version and
// scored with again once the index is reopened; a second first load is
// refused, and a feed too small keeps the model it had.
func TestFitAtFirstLoadSurvivesReopening(t *testing.T) {
	var recs []vigie.Record
	if _, err := synth.Generate(synth.DefaultConfig(1500, 3), func(r *synth.Record) error {
		recs = append(recs, r.Traits())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db := memStore(t)
	ix, err := Open(db, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	small, info, err := ix.FitAtFirstLoad(recs[:100], "small.csv", FitOptions{})
	if err != nil || small.Fitted || info.Version != 1 {
		t.Fatalf("100 records: fitted %v, version %d, err %v; want the shipped version 1 kept", small.Fitted, info.Version, err)
	}
	rep, info, err := ix.FitAtFirstLoad(recs, "feed.csv", FitOptions{MinRecords: 1000, RandomPairs: 20000})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Fitted || info.Version != 2 || info.Origin != OriginFitted || info.Records != len(recs) || info.File != "feed.csv" {
		t.Fatalf("fitted %v, info %+v", rep.Fitted, info)
	}
	fitted := ix.Model()
	// Calibration never makes automatic links looser than the start
	// model's (the shipped one here).
	if fitted.Calibration == nil || fitted.AutoLink != fitted.Calibration.AutoLink || fitted.AutoLink < matcher.DefaultModel().AutoLink {
		t.Fatalf("fitted model's thresholds %g / %g, calibration %+v", fitted.AutoLink, fitted.Review, fitted.Calibration)
	}
	i := 0
	err = ix.Import(ctx, func(emit func(Row) error) error {
		for ; i < len(recs); i++ {
			if err := emit(Row{Line: i + 2, Record: recs[i]}); err != nil {
				return err
			}
		}
		return nil
	}, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ix.FitAtFirstLoad(recs, "again.csv", FitOptions{MinRecords: 1000, RandomPairs: 20000}); vigie.ErrorCode(err) != vigie.ECONFLICT {
		t.Errorf("fitting a loaded index: %v, want ECONFLICT", err)
	}
	ix.Close()
	again, err := Open(db, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := again.ModelInfo(); got.Version != 2 || got.Origin != OriginFitted {
		t.Errorf("reopened with %+v, want the fitted version 2", got)
	}
	if m := again.Model(); m.AutoLink != fitted.AutoLink || m.Review != fitted.Review || m.MatchesPerRecord != fitted.MatchesPerRecord {
		t.Errorf("reopened model differs from the fitted one: %g/%g/%g vs %g/%g/%g", m.AutoLink, m.Review, m.MatchesPerRecord, fitted.AutoLink, fitted.Review, fitted.MatchesPerRecord)
	}
}
