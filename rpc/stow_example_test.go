package rpc_test

import (
	"fmt"
	"strings"

	"vigie/rpc"
)

// A STOW-RS body as a DICOMweb client sends it: one DICOM Part-10 file per
// part of a multipart/related body.
func ExampleReadSTOWParts() {
	body := "--b\r\nContent-Type: application/dicom\r\n\r\nfirst file\r\n" +
		"--b\r\nContent-Type: application/dicom\r\n\r\nsecond file\r\n--b--\r\n"
	err := rpc.ReadSTOWParts(`multipart/related; type="application/dicom"; boundary=b`, strings.NewReader(body), rpc.MaxDicomBytes,
		func(i int, part []byte) error {
			fmt.Printf("part %d: %d bytes\n", i+1, len(part))
			return nil
		})
	fmt.Println(err)
	err = rpc.ReadSTOWParts("application/json", strings.NewReader("{}"), rpc.MaxDicomBytes, nil)
	fmt.Println(err)
	// Output:
	// part 1: 10 bytes
	// part 2: 11 bytes
	// <nil>
	// Content-Type application/json: expected multipart/related; type="application/dicom"
}
