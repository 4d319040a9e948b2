package census

// A town where households live: its INSEE COG code (also a birthplace),
// postal code, name and département. The region is western France
// (Brittany, Pays de la Loire, Lower Normandy); codes are those of the
// INSEE's official geography.
type town struct{ cog, postal, name, dept string }

var towns = []town{
	{"35238", "35000", "RENNES", "35"}, {"35288", "35400", "SAINT-MALO", "35"}, {"35115", "35300", "FOUGÈRES", "35"},
	{"35360", "35500", "VITRÉ", "35"}, {"35236", "35600", "REDON", "35"}, {"35047", "35170", "BRUZ", "35"},
	{"29019", "29200", "BREST", "29"}, {"29232", "29000", "QUIMPER", "29"}, {"29151", "29600", "MORLAIX", "29"},
	{"29039", "29900", "CONCARNEAU", "29"}, {"29046", "29100", "DOUARNENEZ", "29"}, {"29103", "29800", "LANDERNEAU", "29"},
	{"56121", "56100", "LORIENT", "56"}, {"56260", "56000", "VANNES", "56"}, {"56178", "56300", "PONTIVY", "56"},
	{"56007", "56400", "AURAY", "56"}, {"22278", "22000", "SAINT-BRIEUC", "22"}, {"22113", "22300", "LANNION", "22"},
	{"22070", "22200", "GUINGAMP", "22"}, {"22050", "22100", "DINAN", "22"}, {"44109", "44000", "NANTES", "44"},
	{"44184", "44600", "SAINT-NAZAIRE", "44"}, {"44190", "44400", "REZÉ", "44"}, {"44069", "44350", "GUÉRANDE", "44"},
	{"49007", "49000", "ANGERS", "49"}, {"49099", "49300", "CHOLET", "49"}, {"49328", "49400", "SAUMUR", "49"},
	{"53130", "53000", "LAVAL", "53"}, {"72181", "72000", "LE MANS", "72"}, {"85191", "85000", "LA ROCHE-SUR-YON", "85"},
	{"14118", "14000", "CAEN", "14"}, {"50129", "50100", "CHERBOURG-EN-COTENTIN", "50"}, {"50502", "50000", "SAINT-LÔ", "50"},
	{"61001", "61000", "ALENÇON", "61"},
}

// elsewhere are birthplaces in France outside the region, Corsica and
// overseas included (their NIR carries 2A/2B or a three-digit département).
var elsewhere = []string{"75115", "75118", "69383", "13205", "59350", "33063", "31555", "67482", "2A004", "2B033", "97209", "97411", "76540", "37261"}

// countries are INSEE codes of countries of birth (99 + country).
var countries = []string{"99350", "99352", "99351", "99139", "99127", "99134", "99131", "99109", "99341", "99208", "99132", "99243"}

// streets are street names without their number; the type comes first, as
// sites abbreviate it.
var streets = []string{
	"RUE DE LA MAIRIE", "RUE DES ÉCOLES", "AVENUE JEAN JAURÈS", "BOULEVARD DE LA LIBERTÉ", "IMPASSE DES LILAS",
	"ALLÉE DES CHÊNES", "CHEMIN DU MOULIN", "PLACE DE L'ÉGLISE", "RUE DU GÉNÉRAL DE GAULLE", "RUE VICTOR HUGO",
	"RUE PASTEUR", "RUE DE BREST", "LIEU-DIT KERBIHAN", "RUE DU PORT", "AVENUE DE LA GARE", "RUE DES TILLEULS",
	"RUE ANATOLE FRANCE", "RUE DE VERDUN", "BOULEVARD DES ANGLAIS", "RUE SAINT-MICHEL", "RUE DES MOUETTES",
	"CHEMIN DE KERVENO", "RUE JULES FERRY", "RUE DU STADE", "AVENUE DU MARÉCHAL FOCH", "RUE DES GENÊTS",
	"IMPASSE DU LAVOIR", "RUE DE LA RÉPUBLIQUE", "ALLÉE DES HORTENSIAS", "RUE DU CHÂTEAU",
}

// streetAbbrev are the abbreviations sites use for street types.
var streetAbbrev = [][2]string{{"RUE ", "R "}, {"AVENUE ", "AV "}, {"BOULEVARD ", "BD "}, {"IMPASSE ", "IMP "}, {"ALLÉE ", "ALL "}, {"CHEMIN ", "CH "}, {"PLACE ", "PL "}, {"LIEU-DIT ", "LD "}}
