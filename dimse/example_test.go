package dimse_test

import (
	"context"
	"fmt"
	"net"

	"vigie/dimse"
)

// A receiver that accepts X-Ray Radiation Dose SRs from one modality and
// answers 0000 once it has kept each instance (here, its size).
func ExampleServer() {
	s := &dimse.Server{
		AETitle: "VIGIE",
		Admit: func(calling string) (any, error) {
			if calling != "CT_SALLE_1" {
				return nil, dimse.RejectCallingAE // A-ASSOCIATE-RJ, logged with the reason
			}
			return "site of CT_SALLE_1", nil // kept as Peer.Admitted
		},
		Accepts: func(sopClass string) bool { return sopClass == "1.2.840.10008.5.1.4.1.1.88.67" },
		Store: func(ctx context.Context, p *dimse.Peer, req *dimse.StoreRequest) dimse.Status {
			// req.File is a Part-10 file on disk, removed after the answer:
			// store it durably before answering success.
			fmt.Println(p.CallingAE, req.SOPInstanceUID, req.Size)
			return dimse.Status{Code: dimse.StatusSuccess}
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go s.Serve(ln)
	// storescu -aet CT_SALLE_1 -aec VIGIE 127.0.0.1 <port> report.dcm
	fmt.Println(s.Shutdown(context.Background()))
	// Output: <nil>
}
