// Package dosimetry is Vigie's dose analytics for a site's medical
// physicist and radiologists (Euratom 2013/59 and its French
// transposition): exam types of the French diagnostic reference level
// (NRD) lists, NRD evaluations and their IRSN export, dose alerts, and the
// printable patient dose history.
//
// # Exam types
//
// An exam is mapped to a standard exam type by an ordered rule table
// (examtypes_default.json, embedded; a site replaces it with LoadTable and
// `vigie exam-types`). A rule names the modality, words or a regular
// expression on the folded text of the exam (study description, protocol,
// acquisition protocols, radiopharmaceutical), and CT target region codes;
// the first rule whose conditions all hold decides. A rule of type "none"
// keeps quality-control, phantom and radiotherapy-planning exams out of
// every survey.
package dosimetry
