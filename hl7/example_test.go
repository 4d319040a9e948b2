package hl7_test

import (
	"fmt"

	"vigie/hl7"
)

// A PAM-FR message read into the record the patient index files.
func ExampleReadChange() {
	m, err := hl7.Parse([]byte("MSH|^~\\&|HIS|1.2.250.1.999.101|VIGIE|REG|20261207101500||ADT^A28^ADT_A05|PAMFR0001|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8\r" +
		"PID|1||00012345^^^CHU-A&1.2.250.1.999.101&ISO^PI~285063306312308^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS||" +
		"LACOSTE^MARIE^MARIE ANNE^^^^L~DUPR\\XC389\\^MARIE^^^^^D||19850612|F|||^^^^^^BDL^^33063|||||||||||||||||||||QUAL\r"))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := hl7.ReadChange(m, "1.2.250.1.999.101")
	if err != nil {
		fmt.Println(err)
		return
	}
	r := c.Records[0]
	fmt.Println(c.Event, r.LocalID, r.INS, r.Status)
	fmt.Println(r.BirthName, r.UsedName, r.FirstNames, r.BirthDate, r.Sex, r.BirthPlace)
	// Output:
	// A28 00012345 285063306312308 QUAL
	// LACOSTE DUPRÉ MARIE ANNE 1985-06-12 F 33063
}
