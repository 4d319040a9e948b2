package ledger

import (
	"context"
	"testing"

	"vigie"
)

func TestEachSiteReadsOneSiteOnly(t *testing.T) {
	l, _ := openTest(t)
	ctx := context.Background()
	for i, a := range []string{"1.2.3.1", "1.2.3.1", "1.2.3.10", "1.2.3.2"} {
		ex := ctExam("1.1."+string(rune('1'+i)), "9."+string(rune('1'+i)), 10)
		ex.Key = vigie.SourceKey{Authority: a, LocalID: "P" + string(rune('A'+i))}
		if _, err := l.Put(ctx, ex); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := l.EachSite(ctx, "1.2.3.1", "", "", func(e *Entry) error {
		got = append(got, e.Exam.Key.Authority+"/"+e.Exam.Key.LocalID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "1.2.3.1/PA" || got[1] != "1.2.3.1/PB" {
		t.Errorf("site 1.2.3.1: %v (1.2.3.10 shares its prefix and must not be read)", got)
	}
}
