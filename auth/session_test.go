package auth

import (
	"context"
	"errors"
	"slices"
	"testing"

	"connectrpc.com/connect"

	v1 "vigie/rpc/gen/vigie/v1"
	c "vigie/rpc/gen/vigie/v1/vigiev1connect"
)

func TestWhoAmI(t *testing.T) {
	s := &SessionService{Policy: DefaultPolicy()}
	tests := []struct {
		p        Principal
		may, not []string
	}{
		{Principal{Name: "dr.martin", Role: RoleClinician, Method: "oidc"},
			[]string{c.IdentityServiceGetIdentityProcedure, c.DoseServiceGetDoseHistoryProcedure, c.SessionServiceWhoAmIProcedure},
			[]string{c.IdentityServiceListReviewsProcedure, c.DoseServiceEvaluateNrdProcedure, c.AdminServiceCreateApiKeyProcedure}},
		{Principal{Name: "iv", Role: RoleVigilance, Method: "api_key"},
			[]string{c.IdentityServiceListReviewsProcedure, c.IdentityServiceMergeProcedure, c.AdminServiceQueryAuditProcedure},
			[]string{c.DoseServiceEvaluateNrdProcedure, c.IngestServiceSubmitDicomProcedure}},
		{Principal{Name: "phys", Role: RolePhysicist, Authorities: []string{"1.2.250.1"}, Method: "api_key"},
			[]string{c.DoseServiceEvaluateNrdProcedure, c.DoseServiceListAlertsProcedure},
			[]string{c.IdentityServiceGetIdentityProcedure, c.IdentityServiceListReviewsProcedure}},
	}
	for _, tc := range tests {
		t.Run(string(tc.p.Role), func(t *testing.T) {
			resp, err := s.WhoAmI(WithPrincipal(context.Background(), &tc.p), connect.NewRequest(&v1.WhoAmIRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			m := resp.Msg
			if m.Name != tc.p.Name || m.Role != string(tc.p.Role) || m.Method != tc.p.Method || !slices.Equal(m.Authorities, tc.p.Authorities) {
				t.Errorf("WhoAmI = %+v, want the principal %+v", m, tc.p)
			}
			if !slices.IsSorted(m.Procedures) {
				t.Errorf("procedures not sorted: %v", m.Procedures)
			}
			for _, p := range tc.may {
				if !slices.Contains(m.Procedures, p) {
					t.Errorf("%s may call %s, not listed", tc.p.Role, p)
				}
			}
			for _, p := range tc.not {
				if slices.Contains(m.Procedures, p) {
					t.Errorf("%s may not call %s, listed", tc.p.Role, p)
				}
			}
		})
	}
	_, err := s.WhoAmI(context.Background(), connect.NewRequest(&v1.WhoAmIRequest{}))
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeUnauthenticated {
		t.Errorf("WhoAmI without a principal: %v, want unauthenticated", err)
	}
}
