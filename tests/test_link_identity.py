"""kg.link.identity: the rules that make a person or place of several sources one resource."""

from __future__ import annotations

from kg.link.identity import GAP_YEARS, SPAN_YEARS, Entity, merge, name_key, variants

P = "https://w3id.org/hos-kg/id/person/"


def test_a_name_key_ignores_case_accents_punctuation_and_middle_initials():
    assert name_key("Donald J. Trump") == name_key("donald trump") == "donald-trump"
    assert name_key("Boris N. Yeltsin") == "boris-yeltsin"
    assert name_key("Mata'afa") == "mataafa"


def test_the_source_texts_person_is_kept_and_the_records_one_merged_into_it():
    merges = merge(
        [
            Entity(P + "trump-donald-j", "Donald J. Trump", "us", years=(2017,), own_id=True),
            Entity(P + "donald-trump", "Donald Trump", "us", seed=True),
        ]
    )
    assert merges.renamed == {P + "trump-donald-j": P + "donald-trump"}
    assert merges.merged == [
        (P + "donald-trump", (P + "trump-donald-j",), "same name (donaldtrump) and country")
    ]


def test_spacing_and_hyphens_inside_a_name_do_not_count():
    merges = merge([Entity("p:danang", "Danang", "vn"), Entity("p:da-nang", "Da Nang", "vn", seed=True)])
    assert merges.renamed == {"p:danang": "p:da-nang"}


def test_one_name_in_two_countries_is_two_resources():
    merges = merge([Entity("p:moscow-su", "Moscow", "su"), Entity("p:moscow-ru", "Moscow", "ru")])
    assert merges.renamed == {} and merges.near == []


def test_two_persons_with_ids_of_their_own_are_never_merged():
    merges = merge(
        [
            Entity(P + "bush-george-h-w", "George H. W. Bush", "us", own_id=True, years=(1989,)),
            Entity(P + "bush-george-w", "George W. Bush", "us", own_id=True, years=(2001,)),
        ]
    )
    assert merges.renamed == {}
    assert [(a, b) for a, b, _ in merges.near] == [(P + "bush-george-h-w", P + "bush-george-w")]


def _pair(a: str, b: str, year: int, gap: int):
    """The rules on two persons of one country named ``a`` and ``b``, ``gap`` years apart."""
    return merge([Entity("p:a", a, "gr", years=(year,)), Entity("p:b", b, "gr", years=(year + gap,))])


def test_one_name_decades_apart_is_refused_at_the_span_and_merged_within_it():
    def pair(gap: int):
        return _pair("George Papandreou", "George A. Papandreou", 1964, gap)

    assert pair(SPAN_YEARS).renamed == {"p:b": "p:a"}
    refused = pair(SPAN_YEARS + 1)
    assert refused.renamed == {} and len(refused.near) == 1


def test_the_resource_with_more_dated_records_is_kept_among_the_records():
    merges = merge(
        [
            Entity("p:a", "Jacques R. Chirac", "fr", years=(1996,)),
            Entity("p:b", "Jacques Chirac", "fr", years=(1995, 1996, 2001)),
        ]
    )
    assert merges.renamed == {"p:a": "p:b"}


def test_names_alike_are_near_misses_never_merges():
    merges = merge([Entity("p:a", "Kim Dae-jung", "kr"), Entity("p:b", "Kin Dae-Jung", "kr")])
    assert merges.renamed == {}
    assert [(a, b) for a, b, _ in merges.near] == [("p:a", "p:b")]
    unlike = merge([Entity("p:a", "Kim Dae-jung", "kr"), Entity("p:b", "Park Chung-hee", "kr")])
    assert unlike.near == []


def test_spelling_variants_of_one_name_are_one_person_when_their_records_are_close():
    assert variants("Recep Erdogan", "Recep Tayyip Erdogan")
    assert variants("Benjamin Netanyahu", "Binyamin Netanyahu")
    assert variants("Olesegun Obsanjo", "Olusegun Obasanjo")
    assert variants("Hamad bin Issa Al Khalifa", "Sheikh Hamad bin Isa Al-Khalifa")  # particles aside
    merges = merge(
        [
            Entity("p:a", "Recep Erdogan", "tr", years=(2004, 2007)),
            Entity("p:b", "Recep Tayyip Erdogan", "tr", years=(2005, 2009, 2019)),
        ]
    )
    assert merges.renamed == {"p:a": "p:b"} and merges.near == []
    assert merges.merged[0][:2] == ("p:b", ("p:a",))


def test_names_that_are_not_variants_of_one_name():
    assert not variants("Amata Kabua", "Imata Kabua")  # two presidents of the Marshall Islands
    assert not variants("Ferdinand Marcos", "Ferdinand Marcos Jr")  # father and son
    assert not variants("Anders Rasmussen", "Lars Rasmussen")
    assert not variants("Sabah Al Sabah", "Sabah Al Salim Al Sabah")  # one word told apart: too short
    assert not variants("Sheikh Hamad bin Khalifa Al Thani", "Sheikh Tamim bin Hamad Al Thani")
    assert not variants("Diefenbacker", "Diefenbaker")  # one word: too short to tell


def test_variants_decades_apart_stay_two_persons():
    def pair(gap: int):
        return _pair("Seretse Khama", "Seretse Khama Ian Khama", 1970, gap)

    assert pair(GAP_YEARS).renamed == {"p:b": "p:a"}
    assert pair(GAP_YEARS + 1).renamed == {}
    undated = [Entity("p:a", "Recep Erdogan", "tr"), Entity("p:b", "Recep Tayyip Erdogan", "tr")]
    assert merge(undated).renamed == {}  # no dates to tell their terms overlap


def test_a_chain_of_likenesses_does_not_make_one_person():
    # B is a variant of A and of C, A and C are not: B joins A (more records), C stays apart.
    merges = merge(
        [
            Entity("p:a", "Hamad Khalifa Thani", "qa", years=(2000, 2001, 2002)),
            Entity("p:b", "Hamad Thani", "qa", years=(2001,)),
            Entity("p:c", "Hamad Jassim Thani", "qa", years=(2000, 2001)),
        ]
    )
    assert merges.renamed == {"p:b": "p:a"}
