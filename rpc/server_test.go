package rpc_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"vigie/rpc"
	v1 "vigie/rpc/gen/vigie/v1"
	"vigie/rpc/gen/vigie/v1/vigiev1connect"
)

// TestWhoAmIEndToEnd: through real HTTP, every role learns its own name,
// role and procedures, and a caller without a token is refused.
func TestWhoAmIEndToEnd(t *testing.T) {
	f := newServerFixture(t)
	tests := []struct {
		who, role string
		may, not  string
	}{
		{"dr-martin", "clinician", vigiev1connect.IdentityServiceSearchIdentitiesProcedure, vigiev1connect.IdentityServiceMergeProcedure},
		{"iv-team", "regional_vigilance", vigiev1connect.IdentityServiceMergeProcedure, vigiev1connect.DoseServiceEvaluateNrdProcedure},
		{"iv-a", "vigilance", vigiev1connect.IdentityServiceMergeProcedure, vigiev1connect.DoseServiceEvaluateNrdProcedure},
		{"physicist-a", "physicist", vigiev1connect.DoseServiceEvaluateNrdProcedure, vigiev1connect.IdentityServiceGetIdentityProcedure},
		{"pacs-a", "ingest", vigiev1connect.IngestServiceSubmitDicomProcedure, vigiev1connect.DoseServiceGetDoseHistoryProcedure},
		{"admin", "admin", vigiev1connect.AdminServiceCreateApiKeyProcedure, vigiev1connect.IdentityServiceGetIdentityProcedure},
	}
	for _, tc := range tests {
		client := vigiev1connect.NewSessionServiceClient(f.client, f.url, connect.WithInterceptors(bearer(f.tokens[tc.who])))
		resp, err := client.WhoAmI(t.Context(), connect.NewRequest(&v1.WhoAmIRequest{}))
		if err != nil {
			t.Errorf("%s: %v", tc.who, err)
			continue
		}
		m := resp.Msg
		if m.Name != tc.who || m.Role != tc.role || m.Method != "api_key" {
			t.Errorf("%s: WhoAmI = %s/%s/%s", tc.who, m.Name, m.Role, m.Method)
		}
		if !slices.Contains(m.Procedures, tc.may) || slices.Contains(m.Procedures, tc.not) {
			t.Errorf("%s: procedures %v should hold %s and not %s", tc.who, m.Procedures, tc.may, tc.not)
		}
	}
	anon := vigiev1connect.NewSessionServiceClient(f.client, f.url)
	if _, err := anon.WhoAmI(t.Context(), connect.NewRequest(&v1.WhoAmIRequest{})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("WhoAmI without a token: %v, want unauthenticated", err)
	}
}

// TestSmallAnswersUncompressed: a caller that accepts gzip gets a small
// answer as it is (compressing a few kilobytes costs the server more than
// it saves), and the answer is whole.
func TestSmallAnswersUncompressed(t *testing.T) {
	f := newServerFixture(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+vigiev1connect.SessionServiceWhoAmIProcedure, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+f.tokens["admin"])
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("WhoAmI: %s %s", resp.Status, body)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" {
		t.Errorf("a %d-byte answer came with Content-Encoding %q, want none", len(body), ce)
	}
	if len(body) >= rpc.CompressMinBytes || !strings.Contains(string(body), `"role":"admin"`) {
		t.Errorf("answer of %d bytes: %.200s", len(body), body)
	}
}
