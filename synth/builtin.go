package synth

// Name lists written for this generator from general knowledge of French
// names. They are not copies of any data file. Lists are in rough order of
// frequency: the draw gives rank r a weight 1/(r+offset).

// commonSurnames are the most frequent French surnames, most frequent first.
// With the INSEE list they take the top ranks; without it they are the
// built-in list.
var commonSurnames = []string{
	"MARTIN", "BERNARD", "THOMAS", "PETIT", "ROBERT", "RICHARD", "DURAND", "DUBOIS", "MOREAU", "LAURENT",
	"SIMON", "MICHEL", "LEFEBVRE", "LEROY", "ROUX", "DAVID", "BERTRAND", "MOREL", "FOURNIER", "GIRARD",
	"BONNET", "DUPONT", "LAMBERT", "FONTAINE", "ROUSSEAU", "VINCENT", "MULLER", "LEFEVRE", "FAURE", "ANDRÉ",
	"MERCIER", "BLANC", "GUÉRIN", "BOYER", "GARNIER", "CHEVALIER", "FRANÇOIS", "LEGRAND", "GAUTHIER", "GARCIA",
	"PERRIN", "ROBIN", "CLÉMENT", "MORIN", "NICOLAS", "HENRY", "ROUSSEL", "MATHIEU", "GAUTIER", "MASSON",
	"MARCHAND", "DUVAL", "DENIS", "DUMONT", "MARIE", "LEMAIRE", "NOËL", "MEYER", "DUFOUR", "MEUNIER",
	"BRUN", "BLANCHARD", "GIRAUD", "JOLY", "RIVIÈRE", "LUCAS", "BRUNET", "GAILLARD", "BARBIER", "ARNAUD",
	"MARTINEZ", "GÉRARD", "ROCHE", "RENARD", "SCHMITT", "ROY", "LEROUX", "COLIN", "VIDAL", "CARON",
	"PICARD", "ROGER", "FABRE", "AUBERT", "LEMOINE", "RENAUD", "DUMAS", "LACROIX", "OLIVIER", "PHILIPPE",
	"BOURGEOIS", "PIERRE", "BENOÎT", "REY", "LECLERC", "PAYET", "ROLLAND", "LECLERCQ", "GUILLAUME", "LECOMTE",
	"LOPEZ", "JEAN", "DUPUY", "GUILLOT", "HUBERT", "BERGER", "CARPENTIER", "SANCHEZ", "DUPUIS", "MOULIN",
	"LOUIS", "DESCHAMPS", "HUET", "VASSEUR", "PEREZ", "BOUCHER", "FLEURY", "ROYER", "KLEIN", "JACQUET",
	"ADAM", "PARIS", "POIRIER", "MARTY", "AUBRY", "GUYOT", "CARRÉ", "CHARLES", "RENAULT", "CHARPENTIER",
	"MÉNARD", "MAILLARD", "BARON", "BERTIN", "BAILLY", "HERVÉ", "SCHNEIDER", "FERNANDEZ", "LE GALL", "COLLET",
	"LÉGER", "BOUVIER", "JULIEN", "PRÉVOST", "MILLET", "PERROT", "DANIEL", "LE ROUX", "COUSIN", "GERMAIN",
	"BRETON", "BESSON", "LANGLOIS", "RÉMY", "LE GOFF", "PELLETIER", "LÉVÊQUE", "PERRIER", "LEBLANC", "BARRÉ",
	"LEBRUN", "MARCHAL", "WEBER", "MALLET", "HAMON", "BOULANGER", "JACOB", "MONNIER", "MICHAUD", "RODRIGUEZ",
	"GUICHARD", "GILLET", "ÉTIENNE", "GRONDIN", "POULAIN", "TESSIER", "CHEVALLIER", "COLLIN", "CHAUVIN", "DA SILVA",
	"BOUCHET", "GAY", "LEMAÎTRE", "BÉNARD", "MARÉCHAL", "HUMBERT", "REYNAUD", "ANTOINE", "HOARAU", "PERRET",
	"BARTHÉLEMY", "CORDIER", "PICHON", "LEJEUNE", "GILBERT", "LAMY", "DELAUNAY", "PASQUIER", "CARLIER", "LAPORTE",
}

// Surnames of the south-west and of Brittany, boosted for people born there.
var basqueSurnames = []string{
	"ETCHEVERRY", "ETCHEGARAY", "ETCHEBERRY", "ELISSALDE", "IRIGOYEN", "HARISPE", "BIDEGAIN", "SALLABERRY",
	"ETCHEPARE", "ETCHART", "GOYHENECHE", "LARRALDE", "INCHAUSPÉ", "ARAMENDY", "DUHALDE", "HIRIART",
	"GARAT", "URRUTY", "JAUREGUY", "ERRECART", "BORDAGARAY", "ARHANCET", "INDART", "OYHARÇABAL",
	"ITURRALDE", "ECHEVERRIA", "ARRIETA", "LARRE", "HARAN", "ARBELBIDE", "MENDIBURU", "ELIZALDE",
}

var gasconSurnames = []string{
	"DUCASSE", "LABORDE", "LAFARGUE", "LACOSTE", "LABAT", "LAPEYRE", "DUPRAT", "DUCOS",
	"LALANNE", "LAFITTE", "LAGARDE", "BORDES", "CAZENAVE", "LASSERRE", "DUBOURG", "CASTAING",
	"BARRÈRE", "LARRIEU", "DUBERNET", "LABARTHE", "DUCOURNAU", "LAMARQUE", "CAZAUX", "DUPOUY",
	"LOUSTAU", "BERGEZ", "CASSOU", "DARRIGADE", "DARRIEUX", "POMARÈDE", "DESCLAUX", "TASTET",
	"LAMOTHE", "LABADIE", "DASTE", "DUCLOS", "LAHITTE", "PEYRELONGUE", "DARRACQ", "CAMGUILHEM",
}

var centreOuestSurnames = []string{ // Limousin, Périgord, Charentes, Poitou
	"TEXIER", "PINEAU", "BOUTIN", "RAGOT", "BILLAUD", "MAZEAU", "BONNIN", "CHASTANG",
	"DELAGE", "VERGNE", "VEYSSIÈRE", "LACHAUD", "MAZABRAUD", "CHABAUD", "BOISSOU", "DESBORDES",
	"FAUCHER", "BROUSSE", "PAPON", "BRUNETEAU", "GIRAUDEAU", "RAVAUD", "BAUDOUIN", "AUDOUIN",
	"GUILLON", "BOUTET", "CHAMBON", "MAZIÈRE", "FAYE", "DELAGRANGE", "PÉNICAUD", "BEAUBREUIL",
}

var bretonSurnames = []string{
	"LE GALL", "LE GOFF", "LE ROUX", "LE BRIS", "LE CORRE", "GUÉGUEN", "KERBRAT", "LE MEUR",
	"TANGUY", "LE BIHAN", "MORVAN", "CARADEC", "LE BERRE", "LE GUEN", "LE FLOCH", "LE HIR",
	"QUÉMÉNER", "KERGOAT", "LE COZ", "JÉGOU", "LE DRÉAU", "LE BORGNE", "PRIGENT", "LE CAM",
}

// particleSurnames and compoundSurnames are placed at fixed ranks among the
// INSEE surnames (rank → name) and added to the built-in list, so that
// particles and compounds appear at realistic, stable rates.
var placedSurnames = map[string]int{
	"FERREIRA": 95, "PEREIRA": 115, "RODRIGUES": 140, "DOS SANTOS": 215, "DE OLIVEIRA": 420,
	"LE BRIS": 480, "D'ALMEIDA": 900, "DE SOUSA": 700, "DA COSTA": 380, "LE CORRE": 350,
	"DE LA FONTAINE": 2500, "DU PONT": 3200, "VAN DER BERG": 4200, "DE LA ROCHE": 1800,
	"DES RIEUX": 5200, "DE SAINT-JEAN": 6100, "LA FAYE": 3900, "L'HERMITE": 2900, "LE DU": 4800,
	"MARTIN-DUPONT": 2600, "DUBOIS-LACROIX": 5400, "LACOSTE-DUPRAT": 7300, "SAINT-MARTIN": 1100,
	"JEAN-BAPTISTE": 1300, "MOREAU-DESCHAMPS": 8800, "DE LA CRUZ": 3600, "EL AMRANI": 2100,
	"BEN AHMED": 3300, "AIT ALI": 4100, "MAC DONALD": 9500, "O'NEILL": 12000, "DI MARCO": 6600,
}

// Origin-specific surnames and first names, used for part of the people born
// abroad (and some of their children). Keyed by INSEE country code.
type originNames struct {
	surnames []string
	male     []string
	female   []string
}

var origins = map[string]originNames{
	"99139": { // Portugal
		surnames: []string{"DA SILVA", "DOS SANTOS", "FERREIRA", "PEREIRA", "RODRIGUES", "FERNANDES", "GONÇALVES", "MARTINS", "LOPES", "DE SOUSA", "DA COSTA", "DE OLIVEIRA", "ALVES", "RIBEIRO", "CARVALHO", "TEIXEIRA", "MOREIRA", "PINTO", "MENDES", "D'ALMEIDA", "DA CUNHA", "CORREIA", "MONTEIRO", "DIAS"},
		male:     []string{"JOSÉ", "MANUEL", "ANTÓNIO", "JOÃO", "CARLOS", "FERNANDO", "PAULO", "RUI", "LUÍS", "JOAQUIM", "JOSÉ-MANUEL"},
		female:   []string{"MARIA", "ANA", "FERNANDA", "ROSA", "CONCEIÇÃO", "GRAÇA", "FÁTIMA", "LURDES", "ISABEL", "SÓNIA", "MARIA-JOSÉ"},
	},
	"99134": { // Spain
		surnames: []string{"GARCIA", "MARTINEZ", "LOPEZ", "SANCHEZ", "FERNANDEZ", "RODRIGUEZ", "PEREZ", "GONZALEZ", "GOMEZ", "RUIZ", "HERNANDEZ", "DIAZ", "MORENO", "ALVAREZ", "JIMENEZ", "MUÑOZ", "ROMERO", "NAVARRO", "TORRES", "DOMINGUEZ", "GIL", "SERRANO", "DE LA CRUZ", "DEL RIO"},
		male:     []string{"JOSÉ", "JUAN", "ANTONIO", "MANUEL", "FRANCISCO", "JESÚS", "MIGUEL", "PEDRO", "ÁNGEL", "RAFAEL", "JUAN-CARLOS"},
		female:   []string{"MARÍA", "CARMEN", "DOLORES", "PILAR", "ISABEL", "JOSEFA", "ROSARIO", "MERCEDES", "ANA", "CONCEPCIÓN", "MARIA-DOLORES"},
	},
	"99350": maghreb, "99352": maghreb, "99351": maghreb,
	"99109": { // Germany
		surnames: []string{"MÜLLER", "SCHMIDT", "SCHNEIDER", "FISCHER", "WEBER", "MEYER", "WAGNER", "BECKER", "SCHULZ", "HOFFMANN", "KOCH", "RICHTER", "KLEIN", "WOLF", "SCHRÖDER", "NEUMANN", "VON BERG"},
		male:     []string{"HANS", "KLAUS", "JÜRGEN", "WOLFGANG", "MICHAEL", "THOMAS", "STEFAN", "PETER", "ANDREAS", "GÜNTER"},
		female:   []string{"URSULA", "HELGA", "ANNA", "MONIKA", "SABINE", "PETRA", "KARIN", "BIRGIT", "GABRIELE", "ANDREA"},
	},
	"99127": { // Italy
		surnames: []string{"ROSSI", "RUSSO", "FERRARI", "ESPOSITO", "BIANCHI", "ROMANO", "COLOMBO", "RICCI", "MARINO", "GRECO", "BRUNO", "GALLO", "CONTI", "DE LUCA", "DI MARCO", "COSTA"},
		male:     []string{"GIUSEPPE", "GIOVANNI", "ANTONIO", "MARIO", "LUIGI", "FRANCESCO", "ANGELO", "VINCENZO", "PIETRO", "SALVATORE"},
		female:   []string{"MARIA", "ANNA", "GIUSEPPINA", "ROSA", "ANGELA", "GIOVANNA", "TERESA", "LUCIA", "CARMELA", "FRANCESCA"},
	},
	"99132": anglo, "99404": anglo,
	"99131": { // Belgium (Flemish names; Walloon people draw French ones)
		surnames: []string{"PEETERS", "JANSSENS", "MAES", "JACOBS", "MERTENS", "WILLEMS", "CLAES", "GOOSSENS", "VAN DAMME", "DE SMET", "VAN DEN BROECK", "DUBOIS", "LAMBERT"},
		male:     []string{"JAN", "PIETER", "LUC", "MARC", "DIRK", "GEERT", "JEAN-LUC"},
		female:   []string{"ANNA", "MARIA", "INGRID", "ANNICK", "VEERLE", "MARLEEN", "CHANTAL"},
	},
	"99135": { // Netherlands
		surnames: []string{"DE JONG", "JANSEN", "DE VRIES", "VAN DEN BERG", "VAN DER BERG", "VAN DIJK", "BAKKER", "VISSER", "SMIT", "MEIJER", "DE BOER", "MULDER"},
		male:     []string{"JAN", "PIETER", "HENDRIK", "WILLEM", "JOHANNES", "DIRK", "KEES"},
		female:   []string{"ANNA", "MARIA", "JOHANNA", "ELISABETH", "WILHELMINA", "INGRID", "ANNEKE"},
	},
	"99208": { // Turkey
		surnames: []string{"YILMAZ", "KAYA", "DEMIR", "ŞAHIN", "ÇELIK", "YILDIZ", "YILDIRIM", "ÖZTÜRK", "AYDIN", "ARSLAN", "DOĞAN", "KILIÇ"},
		male:     []string{"MEHMET", "MUSTAFA", "AHMET", "ALI", "HÜSEYIN", "HASAN", "IBRAHIM", "MURAT", "OSMAN"},
		female:   []string{"FATMA", "AYŞE", "EMINE", "HATICE", "ZEYNEP", "ELIF", "MERYEM", "SULTAN", "HÜLYA"},
	},
	"99341": { // Senegal
		surnames: []string{"DIOP", "NDIAYE", "FALL", "SOW", "DIALLO", "BA", "GUEYE", "FAYE", "SECK", "DIOUF", "SY", "CISSÉ", "MBAYE"},
		male:     []string{"MAMADOU", "MOUSSA", "IBRAHIMA", "OUSMANE", "CHEIKH", "ABDOULAYE", "MODOU", "ALIOU"},
		female:   []string{"FATOU", "AMINATA", "AWA", "MARIAMA", "AÏSSATOU", "KHADY", "NDEYE", "COUMBA"},
	},
	"99114": { // Romania
		surnames: []string{"POPESCU", "IONESCU", "POPA", "RADU", "DUMITRU", "STAN", "STOICA", "GHEORGHE", "MATEI", "CONSTANTIN"},
		male:     []string{"ION", "GHEORGHE", "VASILE", "CONSTANTIN", "ALEXANDRU", "MIHAI", "ANDREI", "ADRIAN"},
		female:   []string{"MARIA", "ELENA", "IOANA", "ANA", "MIHAELA", "ANDREEA", "GABRIELA", "CRISTINA"},
	},
	"99122": { // Poland
		surnames: []string{"NOWAK", "KOWALSKI", "WIŚNIEWSKI", "WÓJCIK", "KOWALCZYK", "KAMIŃSKI", "LEWANDOWSKI", "ZIELIŃSKI", "SZYMAŃSKI", "WOŹNIAK"},
		male:     []string{"JAN", "STANISŁAW", "ANDRZEJ", "JÓZEF", "TADEUSZ", "PIOTR", "KRZYSZTOF", "TOMASZ"},
		female:   []string{"MARIA", "KRYSTYNA", "ANNA", "BARBARA", "TERESA", "ELŻBIETA", "JANINA", "ZOFIA"},
	},
	"99243": { // Vietnam
		surnames: []string{"NGUYEN", "TRAN", "LE", "PHAM", "HOANG", "HUYNH", "VO", "DANG", "BUI", "DO", "NGO", "DUONG"},
		male:     []string{"VAN", "MINH", "DUC", "QUANG", "HUNG", "TUAN", "THANH", "HAI"},
		female:   []string{"THI", "LAN", "HOA", "MAI", "LINH", "HUONG", "THU", "NGOC"},
	},
}

var maghreb = originNames{
	surnames: []string{"BENALI", "BENAMAR", "BOUAZIZ", "BELKACEM", "BENMOUSSA", "BOUZID", "BENSALEM", "HADDAD", "MANSOURI", "CHERIF", "BRAHIMI", "AMRANI", "EL AMRANI", "BEN AHMED", "EL IDRISSI", "AIT ALI", "BENSAID", "KACI", "HAMIDI", "SAIDI", "ZERROUKI", "MEZIANE", "SLIMANI", "EL KHATTABI", "TAHRI", "BELHADJ", "HAMDI", "MEDJAHED", "BOUDJEMAA", "KHELIFI", "BEN SALAH", "AIT OUFELLA"},
	male:     []string{"MOHAMED", "AHMED", "ALI", "KARIM", "RACHID", "SAÏD", "MUSTAPHA", "ABDELKADER", "YOUSSEF", "OMAR", "MOHAMMED", "HASSAN", "BRAHIM", "MOKHTAR", "NOUREDDINE", "SAMIR", "MOHAMED-AMINE"},
	female:   []string{"FATIMA", "AÏCHA", "KHADIJA", "MALIKA", "NADIA", "SAMIRA", "ZOHRA", "LEILA", "YAMINA", "KARIMA", "FATIHA", "RACHIDA", "NAÏMA", "SAÏDA", "HOURIA", "FATIMA-ZAHRA"},
}

var anglo = originNames{
	surnames: []string{"SMITH", "JONES", "WILLIAMS", "BROWN", "TAYLOR", "DAVIES", "WILSON", "EVANS", "ROBERTS", "JOHNSON", "WALKER", "WRIGHT", "O'BRIEN", "MAC DONALD", "THOMPSON", "MILLER"},
	male:     []string{"JOHN", "DAVID", "PETER", "MICHAEL", "PAUL", "JAMES", "ROBERT", "RICHARD", "STEPHEN", "ANDREW"},
	female:   []string{"SUSAN", "MARGARET", "ELIZABETH", "SARAH", "JANE", "MARY", "PATRICIA", "CAROL", "HELEN", "ANN"},
}

// builtinFirstNames holds French first names by sex and era of birth
// (before 1945, 1945–1979, 1980–2004, 2005 and later), most frequent first.
var builtinFirstNames = [2][4][]string{
	{ // male
		{"JEAN", "PIERRE", "ANDRÉ", "RENÉ", "LOUIS", "MARCEL", "GEORGES", "ROGER", "PAUL", "HENRI",
			"MAURICE", "ROBERT", "JACQUES", "RAYMOND", "FERNAND", "LUCIEN", "ROLAND", "JOSEPH", "FRANÇOIS", "ALBERT",
			"CHARLES", "ÉMILE", "GUY", "LÉON", "GASTON", "EDMOND", "MARIUS", "ANTOINE", "CLAUDE", "MICHEL",
			"BERNARD", "GÉRARD", "JULES", "ALFRED", "ARMAND", "RAOUL", "GILBERT", "YVES", "JEAN-MARIE", "JEAN-BAPTISTE",
			"ABEL", "FÉLIX", "AUGUSTE", "EUGÈNE"},
		{"JEAN-PIERRE", "MICHEL", "ALAIN", "PHILIPPE", "PATRICK", "BERNARD", "CHRISTIAN", "DANIEL", "GÉRARD", "JEAN-CLAUDE",
			"CHRISTOPHE", "THIERRY", "PASCAL", "ÉRIC", "DIDIER", "FRÉDÉRIC", "LAURENT", "STÉPHANE", "OLIVIER", "DOMINIQUE",
			"FRANCIS", "SERGE", "JEAN-LUC", "JEAN-PAUL", "JEAN-LOUIS", "JEAN-MARC", "JEAN-MICHEL", "BRUNO", "JACKY", "DENIS",
			"HERVÉ", "JOËL", "GILLES", "FRANCK", "SYLVAIN", "VINCENT", "JÉRÔME", "FRANÇOIS", "YVES", "CLAUDE",
			"JEAN-FRANÇOIS", "RÉGIS", "LIONEL", "FABRICE"},
		{"NICOLAS", "JULIEN", "SÉBASTIEN", "GUILLAUME", "ALEXANDRE", "DAVID", "ROMAIN", "THOMAS", "ANTHONY", "VINCENT",
			"JONATHAN", "MAXIME", "KÉVIN", "JÉRÉMY", "MATHIEU", "BENJAMIN", "FLORIAN", "CÉDRIC", "QUENTIN", "LUCAS",
			"HUGO", "CLÉMENT", "PIERRE", "ADRIEN", "ANTOINE", "DAMIEN", "LOÏC", "YANNICK", "ARNAUD", "MICKAËL",
			"STEVEN", "ALEXIS", "THÉO", "VALENTIN", "CORENTIN", "DYLAN", "BAPTISTE", "JORDAN", "PAUL", "LOUIS",
			"JEAN-BAPTISTE", "PIERRE-ALEXANDRE"},
		{"LUCAS", "HUGO", "LOUIS", "GABRIEL", "JULES", "ARTHUR", "RAPHAËL", "LÉO", "NATHAN", "ENZO",
			"TOM", "THÉO", "MAËL", "ETHAN", "NOAH", "SACHA", "ADAM", "PAUL", "TIMÉO", "MATHIS",
			"CLÉMENT", "MAXENCE", "BAPTISTE", "NOLAN", "AXEL", "LIAM", "VICTOR", "MARTIN", "EVAN", "ROBIN",
			"MAXIME", "ANTOINE", "GABIN", "AARON", "ÉLIOTT", "SAMUEL", "MATHÉO", "ALEXIS", "NOÉ", "MOHAMED"},
	},
	{ // female
		{"MARIE", "JEANNE", "MARGUERITE", "GERMAINE", "LOUISE", "YVONNE", "MADELEINE", "SUZANNE", "MARCELLE", "DENISE",
			"SIMONE", "LUCIENNE", "ANDRÉE", "PAULETTE", "RENÉE", "ODETTE", "HÉLÈNE", "GEORGETTE", "COLETTE", "JACQUELINE",
			"MONIQUE", "GINETTE", "RAYMONDE", "YVETTE", "ANNE", "GENEVIÈVE", "PAULE", "THÉRÈSE", "JOSETTE", "LUCIE",
			"ALICE", "BERTHE", "JULIETTE", "ODILE", "ÉLIANE", "MARIE-LOUISE", "MARIE-THÉRÈSE", "ANTOINETTE", "FRANÇOISE", "NICOLE",
			"MICHELINE", "MARIE-JEANNE"},
		{"NATHALIE", "ISABELLE", "SYLVIE", "CATHERINE", "FRANÇOISE", "MARTINE", "CHRISTINE", "VALÉRIE", "SANDRINE", "PATRICIA",
			"NICOLE", "MONIQUE", "BRIGITTE", "CHANTAL", "VÉRONIQUE", "DOMINIQUE", "MARIE", "ANNE", "CORINNE", "PASCALE",
			"MARIE-CHRISTINE", "ANNE-MARIE", "MARIE-CLAIRE", "DANIELLE", "JOCELYNE", "ÉVELYNE", "MURIEL", "KARINE", "FLORENCE", "LAURENCE",
			"STÉPHANIE", "CAROLINE", "SOPHIE", "CÉLINE", "VIRGINIE", "HÉLÈNE", "AGNÈS", "JOSIANE", "ÉLISABETH", "MARIE-PIERRE",
			"MARIE-FRANCE", "MARIE-HÉLÈNE"},
		{"AURÉLIE", "ÉMILIE", "CÉLINE", "ÉLODIE", "JULIE", "MARIE", "STÉPHANIE", "AUDREY", "LAETITIA", "SARAH",
			"CAMILLE", "LAURA", "PAULINE", "MARINE", "MÉLANIE", "AMANDINE", "CHARLOTTE", "ANAÏS", "MANON", "LÉA",
			"EMMA", "CHLOÉ", "CLARA", "MATHILDE", "ÉMELINE", "MARION", "JESSICA", "VANESSA", "CAROLINE", "VIRGINIE",
			"SANDRA", "ANNE-SOPHIE", "ALEXANDRA", "MORGANE", "OCÉANE", "LUCIE", "JUSTINE", "INÈS", "CLÉMENCE", "MARIE-CHARLOTTE"},
		{"EMMA", "JADE", "LOUISE", "ALICE", "CHLOÉ", "LINA", "LÉA", "MILA", "ROSE", "ANNA",
			"AMBRE", "JULIA", "MIA", "INÈS", "LÉNA", "MANON", "ZOÉ", "CAMILLE", "LOLA", "ROMANE",
			"JULIETTE", "LÉONIE", "AGATHE", "SARAH", "EVA", "CLARA", "LOU", "NINA", "ADÈLE", "CHARLOTTE",
			"VICTORIA", "ÉLISE", "CAPUCINE", "LUCIE", "MARGAUX", "LOUNA", "CLÉMENCE", "ELSA", "MAËLYS", "LÉANA"},
	},
}

// eraOf maps a birth year to the era index of builtinFirstNames.
func eraOf(year int) int {
	switch {
	case year < 1945:
		return 0
	case year < 1980:
		return 1
	case year < 2005:
		return 2
	}
	return 3
}
