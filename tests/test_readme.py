"""The README's examples work as pasted: every command of its ```sh blocks runs against the real
`kg serve` (curl) or the session's build (`.venv/bin/kg`), succeeds, and answers something.

``KG_TEST_README`` names another README to check (to see a broken example fail, in a copy).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from kg.config import REPO_ROOT
from tests.support import kg_serve

pytestmark = pytest.mark.live

README = Path(os.environ.get("KG_TEST_README", REPO_ROOT / "README.md"))
ORIGIN = "http://127.0.0.1:8000"  # where the README's examples expect `make run`'s server
KG = ".venv/bin/kg"  # as pasted: relative to the repository

# Commands that cannot run inside the test suite, each with the reason.
SKIPPED = {
    "make run": "builds and serves on port 8000 until stopped; the live tests start their own server",
    "make test": "runs this very test suite",
    "make link-check": "asks query.wikidata.org (the network); `kg link check` runs below against a stand-in",
}


@dataclass(frozen=True)
class Example:
    id: str
    text: str  # as in the README
    argv: tuple[str, ...]


def _slug(words: str, most: int = 6) -> str:
    return "-".join(re.findall(r"[\w:=.]+", words.lower())[:most]).strip("-.")


def _first_words(argv: list[str]) -> str:
    """A command's name for its id: the program and what it is asked (curl: the URL's path)."""
    if argv[0] == "curl":
        return "curl " + next((a.removeprefix(ORIGIN) for a in argv if a.startswith(ORIGIN)), "")
    return " ".join([Path(argv[0]).name, *[a for a in argv[1:] if not a.startswith("-")][:2]])


def examples(readme: str) -> list[Example]:
    """Each command of each ```sh block. A command ends where shlex can split it (so quoted
    multi-line arguments and backslash continuations belong to it); its id is the comment line
    above it, else its first words."""
    found: list[Example] = []
    for block in re.findall(r"^```sh\n(.*?)^```", readme, re.M | re.S):
        comment, pending = "", ""
        for line in block.splitlines():
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                comment = line.lstrip("# ").strip() if line.strip() else ""
                continue
            pending += line + "\n"
            try:
                argv = shlex.split(pending.replace("\\\n", " "), comments=True)  # sh: a continued line
            except ValueError:  # an open quotation: the command goes on
                continue
            if pending.rstrip("\n").endswith("\\"):
                continue
            words = comment or _first_words(argv)
            found.append(Example(_slug(re.sub(r"^\d+\.\s*", "", words)), pending.strip(), tuple(argv)))
            comment, pending = "", ""
        assert not pending, f"an unfinished command at the end of a block: {pending!r}"
    ids = [e.id for e in found]
    for n, example in enumerate(found):  # the numbered lists repeat no question, but be sure
        if ids.count(example.id) > 1:
            found[n] = Example(f"{example.id}-{ids[:n].count(example.id) + 1}", example.text, example.argv)
    return found


EXAMPLES = examples(README.read_text(encoding="utf-8"))


def test_the_readme_has_examples_of_each_kind():
    """Guards the parser: a change that found no commands would pass every test below vacuously."""
    kinds = {e.argv[0] for e in EXAMPLES}
    assert {"curl", KG, "make"} <= kinds, kinds
    assert sum(e.argv[0] == "curl" for e in EXAMPLES) >= 8


@pytest.fixture(scope="module")
def origin(records_settings, records_built):
    """`kg serve` on the build `make run` makes: the source text and the Office of the Historian's records."""
    with kg_serve(env={"KG_BUILD_DIR": str(records_settings.build_dir)}) as url:
        yield url.removesuffix("/sparql")


def _answers_something(body: str, content_type: str) -> str | None:
    """Why the body is an empty answer, or None when it holds at least one row."""
    media = content_type.split(";")[0].strip().lower()
    if media.endswith("json"):
        data = json.loads(body)
        if isinstance(data, dict) and "results" in data:
            return None if data["results"]["bindings"] else "no bindings"
        if isinstance(data, dict) and "boolean" in data:
            return None
        return None if data else "an empty JSON value"
    if media in ("text/csv", "text/tab-separated-values"):
        return None if len(body.strip().splitlines()) > 1 else "only the header line"
    return None if body.strip() else "an empty body"


def run_curl(argv: tuple[str, ...], origin: str) -> None:
    args = [a.replace(ORIGIN, origin) for a in argv]
    assert args != list(argv), f"talks to no {ORIGIN} URL"
    done = subprocess.run(
        [*args, "--silent", "--show-error", "--write-out", "\n%{http_code} %{content_type}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    body, _, last = done.stdout.rpartition("\n")
    status, _, content_type = last.partition(" ")
    assert int(status) < 400, f"HTTP {status}: {body[:2000]}"
    # An example that asks for a format (Accept, or a .csv/.json… suffix) must get it, not a page.
    asked = [a.split(":", 1)[1].strip() for a in argv if a.lower().startswith("accept:")]
    suffix = re.search(r"\.(csv|tsv|json)(?:\?|$)", next((a for a in argv if a.startswith(ORIGIN)), ""))
    if suffix:
        asked.append({"csv": "text/csv", "tsv": "text/tab-separated-values", "json": "json"}[suffix[1]])
    for media in asked:
        if "," not in media and "*" not in media:
            assert media in content_type, f"asked for {media}, got {content_type}"
    empty = _answers_something(body, content_type)
    assert empty is None, f"{empty} ({content_type}): {body[:2000]}"


def run_kg(argv: tuple[str, ...], settings) -> None:
    env = {
        **os.environ,
        "KG_BUILD_DIR": str(settings.build_dir),
        "KG_QUERIES_DIR": str(settings.queries_dir),
    }
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip(), done.stderr
    if argv[1] == "query":
        rows = re.search(r"^(\d+) row\(s\)$", done.stdout, re.M)
        assert rows and int(rows[1]) > 0, done.stdout[-2000:]


@dataclass(frozen=True)
class Curating:
    env: dict[str, str]
    build: Path


@pytest.fixture(scope="module")
def curating(records_settings, records_built, tmp_path_factory):
    """What `kg link` needs, kept apart: the records build, a copy of data/ to accept links into, and
    the local stand-in for Wikidata (tests/wikidata_standin.py) as the endpoint: no network."""
    from tests.wikidata_standin import start

    data = tmp_path_factory.mktemp("readme-data") / "data"
    shutil.copytree(records_settings.data_dir, data)
    standin = start()
    env = {
        "KG_BUILD_DIR": str(records_settings.build_dir),
        "KG_DATA_DIR": str(data),
        "KG_WIKIDATA_ENDPOINT": standin.url,
    }
    yield Curating(env, records_settings.build_dir)
    standin.close()


def run_link(argv: tuple[str, ...], curating: Curating) -> None:
    """`kg link …` as pasted, with the README's build/ meaning the test's build. A check that finds
    something to curate (exit status 1: the stand-in holds few of the linked items) has worked."""
    args = [a.replace("build/", f"{curating.build}/", 1) if a.startswith("build/") else a for a in argv]
    env = {**os.environ, **curating.env}
    done = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in ((0, 1) if argv[2] == "check" else (0,)), done.stdout + done.stderr
    assert done.stdout.strip(), done.stderr


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_the_readme_example_works_as_pasted(example, request, settings):
    argv = example.argv
    skipped = SKIPPED.get(" ".join(argv[:2]))
    if skipped:
        pytest.skip(skipped)
    if argv[0] == "curl":
        run_curl(argv, request.getfixturevalue("origin"))
    elif argv[0] == KG and argv[1] in ("query", "explain"):
        request.getfixturevalue("built")
        run_kg(argv, settings)
    elif argv[0] == KG and argv[1] == "link":
        run_link(argv, request.getfixturevalue("curating"))
    else:
        pytest.fail(f"no way to run {example.text!r}: teach this test, or add it to SKIPPED with why")
