package synth

import (
	"fmt"
	"strconv"
	"strings"
)

// commune is a place of birth or residence: INSEE COG code, postal code,
// name, and a weight (rough population in thousands).
type commune struct {
	cog    string
	postal string
	name   string
	weight float64
}

// department groups the communes of one Nouvelle-Aquitaine département with
// its population weight (thousands of inhabitants).
type department struct {
	code     string
	weight   float64
	communes []commune
	region   int // surname region: regionBasque, regionGascon, regionCentreOuest
}

const (
	regionNone = iota
	regionBasque
	regionGascon
	regionCentreOuest
	regionBreton
)

// The twelve départements of Nouvelle-Aquitaine and a selection of their
// communes (real COG and postal codes; weights are rough populations).
// Each list ends with smaller towns standing for the rural rest.
var naDepartments = []department{
	{"16", 350, []commune{
		{"16015", "16000", "ANGOULÊME", 42}, {"16102", "16100", "COGNAC", 18}, {"16374", "16800", "SOYAUX", 10},
		{"16113", "16400", "LA COURONNE", 8}, {"16287", "16600", "RUELLE-SUR-TOUVRE", 7}, {"16106", "16500", "CONFOLENS", 3},
		{"16028", "16300", "BARBEZIEUX-SAINT-HILAIRE", 5}, {"16292", "16700", "RUFFEC", 3},
	}, regionCentreOuest},
	{"17", 660, []commune{
		{"17300", "17000", "LA ROCHELLE", 77}, {"17299", "17300", "ROCHEFORT", 24}, {"17415", "17100", "SAINTES", 25},
		{"17306", "17200", "ROYAN", 19}, {"17197", "17500", "JONZAC", 3}, {"17347", "17400", "SAINT-JEAN-D'ANGÉLY", 7},
		{"17028", "17440", "AYTRÉ", 9}, {"17200", "17140", "LAGORD", 7}, {"17421", "17600", "SAUJON", 7},
	}, regionCentreOuest},
	{"19", 240, []commune{
		{"19031", "19100", "BRIVE-LA-GAILLARDE", 46}, {"19272", "19000", "TULLE", 15}, {"19275", "19200", "USSEL", 10},
		{"19123", "19360", "MALEMORT", 8}, {"19073", "19300", "ÉGLETONS", 4},
	}, regionCentreOuest},
	{"23", 115, []commune{
		{"23096", "23000", "GUÉRET", 13}, {"23008", "23200", "AUBUSSON", 3}, {"23176", "23300", "LA SOUTERRAINE", 5},
		{"23030", "23400", "BOURGANEUF", 3},
	}, regionCentreOuest},
	{"24", 410, []commune{
		{"24322", "24000", "PÉRIGUEUX", 30}, {"24037", "24100", "BERGERAC", 26}, {"24520", "24200", "SARLAT-LA-CANÉDA", 9},
		{"24053", "24750", "BOULAZAC ISLE MANOIRE", 11}, {"24138", "24660", "COULOUNIEIX-CHAMIERS", 8}, {"24557", "24750", "TRÉLISSAC", 7},
		{"24311", "24300", "NONTRON", 3}, {"24352", "24600", "RIBÉRAC", 4},
	}, regionCentreOuest},
	{"33", 1650, []commune{
		{"33063", "33000", "BORDEAUX", 260}, {"33281", "33700", "MÉRIGNAC", 72}, {"33318", "33600", "PESSAC", 65},
		{"33522", "33400", "TALENCE", 43}, {"33550", "33140", "VILLENAVE-D'ORNON", 34}, {"33449", "33160", "SAINT-MÉDARD-EN-JALLES", 32},
		{"33039", "33130", "BÈGLES", 30}, {"33529", "33260", "LA TESTE-DE-BUCH", 27}, {"33069", "33110", "LE BOUSCAT", 24},
		{"33192", "33170", "GRADIGNAN", 26}, {"33243", "33500", "LIBOURNE", 25}, {"33119", "33150", "CENON", 25},
		{"33249", "33310", "LORMONT", 24}, {"33162", "33320", "EYSINES", 24}, {"33009", "33120", "ARCACHON", 11},
		{"33227", "33210", "LANGON", 8}, {"33240", "33340", "LESPARRE-MÉDOC", 6}, {"33056", "33290", "BLANQUEFORT", 16},
		{"33167", "33270", "FLOIRAC", 18}, {"33058", "33390", "BLAYE", 5},
	}, regionGascon},
	{"40", 420, []commune{
		{"40192", "40000", "MONT-DE-MARSAN", 30}, {"40088", "40100", "DAX", 21}, {"40046", "40600", "BISCARROSSE", 15},
		{"40279", "40990", "SAINT-PAUL-LÈS-DAX", 13}, {"40065", "40130", "CAPBRETON", 9}, {"40312", "40220", "TARNOS", 13},
		{"40184", "40200", "MIMIZAN", 7}, {"40001", "40800", "AIRE-SUR-L'ADOUR", 6},
	}, regionGascon},
	{"47", 330, []commune{
		{"47001", "47000", "AGEN", 33}, {"47323", "47300", "VILLENEUVE-SUR-LOT", 22}, {"47157", "47200", "MARMANDE", 18},
		{"47201", "47520", "LE PASSAGE", 9}, {"47032", "47240", "BON-ENCONTRE", 6}, {"47310", "47400", "TONNEINS", 9},
		{"47195", "47600", "NÉRAC", 7},
	}, regionGascon},
	{"64", 690, []commune{
		{"64445", "64000", "PAU", 75}, {"64102", "64100", "BAYONNE", 52}, {"64024", "64600", "ANGLET", 40},
		{"64122", "64200", "BIARRITZ", 25}, {"64260", "64700", "HENDAYE", 17}, {"64483", "64500", "SAINT-JEAN-DE-LUZ", 14},
		{"64129", "64140", "BILLÈRE", 13}, {"64335", "64230", "LESCAR", 10}, {"64422", "64400", "OLORON-SAINTE-MARIE", 10},
		{"64430", "64300", "ORTHEZ", 10}, {"64348", "64140", "LONS", 13}, {"64371", "64130", "MAULÉON-LICHARRE", 3},
		{"64485", "64220", "SAINT-JEAN-PIED-DE-PORT", 2},
	}, regionBasque},
	{"79", 375, []commune{
		{"79191", "79000", "NIORT", 59}, {"79049", "79300", "BRESSUIRE", 20}, {"79202", "79200", "PARTHENAY", 10},
		{"79329", "79100", "THOUARS", 14}, {"79081", "79180", "CHAURAY", 7}, {"79174", "79500", "MELLE", 6},
	}, regionCentreOuest},
	{"86", 440, []commune{
		{"86194", "86000", "POITIERS", 90}, {"86066", "86100", "CHÂTELLERAULT", 32}, {"86041", "86180", "BUXEROLLES", 10},
		{"86137", "86200", "LOUDUN", 7}, {"86165", "86500", "MONTMORILLON", 6}, {"86070", "86300", "CHAUVIGNY", 7},
		{"86214", "86280", "SAINT-BENOÎT", 7},
	}, regionCentreOuest},
	{"87", 370, []commune{
		{"87085", "87000", "LIMOGES", 130}, {"87154", "87200", "SAINT-JUNIEN", 11}, {"87114", "87350", "PANAZOL", 11},
		{"87050", "87270", "COUZEIX", 9}, {"87075", "87170", "ISLE", 8}, {"87187", "87500", "SAINT-YRIEIX-LA-PERCHE", 7},
		{"87011", "87300", "BELLAC", 4},
	}, regionCentreOuest},
}

// otherFrance are birthplaces (and a few residences) elsewhere in France,
// with Corsica and overseas. A cog of "P" + prefix stands for a city with
// arrondissements: see arrondissement.
var otherFrance = []commune{
	{"P75", "75", "PARIS", 2100}, {"P69", "69", "LYON", 520}, {"P13", "13", "MARSEILLE", 870},
	{"31555", "31000", "TOULOUSE", 490}, {"44109", "44000", "NANTES", 320}, {"59350", "59000", "LILLE", 235},
	{"67482", "67000", "STRASBOURG", 285}, {"34172", "34000", "MONTPELLIER", 300}, {"35238", "35000", "RENNES", 220},
	{"29019", "29200", "BREST", 140}, {"29232", "29000", "QUIMPER", 63}, {"56121", "56100", "LORIENT", 57},
	{"56260", "56000", "VANNES", 54}, {"22278", "22000", "SAINT-BRIEUC", 44}, {"2A004", "20000", "AJACCIO", 72},
	{"2B033", "20200", "BASTIA", 48}, {"2A247", "20137", "PORTO-VECCHIO", 12}, {"2B096", "20250", "CORTE", 7},
	{"06088", "06000", "NICE", 340}, {"63113", "63000", "CLERMONT-FERRAND", 147}, {"37261", "37000", "TOURS", 136},
	{"72181", "72000", "LE MANS", 143}, {"45234", "45000", "ORLÉANS", 116}, {"76540", "76000", "ROUEN", 112},
	{"14118", "14000", "CAEN", 106}, {"54395", "54000", "NANCY", 104}, {"57463", "57000", "METZ", 117},
	{"21231", "21000", "DIJON", 157}, {"38185", "38000", "GRENOBLE", 158}, {"83137", "83000", "TOULON", 176},
	{"66136", "66000", "PERPIGNAN", 120}, {"51454", "51100", "REIMS", 180}, {"80021", "80000", "AMIENS", 133},
	{"42218", "42000", "SAINT-ÉTIENNE", 173}, {"82121", "82000", "MONTAUBAN", 61}, {"46042", "46000", "CAHORS", 20},
	{"65440", "65000", "TARBES", 42}, {"32013", "32000", "AUCH", 22}, {"12202", "12000", "RODEZ", 24},
	{"49007", "49000", "ANGERS", 155}, {"76351", "76600", "LE HAVRE", 170}, {"78646", "78000", "VERSAILLES", 85},
	{"93066", "93200", "SAINT-DENIS", 112}, {"92012", "92100", "BOULOGNE-BILLANCOURT", 120}, {"95018", "95100", "ARGENTEUIL", 110},
	{"68224", "68100", "MULHOUSE", 108}, {"97120", "97110", "POINTE-À-PITRE", 40}, {"97209", "97200", "FORT-DE-FRANCE", 80},
	{"97411", "97400", "SAINT-DENIS", 150}, {"97302", "97300", "CAYENNE", 60},
}

// arrondissement resolves Paris, Lyon and Marseille to one of their
// arrondissements: COG 751xx / 6938x / 132xx, postal 750xx / 6900x / 130xx.
func arrondissement(r *rng, c commune) commune {
	switch c.cog {
	case "P75":
		n := r.between(1, 20)
		return commune{fmt.Sprintf("751%02d", n), fmt.Sprintf("750%02d", n), "PARIS", c.weight}
	case "P69":
		n := r.between(1, 9)
		return commune{fmt.Sprintf("6938%d", n), fmt.Sprintf("6900%d", n), "LYON", c.weight}
	case "P13":
		n := r.between(1, 16)
		return commune{fmt.Sprintf("132%02d", n), fmt.Sprintf("130%02d", n), "MARSEILLE", c.weight}
	}
	return c
}

// regionOfCOG returns the surname region of a birthplace code.
func regionOfCOG(cog string) int {
	if len(cog) < 2 {
		return regionNone
	}
	switch cog[:2] {
	case "64":
		return regionBasque
	case "33", "40", "47", "32", "65":
		return regionGascon
	case "16", "17", "19", "23", "24", "79", "86", "87":
		return regionCentreOuest
	case "22", "29", "35", "56":
		return regionBreton
	}
	return regionNone
}

// country is a country of birth abroad: INSEE code 99xxx and weight among
// people of the region born abroad.
type country struct {
	code   string
	name   string
	weight float64
}

var countries = []country{
	{"99139", "PORTUGAL", 18}, {"99350", "MAROC", 17}, {"99352", "ALGÉRIE", 16}, {"99134", "ESPAGNE", 10},
	{"99132", "ROYAUME-UNI", 7}, {"99351", "TUNISIE", 5}, {"99109", "ALLEMAGNE", 4}, {"99127", "ITALIE", 4},
	{"99131", "BELGIQUE", 3}, {"99208", "TURQUIE", 3}, {"99341", "SÉNÉGAL", 2}, {"99114", "ROUMANIE", 2},
	{"99135", "PAYS-BAS", 2}, {"99140", "SUISSE", 2}, {"99122", "POLOGNE", 1}, {"99243", "VIET NAM", 1},
	{"99404", "ÉTATS-UNIS", 1},
}

var streets = []string{
	"RUE VICTOR HUGO", "RUE DE LA RÉPUBLIQUE", "AVENUE JEAN JAURÈS", "RUE DU GÉNÉRAL DE GAULLE", "PLACE DE L'ÉGLISE",
	"CHEMIN DES VIGNES", "ROUTE DE BORDEAUX", "RUE DES ÉCOLES", "ALLÉE DES PINS", "RUE PASTEUR",
	"RUE DE LA GARE", "IMPASSE DES LILAS", "RUE DU MOULIN", "AVENUE DE LA LIBÉRATION", "RUE JULES FERRY",
	"RUE ANATOLE FRANCE", "RUE ÉMILE ZOLA", "BOULEVARD DU PRÉSIDENT WILSON", "RUE GAMBETTA", "AVENUE DU MARÉCHAL FOCH",
	"RUE DES ROSES", "CHEMIN DU STADE", "RUE DE LA PAIX", "RUE DU 8 MAI 1945", "RUE DES ACACIAS",
	"AVENUE DE VERDUN", "RUE CARNOT", "RUE DE LA FONTAINE", "ROUTE DE PARIS", "RUE DES CHÊNES",
	"RUE SAINTE-CATHERINE", "COURS DE LA MARNE", "RUE DU CHÂTEAU", "RUE DES LAURIERS", "ALLÉE DES MIMOSAS",
	"RUE JEAN MOULIN", "RUE DE L'OCÉAN", "RUE DES GENÊTS", "RUE DU PORT", "AVENUE DES PYRÉNÉES",
	"RUE DE LA LIBERTÉ", "RUE DES TILLEULS", "RUE DU STADE", "PLACE DE LA MAIRIE", "RUE DES PRÉS",
}

var lieuxDits = []string{"LE BOURG", "LES GRANGES", "LA BORDE", "LE MOULIN", "LES CHAMPS", "LA LANDE", "LE PIN", "LES VIGNES", "LA FONT"}

// Site is one establishment of the regional network: its OID (the
// authority of its local ids), its name and where it stands.
type Site struct {
	OID        string
	Name       string
	Department string
	weight     float64
	idFormat   int  // index into ippFormats
	titleFirst bool // stores first names in title case (Hélène)
	phoneStyle int
	addrAbbrev bool // abbreviates street types (AV, BD, R)
	counter    uint64
	step       int
}

type siteSpec struct {
	name   string
	dept   string
	weight float64
}

// siteSpecs are establishments of Nouvelle-Aquitaine, university hospitals
// first; weights are rough shares of activity.
var siteSpecs = []siteSpec{
	{"CHU de Bordeaux", "33", 10}, {"CHU de Limoges", "87", 6}, {"CHU de Poitiers", "86", 6},
	{"Centre hospitalier de Pau", "64", 4}, {"Centre hospitalier de la Côte Basque", "64", 4},
	{"Groupe hospitalier de La Rochelle-Ré-Aunis", "17", 4}, {"Centre hospitalier d'Angoulême", "16", 3.5},
	{"Centre hospitalier de Niort", "79", 3}, {"Centre hospitalier de Périgueux", "24", 3},
	{"Centre hospitalier de Mont-de-Marsan", "40", 2.5}, {"Centre hospitalier de Dax-Côte d'Argent", "40", 2.5},
	{"Centre hospitalier d'Agen-Nérac", "47", 2.5}, {"Centre hospitalier de Brive", "19", 2.5},
	{"Centre hospitalier de Libourne", "33", 2}, {"Centre hospitalier de Saintonge", "17", 2},
	{"Polyclinique Bordeaux Nord Aquitaine", "33", 2}, {"Centre hospitalier de Tulle", "19", 1.2},
	{"Centre hospitalier de Guéret", "23", 1.2}, {"Centre hospitalier de Rochefort", "17", 1.5},
	{"Centre hospitalier Nord Deux-Sèvres", "79", 1.5}, {"Centre hospitalier de Châtellerault", "86", 1.5},
	{"Centre hospitalier d'Arcachon", "33", 1.5}, {"Centre hospitalier de Bergerac", "24", 1.5},
	{"Institut Bergonié", "33", 1.5}, {"Clinique Saint-Augustin", "33", 1.2}, {"Hôpital privé Saint-Martin", "33", 1.2},
	{"Clinique Chénieux", "87", 1.2}, {"Centre hospitalier intercommunal Marmande-Tonneins", "47", 1},
	{"Pôle de santé du Villeneuvois", "47", 1}, {"Polyclinique Marzet", "64", 1}, {"Polyclinique de Poitiers", "86", 1},
	{"Clinique Belharra", "64", 1}, {"Clinique de l'Atlantique", "17", 1}, {"Clinique Mutualiste de Pessac", "33", 1},
	{"Centre hospitalier Charles Perrens", "33", 0.8}, {"Centre hospitalier d'Oloron-Sainte-Marie", "64", 0.8},
	{"Centre hospitalier de Cognac", "16", 0.8}, {"Clinique Esquirol-Saint-Hilaire", "47", 0.8},
	{"Clinique Francheville", "24", 0.8}, {"Polyclinique Inkermann", "79", 0.8}, {"Centre hospitalier de Sarlat", "24", 0.7},
	{"Centre hospitalier de Saint-Junien", "87", 0.6}, {"Centre hospitalier d'Ussel", "19", 0.5},
	{"Centre hospitalier de Jonzac", "17", 0.5},
}

// ippFormats are the shapes of local patient ids (IPP) across sites.
var ippFormats = []func(n uint64) string{
	func(n uint64) string { return fmt.Sprintf("%08d", n) },
	func(n uint64) string { return strconv.FormatUint(n, 10) },
	func(n uint64) string { return fmt.Sprintf("%010d", n) },
	func(n uint64) string { return fmt.Sprintf("P%07d", n) },
	func(n uint64) string { return fmt.Sprintf("%09d", 100000000+n) },
	func(n uint64) string { return fmt.Sprintf("%07d%c", n, 'A'+byte(n%23)) },
	func(n uint64) string { return fmt.Sprintf("IPP%06d", n) },
	func(n uint64) string { return fmt.Sprintf("%02d%06d", 90+n/1000000%10, n%1000000) },
}

// newSites builds k sites deterministically (independent of the seed, so that
// the network is the same for every population).
func newSites(k int) []*Site {
	r := newRNG(0x517e5, 0xe57ab)
	sites := make([]*Site, k)
	for i := range sites {
		var spec siteSpec
		if i < len(siteSpecs) {
			spec = siteSpecs[i]
		} else {
			d := naDepartments[(i-len(siteSpecs))%len(naDepartments)]
			c := d.communes[(i-len(siteSpecs))/len(naDepartments)%len(d.communes)]
			spec = siteSpec{fmt.Sprintf("Centre de santé %d de %s", i+1, titleCase(c.name)), d.code, 0.4}
		}
		s := &Site{
			OID:        fmt.Sprintf("1.2.250.1.213.1.1.1.%d", i+1),
			Name:       spec.name,
			Department: spec.dept,
			weight:     spec.weight,
			idFormat:   r.intn(len(ippFormats)),
			titleFirst: r.chance(0.3),
			phoneStyle: r.intn(4),
			addrAbbrev: r.chance(0.3),
			counter:    uint64(r.between(1000, 400000)),
			step:       r.between(1, 4),
		}
		sites[i] = s
	}
	return sites
}

// nextIPP returns the site's next local patient id.
func (s *Site) nextIPP(r *rng) string {
	s.counter += uint64(1 + r.intn(s.step))
	return ippFormats[s.idFormat](s.counter)
}

var streetAbbrev = strings.NewReplacer("RUE ", "R ", "AVENUE ", "AV ", "BOULEVARD ", "BD ", "ALLÉE ", "ALL ",
	"CHEMIN ", "CHE ", "ROUTE ", "RTE ", "PLACE ", "PL ", "IMPASSE ", "IMP ", "GÉNÉRAL ", "GAL ", "MARÉCHAL ", "MAL ")
