package hl7

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vigie/internal/sharedtest"
)

// FuzzParse feeds the parser, the PAM-FR reading and the ACK arbitrary
// bytes: none may panic, a message read must be answerable, and the ACK
// built must itself parse and name the message's control id.
func FuzzParse(f *testing.F) {
	f.Add([]byte("MSH|^~\\&|A|F|B|G|2026||ADT^A28|1|P|2.5|||||FRA|UNICODE UTF-8\rPID|1||1^^^N&1.2&ISO^PI||N^P^^^^^L||19850612|F\r"))
	f.Add([]byte("MSH|^~\\&|A|F|B|G|2026||ADT^A40|1|P|2.5\rPID|1||1^^^N&1.2&ISO^PI\rMRG|2^^^N&1.2&ISO^PI\r"))
	f.Add([]byte("MSH#$*@!#\\X41\\\r"))
	if dir, ok := sharedtest.Find("hl7"); ok {
		for _, pattern := range []string{"*.hl7", "pam-fr/*.hl7"} {
			files, _ := filepath.Glob(filepath.Join(dir, pattern))
			for _, p := range files {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if ack, err := Parse(Ack(nil, AR, asRefusal(err, 1), "", now)); err != nil {
				t.Fatalf("the ACK of an unreadable message does not parse: %v", err)
			} else if ack.Segments[1].Get(1, 0) != AR {
				t.Fatalf("the ACK of an unreadable message is not AR")
			}
			return
		}
		h := ReadHeader(m)
		_, cerr := ReadChange(m, "1.2")
		var ref *Refusal
		code := AA
		if cerr != nil {
			ref, code = asRefusal(cerr, 1), AE
		}
		ack, err := Parse(Ack(m, code, ref, "", now))
		if err != nil {
			t.Fatalf("the ACK does not parse: %v", err)
		}
		msa, ok := ack.Segment("MSA")
		if !ok || msa.Get(1, 0) != code {
			t.Fatalf("MSA-1 is not %s", code)
		}
		if h.ControlID != "" && m.Delims.Escape != 0 && m.Delims.Subcomponent != 0 {
			if got := msa.Get(2, 0); got != h.ControlID {
				t.Fatalf("MSA-2 %q, the message's control id is %q", got, h.ControlID)
			}
		}
	})
}

// FuzzReadFrame reads arbitrary bytes as an MLLP stream: no panic, every
// frame read is what lay between a start and an end block, within the
// limit.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte("\x0bMSH|^~\\&|A\r\x1c\r\x0bMSH|^~\\&|B\r\x1c\r"))
	f.Add([]byte("junk\x0b\x1c"))
	f.Add([]byte("\x0bunterminated"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(b), 16)
		for {
			msg, err := ReadFrame(r)
			if err != nil {
				return
			}
			if bytes.IndexByte(msg, EndBlock) >= 0 || len(msg) > MaxMessageBytes {
				t.Fatalf("frame %q holds an end block or is too long", msg)
			}
			if !bytes.Contains(b, append(append([]byte{StartBlock}, msg...), EndBlock)) {
				t.Fatalf("frame %q is not in the stream", msg)
			}
		}
	})
}
