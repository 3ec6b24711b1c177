"""What a question is scoped to (whose statements: a country or a person as speaker; when:
years, ranges, sessions; where: a venue), and whether the index holds it. "What did Kenya say in 2021 …" asks
about Kenya's 2021 words only: when the index has none, the answer says so in one sentence
instead of quoting someone else."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FIRST_SESSION_YEAR = 1945  # session N of the General Assembly opened in 1945 + N

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
    "democratic yemen": "YMD",
    "czechoslovakia": "CSK",
    "brunei": "BRN",
    "taiwan": "TWN",
    "kosovo": "XKX",
}
# Adjectives that name a country as speaker before "delegation", "president" and the like.
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
}
# Names read with "the" ("No statement by the United States …").
_WITH_THE = {
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
}
_SPEAKER_NOUN = (
    r"(?:delegation|government|president|prime\s+minister|foreign\s+minister|minister|"
    r"representative|ambassador|leader|statement|speech|address|position|stance|view|side)"
)
_SPEECH_VERB = (
    r"(?:say|said|says|propose[sd]?|call(?:ed|s)?|announce[sd]?|state[sd]?|argue[sd]?|stress(?:ed|es)?|"
    r"urge[sd]?|claim(?:ed|s)?|tell|told|think|thinks|see|sees|saw|view|want(?:ed|s)?|support(?:ed|s)?|"
    r"oppose[sd]?|demand(?:ed|s)?|pledge[sd]?|commit(?:ted|s)?|ask(?:ed|s)?|raise[sd]?|mention(?:ed|s)?|"
    r"describe[sd]?|believe[sd]?|warn(?:ed|s)?|emphasi[sz]e[sd]?|insist(?:ed|s)?|express(?:ed|es)?|"
    r"reaffirm(?:ed|s)?|highlight(?:ed|s)?|condemn(?:ed|s)?|welcome[sd]?|promise[sd]?)"
)
# A country named after one of these is what the statement is about, not who made it.
_TOPIC_BEFORE = {
    "about",
    "on",
    "regarding",
    "concerning",
    "towards",
    "toward",
    "against",
    "with",
    "into",
    "to",
    "of",
    "for",
    "between",
    "and",
    "or",
    "in",
    "at",
    "over",
    "across",
    "within",
}
_PAST = re.compile(
    r"\b(did|said|was|were|had|has\s+\w+ed|announced|proposed|stated|called|spoke|speech|statement|"
    r"address|debate|session|remarks)\b",
    re.I,
)
_YEAR = r"(19[4-9]\d|20\d\d)"
# Where a statement was made, when a question says so ("at the General Debate", "in the
# Security Council"), as document metadata names it.
VENUES = ("general debate", "security council", "general assembly", "human rights council")


@dataclass(frozen=True)
class Part:
    """One thing the question is scoped to, and whether the index holds it (None: the
    index records nothing of that kind, so it cannot be checked)."""

    kind: str  # "country", "speaker", "year" or "venue"
    value: Any
    label: str
    held: bool | None = None


@dataclass(frozen=True)
class Scope:
    parts: tuple[Part, ...] = ()
    missing: str = ""  # one sentence when the index lacks what the question is about

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {"countries": [], "speakers": [], "years": [], "venues": []}
        keys = {"country": "countries", "speaker": "speakers", "year": "years", "venue": "venues"}
        for p in self.parts:
            key = "code" if p.kind == "country" else "value"
            out[keys[p.kind]].append({"name": p.label, key: p.value, "held": p.held})
        return out


@dataclass
class Coverage:
    """What the index holds: the countries that speak in it, the years, and which years
    each country speaks in."""

    countries: dict[str, set[int]] = field(default_factory=dict)
    years: set[int] = field(default_factory=set)
    speakers: set[str] = field(default_factory=set)  # people, as the documents name them
    venues: set[str] = field(default_factory=set)  # "General Debate", "Security Council" ...

    @classmethod
    def of(cls, metadata: Iterable[dict[str, Any]]) -> Coverage:
        coverage = cls()
        for meta in metadata:
            year = meta.get("year")
            if isinstance(year, int):
                coverage.years.add(year)
            code = meta.get("country")
            if isinstance(code, str) and code:
                coverage.countries.setdefault(code, set())
                if isinstance(year, int):
                    coverage.countries[code].add(year)
            person = _person(str(meta.get("speaker") or ""))
            if person:
                coverage.speakers.add(person)
            venue = str(meta.get("venue") or "").lower()
            coverage.venues.update(v for v in VENUES if v in venue)
        return coverage

    def span(self) -> str:
        if not self.years:
            return ""
        first, last = min(self.years), max(self.years)
        return str(first) if first == last else f"{first}–{last}"


_TITLES = re.compile(
    r"^(?:(?:h\.?e\.?|mr\.?|mrs\.?|ms\.?|dr\.?|ambassador|state\s+councilor|foreign\s+minister|"
    r"minister|president|prime\s+minister|permanent\s+representative|and|,)\s+)+",
    re.I,
)


def _person(speaker: str) -> str:
    """The person in a speaker field ("Ambassador Zhang Jun" -> "Zhang Jun"); none when
    the speaker is a country (as in the General Debate files)."""
    name = _TITLES.sub("", " ".join(speaker.split())).strip()
    if name.lower() in _pattern()[0]:
        return ""
    return name if len(name.split()) >= 2 else ""


def _country_names() -> dict[str, str]:
    names = dict(ALIASES)
    try:
        import pycountry

        for c in pycountry.countries:
            for attr in ("name", "common_name", "official_name"):
                value = getattr(c, attr, None)
                if value:
                    names.setdefault(value.lower(), c.alpha_3)
    except ImportError:  # names from the alias table only
        pass
    return names


@functools.cache
def _pattern() -> tuple[dict[str, str], re.Pattern[str]]:
    """Country names (lower case) to ISO codes, and one pattern finding any of them or a
    demonym, longest first; built on first use."""
    names = _country_names()
    alternatives = sorted({*names, *DEMONYMS}, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(a) for a in alternatives) + r")(?![\w-])", re.I)
    return names, pattern


def speaker_countries(question: str) -> list[tuple[str, str]]:
    """(ISO code, name as written) for each country the question names as the speaker:
    "What did Kenya say", "Kenya's position", "the Brazilian delegation", "a speech by
    Nigeria"; not a country the statement is about ("what China said about Kenya")."""
    names, pattern = _pattern()
    found: list[tuple[str, str]] = []
    for m in pattern.finditer(question):
        written = m.group(1)
        key = written.lower()
        before = question[: m.start()].split()
        previous = before[-1].lower().strip("\"'(") if before else ""
        after = question[m.end() : m.end() + 60]
        if key in DEMONYMS and key not in names:
            if re.match(rf"\s+(?:\w+\s+)?{_SPEAKER_NOUN}\b", after, re.I) and previous not in _TOPIC_BEFORE:
                found.append((DEMONYMS[key], written))
            continue
        code = names[key]
        by = previous in {"by", "from"} or (
            len(before) > 1 and " ".join(before[-2:]).lower() == "according to"
        )
        speaks = bool(
            re.match(rf"\s+(?:(?:also|ever|not|once|first|really)\s+)?{_SPEECH_VERB}\b", after, re.I)
            or re.match(rf"(?:'s|’s)?\s+{_SPEAKER_NOUN}\b", after, re.I)
            or re.match(r"\s+in\s+(?:its|their|her|his)\b", after, re.I)
            # "Brazil's" alone names the speaker only before anyone else is named as one
            # ("What did France say had stopped Iran's path" asks about France's words).
            or (not found and re.match(r"(?:'s|’s)", after))
        )
        if by or (speaks and previous not in _TOPIC_BEFORE):
            found.append((code, f"the {written}" if key in _WITH_THE else written))
    return list(dict.fromkeys(found))


def country_named(text: str) -> tuple[str, str] | None:
    """(ISO code, name as written) of a country a short text names, whatever role it plays
    ("Denmark", "the United Kingdom" as a follow-up's "And …?"); None when it names none."""
    names, pattern = _pattern()
    for m in pattern.finditer(text):
        key = m.group(1).lower()
        if key in names:
            return names[key], m.group(1)
    return None


def asked_years(question: str) -> list[tuple[int, int]]:
    """The years a question asks about the statements of, as (first, last) ranges: "in
    2021", "the 2021 General Debate", "between 2015 and 2018", "since 2020", "the 80th
    session". A year that is a target or a name ("by 2030", "the 2030 Agenda") is not."""
    if not _PAST.search(question):
        return []  # "What does China plan for 2030?": a year in the future of the speech
    out: list[tuple[int, int]] = []
    for m in re.finditer(rf"\b(?:between|from)\s+{_YEAR}\s+(?:and|to|until)\s+{_YEAR}\b", question, re.I):
        out.append(tuple(sorted((int(m.group(1)), int(m.group(2))))))
    for m in re.finditer(rf"\b{_YEAR}\s*[-–]\s*{_YEAR}\b", question):
        out.append(tuple(sorted((int(m.group(1)), int(m.group(2))))))
    for m in re.finditer(rf"\bsince\s+{_YEAR}\b", question, re.I):
        out.append((int(m.group(1)), 9999))
    for m in re.finditer(r"\b(\d{1,2})(?:st|nd|rd|th)\s+(?:regular\s+)?session\b", question, re.I):
        year = FIRST_SESSION_YEAR + int(m.group(1))
        out.append((year, year))
    spans = [
        (a.start(), a.end())
        for a in re.finditer(
            rf"\b(?:between|from)\s+{_YEAR}.*?{_YEAR}\b|{_YEAR}\s*[-–]\s*{_YEAR}|since\s+{_YEAR}",
            question,
            re.I,
        )
    ]
    for m in re.finditer(rf"\b{_YEAR}\b", question):
        if any(a <= m.start() < b for a, b in spans):
            continue
        before = question[max(0, m.start() - 12) : m.start()].lower()
        after = question[m.end() : m.end() + 12].lower()
        if re.search(r"\b(by|until|till|before|after|towards?)\s+$", before) or after.lstrip().startswith(
            "agenda"
        ):
            continue
        if re.search(r"agenda\s+$", before):
            continue
        year = int(m.group(1))
        out.append((year, year))
    return list(dict.fromkeys(out))


def asked_venues(question: str) -> list[str]:
    """Venues named as where the statement was made ("at the General Debate", "in the
    Security Council", "its 2021 General Debate speech"); "Security Council reform" is a topic."""
    found = []
    for venue in VENUES:
        pattern = (
            rf"\b(?:at|in|to|before|during)\s+(?:the\s+|its\s+|their\s+)?(?:\d{{4}}\s+)?"
            rf"(?:UN\s+)?{venue}\b(?!\s+reform)"
        )
        if re.search(pattern, question, re.I) or re.search(
            rf"\b{venue}\s+(?:speech|statement|address)\b", question, re.I
        ):
            found.append(venue)
    return found


def _title(venue: str) -> str:
    return " ".join(w.capitalize() for w in venue.split())


def scope_of(question: str, coverage: Coverage) -> Scope:
    """The question's scope, each part marked held or not, and the one sentence to say
    when the index lacks it."""
    parts: list[Part] = []
    missing: list[str] = []
    countries = speaker_countries(question)
    ranges = asked_years(question)
    has_countries, has_years = bool(coverage.countries), bool(coverage.years)
    lower = question.lower()
    for person in sorted(coverage.speakers):
        if re.search(rf"(?<!\w){re.escape(person.lower())}(?!\w)", lower):
            parts.append(Part("speaker", person, person, True))
    for venue in asked_venues(question):
        held = venue in coverage.venues if coverage.venues else None
        parts.append(Part("venue", venue, _title(venue), held))
        if held is False:
            missing.append(f"No statement made at the {_title(venue)} is in the index.")
    for code, written in countries:
        held = code in coverage.countries if has_countries else None
        parts.append(Part("country", code, written, held))
        if held is False:
            missing.append(f"No statement by {written} is in the index.")
    for first, last in ranges:
        label = str(first) if first == last else (f"since {first}" if last == 9999 else f"{first}–{last}")
        held_years = {y for y in coverage.years if first <= y <= last}
        held = bool(held_years) if has_years else None
        parts.append(Part("year", first if first == last else [first, last], label, held))
        if held is False:
            outside = coverage.years and (last < min(coverage.years) or first > max(coverage.years))
            where = f", which covers {coverage.span()}" if outside else ""
            missing.append(f"No statement from {label} is in the index{where}.")
        elif held and countries and not missing:
            for code, written in countries:
                spoke = coverage.countries.get(code, set())
                if code in coverage.countries and spoke and not any(first <= y <= last for y in spoke):
                    years = ", ".join(str(y) for y in sorted(spoke)[-3:])
                    missing.append(
                        f"No statement by {written} from {label} is in the index (it holds {years})."
                    )
    return Scope(tuple(parts), missing[0] if missing else "")


def searched_line(scope: dict[str, Any]) -> str:
    """ "Searched: statements by Brazil from 2024." for the parts of a question's scope the
    index holds and the search was kept to; "" when there are none."""

    def held(*kinds: str) -> str:
        return " or ".join(p["name"] for k in kinds for p in scope.get(k, []) if p.get("held"))

    who, when, where = held("speakers", "countries"), held("years"), held("venues")
    if not (who or when or where):
        return ""
    return (
        "Searched: statements"
        + (f" by {who}" if who else "")
        + (f" at the {where}" if where else "")
        + (f" from {when}" if when else "")
        + "."
    )
