"""Every fact of the source text, sentence by sentence, is in the asserted graph.

Each row: the sentence, and a triple pattern whose subject ?x must be derived
from that sentence (prov:wasDerivedFrom). Checked with infer=false, so the
facts are asserted data, not reasoning.
"""

from __future__ import annotations

import pytest

FACTS = [
    (
        "p1-s1",
        "?x hos:ordinal 1 ; hos:date '2017-07-07'^^xsd:date ; hos:location place:hamburg ;"
        " hos:onSidelinesOf event:g20-2017-hamburg ; hos:participant person:vladimir-putin",
    ),
    ("p1-s1", "?x hos:editionOf event:g20 ; hos:location place:hamburg"),
    (
        "p1-s2",
        "?x hos:speaker person:vladimir-putin ; hos:quotation 'তীব্র ইস্যু'@bn ;"
        " hos:about meeting:2017-07-07-hamburg",
    ),
    ("p1-s2", "?x a hos:Office ; hos:ofCountry place:russia"),
    ("p1-s3", "?x hos:plannedDuration 'PT45M'^^xsd:duration ; hos:duration 'PT2H15M'^^xsd:duration"),
    ("p1-s3", "?x hos:speaker person:donald-trump ; hos:quotation 'আশ্চর্যজনক'@bn , 'amazing'@en"),
    (
        "p1-s4",
        "?x a hos:Agreement ; hos:subject place:south-west-syria-de-escalation-zone ;"
        " hos:party person:donald-trump",
    ),
    ("p1-s4", "?x a hos:Agreement ; hos:subject place:ukraine . meeting:2017-07-07-hamburg hos:outcome ?x"),
    (
        "p2-s1",
        "?x hos:date '2017-11-10'^^xsd:date ; hos:location place:da-nang ; hos:timesMet 3 ;"
        " hos:format format:on-their-feet ; hos:onSidelinesOf event:apec-2017-da-nang",
    ),
    ("p2-s1", "?x hos:inCountry place:vietnam"),
    ("p2-s2", "?x a hos:JointStatement ; hos:subject place:syria"),
    (
        "p2-s3",
        "?x hos:speaker person:donald-trump ; hos:quotation 'ভাল'@bn ; hos:about meeting:2017-11-10-da-nang",
    ),
    ("p3-s1", "?x hos:ordinal 3 ; hos:date '2018-07-16'^^xsd:date ; hos:location place:helsinki"),
    ("p3-s2", "?x hos:durationMoreThan 'PT2H'^^xsd:duration"),
    ("p3-s2", "?x hos:sessionOf meeting:2018-07-16-helsinki ; hos:sequence 1 ; hos:format format:one-on-one"),
    ("p3-s2", "?x hos:sessionOf meeting:2018-07-16-helsinki ; hos:sequence 2 ; hos:format format:expanded"),
    (
        "p3-s3",
        "?x hos:discussedIssue issue:situation-in-ukraine , issue:us-exit-from-iran-nuclear-deal ,"
        " issue:nord-stream-2",
    ),
    (
        "p3-s3",
        "?x hos:speaker person:vladimir-putin , person:donald-trump ; hos:about meeting:2018-07-16-helsinki",
    ),
    (
        "p3-s4",
        "?x hos:giver person:vladimir-putin ; hos:recipient person:donald-trump ;"
        " hos:giftObject thing:2018-world-cup-official-ball ; hos:givenAt meeting:2018-07-16-helsinki",
    ),
    ("p3-s4", "?x hos:relatedEvent event:2018-fifa-world-cup"),
    (
        "p4-s1",
        "?x hos:date '2018-11-11'^^xsd:date ; hos:location place:paris ;"
        " hos:occasion event:armistice-centenary-2018-paris ; hos:format format:working-breakfast ,"
        " format:general-discussion",
    ),
    ("p4-s1", "?x hos:commemorates event:world-war-i ; hos:anniversary 100"),
    ("p4-s1", "?x a hos:Agreement ; hos:concernsMeeting meeting:2018-11-buenos-aires"),
    (
        "p5-s1",
        "?x hos:month '2018-11'^^xsd:gYearMonth ; sdo:eventStatus sdo:EventCancelled ;"
        " hos:location place:buenos-aires ; hos:plannedParticipant person:donald-trump",
    ),
    (
        "p5-s1",
        "?x hos:cancelledMeeting meeting:2018-11-buenos-aires ; hos:agent person:donald-trump ;"
        " hos:date '2018-11-29'^^xsd:date ; hos:citedIncident event:2018-kerch-strait-incident",
    ),
    (
        "p5-s1",
        "?x hos:shipsDetained 3 ; hos:sailorsDetained 24 ; hos:agent organization:russian-special-services ;"
        " hos:location place:kerch-strait , place:black-sea ; hos:affectedCountry place:ukraine",
    ),
    (
        "p5-s2",
        "?x hos:format format:dinner ; hos:durationDescription 'short'@en ;"
        " hos:participant person:vladimir-putin",
    ),
    (
        "p6-s1",
        "?x hos:latestInSource true ; hos:date '2019-06-28'^^xsd:date ; hos:location place:osaka ;"
        " hos:onSidelinesOf event:g20-2019-osaka ; hos:durationMoreThan 'PT1H'^^xsd:duration",
    ),
    ("p6-s1", "?x hos:inCountry place:japan"),
    (
        "p6-s2",
        "?x a hos:Agreement ; hos:subject place:russia , place:united-states ;"
        " hos:party person:vladimir-putin , person:donald-trump",
    ),
    ("p6-s3", "?x hos:discussedIssue issue:iran , issue:ukraine , issue:syria , issue:venezuela"),
]


@pytest.mark.parametrize(
    ("sentence", "pattern"), FACTS, ids=[f"{s}:{p.split(';')[0][3:40]}" for s, p in FACTS]
)
def test_fact_is_asserted_and_sourced(kg, sentence, pattern):
    query = f"ASK {{ {pattern} . ?x prov:wasDerivedFrom source:04dab6a38e74675e-{sentence} }}"
    assert kg.query(query, infer=False), f"missing from the asserted data: {pattern}"


def test_every_sentence_has_facts():
    assert {s for s, _ in FACTS} == {
        f"p{p}-s{s}" for p, n in enumerate([4, 3, 4, 1, 2, 3], start=1) for s in range(1, n + 1)
    }
