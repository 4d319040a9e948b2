package synth

import "fmt"

// OIDs of the INS assigning authorities.
const (
	OIDINSNIR = "1.2.250.1.213.1.4.8"
	OIDINSNIA = "1.2.250.1.213.1.4.9"
)

// nirKey returns the control key of a 13-character NIR body:
// 97 − (N mod 97), N being the body read as an integer after the Corsican
// départements 2A and 2B (positions 6–7) are replaced by 19 and 18.
func nirKey(body string) (int, error) {
	if len(body) != 13 {
		return 0, fmt.Errorf("synth: NIR body %q: 13 characters expected", body)
	}
	var n uint64
	for i := 0; i < 13; i++ {
		c := body[i]
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + uint64(c-'0')
		case i == 6 && body[5] == '2' && (c == 'A' || c == 'B'):
			// 2A → 19, 2B → 18: undo the '2' already added, add the substitute.
			n = n/10*10 + 1
			if c == 'A' {
				n = n*10 + 9
			} else {
				n = n*10 + 8
			}
		default:
			return 0, fmt.Errorf("synth: NIR body %q: unexpected %q at position %d", body, c, i+1)
		}
	}
	return int(97 - n%97), nil
}

// makeNIR returns the 15-character NIR (body and key) of a person born with
// the given sex ('M' or 'F') in the given year and month at the given place
// (5-character COG commune code, or 99 and an INSEE country code), with the
// given order number (1–999).
func makeNIR(sex byte, year, month int, place string, order int) string {
	s := byte('1')
	if sex == 'F' {
		s = '2'
	}
	yy := year % 100
	b := make([]byte, 0, 15)
	b = append(b, s, byte('0'+yy/10), byte('0'+yy%10), byte('0'+month/10), byte('0'+month%10))
	b = append(b, place...)
	b = append(b, byte('0'+order/100%10), byte('0'+order/10%10), byte('0'+order%10))
	k, err := nirKey(string(b))
	if err != nil {
		panic(err) // places come from the generator's own tables
	}
	b = append(b, byte('0'+k/10), byte('0'+k%10))
	return string(b)
}

// validNIR reports whether a 15-character NIR carries its correct key.
func validNIR(nir string) bool {
	if len(nir) != 15 {
		return false
	}
	k, err := nirKey(nir[:13])
	if err != nil {
		return false
	}
	return fmt.Sprintf("%02d", k) == nir[13:]
}
