package dosimetry

// HasWords exports hasWords to the external tests.
var HasWords = hasWords
