package rpc_test

import (
	"context"
	"testing"

	"vigie"
	"vigie/matcher"
	"vigie/mpi"
	"vigie/rpc"
	"vigie/store"
)

func TestMPIDemographics(t *testing.T) {
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ix, err := mpi.Open(db, matcher.DefaultModel(), mpi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	for _, r := range []vigie.Record{
		{Authority: siteA, LocalID: "H1", BirthName: "LAGARDE", FirstName: "PIERRE", BirthDate: "1980-06-15", Sex: "H"},
		{Authority: siteA, LocalID: "F1", BirthName: "LAGARDE", FirstName: "ANNE", BirthDate: "2015-03-01", Sex: "2"},
		{Authority: siteA, LocalID: "U1", BirthName: "LAGARDE", FirstName: "CAMILLE", BirthDate: "1990", Sex: "U"},
	} {
		if _, err := ix.Resolve(ctx, r, mpi.System); err != nil {
			t.Fatal(err)
		}
	}
	d := rpc.NewMPIDemographics(ctx, ix)
	tests := []struct {
		local, date string
		sex         string
		age         float64 // whole years (days counted as 1/365.25 year); -1: unknown
	}{
		{"H1", "2025-06-14", "M", 44},
		{"H1", "2025-06-15", "M", 45},
		{"F1", "2025-01-01", "F", 9},
		{"F1", "2014-01-01", "F", -1}, // exam before birth
		{"U1", "2025-01-01", "", -1},  // no full birth date, sex unknown
		{"NOPE", "2025-01-01", "", -1},
	}
	for _, tc := range tests {
		k := vigie.SourceKey{Authority: siteA, LocalID: tc.local}
		if got := d.Sex(k); got != tc.sex {
			t.Errorf("%s: sex %q, want %q", tc.local, got, tc.sex)
		}
		age, ok := d.Age(k, tc.date)
		if tc.age < 0 {
			if ok {
				t.Errorf("%s on %s: age %.2f, want unknown", tc.local, tc.date, age)
			}
		} else if !ok || age < tc.age-0.01 || age >= tc.age+1 {
			t.Errorf("%s on %s: age %.2f (%v), want %v", tc.local, tc.date, age, ok, tc.age)
		}
	}
	if err := d.Err(); err != nil {
		t.Errorf("Err = %v; an unknown record is not a failure", err)
	}
}
