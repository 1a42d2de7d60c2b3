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
