"""The command line: clean errors at the edge, exit codes that scripts can use."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from kg.cli import main


@pytest.fixture()
def run(monkeypatch):
    def invoke(settings, *args):
        for name in ("ontology_dir", "data_dir", "queries_dir", "build_dir"):
            monkeypatch.setenv(f"KG_{name.upper()}", str(getattr(settings, name)))
        return CliRunner().invoke(main, list(args))

    return invoke


def test_validate_passes_on_the_project_data(run, data_copy):
    result = run(data_copy, "validate")
    assert result.exit_code == 0, result.output
    assert "Conforms" in result.output


def test_validate_exits_1_and_reports_focus_path_message_file(run, data_copy):
    (data_copy.data_dir / "zz-bad.ttl").write_text(
        "@prefix hos: <https://w3id.org/hos-kg/ontology#> .\n"
        '<https://w3id.org/hos-kg/id/meeting/2017-07-07-hamburg> hos:duration "long" .\n',
        encoding="utf-8",
    )
    result = run(data_copy, "validate")
    assert result.exit_code == 1
    assert "meeting:2017-07-07-hamburg hos:duration: hos:duration must be one xsd:duration" in result.output
    assert "zz-bad.ttl" in result.output


def test_syntax_error_is_a_clean_message_not_a_traceback(run, data_copy):
    (data_copy.data_dir / "zz-bad.ttl").write_text("<a> <b> .\n", encoding="utf-8")
    result = run(data_copy, "build")
    assert result.exit_code == 1
    assert "zz-bad.ttl: line 1:" in result.output
    assert "Traceback" not in result.output


def test_build_then_skip(run, data_copy):
    first = run(data_copy, "build")
    assert first.exit_code == 0 and first.output.startswith("Built."), first.output
    second = run(data_copy, "build")
    assert second.output.startswith("Up to date"), second.output


def test_the_kg_command_ends_a_build_with_its_whole_summary_written_through_a_pipe(data_copy):
    """`kg build` ends its process without freeing the build's objects (kg.cli._exit_now): what
    it printed still reaches a pipe, where output is buffered, and the build is complete."""
    env = {**os.environ, "KG_RECORDS": "0"}
    env |= {
        f"KG_{n.upper()}": str(getattr(data_copy, n)) for n in ("ontology_dir", "data_dir", "queries_dir")
    }
    env["KG_BUILD_DIR"] = str(data_copy.build_dir)
    done = subprocess.run(
        [sys.executable, "-m", "kg", "build"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Built.") and done.stdout.rstrip().splitlines()[-1].startswith(
        "Seconds per stage"
    )
    manifest = json.loads((data_copy.build_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["total"] > 0 and (data_copy.build_dir / "dumps" / "dumps.json").is_file()


def test_serve_without_a_build_says_so(run, data_copy):
    result = run(data_copy, "serve", "--port", "1")
    assert result.exit_code == 1
    assert "run `kg build` first" in result.output


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("KG_REASONER", "fast", "KG_REASONER='fast': use one of rules, owlrl"),
        ("KG_MAX_ROWS", "many", "KG_MAX_ROWS='many': not a number (int)"),
        ("KG_QUERY_TIMEOUT", "soon", "KG_QUERY_TIMEOUT='soon': not a number (float)"),
    ],
)
def test_a_bad_setting_is_named_not_a_traceback(run, data_copy, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    result = run(data_copy, "build")
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_serve_data_with_what_the_rules_do_not_cover_says_which_reasoner_does(run, data_copy, tmp_path):
    (tmp_path / "f.ttl").write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "<http://example.org/p> a owl:FunctionalProperty .\n",
        encoding="utf-8",
    )
    result = run(
        data_copy, "serve", "--port", "1", "--data", str(tmp_path / "f.ttl"), "--no-validate", "--reason"
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "--reasoner owlrl" in result.output


# ---------------------------------------------------------------- `kg query NAME -p k=v`: what users type


@pytest.fixture()
def query(settings, built, monkeypatch):
    """`kg query …` on the session's build: its exit code, stdout and stderr apart."""
    monkeypatch.setenv("KG_BUILD_DIR", str(settings.build_dir))
    monkeypatch.setenv("KG_QUERIES_DIR", str(settings.queries_dir))
    return lambda *args: CliRunner().invoke(main, ["query", *args])


@pytest.mark.parametrize(
    ("args", "meeting"),
    [
        (("meetings-on-subject", "-p", "subject=place:syria"), "2019-06-28-osaka"),
        (("meetings-on-subject", "-p", "subject=place:ukraine"), "2018-07-16-helsinki"),
        (("wikidata-meetings-on-subject", "-p", "subject=Q212"), "2018-07-16-helsinki"),
        (("statements-by-speaker", "-p", "speaker=person:donald-trump"), "2018-07-16-helsinki"),
    ],
)
def test_kg_query_takes_prefixed_names_and_wikidata_ids_without_a_note(query, args, meeting):
    result = query(*args)
    assert result.exit_code == 0, result.output
    assert meeting in result.stdout and not result.stdout.endswith("0 row(s)\n")
    assert result.stderr == ""  # the value occurs in the graph: no note


def test_kg_query_notes_on_stderr_a_value_that_occurs_nowhere_and_exits_0(query):
    result = query("meetings-on-subject", "-p", "subject=place:atlantis")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("0 row(s)\n")  # the empty answer, as before
    assert "subject=place:atlantis" in result.stderr
    assert "https://w3id.org/hos-kg/id/place/atlantis" in result.stderr
    assert "does not occur in the graph" in result.stderr


def test_kg_query_notes_an_unknown_prefix_with_the_prefix_it_may_mean(query):
    result = query("meetings-on-subject", "-p", "subject=plase:ukraine")
    assert result.exit_code == 0 and result.stdout.endswith("0 row(s)\n")
    assert "'plase:' is not a predeclared prefix" in result.stderr and "place:" in result.stderr


@pytest.mark.parametrize("raw", ["ukraine place", "<>", '"x"'])
def test_kg_query_refuses_a_value_that_is_not_an_iri(query, raw):
    result = query("meetings-on-subject", "-p", f"subject={raw}")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "parameter 'subject' must be an IRI" in result.output and "; e.g. " in result.output
