// Package census generates a second, independent synthetic French
// population for measuring identity linkage: a yardstick the matching was
// never tuned on.
//
// Why a second generator: package synth produced the data the matcher's
// rules and shipped model were fitted to, so its figures flatter them. This
// package was written from another point of view, without synth's code, its
// rates or its error model, so that a benchmark on its output says how the
// matching generalises.
//
// Its point of view is the household and the front desk, not the person:
//
//   - It builds homes first (people living alone, couples, families with
//     children, lone parents, three generations under one roof), then the
//     people in them. Family structure makes the hard cases: twins (one
//     birth date and birthplace, two first names, sometimes paired ones
//     such as LOUIS and LOUISE), a son bearing his father's first name,
//     brothers and sisters a few years apart, a wife with her birth name
//     and the used name of her husband, a widow who kept her late
//     husband's name. A home has one address and one landline or shared
//     mobile that every member gives.
//
//   - Records come from visits: a person goes to establishments (sites,
//     each an authority with an OID under 1.2.250.1.71.4.2.1) and a site
//     files a record at the first visit, sometimes a duplicate later. Errors
//     come from how the site captures an identity: each site has its own
//     habits (upper or mixed case, accents kept or stripped, hyphens kept,
//     spaced or glued, field lengths that truncate first names, its date
//     format, abbreviated street types), and each record from a channel:
//     the INSi teleservice (clean traits and the INS), a form scanned with
//     OCR (letter confusions such as RN/M, CL/D, I/L), or a clerk typing
//     (AZERTY slips, swapped fields, the used name in the birth-name field,
//     a compound first name cut or abbreviated as J-PIERRE, a birth date
//     with one wrong part: year ±1 or ±10, day and month swapped, a
//     1 January placeholder, or no date at all).
//
//   - INS coverage is its own knob (default 15 % of records), with a few
//     INS errors: a parent's INS on a child's record, two digits
//     transposed.
//
// Names are drawn from the INSEE files when present (first names by sex
// and decade of birth, surnames from the 2008 list with a heavy-tailed
// weight of its own), or from small built-in lists otherwise.
//
// Write produces records.csv (the columns `vigie import identities`
// reads), truth.csv (authority,local_id,person, the truth format of `vigie
// bench mpi`) and persons.csv (household, relation, twin and homonym
// markers, for counting merges of family members). The output depends
// only on the Config: the same seed gives the same bytes.
package census
