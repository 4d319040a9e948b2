package auth

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"

	c "vigie/rpc/gen/vigie/v1/vigiev1connect"
)

// Limits are the abuse limits of the API: a rate per credential on the
// calls that search or read patients, and a growing delay for the sources
// whose credentials fail. A refused call answers resource_exhausted (HTTP
// 429 in Connect's mapping), is logged with the credential id and the
// procedure, and is not run.
type Limits struct {
	// Rate and Burst bound each credential's searches and reads (per
	// second, and the burst allowed above it).
	Rate  rate.Limit
	Burst int
	// BackoffBase is the wait imposed on a source after its first failed
	// authentication, doubled at each further failure up to BackoffMax.
	BackoffBase, BackoffMax time.Duration
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// Refused, when set, is told the procedure of every call refused by
	// the rate (the server counts them in vigie_rate_limited_total).
	Refused func(procedure string)

	mu       sync.Mutex
	callers  map[string]*rate.Limiter
	failures map[string]*failure
}

// DefaultLimits are the limits of `vigie serve` without flags: 20 reads a
// second per credential with bursts of 40 (a person at the console makes a
// few a minute; a script walking the region is stopped), and failed
// authentications slowed from 200 ms, doubling, up to 30 s.
func DefaultLimits() *Limits {
	return &Limits{Rate: 20, Burst: 40, BackoffBase: 200 * time.Millisecond, BackoffMax: 30 * time.Second}
}

// Limited lists the procedures whose calls count against the rate of a
// credential: the searches and reads of patient data.
var Limited = map[string]bool{
	c.IdentityServiceSearchIdentitiesProcedure: true,
	c.IdentityServiceGetIdentityProcedure:      true,
	c.IdentityServiceListReviewsProcedure:      true,
	c.DoseServiceGetDoseHistoryProcedure:       true,
	c.DoseServiceListExamsProcedure:            true,
	c.DoseServiceListAlertsProcedure:           true,
	c.AdminServiceQueryAuditProcedure:          true,
	c.AccessServiceCreateAccessCodeProcedure:   true,
	c.AccessServiceListBreakGlassProcedure:     true,
	FHIRSearchOperation:                        true,
	FHIRReadOperation:                          true,
	FHIRMatchOperation:                         true,
	FHIRPIXOperation:                           true,
	FHIRDoseOperation:                          true,
}

// maxTracked bounds the callers and sources remembered: past it, the
// oldest state is dropped (a forgotten caller starts with a full burst).
const maxTracked = 100_000

type failure struct {
	n     int
	until time.Time
}

func (l *Limits) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Allow reports whether the credential (its id, or the principal's name)
// may make one more limited call now.
func (l *Limits) Allow(caller string) bool {
	if l == nil || l.Rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.callers == nil || len(l.callers) >= maxTracked {
		l.callers = map[string]*rate.Limiter{}
	}
	lim := l.callers[caller]
	if lim == nil {
		lim = rate.NewLimiter(l.Rate, max(l.Burst, 1))
		l.callers[caller] = lim
	}
	return lim.AllowN(l.now(), 1)
}

// source is the host of a peer address (its port changes per connection).
func source(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// Blocked returns how long the source must still wait before its next
// authentication is checked; 0 when it need not.
func (l *Limits) Blocked(addr string) time.Duration {
	if l == nil || l.BackoffBase <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.failures[source(addr)]
	if f == nil {
		return 0
	}
	return max(f.until.Sub(l.now()), 0)
}

// Failed records a failed authentication of the source: its next attempt
// waits BackoffBase, then twice as long at each further failure.
func (l *Limits) Failed(addr string) {
	if l == nil || l.BackoffBase <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures == nil || len(l.failures) >= maxTracked {
		l.failures = map[string]*failure{}
	}
	f := l.failures[source(addr)]
	if f == nil {
		f = &failure{}
		l.failures[source(addr)] = f
	}
	if l.now().Sub(f.until) > l.BackoffMax {
		f.n = 0 // an old failure is forgiven: a typo does not count for good
	}
	f.n++
	wait := l.BackoffBase
	for i := 1; i < f.n && wait < l.BackoffMax; i++ {
		wait *= 2
	}
	f.until = l.now().Add(min(wait, l.BackoffMax))
}
