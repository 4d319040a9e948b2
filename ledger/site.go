package ledger

import (
	"bytes"
	"context"
	"fmt"
	"vigie/store"
)

// EachSite calls fn for every stored exam of one site (assigning
// authority) dated from from to to (ISO dates, both inclusive; empty: no
// bound), in date order. The site's rows are clustered by date (see the
// package doc), so a site's year is one contiguous read of its own exams,
// not a walk over the regional ledger. Exams without a date come first
// and only when from is empty. fn's error stops the walk; fn may keep the
// entry.
func (l *Ledger) EachSite(ctx context.Context, authority, from, to string, fn func(*Entry) error) error {
	if l.err != nil {
		return l.err
	}
	p := sitePrefix(authority)
	var start, end []byte
	if from != "" {
		start = append(bytes.Clone(p), from...)
	}
	if to != "" {
		// Every row of date to is <prefix><to> NUL <sop>: below <to> 0x01.
		end = append(append(bytes.Clone(p), to...), 1)
	}
	err := l.db.View(func(txn *store.Txn) error {
		return eachRow(ctx, txn, p, start, end, fn)
	})
	if err != nil {
		return fmt.Errorf("ledger: exams of site %s: %w", authority, err)
	}
	return nil
}
