package matcher

// A record that carries a valid INS was filled from the INSi teleservice:
// its list of first names is the person's whole list of birth first names,
// as the civil registry holds it. A typed record whose list names, after
// the first, only first names absent from that whole list describes
// another person: a father FEDERICO CLAUDE beside his son whose whole list
// is FEDERICO, both living at one address.

// outsideFullList reports whether full carries a valid INS and its list of
// first names, and every later first name of other's list (it needs at
// least two) is alike (a slip or two apart) to none of full's.
func outsideFullList(full, other *Prepared) bool {
	if !full.HasINS || full.INSMismatch || len(full.List) == 0 || len(other.List) < 2 {
		return false
	}
	for j := 1; j < len(other.List); j++ {
		for i := range full.List {
			if l := compareNames(&full.List[i], &other.List[j]); l != Null && l <= NameSimilar {
				return false
			}
		}
	}
	return true
}
