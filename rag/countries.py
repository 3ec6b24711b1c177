"""Countries as data: ISO codes, the names people write for them (ISO names, common names,
aliases, historic states), their demonyms, and how a sentence names them ("the United
States", "Kenya's"). One table, read by loading (a file name's code), the question's reading
and every sentence that names a country; pycountry underneath."""

from __future__ import annotations

import functools

# Codes the corpus uses that are not ISO's: states that no longer exist, and others.
HISTORIC = {
    "YUG": "Yugoslavia",
    "CSK": "Czechoslovakia",
    "DDR": "German Democratic Republic",
    "YMD": "Democratic Yemen",
    "SUN": "USSR",
    "EU": "European Union",
    "XKX": "Kosovo",
}
# How a sentence names a country whose ISO name reads as an index entry ("Korea, Republic
# of") or is not what people say ("Türkiye" is, and stays).
READABLE = {
    "BOL": "Bolivia",
    "COD": "Democratic Republic of the Congo",
    "FLK": "Falkland Islands",
    "FSM": "Micronesia",
    "IRN": "Iran",
    "KOR": "South Korea",
    "PRK": "North Korea",
    "LAO": "Laos",
    "MDA": "Moldova",
    "PSE": "Palestine",
    "RUS": "Russia",
    "SYR": "Syria",
    "TWN": "Taiwan",
    "TZA": "Tanzania",
    "VAT": "Holy See",
    "VEN": "Venezuela",
    "VGB": "British Virgin Islands",
    "VIR": "United States Virgin Islands",
    "VNM": "Vietnam",
    "MAF": "Saint Martin",
    "SXM": "Sint Maarten",
    "CCK": "Cocos Islands",
}
# Names people use that are not a country's ISO name (pycountry supplies those).
ALIASES = {
    "united states": "USA",
    "united states of america": "USA",
    "usa": "USA",
    "u.s.": "USA",
    "u.s.a.": "USA",
    "america": "USA",
    "united kingdom": "GBR",
    "uk": "GBR",
    "u.k.": "GBR",
    "britain": "GBR",
    "great britain": "GBR",
    "russia": "RUS",
    "falklands": "FLK",
    "malvinas": "FLK",
    "south korea": "KOR",
    "republic of korea": "KOR",
    "north korea": "PRK",
    "iran": "IRN",
    "syria": "SYR",
    "vietnam": "VNM",
    "laos": "LAO",
    "bolivia": "BOL",
    "venezuela": "VEN",
    "tanzania": "TZA",
    "moldova": "MDA",
    "czech republic": "CZE",
    "czechia": "CZE",
    "turkey": "TUR",
    "türkiye": "TUR",
    "ivory coast": "CIV",
    "côte d'ivoire": "CIV",
    "cote d'ivoire": "CIV",
    "netherlands": "NLD",
    "the netherlands": "NLD",
    "holland": "NLD",
    "democratic republic of the congo": "COD",
    "dr congo": "COD",
    "drc": "COD",
    "congo": "COG",
    "eswatini": "SWZ",
    "swaziland": "SWZ",
    "cape verde": "CPV",
    "east timor": "TLS",
    "timor-leste": "TLS",
    "burma": "MMR",
    "myanmar": "MMR",
    "palestine": "PSE",
    "state of palestine": "PSE",
    "holy see": "VAT",
    "vatican": "VAT",
    "north macedonia": "MKD",
    "macedonia": "MKD",
    "micronesia": "FSM",
    "bahamas": "BHS",
    "gambia": "GMB",
    "soviet union": "SUN",
    "ussr": "SUN",
    "yugoslavia": "YUG",
    "european union": "EU",
    "german democratic republic": "DDR",
    "east germany": "DDR",
    "west germany": "DEU",
    "federal republic of germany": "DEU",
    "democratic yemen": "YMD",
    "czechoslovakia": "CSK",
    "brunei": "BRN",
    "taiwan": "TWN",
    "kosovo": "XKX",
}
# Adjectives that name a country ("the Brazilian delegation", "families separated by North
# Korea" is a name; "Afghan refugees" an adjective).
DEMONYMS = {
    "american": "USA",
    "british": "GBR",
    "chinese": "CHN",
    "french": "FRA",
    "german": "DEU",
    "russian": "RUS",
    "soviet": "SUN",
    "japanese": "JPN",
    "indian": "IND",
    "brazilian": "BRA",
    "kenyan": "KEN",
    "nigerian": "NGA",
    "south african": "ZAF",
    "canadian": "CAN",
    "mexican": "MEX",
    "argentine": "ARG",
    "argentinian": "ARG",
    "australian": "AUS",
    "egyptian": "EGY",
    "ethiopian": "ETH",
    "ghanaian": "GHA",
    "indonesian": "IDN",
    "iranian": "IRN",
    "iraqi": "IRQ",
    "israeli": "ISR",
    "italian": "ITA",
    "pakistani": "PAK",
    "palestinian": "PSE",
    "saudi": "SAU",
    "spanish": "ESP",
    "swedish": "SWE",
    "norwegian": "NOR",
    "turkish": "TUR",
    "ukrainian": "UKR",
    "venezuelan": "VEN",
    "cuban": "CUB",
    "chilean": "CHL",
    "colombian": "COL",
    "peruvian": "PER",
    "polish": "POL",
    "dutch": "NLD",
    "belgian": "BEL",
    "swiss": "CHE",
    "austrian": "AUT",
    "greek": "GRC",
    "portuguese": "PRT",
    "irish": "IRL",
    "danish": "DNK",
    "finnish": "FIN",
    "qatari": "QAT",
    "emirati": "ARE",
    "syrian": "SYR",
    "lebanese": "LBN",
    "jordanian": "JOR",
    "moroccan": "MAR",
    "algerian": "DZA",
    "tunisian": "TUN",
    "libyan": "LBY",
    "sudanese": "SDN",
    "senegalese": "SEN",
    "rwandan": "RWA",
    "ugandan": "UGA",
    "tanzanian": "TZA",
    "vietnamese": "VNM",
    "thai": "THA",
    "filipino": "PHL",
    "philippine": "PHL",
    "malaysian": "MYS",
    "singaporean": "SGP",
    "bangladeshi": "BGD",
    "sri lankan": "LKA",
    "afghan": "AFG",
    "jamaican": "JAM",
    "haitian": "HTI",
    "korean": "KOR",
    "new zealand": "NZL",
    "bolivian": "BOL",
    "ecuadorian": "ECU",
    "paraguayan": "PRY",
    "uruguayan": "URY",
    "guatemalan": "GTM",
    "honduran": "HND",
    "nicaraguan": "NIC",
    "salvadoran": "SLV",
    "costa rican": "CRI",
    "panamanian": "PAN",
    "nepali": "NPL",
    "nepalese": "NPL",
    "mongolian": "MNG",
    "kazakh": "KAZ",
    "uzbek": "UZB",
    "armenian": "ARM",
    "azerbaijani": "AZE",
    "serbian": "SRB",
    "croatian": "HRV",
    "bosnian": "BIH",
    "slovenian": "SVN",
    "slovak": "SVK",
    "czech": "CZE",
    "hungarian": "HUN",
    "romanian": "ROU",
    "bulgarian": "BGR",
    "albanian": "ALB",
    "estonian": "EST",
    "latvian": "LVA",
    "lithuanian": "LTU",
    "belarusian": "BLR",
    "icelandic": "ISL",
    "maltese": "MLT",
    "cypriot": "CYP",
    "zambian": "ZMB",
    "zimbabwean": "ZWE",
    "malawian": "MWI",
    "mozambican": "MOZ",
    "angolan": "AGO",
    "namibian": "NAM",
    "cameroonian": "CMR",
    "ivorian": "CIV",
    "malian": "MLI",
    "nigerien": "NER",
    "burkinabe": "BFA",
    "chadian": "TCD",
    "somali": "SOM",
    "eritrean": "ERI",
    "liberian": "LBR",
    "sierra leonean": "SLE",
    "gambian": "GMB",
    "beninese": "BEN",
    "togolese": "TGO",
    "gabonese": "GAB",
    "burundian": "BDI",
    "malagasy": "MDG",
    "mauritian": "MUS",
    "yemeni": "YEM",
    "omani": "OMN",
    "kuwaiti": "KWT",
    "bahraini": "BHR",
    "burmese": "MMR",
    "cambodian": "KHM",
    "laotian": "LAO",
    "fijian": "FJI",
    "samoan": "WSM",
    "tongan": "TON",
    "north korean": "PRK",
    "south korean": "KOR",
    "east german": "DDR",
    "west german": "DEU",
    "yugoslav": "YUG",
    "czechoslovak": "CSK",
}
# Names read with "the" ("No statement by the United States …").
WITH_THE = {
    "united states",
    "united states of america",
    "united kingdom",
    "netherlands",
    "philippines",
    "bahamas",
    "gambia",
    "congo",
    "democratic republic of the congo",
    "holy see",
    "european union",
    "russian federation",
    "soviet union",
    "central african republic",
    "dominican republic",
    "czech republic",
    "united arab emirates",
    "maldives",
    "comoros",
    "marshall islands",
    "solomon islands",
    "seychelles",
    "sudan",
    "ussr",
    "united republic of tanzania",
    "federated states of micronesia",
    "british virgin islands",
    "united states virgin islands",
    "falkland islands",
    "cocos islands",
    "german democratic republic",
    "federal republic of germany",
    "cayman islands",
    "cook islands",
    "faroe islands",
    "northern mariana islands",
    "turks and caicos islands",
    "virgin islands, british",
    "virgin islands, u.s.",
    "syrian arab republic",
    "lao people's democratic republic",
    "republic of korea",
    "democratic people's republic of korea",
    "republic of moldova",
    "state of palestine",
    "plurinational state of bolivia",
    "islamic republic of iran",
    "bolivarian republic of venezuela",
    "kingdom of the netherlands",
}


@functools.cache
def _iso() -> dict[str, tuple[str, str]]:
    """alpha-3 -> (ISO name, common name or ISO name)."""
    try:
        import pycountry
    except ImportError:  # the tables above only
        return {}
    return {c.alpha_3: (c.name, getattr(c, "common_name", None) or c.name) for c in pycountry.countries}


def country_name(code: str) -> str:
    """The name a sentence gives a country, without an article: "United States", "South
    Korea", "USSR"; the code itself when it is no country's."""
    if code in READABLE:
        return READABLE[code]
    if code in _iso():
        return _iso()[code][1]
    return HISTORIC.get(code, code)


def called(code: str) -> str:
    """The country as a sentence's subject or object: "the United States", "Kenya"."""
    name = country_name(code)
    return f"the {name}" if name.lower() in WITH_THE else name


def possessive(code: str) -> str:
    """ "Kenya's", "the United States'", "the Philippines'"."""
    name = called(code)
    return f"{name}'" if name.endswith("s") else f"{name}'s"


@functools.cache
def names() -> dict[str, str]:
    """Every name of a country written in lower case, to its code: ISO names, common and
    official names, the readable and historic names, and the aliases."""
    out = dict(ALIASES)
    try:
        import pycountry

        for c in pycountry.countries:
            for attr in ("name", "common_name", "official_name"):
                value = getattr(c, attr, None)
                if value:
                    out.setdefault(value.lower(), c.alpha_3)
    except ImportError:
        pass
    for code, name in [*READABLE.items(), *HISTORIC.items()]:
        out.setdefault(name.lower(), code)
    return out


@functools.cache
def demonym_names() -> dict[str, str]:
    """Each demonym (lower case) to its country's name in lower case: "chilean" -> "chile",
    so a statement's "the Chilean presidency" names Chile."""
    return {demonym: country_name(code).lower() for demonym, code in DEMONYMS.items()}
