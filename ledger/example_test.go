package ledger_test

import (
	"context"
	"fmt"

	"vigie"
	"vigie/ledger"
	"vigie/store"
)

func dlp(v float64) *ledger.Quantity {
	q, err := ledger.NewQuantity(v, "mGy.cm", ledger.DimDLP)
	if err != nil {
		panic(err)
	}
	return &q
}

// A scanner sends a dose report after the scout, then a cumulative one
// repeating the scout's event: the study's DLP counts each event once.
func ExampleLedger_Put() {
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	l := ledger.Open(db)
	ctx := context.Background()
	key := vigie.SourceKey{Authority: "1.2.250.1.71.4.2.7.1", LocalID: "IPP42"}
	scout := ledger.CTEvent{UID: "1.2.3.1", DLP: dlp(7.46)}
	helix := ledger.CTEvent{UID: "1.2.3.2", DLP: dlp(69.81)}
	reports := []*ledger.Exam{
		{SOPInstanceUID: "1.2.9.1", StudyUID: "1.2.8", Date: "2024-03-01", Procedure: "TDM thorax", Source: ledger.SourceRDSR,
			Domain: ledger.DomainCT, Key: key, CT: &ledger.CTDose{DLPTotal: dlp(7.46), Events: []ledger.CTEvent{scout}}},
		{SOPInstanceUID: "1.2.9.2", StudyUID: "1.2.8", Date: "2024-03-01", Procedure: "TDM thorax", Source: ledger.SourceRDSR,
			Domain: ledger.DomainCT, Key: key, CT: &ledger.CTDose{DLPTotal: dlp(77.27), Events: []ledger.CTEvent{scout, helix}}},
	}
	for _, r := range reports {
		out, err := l.Put(ctx, r)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %s: %d new, %d repeated events, counts %.2f mGy.cm\n", r.SOPInstanceUID, out.Result, out.NewEvents, out.RepeatedEvents, out.Counted.DLP)
	}
	h, err := l.History(ctx, []vigie.SourceKey{key})
	if err != nil {
		panic(err)
	}
	for _, r := range h.CT {
		fmt.Printf("%s %s: DLP %.2f mGy.cm\n", r.Date, r.Procedure, r.DLPmGycm)
	}
	// Output:
	// 1.2.9.1 stored: 1 new, 0 repeated events, counts 7.46 mGy.cm
	// 1.2.9.2 stored: 1 new, 1 repeated events, counts 69.81 mGy.cm
	// 2024-03-01 TDM thorax: DLP 77.27 mGy.cm
}

func ExampleLedger_History() {
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	l := ledger.Open(db)
	ctx := context.Background()
	key := vigie.SourceKey{Authority: "1.2.250.1.71.4.2.7.1", LocalID: "IPP42"}
	agd := func(v float64) *ledger.Quantity {
		q, _ := ledger.NewQuantity(v, "mGy", ledger.DimDose)
		return &q
	}
	_, err = l.Put(ctx, &ledger.Exam{SOPInstanceUID: "1.2.9.3", StudyUID: "1.2.7", Date: "2024-06-01", Procedure: "Mammographie bilatérale",
		Source: ledger.SourceRDSR, Domain: ledger.DomainMammography, Key: key,
		Mammography: &ledger.MammographyDose{AGDLeft: agd(1.30), AGDRight: agd(1.28)}})
	if err != nil {
		panic(err)
	}
	h, _ := l.History(ctx, []vigie.SourceKey{key})
	r := h.Mammography[0]
	fmt.Printf("%s %s: %.2f mGy (right %.2f, left %.2f)\n", r.Date, r.Procedure, r.AGDTotalmGy, r.AGDRightmGy, r.AGDLeftmGy)
	// Output:
	// 2024-06-01 Mammographie bilatérale: 2.58 mGy (right 1.28, left 1.30)
}
