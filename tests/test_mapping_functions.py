"""The HSG mapping functions, checked on examples from the real records in data/sources/hsg."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS

from kg import mapping_functions as mf
from kg.config import REPO_ROOT

HSG = Path(__file__).resolve().parents[1] / "data" / "sources" / "hsg"  # the copy in the repository
TSV = HSG / "countries-wikidata.tsv"


def _records(folder: str, tag: str) -> list[ET.Element]:
    return [r for f in sorted((HSG / folder).glob("*.xml")) for r in ET.parse(f).getroot().iter(tag)]


@pytest.fixture(scope="module")
def visits() -> list[ET.Element]:
    found = _records("visits", "visit")
    assert len(found) == 3264
    return found


@pytest.fixture(scope="module")
def trips() -> list[ET.Element]:
    found = _records("president-travels", "trip")
    assert len(found) == 832
    return found


# --- text and dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Met with Prime Minister Boris Johnson and Queen Elizabeth II. Attended the G7\n            Summit.",
         "Met with Prime Minister Boris Johnson and Queen Elizabeth II. Attended the G7 Summit."),
        ("  Working visit.  ", "Working visit."),
        ("", None),
        ("  \n ", None),
        (None, None),
    ],
)  # fmt: skip
def test_text(value, expected):
    assert mf.text(value) == expected


@pytest.mark.parametrize(
    ("value", "iso", "problem"),
    [
        ("2010-03-08", "2010-03-08", None),
        (" 2010-03-08\n", "2010-03-08", None),
        ("2000-02-29", "2000-02-29", None),
        ("2010-02-30", None, "impossible date: '2010-02-30'"),
        ("1900-02-29", None, "impossible date: '1900-02-29'"),
        ("1975-00-00", None, "not a date: '1975-00-00'"),
        ("20100308", None, "not a date: '20100308'"),
        ("2010-3-8", None, "not a date: '2010-3-8'"),
        ("1975", None, "not a date: '1975'"),
        ("", None, "missing"),
        (None, None, "missing"),
    ],
)
def test_iso_date_and_date_problem(value, iso, problem):
    assert mf.iso_date(value) == iso
    assert mf.date_problem(value) == problem


def test_every_record_date_is_a_real_date(visits, trips):
    for record in visits + trips:
        for field in ("start-date", "end-date"):
            assert mf.date_problem(record.findtext(field)) is None, record.findtext("id")


# --- visitors --------------------------------------------------------------------------------------

# One real visitor string for every entry of TITLES.
TITLE_EXAMPLES = [
    ("President Moon Jae-in", "President", "Moon Jae-in"),
    ("President-elect Vicente Fox", "President-elect", "Vicente Fox"),
    ("President-Elect Carlos Salinas de Gortari", "President-Elect", "Carlos Salinas de Gortari"),
    ("President- elect Ernesto Zedillo Ponce de Leon", "President- elect", "Ernesto Zedillo Ponce de Leon"),
    ("President- designate Roberto E. Viola", "President- designate", "Roberto E. Viola"),
    ("Acting President Goodluck Jonathan", "Acting President", "Goodluck Jonathan"),
    ("Interim President Juan Guaidó", "Interim President", "Juan Guaidó"),
    ("Provisional President Ertha Pascal Trouillot", "Provisional President", "Ertha Pascal Trouillot"),
    ("President of the Council of Ministers Hussain Mohammad Ershad",
     "President of the Council of Ministers", "Hussain Mohammad Ershad"),
    ("Prime Minister George Papandreou", "Prime Minister", "George Papandreou"),
    ("Prime Minster Adrian Nastase", "Prime Minster", "Adrian Nastase"),
    ("Prime Ministere Silvio Berlusconi", "Prime Ministere", "Silvio Berlusconi"),
    ("Acting Prime Minister Sirik Matak", "Acting Prime Minister", "Sirik Matak"),
    ("Interim Prime Minister Ayad Allawi", "Interim Prime Minister", "Ayad Allawi"),
    ("Prime Minister-Prince Norodom Kantol", "Prime Minister-Prince", "Norodom Kantol"),
    ("Premier Zhao Ziyang", "Premier", "Zhao Ziyang"),
    ("Vice Premier Deng Xiaoping", "Vice Premier", "Deng Xiaoping"),
    ("Premier and Prince Sihanouk", "Premier and Prince", "Sihanouk"),
    ("Premier & Prince Sihanouk", "Premier & Prince", "Sihanouk"),
    ("Chancellor Angela Merkel", "Chancellor", "Angela Merkel"),
    ("Chancellor-elect Gerhard Schroeder", "Chancellor-elect", "Gerhard Schroeder"),
    ("Federal Chancellor Sebastian Kurz", "Federal Chancellor", "Sebastian Kurz"),
    ("Taoiseach Leo Varadkar", "Taoiseach", "Leo Varadkar"),
    ("King Juan Carlos I", "King", "Juan Carlos I"),
    ("Queen Elizabeth II", "Queen", "Elizabeth II"),
    ("Emperor Dom Pedro II", "Emperor", "Dom Pedro II"),
    ("Grand Duke Jean", "Grand Duke", "Jean"),
    ("Grand Duchess Charlotte", "Grand Duchess", "Charlotte"),
    ("Prince Rainier III", "Prince", "Rainier III"),
    ("Crown Prince Mohammed bin Salman", "Crown Prince", "Mohammed bin Salman"),
    ("Regent Prince Charles", "Regent", "Prince Charles"),
    ("Shah Mohammad Reza Pahlavi", "Shah", "Mohammad Reza Pahlavi"),
    ("Sultan Qaboos bin Said", "Sultan", "Qaboos bin Said"),
    ("Amir Sheikh Tamim bin Hamad Al Thani", "Amir", "Sheikh Tamim bin Hamad Al Thani"),
    ("Emir Isa bin Sulman al-Khalifa", "Emir", "Isa bin Sulman al-Khalifa"),
    ("Pope Francis", "Pope", "Francis"),
    ("Governor General Earl of Athlone", "Governor General", "Earl of Athlone"),
    ("Chairman Ne Win", "Chairman", "Ne Win"),
    ("Chairman of the Presidency Bakir Izetbegovic", "Chairman of the Presidency", "Bakir Izetbegovic"),
    ("General Secretary Tô Lâm", "General Secretary", "Tô Lâm"),
    ("First Secretary Edward Gierek", "First Secretary", "Edward Gierek"),
    ("Chief of State Hubert Maga", "Chief of State", "Hubert Maga"),
    ("Head of State Samuel Kanyon Doe", "Head of State", "Samuel Kanyon Doe"),
    ("Junta Member Daniel Ortega", "Junta Member", "Daniel Ortega"),
    ("General Omar Torrijos Herrera", "General", "Omar Torrijos Herrera"),
    ("Brigadier General Juan Melgar Castro", "Brigadier General", "Juan Melgar Castro"),
    ("Lieutenant General Olusegun Obasanjo", "Lieutenant General", "Olusegun Obasanjo"),
]  # fmt: skip

# Honorifics stay in the name; a glued title is split; two office holders are not.
NAME_EXAMPLES = [
    ("Prime Minister Sheikh Hasina", "Prime Minister", "Sheikh Hasina"),
    ("President Hassan Sheikh Mohamud", "President", "Hassan Sheikh Mohamud"),
    ("Prime Minister Dr. Hubert A. Minnis", "Prime Minister", "Dr. Hubert A. Minnis"),
    ("Prime Minister Lord Tuivakano", "Prime Minister", "Lord Tuivakano"),
    ("Sultan Haji Hassanal Bolkiah", "Sultan", "Haji Hassanal Bolkiah"),
    ("Prime MinisterHaidar al- Abadi", "Prime Minister", "Haidar al- Abadi"),
    ("Sheikh Haya Rashed al-Khalifa", None, "Sheikh Haya Rashed al-Khalifa"),
    ("Valdas Adamkus", None, "Valdas Adamkus"),
    ("Jose Luis Rodriguez Zapatero", None, "Jose Luis Rodriguez Zapatero"),
    ("President Andrzej Duda and Prime Minister Donald Tusk", None,
     "President Andrzej Duda and Prime Minister Donald Tusk"),
    ("King Abdullah and Crown Prince Hussein", None, "King Abdullah and Crown Prince Hussein"),
    ("Prime  Minister\n   George Papandreou", "Prime Minister", "George Papandreou"),
    ("", None, None),
    (None, None, None),
]  # fmt: skip

GLUED = {"Prime MinisterHaidar al- Abadi"}  # the one record with no space after the title


@pytest.mark.parametrize(("visitor", "title", "name"), TITLE_EXAMPLES + NAME_EXAMPLES)
def test_visitor_title_and_name(visitor, title, name, visits):
    assert mf.visitor_title(visitor) == title
    assert mf.visitor_name(visitor) == name
    if visitor and "\n" not in visitor:
        assert visitor in {mf.text(v.findtext("visitor")) for v in visits}


def test_every_title_has_a_real_example():
    assert sorted(mf.TITLES) == sorted(
        set(re.sub(r"\s*-\s*", "-", t).replace("-Elect", "-elect") for t in {t for _, t, _ in TITLE_EXAMPLES})
    )


def test_title_and_name_rebuild_every_visitor_string(visits):
    untitled = []
    for visit in visits:
        whole = mf.text(visit.findtext("visitor"))
        title, name = mf.visitor_title(whole), mf.visitor_name(whole)
        if title is None:
            untitled.append(whole)
            assert name == whole
        elif whole in GLUED:
            assert title + name == whole
        else:
            assert f"{title} {name}" == whole
    assert len(untitled) == 10  # 6 strings naming two people, 4 with no title (Valdas Adamkus …)


@pytest.mark.parametrize(
    ("country", "visitor", "key"),
    [
        ("greece", "Prime Minister George Papandreou", "greece-george-papandreou"),
        ("korea", "President Moon Jae-in", "korea-south-moon-jae-in"),
        ("korea-south", "President Moon Jae-in", "korea-south-moon-jae-in"),
        ("somoa", "Prime Minister Fiame Naomi Mata'afa", "samoa-fiame-naomi-mataafa"),
        ("venezuela", "Interim President Juan Guaidó", "venezuela-juan-guaido"),
        ("iraq", "Prime MinisterHaidar al- Abadi", "iraq-haidar-al-abadi"),
        ("iraq", "Prime Minister Haidar al-Abadi", "iraq-haidar-al-abadi"),
        (
            "kuwait",
            "Amir Sheikh Sabah Al-Ahmed Al-Jaber Al-Sabah",
            "kuwait-sheikh-sabah-al-ahmed-al-jaber-al-sabah",
        ),
        (
            "kuwait",
            "Amir Sheikh Sabah al-Ahmed al-Jaber al-Sabah",
            "kuwait-sheikh-sabah-al-ahmed-al-jaber-al-sabah",
        ),
        ("lithuania", "Valdas Adamkus", "lithuania-valdas-adamkus"),
        ("lithuania", "President Valdas Adamkus", "lithuania-valdas-adamkus"),
        ("czechia", "President Petr Pavel", "czech-republic-petr-pavel"),
        ("turkiye", "President Recep Tayyip Erdogan", "turkey-recep-tayyip-erdogan"),
        ("north-macedonia", "Prime Minister Dimitar Kovacevski", "macedonia-dimitar-kovacevski"),
        ("eswatini", "King Mswati III", "swaziland-mswati-iii"),
        ("", "King Mswati III", None),
        ("greece", "", None),
    ],
)
def test_person_slug(country, visitor, key):
    assert mf.person_slug(country, visitor) == key


def test_aliases_are_the_ids_the_table_marks_as_typos_or_duplicates():
    rows = mf.country_rows(TSV)
    for alias, canonical in mf.ALIASES.items():
        notes = [r["note"] for r in rows if r["hsg_id"] in (alias, canonical)]
        assert any(
            re.search(rf"\bid (for )?{re.escape(canonical)}\b|\bid {re.escape(alias)}\b", n) for n in notes
        )
    marked = {
        r["hsg_id"] for r in rows if re.search(r"(duplicate|typo|stray) id for|duplicate of id", r["note"])
    }
    assert marked <= set(mf.ALIASES) | set(mf.ALIASES.values())


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Türkiye", "turkiye"), ("Kingdom of Hawaiʻi", "kingdom-of-hawaii"), ("", ""), (None, ""),
     ("Jonas Gahr Støre", "jonas-gahr-store"), ("  --Dato' Seri  A.B.--", "dato-seri-a-b")],
)  # fmt: skip
def test_slug(value, expected):
    assert mf.slug(value) == expected


# --- visit kinds -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "kind", "phrase"),
    [
        ("Working visit.", "working-visit", "Working visit"),
        ("Working Visit.", "working-visit", "Working Visit"),
        ("Official Working Visit.", "official-working-visit", "Official Working Visit"),
        ("Official working visit. Private visit to New York City afterward.", "official-working-visit",
         "Official working visit"),
        ("Working visit. Attended NATO Accession ceremony.", "working-visit", "Working visit"),
        ("Private visit.", "private-visit", "Private visit"),
        ("Met with President Bush during a private visit.", "private-visit", "private visit"),
        ("Official visit.", "official-visit", "Official visit"),
        ("Offical Visit.", "official-visit", "Offical Visit"),
        ("State Visit", "state-visit", "State Visit"),
        ("Official State visit.", "state-visit", "Official State visit"),
        ("Informal visit.", "informal-visit", "Informal visit"),
        ("Informal, unofficial visit. In U.S. August 12–September 8.", "unofficial-visit",
         "unofficial visit"),
        ("Official select visit at Crawford, TX.", "official-select-visit", "Official select visit"),
        ("Pastoral visit. Met with President Bush at the White House.", "pastoral-visit", "Pastoral visit"),
        ("Good will visit. Afterwards visited New York City.", "goodwill-visit", "Good will visit"),
        ("Private visit. Delivered a message to President Carter postponing a state visit by King Hassan II.",
         "private-visit", "Private visit"),
        ("Attended the Nuclear Security Summit.", None, None),
        ("Informal meeting with President Eisenhower.", None, None),
        ("", None, None),
        (None, None, None),
    ],
)  # fmt: skip
def test_visit_kind(description, kind, phrase):
    assert mf.visit_kind(description) == kind
    assert mf.visit_kind_phrase(description) == phrase
    other = None if kind is None or phrase == mf.visit_kind_label(kind) else phrase
    assert mf.visit_kind_other_phrase(description) == other


def test_the_kind_labels_are_those_of_the_concepts_in_hsg_ttl():
    graph = Graph().parse(REPO_ROOT / "data" / "hsg.ttl")
    kind = "https://w3id.org/hos-kg/id/visit-kind/"
    for slug in mf.VISIT_KINDS:
        labels = {o for o in graph.objects(URIRef(kind + slug), SKOS.prefLabel) if o.language == "en"}
        assert labels == {Literal(mf.visit_kind_label(slug), lang="en")}, slug


def test_every_description_opening_with_a_kind_gets_it(visits):
    opening = re.compile(
        r"(official (working|select|state) |(in)?formal working |private working |working |state |offici?al |"
        r"private |informal |unofficial |pastoral |courtesy |good ?will )visit",
        re.IGNORECASE,
    )
    checked = 0
    for visit in visits:
        description = mf.text(visit.findtext("description")) or ""
        if match := opening.match(description):
            checked += 1
            expected = re.sub(r"\W+", "-", match[0].lower()).replace("offical", "official")
            expected = {"official-state-visit": "state-visit", "good-will-visit": "goodwill-visit"}.get(
                expected, expected
            )
            assert mf.visit_kind(description) == expected, description
    assert checked > 1500


# --- locales ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "places"),
    [
        ("Danang, Hanoi", ["Danang", "Hanoi"]),
        ("Brussels", ["Brussels"]),
        ("Kampala, Kisowera, Mukono, Wanyange, Entebbe",
         ["Kampala", "Kisowera", "Mukono", "Wanyange", "Entebbe"]),
        ("Frankfurt, Ramstein Air Force Base, Spangdahlem Air Force Base, Bonn, Ingelheim",
         ["Frankfurt", "Ramstein Air Force Base", "Spangdahlem Air Force Base", "Bonn", "Ingelheim"]),
        ("Mexico, D.F.", ["Mexico, D.F."]),
        ("Mexico, D.F., Tlaxcala", ["Mexico, D.F.", "Tlaxcala"]),
        ("Savelletri, Fasano, Apulia", ["Savelletri, Fasano, Apulia"]),
        ("Bay of Islands (Newfoundland), Bonne Bay (Newfoundland)",
         ["Bay of Islands (Newfoundland)", "Bonne Bay (Newfoundland)"]),
        ("London,\n    Cornwall", ["London", "Cornwall"]),
        ("", []),
        (None, []),
    ],
)  # fmt: skip
def test_locales(locale, places):
    assert mf.locales(locale) == places


def test_locale_at_and_place_slug_at():
    five = "Dublin, Wexford, Cork, Galway, Limerick"
    assert [mf.locale_at(five, str(i)) for i in range(6)] == [*five.split(", "), None]
    assert mf.locale_at(five, "") is None
    assert mf.locale_at("", "0") is None
    assert mf.place_slug_at("vietnam", "Danang, Hanoi", "1") == "hsg-vietnam-hanoi"
    assert mf.place_slug_at("mexico", "Mexico, D.F., Tlaxcala", "0") == "hsg-mexico-mexico-d-f"
    assert mf.place_slug_at("vietnam", "Danang, Hanoi", "2") is None


def test_every_locale_splits_into_at_most_five_places(trips):
    for trip in trips:
        whole = mf.text(trip.findtext("locale"))
        places = mf.locales(whole)
        assert len(places) <= 5
        assert ", ".join(places) == (whole or "")


# --- countries -------------------------------------------------------------------------------------

# Every PERIOD ROW, on the last and first day of its period (and the days no row covers).
BOUNDARIES = [
    ("hawaii", "Hawaii", "1893-12-31", "kingdom-of-hawaii"),
    ("hawaii", "Hawaii", "1894-01-01", "hsg-hawaii-1898"),
    ("hawaii", "Hawaii", "1898-12-31", "hsg-hawaii-1898"),
    ("hawaii", "Hawaii", "1899-01-01", None),
    ("russia", "U.S.S.R.", "1991-12-26", "soviet-union"),
    ("russia", "U.S.S.R.", "1991-12-27", None),
    ("russia", "U.S.S.R.", "1992-01-01", "russia"),
    ("serbia", "Serbia", "2006-05-31", "hsg-serbia-1997"),
    ("serbia", "Serbia", "2006-06-01", "serbia"),
    ("vietnam", "Vietnam", "1955-09-30", "hsg-vietnam-1951"),
    ("vietnam", "Vietnam", "1955-10-15", None),  # "up to Oct 1955" and "Oct 1955-1975" both apply
    ("vietnam", "Vietnam", "1955-11-01", "south-vietnam"),
    ("vietnam", "Vietnam", "1975-12-31", "south-vietnam"),
    ("vietnam", "Vietnam", "1976-01-01", "vietnam"),
    ("yemen", "Yemen", "1990-05-21", "yemen-arab-republic"),
    ("yemen", "Yemen", "1990-05-22", "yemen"),
    ("yugoslavia", "Yugoslavia", "1944-12-31", "kingdom-of-yugoslavia"),
    ("yugoslavia", "Yugoslavia", "1945-01-01", "socialist-federal-republic-of-yugoslavia"),
    ("yugoslavia", "Yugoslavia", "1991-12-31", "socialist-federal-republic-of-yugoslavia"),
    ("yugoslavia", "Yugoslavia", "1992-01-01", "federal-republic-of-yugoslavia"),
    ("yugoslavia", "Yugoslavia", "2003-12-31", "federal-republic-of-yugoslavia"),
    ("yugoslavia", "Yugoslavia", "2004-01-01", None),
]


@pytest.mark.parametrize(("hsg_id", "name", "day", "expected"), BOUNDARIES)
def test_period_row_boundaries(hsg_id, name, day, expected):
    assert mf.country_slug(hsg_id, name, day, TSV) == expected


def test_boundaries_cover_every_period_row():
    period_slugs = {mf.row_slug(r) for r in mf.country_rows(TSV) if r["period"]}
    assert len([r for r in mf.country_rows(TSV) if r["period"]]) == 14
    assert period_slugs <= {b[3] for b in BOUNDARIES}


@pytest.mark.parametrize(
    ("hsg_id", "name", "day", "slug", "qid", "note"),
    [
        ("russia", "Russia", "2017-07-07", "russia", "Q159", None),
        ("russia", "U.S.S.R.", "1987-12-08", "soviet-union", "Q15180", None),
        ("russia", "U.S.S.R.", "1992-01-30", "russia", "Q159",
         "DATA ERROR: 3 secretary trips Jan-Feb 1992 (Moscow, Yekaterinburg) are labelled U.S.S.R. after "
         "the USSR dissolved on 26 Dec 1991; mapped to Russia"),
        ("korea", "Korea, South", "2017-06-29", "south-korea", "Q884",
         "DATA ERROR: stray id for korea-south (1 visit, Moon Jae-in 2017)"),
        ("somoa", "Somoa", "2022-09-28", "samoa", "Q683",
         "DATA ERROR: typo id for samoa (1 visit, PM Fiame Naomi Mata'afa 2022)"),
        ("korea-south", "Korea, Republic of", "1965-05-17", "south-korea", "Q884", None),
        ("tanzania", "Tanganyika", "1961-07-15", "hsg-tanzania-1961", None, None),
        ("zimbabwe", "Zimbabwe Rhodesia", "1979-07-11", "hsg-zimbabwe-1979", None, None),
        ("zimbabwe", "Southern Rhodesia (Zimbabwe)", "1978-04-02", "hsg-zimbabwe-1978", None, None),
        ("hawaii", "Hawaii", "1898-06-01", "hsg-hawaii-1898", None, None),
        ("greece", "  Greece\n ", "1975-00-00", "greece", "Q41", None),  # no period: the date is not needed
        ("germany", "Germany, West", "1960-01-01", "germany", "Q183", None),  # unknown name: the id's rows
        ("russia", "Soviet Russia", "1980-01-01", None, None, None),  # the id's rows disagree
        ("russia", "U.S.S.R.", "", None, None, None),  # a period row needs a date
        ("atlantis", "Atlantis", "1980-01-01", None, None, None),
        (None, None, None, None, None, None),
    ],
)  # fmt: skip
def test_country_slug_qid_note(hsg_id, name, day, slug, qid, note):
    assert mf.country_slug(hsg_id, name, day, TSV) == slug
    assert mf.country_qid(hsg_id, name, day, TSV) == qid
    assert mf.country_note(hsg_id, name, day, TSV) == note


def test_every_record_has_a_country(visits, trips):
    for visit in visits:
        place = visit.find("from")
        assert mf.country_slug(place.get("id"), place.text, visit.findtext("start-date"), TSV), ET.tostring(
            visit
        )
    for trip in trips:
        place = trip.find("country")
        assert mf.country_slug(place.get("id"), place.text, trip.findtext("start-date"), TSV), ET.tostring(
            trip
        )


def test_row_slug_matches_the_column_function():
    for row in mf.country_rows(TSV):
        slug = mf.country_row_slug(
            row["hsg_id"], row["qid"], row["wikidata_label"], row["status"], row["first_year"]
        )
        assert mf.row_slug(row) == slug == row["slug"]


def test_unreadable_period_note_raises(tmp_path):
    header = TSV.read_text(encoding="utf-8").splitlines()[0]
    note = "PERIOD ROW, applies to records dated in the fifties."
    row = f"vietnam\tVietnam\t\t\tunknown\t\t1\t0\t1951\t1955\t{note}\t1"
    bad = tmp_path / "countries.tsv"
    bad.write_text(f"{header}\n{row}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot read the period of vietnam/Vietnam"):
        mf.load_countries(bad)
