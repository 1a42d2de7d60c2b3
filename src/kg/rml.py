"""The RML reader: XML and TSV records into RDF by the mappings of data/mappings/, run by morph-kgc.

A mapping names its logical sources relative to the data folder. One that names a folder reads
every ``*.xml`` file in it: the files are joined into one document (the first file's root, every
record of every file in order, each given a ``<source-file>`` child naming its file), so a file
dropped into the folder adds its records on the next build and the mapping stays one triples map
per kind of thing. Before mapping, every file is parsed here: a file that is not well-formed XML
stops the build with its name, line and column. Every record is checked (``CHECKS``): a missing or
impossible field is reported (``Problem``: id, file, field, reason), and the record is still
mapped with what it has (the mapping's functions return nothing for a bad value, so no triple).

Some things of morph-kgc 2.10 are mended for the length of a run (``_mended``), by wrapping the
library calls concerned and nothing else, so the mappings stay plain RML:

* it reads an XML source again for every predicate-object map (one rule each): parses the file,
  selects the iterator and finds every reference in every record. Here each file is parsed, each
  iterator selected and each reference found once, and the records of a source with the same
  references are read once (111 rules ask for 34 such sets), for the run;
* it runs the functions file again for every function call: here once a run, so that the
  functions' answers, kept for the run (functions.py), are shared by the rules. With the
  country index of kg.mapping_functions, these took the mapping of all the records from about
  10 s to about 5 s of CPU;
* a literal made by a function is written without N-Triples escaping (a quotation mark in a
  record's words would break the output), and one whose subject is made by a function too
  raises KeyError 'reference_results': the literal is escaped here, and the column it looks
  for is there. tests/test_rml.py holds both to account.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, Namespace

from kg import mapping_functions as fn
from kg.errors import DataError

RML = Namespace("http://semweb.mmlab.be/ns/rml#")
RECORD_FILE = "source-file"  # the child kg.rml gives each record: the file it came from


@dataclass(frozen=True)
class Problem:
    """A record imported with a missing or impossible field."""

    record: str  # "visit 2076"
    file: str  # relative to the data folder
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.record} ({self.file}): {self.field}: {self.reason}"


def _text(record: ET.Element, path: str) -> str | None:
    if path.startswith("@"):
        return record.get(path[1:])
    if "/@" in path:
        child, attribute = path.split("/@")
        found = record.find(child)
        return None if found is None else found.get(attribute)
    found = record.find(path)
    return None if found is None else fn.text(found.text)


def _required(value: str | None, record: ET.Element) -> str | None:
    return None if fn.text(value) else "missing"


def _date(value: str | None, record: ET.Element) -> str | None:
    return fn.date_problem(value)


def _end(value: str | None, record: ET.Element) -> str | None:
    problem = fn.date_problem(value)
    start = fn.iso_date(_text(record, "start-date"))
    if problem is None and start is not None and str(value).strip() < start:
        return f"ends ({str(value).strip()}) before it starts ({start})"
    return problem


def _integer(value: str | None, record: ET.Element) -> str | None:
    return None if value is not None and value.strip().isdigit() else f"not a record number: {value!r}"


def _country(value: str | None, record: ET.Element) -> str | None:
    tag = "from" if record.tag == "visit" else "country"
    if not fn.text(value):
        return "missing"
    if fn.country_slug(value, _text(record, tag), _text(record, "start-date")) is None:
        return f"no row of countries-wikidata.tsv for {value!r} at the record's date"
    return None


def _locales(value: str | None, record: ET.Element) -> str | None:
    if not fn.text(value):
        return "missing"
    named = fn.locales(value)
    return None if len(named) <= 5 else f"names {len(named)} places; the mapping writes the first five"


Check = Callable[[str | None, ET.Element], str | None]
# What each kind of record must carry, field by field (an XPath-like path of the record).
CHECKS: dict[str, dict[str, Check]] = {
    "visit": {
        "id": _integer, "start-date": _date, "end-date": _end, "visitor": _required,
        "from/@id": _country, "description": _required,
    },
    "trip": {
        "id": _integer, "@who": _required, "name": _required, "start-date": _date, "end-date": _end,
        "country/@id": _country, "locale": _locales, "remarks": _required,
    },
    "president": {"id": _required, "name": _required, "took-office-date": _date},
}  # fmt: skip


def parse_xml(path: Path, label: str) -> ET.Element:
    """One file's root; a file that is not well-formed stops the build with file, line and column."""
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, column = exc.position
        raise DataError(
            f"{label}: line {line}, column {column + 1}: not well-formed XML ({exc.msg})"
        ) from None
    except OSError as exc:
        raise DataError(f"{label}: cannot read: {exc.strerror}") from None


def check(record: ET.Element, file: str) -> list[Problem]:
    """The problems of one record (none for a kind of record CHECKS does not know)."""
    checks = CHECKS.get(record.tag, {})
    name = f"{record.tag} {_text(record, 'id') or '?'}"
    problems = []
    for path, rule in checks.items():
        reason = rule(_text(record, path), record)
        if reason:
            problems.append(Problem(name, file, path, reason))
    return problems


def gather(files: list[Path], data_dir: Path, target: Path) -> tuple[list[Problem], ET.Element]:
    """Join XML files into one document at ``target``; the problems of their records, and the document."""
    joined: ET.Element | None = None
    problems: list[Problem] = []
    for path in files:
        label = path.relative_to(data_dir).as_posix()
        root = parse_xml(path, label)
        if joined is None:
            joined = ET.Element(root.tag)
        elif root.tag != joined.tag:
            raise DataError(
                f"{label}: line 1: root element <{root.tag}>, not <{joined.tag}> as in {files[0].name}"
            )
        for record in root:
            if not isinstance(record.tag, str) or record.tag in {"source-url", "crawl-dateTime"}:
                continue  # comments, processing instructions, the presidents file's own metadata
            problems += check(record, label)
            ET.SubElement(record, RECORD_FILE).text = path.relative_to(
                data_dir / "sources" / "hsg"
            ).as_posix()
            joined.append(record)
    if joined is None:
        raise DataError(f"{target.name}: no XML files to map")
    ET.ElementTree(joined).write(target, encoding="utf-8", xml_declaration=True)
    return problems, joined


def _prepare(mappings: list[Path], data_dir: Path, work: Path) -> tuple[list[Path], list[Problem]]:
    """The mappings with their sources made local files in ``work``; the records' problems."""
    out, problems = [], []
    for n, mapping in enumerate(mappings):
        graph = Graph()
        try:
            graph.parse(mapping, format="turtle")
        except Exception as exc:  # a mapping is Turtle: rdflib's message names the line
            raise DataError(f"{mapping}: {exc}") from None
        for source, literal in list(graph.subject_objects(RML.source)):
            where = data_dir / str(literal)
            if where.is_dir():
                files = sorted(where.glob("*.xml"))
            elif where.is_file():
                files = [where]
            else:
                raise DataError(
                    f"{mapping}: rml:source {str(literal)!r}: no such file or folder in {data_dir}"
                )
            if where.suffix.lower() in {".tsv", ".csv"}:
                local = where
            else:
                local = work / f"{n}-{where.stem}.xml"
                found, joined = gather(files, data_dir, local)
                problems += found
                if where == fn.VISITS:
                    fn.use_visits(joined)  # the functions' spellings: the folder is not read again
            graph.set((source, RML.source, Literal(str(local))))
        out.append(work / f"{n}-{mapping.name}")
        graph.serialize(out[-1], format="turtle")
    return out, problems


def _escape(value: str) -> str:
    """A string as the inside of an N-Triples literal."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")


# An iterator of child steps by plain names ("/visits/visit"), which ElementTree selects alike.
_CHILD_STEPS = re.compile(r"(?:/[A-Za-z_][A-Za-z0-9_.-]*)+")


def _child_steps(root: ET.Element, iterator: str) -> list[ET.Element]:
    """What XPath selects by such an iterator from a document (elementpath would first copy the
    whole tree into its own nodes, and leave them to the garbage collector)."""
    first, *rest = iterator.split("/")[1:]
    if root.tag != first:
        return []
    return root.findall("/".join(rest)) if rest else [root]


def _values(record: ET.Element, reference: str, namespaces: dict[str, str]) -> tuple:
    """What morph-kgc's _read_xml takes from a record for a reference: every match's text or
    attribute (a tuple, which the garbage collector stops scanning, where _read_xml has a list)."""
    reference = reference.replace("/@", "@")
    if reference.startswith("@"):
        return (record.attrib[reference[1:]],)
    element, attribute = reference.split("@")[:2] if "@" in reference else (reference, None)
    return tuple(
        r.get(attribute) if attribute else r.text for r in record.findall(element, namespaces=namespaces)
    )


@contextlib.contextmanager
def _mended() -> Iterator[None]:
    """For one run: morph-kgc reads each XML file, iterator and reference once and runs the
    functions file once, and the literals its functions make are escaped (see the module's docstring)."""
    import pandas as pd
    from morph_kgc import materializer
    from morph_kgc.constants import RML_LITERAL
    from morph_kgc.data_source import data_file
    from morph_kgc.fnml import fnml_executer

    real_fnml = materializer._materialize_fnml_execution

    def fnml(results_df, fnml_execution, fnml_df, config, position, termtype=RML_LITERAL, datatype=""):
        if "reference_results" not in results_df.columns:
            results_df["reference_results"] = ""
        out = real_fnml(results_df, fnml_execution, fnml_df, config, position, termtype, datatype)
        if termtype.strip() == RML_LITERAL:
            out[position] = '"' + out[fnml_execution].map(_escape) + '"'
        return out

    # data_file._read_xml for a local file, with each file parsed once, each iterator selected
    # once and each reference found once per record: morph-kgc does all three for every rule.
    real_read_xml = data_file._read_xml
    trees: dict[str, tuple[ET.Element, dict[str, str]]] = {}
    selections: dict[tuple[str, str], list[ET.Element]] = {}
    columns: dict[tuple[str, str, str], list[tuple]] = {}

    def read_xml(rml_rule, references):
        path, iterator, references = rml_rule["logical_source_value"], rml_rule["iterator"], list(references)
        if path.startswith("http") or not references:
            return real_read_xml(rml_rule, references)
        if path not in trees:
            namespaces, root = {}, None
            with open(path, encoding="utf-8") as file:
                for event, element in ET.iterparse(file, events=["end", "start-ns"]):
                    if event == "start-ns":
                        namespaces[element[0]] = element[1]
                    else:
                        root = element
            trees[path] = (root, namespaces)
        root, namespaces = trees[path]
        if (path, iterator) not in selections:
            if namespaces or not _CHILD_STEPS.fullmatch(iterator):
                found = data_file.elementpath.iter_select(
                    root, iterator, namespaces=namespaces, parser=data_file.XPath3Parser
                )
                selections[path, iterator] = list(found)
            else:
                selections[path, iterator] = _child_steps(root, iterator)
        for reference in references:
            if (path, iterator, reference) not in columns:
                records = selections[path, iterator]
                columns[path, iterator, reference] = [_values(r, reference, namespaces) for r in records]
        frame = pd.DataFrame({r: columns[path, iterator, r] for r in references}, columns=references)
        frame = frame.dropna(axis=0, how="any")
        for reference in references:
            frame = frame.explode(reference)
        return frame

    # A source's records with the same references, read once: rules ask for 34 sets 111 times.
    real_get_data = materializer._get_data
    datas: dict[tuple[str, ...], object] = {}

    def get_data(config, rml_rule, references, python_source=None):
        fields = ("source_name", "source_type", "logical_source_type", "logical_source_value", "iterator")
        key = (*(str(rml_rule[f]) for f in fields), *sorted(references))
        if key not in datas:
            datas[key] = real_get_data(config, rml_rule, references, python_source)
        return datas[key].copy()  # the rule adds its columns to what it is given

    # The functions file, run once: morph-kgc runs it again for every function call column.
    real_load_udfs = fnml_executer.load_udfs
    udfs: list[dict] = []

    def load_udfs(config):
        if not udfs:
            udfs.append(real_load_udfs(config))
        return udfs[0]

    data_file._read_xml = read_xml
    materializer._materialize_fnml_execution = fnml
    materializer._get_data = get_data
    fnml_executer.load_udfs = load_udfs
    try:
        yield
    finally:
        data_file._read_xml = real_read_xml
        materializer._materialize_fnml_execution = real_fnml
        materializer._get_data = real_get_data
        fnml_executer.load_udfs = real_load_udfs


def materialize(mappings: list[Path], functions: Path | None, data_dir: Path) -> tuple[str, list[Problem]]:
    """Run the mappings: their triples as N-Triples text, and the problems of the records read."""
    import morph_kgc

    logging.getLogger("morph_kgc").setLevel(logging.WARNING)
    fn.use_data_dir(data_dir)
    with tempfile.TemporaryDirectory(prefix="kg-rml-") as tmp:
        local, problems = _prepare(mappings, data_dir, Path(tmp))
        config = "[CONFIGURATION]\nnumber_of_processes=1\nlogging_level=WARNING\n"
        if functions is not None:
            config += f"udfs={functions}\n"
        config += f"[hsg]\nmappings={','.join(map(str, local))}\n"
        with _mended():
            try:
                triples = morph_kgc.materialize_set(config)
            except DataError:
                raise
            except Exception as exc:  # morph-kgc's own errors: a mapping it cannot run
                raise DataError(
                    f"RML mappings {', '.join(m.name for m in mappings)}: {type(exc).__name__}: {exc}"
                ) from None
    return "".join(f"{t} .\n" for t in sorted(triples)), problems
