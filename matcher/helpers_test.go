package matcher

import (
	"vigie"
)

func vigieField(err error) string { return vigie.ErrorField(err) }
