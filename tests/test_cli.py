"""The command line: clean errors at the edge, exit codes that scripts can use."""

from __future__ import annotations

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
