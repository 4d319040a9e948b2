//go:build race

package matcher

// raceEnabled is true when the tests run under the race detector, which
// slows the reference transcriptions about tenfold.
const raceEnabled = true
