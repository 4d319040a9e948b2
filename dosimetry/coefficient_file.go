package dosimetry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"vigie"
)

// coefficientFile names one of the package's cited coefficient files
// (effective-dose, foetal-dose, SSDE coefficients, the skin-dose model)
// in its errors, such as "foetal-dose coefficients".
type coefficientFile string

// invalid is the error of a coefficient file whose field is wrong: the
// file is named, and the cause is a vigie.Invalid the API maps to an
// invalid-argument error.
func (f coefficientFile) invalid(field, format string, args ...any) error {
	return fmt.Errorf("dosimetry: %s: %w", f, vigie.Invalid(field, format, args...))
}

// decodeCoefficientFile decodes a coefficient file into a new T, strictly:
// at most 1 MiB (a physicist's upload, not a stream), and no field that T
// does not know, so that a misspelt key is refused instead of leaving a
// coefficient at zero. A decoding error is f.invalid(field, …), saying
// the file is not of the layout. Each Load function then checks its
// values.
func decodeCoefficientFile[T any](r io.Reader, f coefficientFile, field, layout string) (*T, error) {
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	c := new(T)
	if err := dec.Decode(c); err != nil {
		return nil, f.invalid(field, "is not valid JSON of the %s layout: %v", layout, err)
	}
	return c, nil
}

// mustLoadEmbedded loads a coefficient file embedded in the binary with
// load, and panics if it does not load: a shipped file that fails its own
// validation is a build defect, not a runtime condition.
func mustLoadEmbedded[T any](data []byte, load func(io.Reader) (*T, error)) *T {
	c, err := load(bytes.NewReader(data))
	if err != nil {
		panic("dosimetry: an embedded coefficient file is invalid: " + err.Error())
	}
	return c
}

// loadEmbeddedOnce returns a function that loads an embedded coefficient
// file the first time it is called (mustLoadEmbedded) and returns the same
// value after: every caller shares it read-only (nothing in the package
// changes it).
func loadEmbeddedOnce[T any](data []byte, load func(io.Reader) (*T, error)) func() *T {
	return sync.OnceValue(func() *T { return mustLoadEmbedded(data, load) })
}
