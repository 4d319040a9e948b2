package rpc_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/suyashkumar/dicom/pkg/tag"

	"vigie/dosimetry"
	v1 "vigie/rpc/gen/vigie/v1"
)

// TestDoseHistoryPhysicistNMTable: with a physicist's nuclear-medicine
// table (Server.NMCoefficients, vigie serve --nm-coefficients), the
// history's NM rows are estimated with its coefficients: FDG at 0.0171
// mSv/MBq (ICRP 103 weighting, Andersson et al. 2014), no organ named, for
// the FDG dose SR of 394 MBq: 6,74 mSv.
func TestDoseHistoryPhysicistNMTable(t *testing.T) {
	f := newServerFixture(t)
	table := "#source A14\tAndersson M. et al., EJNMMI Physics 1:9 (2014), tableau 1 et son erratum\n" +
		"id\tradiopharmaceutical\tradionuclide\tcodes\tnames\treference\tfrom_years\tbelow_years\teffective_mSv_per_MBq\torgan\torgan_mGy_per_MBq\tsource\ttable\tnote\n" +
		"fdg\tFDG\tF 18\tSCT:35321007 SRT:C-B1031\tfdg|fluorodeoxyglucose\tadulte\t18\t\t0.0171\t\t\tA14\ttableau 1, FDG, CIPR 103\t\n"
	nm, err := dosimetry.LoadNMCoefficients(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	f.api.NMCoefficients = nm
	srv := httptest.NewUnstartedServer(f.api.Handler())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	f.url, f.client = srv.URL, srv.Client()
	o := f.submitFile(t, "pacs-a", "sr", withTags(t, "openrem/NM-RRDSR-Siemens.dcm", map[tag.Tag]string{tag.PatientID: "PAT-NM", tag.IssuerOfPatientID: siteA}))
	h, err := f.dose("dr-martin").GetDoseHistory(context.Background(), connect.NewRequest(&v1.GetDoseHistoryRequest{IdentityId: o.GetIdentityId()}))
	if err != nil {
		t.Fatal(err)
	}
	rows := h.Msg.GetHistory().GetNuclearMedicine()
	if len(rows) != 1 || rows[0].GetEffectiveDoseEstimate() != "6,74 mSv (adulte)" || rows[0].GetOrganDoseEstimate() != "" {
		t.Fatalf("nuclear-medicine rows %v", rows)
	}
}
