"""kg.link.summits: the summit-series table and the editions, checked on every record string of
data/sources/hsg and on small made-up cases at the edges of the rules."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest

from kg import mapping_functions as mf
from kg.link import summits as su

HSG = Path(__file__).resolve().parents[1] / "data" / "sources" / "hsg"
EXPECTED = Path(__file__).resolve().parent / "data" / "summit-series-expected.tsv"
FIELDS = {"description": ("visits", "visit"), "remarks": ("president-travels", "trip")}


def _records(folder: str, tag: str) -> list[ET.Element]:
    return [r for f in sorted((HSG / folder).glob("*.xml")) for r in ET.parse(f).getroot().iter(tag)]


def _record_strings() -> set[tuple[str, str]]:
    """(field, normalised text) of every visit description and trip remark."""
    found = set()
    for field, (folder, tag) in FIELDS.items():
        for record in _records(folder, tag):
            written = mf.text(record.findtext(field))
            if written:
                found.add((field, written))
    return found


def _expected() -> dict[tuple[str, str], list[str]]:
    rows = [line for line in EXPECTED.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert rows[0] == "field\ttext\tseries"
    table = {}
    for row in rows[1:]:
        field, written, series = row.split("\t")
        assert field in FIELDS and (field, written) not in table, row
        table[field, written] = series.split(",") if series else []
    return table


@pytest.fixture(scope="module")
def expected() -> dict[tuple[str, str], list[str]]:
    return _expected()


@pytest.fixture(scope="module")
def attendances() -> list[su.Attendance]:
    return su.attendances_from_xml(HSG / "visits", HSG / "president-travels")


@pytest.fixture(scope="module")
def editions(attendances) -> list[su.Edition]:
    return su.editions(attendances)


def _edition_of(editions: list[su.Edition], series: str, record: str) -> su.Edition:
    (found,) = [e for e in editions if e.series == series and record in {a.record for a in e.attendances}]
    return found


# --- the reviewed table of every record string -------------------------------------------------------


def test_every_record_string_is_in_the_reviewed_table(expected):
    strings = _record_strings()
    assert sorted(strings - expected.keys()) == [], "new record strings: review them and add them"
    assert sorted(expected.keys() - strings) == [], "strings no record has any more"


def test_series_named_gives_the_reviewed_series_for_every_record_string(expected):
    wrong = {
        key: (found, series)
        for key, series in expected.items()
        if (found := [id_ for id_, _ in su.series_named(key[1])]) != series
    }
    assert wrong == {}


def test_the_reviewed_table_names_only_series_of_the_table(expected):
    ids = {s.id for s in su.load_series()}
    assert {id_ for series in expected.values() for id_ in series} <= ids


# --- the series table ---------------------------------------------------------------------------------


def test_the_table_has_the_series_the_graph_links():
    table = su.load_series()
    ids = [s.id for s in table]
    assert len(ids) == len(set(ids))
    assert {"g7", "g20", "apec", "nato", "nuclear-security-summit", "un-general-assembly"} <= set(ids)
    assert next(s.label for s in table if s.id == "g7") == "G7 / G8 summit"
    assert all(s.patterns for s in table)
    assert su.load_series() is table  # read once


def test_the_table_holds_no_wikidata_ids():
    assert not re.search(r"\bQ\d+\b|\bwd:", su.TABLE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Attended the G-20 Summit.", [("g20", "G-20 Summit")]),
        ("Attended the G–20 Summit.", [("g20", "G–20 Summit")]),
        ("Attended the G—20 Summit.", [("g20", "G—20 Summit")]),
        ("Attended the G20 Summit.", [("g20", "G20 Summit")]),
        ("Attended the G 20 Summit.", [("g20", "G 20 Summit")]),
        ("Participated in the G–20\n      Leaders’ Summit.", [("g20", "G–20 Leaders’ Summit")]),
        ("Attended the G20 Leader's Summit.", [("g20", "G20 Leader's Summit")]),
        ("Attended the G-8 Economic Summit.", [("g7", "G-8 Economic Summit")]),
        ("Attended Economic Summit Meeting in Houston, Texas.", [("g7", "Economic Summit Meeting")]),
        ("Attended the APEC Economic Leaders Meeting.", [("apec", "APEC Economic Leaders Meeting")]),
        ("Attended the U.S.-Africa Leaders Summit",
         [("us-africa-leaders-summit", "U.S.-Africa Leaders Summit")]),
        ("Attended the U.S.–Africa Leaders’ Summit.",
         [("us-africa-leaders-summit", "U.S.–Africa Leaders’ Summit")]),
        ("Attended the U.S.- Nordic Leaders Summit.",
         [("us-nordic-leaders-summit", "U.S.- Nordic Leaders Summit")]),
        ("Attended the North American Leaders' Summit.",
         [("north-american-leaders-summit", "North American Leaders' Summit")]),
        ("Attended the NATO Summit", [("nato", "NATO Summit")]),
        ("Met with President Obama at the UN General Assembly in New York City.",
         [("un-general-assembly", "UN General Assembly")]),
        ("Attended the G-8 and G-20 Economic Summit Meetings.",
         [("g7", "G-8"), ("g20", "G-20 Economic Summit Meetings")]),
        ("Attended the World Forum the Nuclear Security Summit, and a G-7 meeting on the Ukrainian crisis.",
         [("nuclear-security-summit", "Nuclear Security Summit"), ("g7", "G-7 meeting")]),
        # not a series, or not attended
        ("Summit meeting with President Yeltsin.", []),
        ("Attended the APEP Leaders' Summit.", []),
        ("Met with President Clinton en route to a G-7 conference in Canada.", []),
        ("Private Visit. Met with President Reagan May 27. Discussions of forthcoming Economic Summit.", []),
        ("Attended the G-20 Economic Summit.", [("g20", "G-20 Economic Summit")]),
        ("Private visit to Washington while serving as President of the U.N. General Assembly.", []),
        ("Briefed NATO Heads of State and Government on the U.S.-Soviet Summit Meeting.",
         [("nato", "NATO Heads of State and Government")]),
        ("Attended 23d meeting of North Atlantic Council; met with King Baudouin I.", []),
        ("Attended United States-Africa Business Summit.", []),
        ("", []),
        (None, []),
    ],
)  # fmt: skip
def test_series_named(written, expected):
    assert su.series_named(written) == expected


def _table(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "series.tsv"
    header = "# a comment\n\nseries\tlabel\tpattern\tnote\n"
    path.write_text(header + "".join(f"{r}\n" for r in rows), "utf-8")
    return path


def test_a_table_of_ones_own(tmp_path):
    table = su.load_series(_table(tmp_path, "x\tX\tfoo\twhy", "y\tY\tbar\twhy", "x\tX\tbaz\twhy"))
    assert [(s.id, s.label, len(s.patterns)) for s in table] == [("x", "X", 2), ("y", "Y", 1)]
    assert su.series_named("Baz then bar, then foo", table) == [("x", "Baz"), ("y", "bar")]


@pytest.mark.parametrize(
    ("rows", "line", "problem"),
    [
        (["x\tX\tfoo\twhy", "y\tY\t(unclosed\twhy"], 5, "not a regular expression"),
        (["x\tX\tfoo"], 4, "3 columns"),
        (["G7\tX\tfoo\twhy"], 4, "not a slug"),
        (["x\tX\tfoo\twhy", "x\tOther\tbar\twhy"], 5, "two labels"),
        (["x\tX\t(?:foo)?\twhy"], 4, "matches the empty string"),
        (["x\t\tfoo\twhy"], 4, "must not be empty"),
        (["x\tX\tfoo\t"], 4, "must not be empty"),
    ],
)
def test_a_bad_row_names_file_and_line(tmp_path, rows, line, problem):
    path = _table(tmp_path, *rows)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}, line {line}: .*{problem}"):
        su.load_series(path)


def test_a_table_without_header_or_rows(tmp_path):
    headless = tmp_path / "headless.tsv"
    headless.write_text("# comment\nx\tX\tfoo\twhy\n", "utf-8")
    with pytest.raises(ValueError, match=rf"{re.escape(str(headless))}, line 2: the header"):
        su.load_series(headless)
    with pytest.raises(ValueError, match="no series"):
        su.load_series(_table(tmp_path))


# --- editions of the records --------------------------------------------------------------------------


def test_the_nuclear_security_summit_of_april_2010_is_one_edition_of_its_visits(editions):
    # Counted from the XML here, not by the module: 36 records, not the 47 nations that took part.
    said = {
        f"hsg-visit-{v.findtext('id').strip()}"
        for v in _records("visits", "visit")
        if re.search(r"Nuclear\s+Security\s+Summit", v.findtext("description") or "")
        and (v.findtext("start-date") or "").startswith("2010-04")
    }
    assert len(said) == 36
    found = [e for e in editions if e.series == "nuclear-security-summit" and e.first.year == 2010]
    assert len(found) == 1
    (nss,) = found
    assert {a.record for a in nss.attendances} == said
    assert nss.slug == "nuclear-security-summit-2010-04"
    assert (nss.first, nss.last) == (date(2010, 4, 11), date(2010, 4, 14))


@pytest.mark.parametrize(
    ("series", "record", "slug"),
    [
        ("g20", "hsg-trip-3738", "g20-2017-07"),  # Hamburg
        ("g20", "hsg-trip-3819", "g20-2018-11"),  # Buenos Aires
        ("g20", "hsg-trip-3889", "g20-2019-06"),  # Osaka
        ("apec", "hsg-trip-3898", "apec-2017-11"),  # Da Nang
    ],
)
def test_the_summits_of_the_source_text_are_editions(editions, series, record, slug):
    assert _edition_of(editions, series, record).slug == slug


def test_the_window_keeps_a_general_assembly_session_whole_and_apart_from_special_sessions(editions):
    # 1962: 19 September to 14 October, a gap of 17 days; a 14-day window would split it.
    session = _edition_of(editions, "un-general-assembly", "hsg-visit-2475")
    assert (session.slug, len(session.attendances)) == ("un-general-assembly-1962-09", 4)
    assert len(su.editions(session.attendances, window_days=14)) == 2
    special = _edition_of(editions, "un-general-assembly", "hsg-visit-1274")  # June 1998
    assert special is not _edition_of(editions, "un-general-assembly", "hsg-visit-1286")  # September


@pytest.mark.parametrize(
    ("series", "record", "other"),
    [
        ("g7", "hsg-trip-2567", "hsg-trip-2568"),  # Moscow, April 1996 (nuclear safety); Lyon, June 1996
        ("nato", "hsg-trip-4101", "hsg-trip-4106"),  # extraordinary summit, March 2022; Madrid, June 2022
        ("g20", "hsg-trip-2961", "hsg-visit-2045"),  # London, April 2009; Pittsburgh, September 2009
    ],
)
def test_the_window_keeps_editions_of_one_year_apart(editions, series, record, other):
    assert _edition_of(editions, series, record) is not _edition_of(editions, series, other)


def test_edition_slugs_are_unique_and_sorted(attendances, editions):
    assert len({e.slug for e in editions}) == len(editions)
    assert [(e.series, e.first) for e in editions] == sorted((e.series, e.first) for e in editions)
    # a window of 0 days makes an edition of every day: many share a month, and still the slugs differ
    daily = su.editions(attendances, window_days=0)
    assert len({e.slug for e in daily}) == len(daily) > len(editions)
    assert "un-general-assembly-1960-09-2" in {e.slug for e in daily}


def test_an_impossible_date_makes_an_undated_attendance(tmp_path):
    visits, trips = tmp_path / "visits", tmp_path / "trips"
    visits.mkdir()
    trips.mkdir()
    (visits / "2010.xml").write_text(
        "<visits><visit><id>1</id><start-date>2010-02-30</start-date><end-date/>"
        "<description>Attended the\n   Nuclear Security Summit.</description></visit>"
        "<visit><id>2</id><start-date>2010-04-12</start-date><end-date>2010-04-13</end-date>"
        "<description>Working visit.</description></visit></visits>",
        "utf-8",
    )
    (trips / "x.xml").write_text(
        "<trips><trip><id>7</id><start-date>2017-07-06</start-date><end-date>2017-07-08</end-date>"
        "<remarks>Attended the G–20 Summit.</remarks></trip></trips>",
        "utf-8",
    )
    found = su.attendances_from_xml(visits, trips)
    assert found == [
        su.Attendance("hsg-visit-1", "nuclear-security-summit", None, None, "Nuclear Security Summit"),
        su.Attendance("hsg-trip-7", "g20", date(2017, 7, 6), date(2017, 7, 8), "G–20 Summit"),
    ]
    assert [e.slug for e in su.editions(found)] == ["g20-2017-07"]


# --- the grouping rule on made-up attendances ---------------------------------------------------------

DAY = date(2020, 1, 1)


def _at(record: str, start: date | None, end: date | None = None, series: str = "g20") -> su.Attendance:
    return su.Attendance(record, series, start, end, "G20")


def _groups(attendances: list[su.Attendance], window_days: int) -> list[list[str]]:
    return [[a.record for a in e.attendances] for e in su.editions(attendances, window_days)]


@pytest.mark.parametrize("window", [0, 10, su.WINDOW_DAYS])
def test_window_edges(window):
    assert _groups([_at("a", DAY), _at("b", DAY + timedelta(days=window))], window) == [["a", "b"]]
    assert _groups([_at("a", DAY), _at("b", DAY + timedelta(days=window + 1))], window) == [["a"], ["b"]]


def test_single_linkage_chains_from_the_latest_start():
    chain = [_at(r, DAY + timedelta(days=10 * i)) for i, r in enumerate("cab")]
    assert _groups(list(reversed(chain)), 10) == [["c", "a", "b"]]


def test_undated_attendances_make_no_edition():
    assert su.editions([_at("a", None)]) == []
    assert _groups([_at("a", None), _at("b", DAY)], 10) == [["b"]]


def test_edition_dates_order_and_slugs():
    found = su.editions(
        [
            _at("late", DAY + timedelta(days=20)),
            _at("x", DAY, series="apec"),
            _at("early", DAY, end=DAY + timedelta(days=3)),
            _at("odd", DAY + timedelta(days=1), end=DAY),  # an end before its start counts as the start
        ],
        window_days=5,
    )
    assert [(e.slug, e.first, e.last) for e in found] == [
        ("apec-2020-01", DAY, DAY),
        ("g20-2020-01", DAY, DAY + timedelta(days=3)),
        ("g20-2020-01-2", DAY + timedelta(days=20), DAY + timedelta(days=20)),
    ]
    assert [a.record for a in found[1].attendances] == ["early", "odd"]


def test_a_negative_window_is_refused():
    with pytest.raises(ValueError, match="window_days"):
        su.editions([], window_days=-1)
