// Package dosimetry is Vigie's dose analytics for a site's medical
// physicist and radiologists (Euratom 2013/59 and its French
// transposition): exam types of the French diagnostic reference level
// (NRD) lists, NRD evaluations and their IRSN export, dose alerts, and the
// printable patient dose history. It reads the dose ledger (package
// ledger) and never writes there; it takes the patient index's answers
// (which identity a source record belongs to, a patient's name, birth date
// and sex) as parameters, so that it does not import mpi.
//
// # Exam types
//
// An exam is mapped to a standard exam type by an ordered rule table
// (examtypes_default.json, embedded; a site writes it out with `vigie
// exam-types --write FILE`, edits it and loads it with --table FILE). A
// rule names modalities, groups of words (each group must have one of its
// words) and excluded words on the folded text of the exam (study
// description, protocol, acquisition protocols other than scouts,
// radiopharmaceutical; lower case, no accents, punctuation as spaces), a
// regular expression, and CT target region codes. The exam type's domain
// must match the exam's. The first rule whose conditions all hold decides;
// a rule of type "none" keeps quality-control, phantom and
// radiotherapy-planning exams out of every survey. LoadTable refuses a bad
// table with an error naming the rule and the field.
//
// # NRD table
//
// nrd_fr_2019.json (embedded) holds the NRD table with its legal source:
// ASN decision 2019-DC-0667, approved by the arrêté of 23 May 2019. Only
// the verified adult radiography values are shipped (PDS of one
// projection in mGy.cm², NRD and guide value VGD). The CT, mammography,
// interventional and nuclear-medicine entries exist with their indicator
// and unit, no value, and the note "à compléter par le physicien médical
// d'après l'annexe N": Vigie never invents a reference level. The
// physicist writes the table out (`vigie nrd table --write FILE`),
// completes it (values, weight bands where the survey requires one) and
// loads it with --nrd FILE; LoadNRD names the entry and field of any error.
//
// # Evaluations
//
// Evaluator.Evaluate computes, per site (assigning authority), device and
// exam type over a period, one exam per patient (their first of the period
// that can be measured), the number of patients, the median, quartiles
// (linear interpolation, R type 7), minimum and maximum of each indicator,
// and compares the median with the NRD (above: corrective action) and the
// VGD (above: optimisation possible). A survey is valid with at least 30
// adults (or 10 children under 18); an adult survey of an exam type whose
// NRD entry has a weight band counts only adults weighed within it. Child
// entries may carry age or weight classes (age_band_years,
// weight_band_kg): the children are then evaluated per class, each against
// its own values and each needing its own 10 children. The evaluation
// says why a survey is not valid and counts the patients left out by
// reason. The ledger keeps neither sex nor birth date: Evaluator.Sex and
// Evaluator.Age take them from the patient index (age only when the DICOM
// header gives none). A source that can read one site alone over a period
// (SiteSource: the ledger's rows clustered by site and date) is read that
// way when the query names a site.
//
// CT figures are those of one helix covering the named region, as IRSN
// requires (CTHelix): scouts (acquisition type 113805) never count, nor
// bolus-tracking stationary acquisitions when a helix exists; the helix
// whose target region code is one of the exam type's with the highest DLP
// is taken; with no region-coded helix a single remaining acquisition is
// taken; otherwise the exam is left out (a TAP done as two helices is not
// summed). Radiography takes the PDS of one projection: each projection
// event is classified with its own protocol, so a thorax PA + lateral exam
// feeds both surveys with each projection's own PDS.
//
// # IRSN export
//
// WriteIRSN writes a valid survey as the per-patient CSV IRSN receives
// (no patient identifier); an invalid survey is refused with its reasons.
// Columns:
//
//	numero               rank in the survey
//	date_examen          YYYY-MM-DD
//	sexe                 M, F, O, empty if unknown (from the patient index)
//	age_ans              years, two decimals at most
//	poids_kg             kg, empty if unknown
//	taille_cm            cm, empty if unknown
//	<indicator>_<unit>   each indicator in the NRD table's unit
//	                     (pds_mGy.cm2, ctdivol_mGy, dlp_mGy.cm, agd_mGy,
//	                     pds_Gy.cm2, kar_mGy, fluoro_time_min, activity_MBq,
//	                     activity_per_kg_MBq/kg)
//	fantome_cm           CT: 16 or 32
//	epaisseur_sein_mm    mammography: mean compressed thickness
//	radiopharmaceutique  nuclear medicine
//
// # Effective-dose estimate
//
// Coefficients (effective_dose_coefficients.json, embedded, with their
// sources) turn a CT exam's counted DLP into an effective dose with the
// adult k-factor of its region (AAPM Report 96, table 3), and an
// interventional exam's DAP with a coefficient per exam type or region
// (coronary procedures: Brambilla et al. 2017; other regions are left for
// the physicist to complete, and an exam without a coefficient is counted
// as "not estimated"). Every figure is labelled as an estimate wherever it
// appears (alerts, history).
//
// # Alerts
//
// Scanner applies the rules of an AlertConfig (defaults in
// DefaultAlertConfig, a site file over them with LoadAlertConfig; `vigie
// alerts config --write FILE` writes the defaults for editing):
// single exam above k × NRD (adults), air kerma at the reference point at
// or above each level (3 and 5 Gy), DAP at or above the site value, CT DLP
// and CTDIvol (per phantom) above the site values, with per-exam-type
// overrides; and per patient (identity from Identities, exams at every
// site from PatientExams): the exam that brings the cumulative
// effective-dose estimate over the rolling window to the threshold, and a
// CT of the same region as another study within N days. The per-exam
// rules apply to a study's figures (the counted figures of all its
// reports, so a procedure reported in a cumulative RDSR and its
// continuation is judged whole). An alert's ID is a hash of its rule, its
// subject (source record or identity), its study or exam and its detail
// (indicator, level), so a scan is idempotent: the same exam never raises
// the same alert twice. Alerts are listed,
// acknowledged with an actor and a comment (acknowledgements accumulate),
// and never deleted.
//
// Key layout (namespace x/ of the store, see package store):
//
//	x/a/<alert id>   → Alert (JSON), acknowledgements included
//	x/m/<alert id>   → the alert's attachment (the PNG skin map of a
//	                   peak skin dose alert), written with the alert
//	x/g/<authority> NUL <local id> NUL <start>
//	                 → a declared Pregnancy (JSON) of a source record
//
// The alert id is 16 hexadecimal digits. Writes go through the store's
// durable transactions, in batches of at most 256 alerts; a batch is
// stored whole or not at all.
//
// # Dose summary
//
// Summarize (SummarizeWith for the models and the declared pregnancies)
// makes the summary of one exam that the reports sent back carry (HL7
// ORU^R01, FHIR Observation): the figures its reports count, the
// effective-dose estimate with its method, the second-level estimates
// (DoseEstimate: SSDE, dose to the uterus / foetus of a pregnant patient,
// peak skin dose, nuclear-medicine organ doses) each with its method,
// source and reference age or the reason it was not made, and the French
// text block of the exam report (Summary.Text), which names no code.
//
// # Patient dose history
//
// NewHistoryDocument and WriteHTML render ledger.History as a printable
// French page (A4 print stylesheet) laid out like the regional synthesis:
// the patient block given by the caller, the standing warning that the
// history is not exhaustive, one table per section with French headings,
// units and cumulative totals, and the effective-dose estimate with its
// coefficients' sources. Everything is escaped by html/template.
package dosimetry
