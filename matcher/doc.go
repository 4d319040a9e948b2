// Package matcher decides how likely it is that two patient records describe
// the same person, and says why. It is pure: no storage, no I/O, safe for
// concurrent use.
//
// The flow is Prepare each record once (normalised names, parsed date,
// validated INS, phonetic keys), Compare two prepared records into discrete
// per-field levels, then Model.Score the comparison into a Fellegi–Sunter
// match weight, a calibrated probability and an Explanation. Hard rules
// (different valid INS, one INS on conflicting traits, doubtful or fictitious
// identities, twins and father/son homonyms) sit above the sum and are
// reported as Flags. Train estimates the model from unlabelled records.
package matcher
