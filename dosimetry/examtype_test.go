package dosimetry

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"vigie"
	"vigie/ledger"
)

// TestClassifyRealDescriptions maps exams carrying the descriptions,
// protocols, target regions and radiopharmaceuticals read from the vendor
// files of the shared DICOM folder (named in each case) to exam types.
func TestClassifyRealDescriptions(t *testing.T) {
	tab := mustDefault(t)
	ct := func(proc, prot string, evs ...ledger.CTEvent) ledger.Exam {
		e := exam("1", "S", "P", "2025-01-01", "CT", ledger.DomainCT)
		e.Procedure, e.Protocol = proc, prot
		e.CT = &ledger.CTDose{Events: evs}
		return e
	}
	proj := func(mod, proc, prot string, evProt ...string) ledger.Exam {
		e := exam("1", "S", "P", "2025-01-01", mod, ledger.DomainProjection)
		e.Procedure, e.Protocol = proc, prot
		e.Projection = &ledger.ProjectionDose{}
		for _, p := range evProt {
			e.Projection.Events = append(e.Projection.Events, ledger.ProjectionEvent{Protocol: p})
		}
		return e
	}
	mg := func(proc, prot string) ledger.Exam {
		e := exam("1", "S", "P", "2025-01-01", "MG", ledger.DomainMammography)
		e.Procedure, e.Protocol = proc, prot
		return e
	}
	nm := func(mod, proc, prot, agent string) ledger.Exam {
		e := exam("1", "S", "P", "2025-01-01", mod, ledger.DomainNM)
		e.Procedure, e.Protocol = proc, prot
		e.NM = &ledger.NMDose{Administrations: []ledger.Administration{{Radiopharmaceutical: code("", "", agent)}}}
		return e
	}
	none := code("", "", "")
	unknown := code("00001", "99GEMS", "Unknown")
	cases := []struct {
		file string
		exam ledger.Exam
		want string
	}{
		{"openrem/CT-RDSR-Siemens-Continued-1.dcm", ct("Thorax^Thorax_NON_CON (Adult)", "Thorax_NON_CON",
			ctEv("a", "Topogram", chest, scoutType, 0.1, 5), ctEv("b", "Thorax", chest, spiralType, 8, 300)), "ct_thorax"},
		{"openrem/CT-RDSR-Siemens_Flash-TAP-SS.dcm", ct("Thorax^TAP (Adult)", "Thorax^TAP (Adult)",
			ctEv("a", "testæøå", code("T-D0010", "SRT", "Entire body"), scoutType, 0.1, 5),
			ctEv("b", "TAP", abdomen, spiralType, 9, 600)), "ct_tap"},
		{"openrem/CT-SC-Philips_Brilliance16P.dcm", ct("CT Thorax & abdo & pelvis with contrast", "Abdomen/IH_KUB_2mm",
			ctEv("a", "100S C/A/P", none, code("", "", "SPIRAL"), 10, 0)), "ct_tap"},
		{"openrem/CT-RDSR-ToshibaPixelMed.dcm", ct("", "",
			ctEv("a", "", cap, scoutType, 0, 0), ctEv("b", "", cap, spiralType, 12, 900)), "ct_tap"},
		{"openrem/CT-RDSR-Toshiba_DoseCheck.dcm", ct("", "Abdomen Routine ZC (NR)",
			ctEv("a", "Abdomen Routine ZC (NR)", abdomen, spiralType, 10, 500)), "ct_abdomen_pelvis"},
		{"openrem/CT-RDSR-Toshiba_MultiValSD.dcm", ct("CT Chest With Contrast", "100sec Neck & Chest +C (vHP)",
			ctEv("a", "Neck+CAP+C (SureStart)", none, scoutType, 0, 0), ctEv("b", "100sec Neck & Chest +C (vHP)", none, spiralType, 9, 400)), "ct_thorax"},
		{"openrem/CT-ESR-GE_VCT.dcm", ct("FACIAL BONES", "", ctEv("a", "", unknown, spiralType, 30, 400)), "ct_massif_facial"},
		{"openrem/CT-ESR-GE_Optima.dcm", ct("Colonography", "", ctEv("a", "", abdomen, spiralType, 5, 200)), ""},
		{"openrem/NM-CT-RDSR-Siemens.dcm", ct("PET/CT Ganzkoerper FDG", "1KSA_FDG_Partial_Body",
			ctEv("a", "AC_CT_Body", code("T-D0010", "SRT", "Entire body"), spiralType, 2, 200)), "nm_tep_ct"},
		{"openrem/CT-RDSR-GEPixelMed.dcm", ct("", "10.13 RADIOTHERAPY QA"), NoExamType},
		{"openrem/CT-RDSR-Philips_BigBore4DCT.dcm", ct("4DCT", "4DCT /PHYSICS"), NoExamType},
		{"openrem/CT-RDSR-Siemens-Multi-2.dcm", ct("Thorax^RTP_4DCT_Thorax_C (Adult)", "RTP_4DCT_Thorax_C"), NoExamType},
		{"openrem/CT-RDSR-Siemens_Flash-QA-DS.dcm", ct("Specials^PhysicsTesting (Adult)", "PhysicsTesting",
			ctEv("a", "DS_helical", code("T-32000", "SRT", "Heart"), spiralType, 5, 50)), NoExamType},
		{"openrem/CT-RDSR-SpectrumDynamics.dcm", ct("Other", "Daily QA"), NoExamType},

		{"openrem/DX-Im-Carestream_DRX.dcm", proj("CR", "XR CHEST", "", ""), "rx_thorax_pa"},
		{"openrem/DX-Im-SiemensMultix.dcm", proj("CR", "- - - - -", "W033 Chest p.a.", ""), "rx_thorax_pa"},
		{"openrem/DX-RDSR-Canon_CXDI.dcm", proj("DX", "CR THORAX", "", "THORAX AP 90kv-0,9mAs"), "rx_thorax_pa"},
		{"openrem/DX-Im-GE_XR220-1.dcm", proj("DX", "Performed Desc", "ABD_1_VIEW", ""), "rx_abdomen"},
		{"openrem/DX-RDSR-Canon_CXDI_noDAP.dcm", proj("DX", "", "", "P Finger(s) DP", "P Finger(s) LAT"), ""},
		{"openrem/DX-RDSR-Carestream_DRXEvolution.dcm", proj("DX", "CR LEG", "", "Thigh Right"), ""},
		{"openrem/Dual-RDSR-DX.dcm", proj("DX", "Z_Physics Test", "Radiation Dose Information", "Phys erect lrgfld"), NoExamType},
		{"openrem/DX-Im-Carestream_DR7500-1.dcm", proj("CR", "AEC", "AEC", ""), NoExamType},
		{"openrem/Dual-RDSR-RF.dcm", proj("RF", "Cardiac pacemaker temporary", "Radiation Dose Information", "CP_Standard"), ""},
		{"openrem/RF-RDSR-Canon-Alphenix-rotational.dcm", proj("RF", "Gastrostomy Insertion", "", "Gastro 7.5f/s Middle"), ""},

		{"openrem/MG-RDSR-Hologic_2D.dcm", mg("Bilateral Mammography", ""), "mg_mammographie"},
		{"openrem/MG-RDSR-Hologic_mix.dcm", mg("XR Breast tomosynthesis Both", ""), ""},
		{"openrem/MG-RDSR-Giotto-DBT.dcm", mg("Pacchetto senologico con tomosintesi", ""), ""},
		{"openrem/MG-Im-GE_Seno_1_ForPresentation.dcm", mg("", "STEREO"), ""},
		{"openrem/MG-Im-GE-SenDS-scaled.dcm", mg("", "ROUTINE"), "mg_mammographie"},

		{"openrem/NM-PetIm-GE.dcm", nm("PT", "Teilkörper-PET", "5.1 PET/CT_Thorax_diagnostisch_Cine", "Fluorodeoxyglucose F^18^"), "nm_tep_fdg"},
		{"openrem/NM-RRDSR-Siemens-Extended.dcm", nm("NM", "PET/CT Herz FDG", "", "Fluorodeoxyglucose F^18^"), "nm_tep_fdg"},
		{"openrem/NM-NmIm-Siemens.dcm", nm("NM", "Bone Scan", "20907.0.15996990@", "DPD"), "nm_scinti_osseuse"},
		{"openrem/NM-NmIm-Siemens-s1-1.dcm", nm("NM", "Myocardial Perfusion", "21007.0.17471695@", "Sestamibi"), "nm_perfusion_myocardique"},
		{"suyashkumar/1.dcm", nm("PT", "PET-CT STUDY", "", ""), ""},

		// French descriptions as RIS send them (no vendor file carries them).
		{"(RIS) coronarographie", proj("XA", "Coronarographie diagnostique", ""), "ir_coronarographie"},
		{"(RIS) angioplastie", proj("XA", "ATL coronaire + stent", ""), "ir_angioplastie_coronaire"},
		{"(RIS) rachis lombaire profil", proj("DX", "Rachis lombaire", "", "Rachis lombaire profil"), "rx_rachis_lombaire_profil"},
		{"(RIS) thorax profil", proj("CR", "RADIO DU THORAX", "", "Thorax Profil"), "rx_thorax_lat"},
		{"(RIS) thorax face + profil, one header image", proj("DX", "THORAX F+P", "", ""), ""},
		{"(RIS) rachis lombaire face + profil, one header image", proj("CR", "RACHIS LOMBAIRE F+P", "", ""), ""},
		{"(RIS) rachis dorsal face", proj("CR", "RACHIS DORSAL FACE", "", ""), "rx_rachis_dorsal_face"},
		{"(RIS) crâne", ct("TDM CRÂNE sans injection", ""), "ct_encephale"},
		{"(RIS) TAP", ct("Scanner thoraco-abdomino-pelvien", ""), "ct_tap"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got := tab.Classify(&c.exam)
			if got.ExamType != c.want {
				t.Errorf("Classify = %q (rule %d, text %q), want %q", got.ExamType, got.Rule, got.Text, c.want)
			}
		})
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Thorax^TAP (Adult)": "thorax tap adult",
		"TDM CRÂNE":          "tdm crane",
		"  --  ":             "",
		"Teilkörper-PET":     "teilkorper pet",
		"ABD_1_VIEW":         "abd 1 view",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadTableErrors(t *testing.T) {
	base := `{"version":"t","exam_types":[{"code":"ct_x","label":"X","domain":"ct","kind":"ct"}],"rules":[%s]}`
	cases := []struct {
		name, doc, field string
	}{
		{"not json", `{`, "table"},
		{"unknown field", `{"version":"t","typos":[]}`, "table"},
		{"no types", `{"version":"t","exam_types":[],"rules":[]}`, "exam_types"},
		{"bad code", `{"exam_types":[{"code":"CT X","label":"X","domain":"ct","kind":"ct"}],"rules":[]}`, "exam_types[0].code"},
		{"reserved code", `{"exam_types":[{"code":"none","label":"X","domain":"ct","kind":"ct"}],"rules":[]}`, "exam_types[0].code"},
		{"no label", `{"exam_types":[{"code":"a","domain":"ct","kind":"ct"}],"rules":[]}`, "exam_types[0].label"},
		{"bad domain", `{"exam_types":[{"code":"a","label":"A","domain":"mr","kind":"ct"}],"rules":[]}`, "exam_types[0].domain"},
		{"kind/domain", `{"exam_types":[{"code":"a","label":"A","domain":"nm","kind":"ct"}],"rules":[]}`, "exam_types[0].kind"},
		{"duplicate", `{"exam_types":[{"code":"a","label":"A","domain":"ct","kind":"ct"},{"code":"a","label":"A","domain":"ct","kind":"ct"}],"rules":[]}`, "exam_types[1].code"},
		{"no rules", strings.Replace(base, "%s", "", 1), "rules"},
		{"undeclared", strings.Replace(base, "%s", `{"exam_type":"ct_y","keywords":[["a"]]}`, 1), "rules[0].exam_type"},
		{"no condition", strings.Replace(base, "%s", `{"exam_type":"ct_x"}`, 1), "rules[0]"},
		{"empty group", strings.Replace(base, "%s", `{"exam_type":"ct_x","keywords":[[]]}`, 1), "rules[0].keywords[0]"},
		{"punctuation word", strings.Replace(base, "%s", `{"exam_type":"ct_x","keywords":[["--"]]}`, 1), "rules[0].keywords[0][0]"},
		{"bad regex", strings.Replace(base, "%s", `{"exam_type":"ct_x","regex":"(a"}`, 1), "rules[0].regex"},
		{"empty region", strings.Replace(base, "%s", `{"exam_type":"ct_x","target_regions":[" "]}`, 1), "rules[0].target_regions[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadTable(strings.NewReader(c.doc))
			if err == nil {
				t.Fatal("LoadTable accepted a bad table")
			}
			if vigie.ErrorCode(err) != vigie.EINVALID || !strings.Contains(err.Error(), c.field+":") {
				t.Errorf("error %q (code %s) does not name %s", err, vigie.ErrorCode(err), c.field)
			}
		})
	}
}

func TestDefaultTableRoundTrip(t *testing.T) {
	tab := DefaultTable()
	b, err := tab.JSON()
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadTable(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("a written table does not load back: %v", err)
	}
	if len(again.Rules) != len(tab.Rules) || len(again.Types) != len(tab.Types) {
		t.Errorf("round trip changed the table: %d/%d rules, %d/%d types", len(again.Rules), len(tab.Rules), len(again.Types), len(tab.Types))
	}
	e := exam("1", "S", "P", "2025-01-01", "CT", ledger.DomainCT)
	e.Procedure = "Thorax^TAP (Adult)"
	if a, b := tab.Classify(&e), again.Classify(&e); a.ExamType != b.ExamType || a.ExamType != "ct_tap" {
		t.Errorf("round trip changed a classification: %q vs %q", a.ExamType, b.ExamType)
	}
}

func FuzzLoadTable(f *testing.F) {
	f.Add(DefaultTableJSON())
	f.Add([]byte(`{"exam_types":[{"code":"a","label":"A","domain":"ct","kind":"ct"}],"rules":[{"exam_type":"a","regex":"x"}]}`))
	f.Add([]byte(`{"rules":[{"keywords":[["*"]]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := LoadTable(bytes.NewReader(b))
		if err != nil {
			if vigie.ErrorCode(err) != vigie.EINVALID {
				t.Fatalf("error without EINVALID code: %v", err)
			}
			return
		}
		e := exam("1", "S", "P", "2025-01-01", "CT", ledger.DomainCT)
		e.Procedure = string(b[:min(len(b), 64)])
		m := tab.Classify(&e)
		if m.ExamType != "" && m.ExamType != NoExamType && tab.Type(m.ExamType) == nil {
			t.Fatalf("classified to undeclared type %q", m.ExamType)
		}
	})
}

func ExampleTable_Classify() {
	tab := DefaultTable()
	e := ledger.Exam{Modality: "CT", Domain: ledger.DomainCT, Procedure: "Thorax^TAP (Adult)"}
	m := tab.Classify(&e)
	fmt.Println(m.ExamType, tab.Type(m.ExamType).Label)
	// Output: ct_tap Scanographie thoraco-abdomino-pelvienne (TAP)
}
