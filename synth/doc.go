// Package synth generates the synthetic regional population every Vigie
// benchmark runs on: persons of Nouvelle-Aquitaine in families, and the
// records some forty establishments keep of them, each an independent noisy
// copy typed the way French hospitals type identities.
//
// Persons have a sex, a birth date (ages 0–100 on the region's pyramid), a
// birthplace (COG commune code, mostly in the region's twelve départements,
// some elsewhere in France including Corsica 2A/2B and overseas, about 7 %
// abroad as 99xxx), a NIR consistent with all of these with a valid key,
// birth name, usage name (married women), one to three first names drawn by
// sex and decade of birth, an address and phones. Households make the hard
// cases real: twins (same surname, date and place, different first names),
// fathers and sons sharing a first name, siblings, spouses sharing a name,
// namesakes, and children whose record carries a parent's NIR.
//
// Records follow the error patterns of the project's identity notes (accents
// dropped, compound names spaced or glued, particles dropped or glued, usage
// name in the birth-name field, "EPOUSE X", swaps, date slips, typos,
// phonetic spellings, missing traits), at rates that are all fields of
// Config (PopulationRates, RecordRates, ErrorRates) with documented
// defaults. About a quarter of the records carry the INS retrieved from the
// national INSi service (QUAL, RECUP) or validated (VALI); the others are
// provisional (PROV) without INS.
//
// Names come from the INSEE files (LoadNames; FindNamesDir looks for them in
// ../shared/data/names) or from small built-in lists (BuiltinNames).
// Generate streams records to a function; WriteCSV and WriteFiles write
// records.csv and truth.csv, the files `vigie gen identities` produces. The
// output depends only on the Config: the same seed gives the same bytes.
package synth
