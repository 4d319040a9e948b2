package auth

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"vigie"
	"vigie/store"
)

// TestAccessCodes: a code is read whatever its case and dashes, for its
// own identity only, until it expires or is revoked; it is stored hashed.
func TestAccessCodes(t *testing.T) {
	db, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	a := NewAccess(db)
	a.now = func() time.Time { return now }
	code, c, err := a.CreateCode("I1", "iv", 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Expires.Sub(c.Created) != DefaultCodeLifetime || len(code) != 14 {
		t.Fatalf("code %q %+v", code, c)
	}
	check := func(code, id string) bool {
		t.Helper()
		ok, err := a.CheckCode(code, id)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	for _, tc := range []struct {
		name, code, id string
		want           bool
	}{{"as shown", code, "I1", true}, {"typed", typed, "I1", true}, {"another patient", code, "I2", false}, {"empty", "", "I1", false}} {
		if got := check(tc.code, tc.id); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// Stored hashed: the code appears nowhere in the store.
	err = db.View(func(txn *store.Txn) error {
		it := txn.NewIterator(store.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, _ := it.Item().ValueCopy(nil)
			if strings.Contains(string(it.Item().Key())+string(v), normaliseCode(code)) {
				t.Errorf("the code is stored in clear under %s", it.Item().Key())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(DefaultCodeLifetime)
	if check(code, "I1") {
		t.Error("an expired code opens")
	}
	now = now.Add(-time.Hour)
	if n, err := a.RevokeCodes("I1"); err != nil || n != 1 || check(code, "I1") {
		t.Errorf("revoke: %d %v", n, err)
	}
	if _, _, err := a.CreateCode("I1", "iv", 30*24*time.Hour); vigie.ErrorCode(err) != vigie.EINVALID {
		t.Errorf("a month-long code: %v", err)
	}
}

func TestBreakGlassReason(t *testing.T) {
	for _, tc := range []struct {
		header, want string
		invalid      bool
	}{
		{"", "", false},
		{url.PathEscape("urgence"), "", true},
		{url.PathEscape("Détresse respiratoire,\npatient inconscient"), "Détresse respiratoire, patient inconscient", false},
		{"%zz%", "", true},
	} {
		got, err := BreakGlassReason(tc.header)
		if got != tc.want || (err != nil) != tc.invalid {
			t.Errorf("%q: %q %v", tc.header, got, err)
		}
	}
}

// TestBackoff: failed authentications from one source make its next
// attempts wait, doubling; other sources are not slowed; an old failure is
// forgiven.
func TestBackoff(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &Limits{BackoffBase: time.Second, BackoffMax: 8 * time.Second, Now: func() time.Time { return now }}
	l.Failed("10.0.0.1:4000")
	if got := l.Blocked("10.0.0.1:5000"); got != time.Second {
		t.Errorf("after one failure: %v", got)
	}
	if got := l.Blocked("10.0.0.2:4000"); got != 0 {
		t.Errorf("another source: %v", got)
	}
	for range 5 {
		l.Failed("10.0.0.1:4000")
	}
	if got := l.Blocked("10.0.0.1:1"); got != 8*time.Second {
		t.Errorf("after six failures: %v, want the maximum", got)
	}
	now = now.Add(time.Hour)
	l.Failed("10.0.0.1:4000")
	if got := l.Blocked("10.0.0.1:1"); got != time.Second {
		t.Errorf("a failure an hour later: %v, want the base", got)
	}
}
