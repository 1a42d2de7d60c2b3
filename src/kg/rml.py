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

And what only saves time (``quick``; tests/test_rml.py compares the triples with and without):

* its mapping parser asks 91 SPARQL queries of the mappings, which rdflib parses anew each time
  and evaluates in Python: 1.2 s of a run, most of it the query of the rules, whose filters apply
  only once all its OPTIONALs are joined. A pyoxigraph copy of the mapping graph answers them
  (``_MappingGraph``), with the same rows, in 0.05 s;
* its execute_fnml groups the table of every function's parameters and regroups the arguments
  row by row in Python lists on each of its 94 calls (1 s): for a function of plain parameters
  the arguments are zipped here, and a function of the functions file gives the answer it gave
  for the same arguments (130,000 calls for 37,000 answers; functions.py keeps them too);
* the joined documents are handed over as they are, where writing and parsing the file would
  give them back (0.2 s), and a column without lists is not exploded (0.1 s).

With ``sink`` (kg.load), the triples of each group of rules go out as soon as they are made.
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

import pyoxigraph as ox
from rdflib import Graph, Literal, Namespace, URIRef, Variable
from rdflib.query import Result

from kg import mapping_functions as fn
from kg.derivations import node, term
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
    """Join XML files into one document (for ``target``: named in errors, kg.rml writes it there);
    the problems of their records, and the document."""
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
    return problems, joined


def _prepare(
    mappings: list[Path], data_dir: Path, work: Path
) -> tuple[list[Path], list[Problem], dict[str, ET.Element]]:
    """The mappings with their sources made local files in ``work``; the records' problems; the
    documents of the joined XML files, by the path the mappings name them by (_mended writes them)."""
    out, problems, documents = [], [], {}
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
                documents[str(local)] = joined
                if where == fn.VISITS:
                    fn.use_visits(joined)  # the functions' spellings: the folder is not read again
            graph.set((source, RML.source, Literal(str(local))))
        out.append(work / f"{n}-{mapping.name}")
        graph.serialize(out[-1], format="turtle")
    return out, problems, documents


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


# morph-kgc's query of the mapping rules (RML_PARSING_QUERY) binds a variable already bound in
# its group, for a source held in memory (sd:name): SPARQL 1.1 forbids it and Oxigraph refuses
# the query. Where the mappings name no such source, that OPTIONAL matches nothing and is left out.
_IN_MEMORY_SOURCE = re.compile(
    r"OPTIONAL\s*\{\s*\?logical_source_value\s+sd:name\s+\?logical_source_in_memory_value\s*\.\s*"
    r'BIND\s*\(\s*CONCAT\s*\(\s*"\{"\s*,\s*\?logical_source_in_memory_value\s*,\s*"\}"\s*\)\s*'
    r"AS\s+\?logical_source_value\s*\)\s*\}"
)
_SD_NAME = URIRef("https://w3id.org/okn/o/sd#name")


class _MappingGraph(Graph):
    """The mapping graph morph-kgc's parser reads, with a pyoxigraph copy of it kept in step that
    answers the parser's SPARQL queries (see the module's docstring). A query Oxigraph does not
    read, or of another form than SELECT, goes to rdflib."""

    def __init__(self, graph: Graph) -> None:
        super().__init__(graph.store, graph.identifier, graph.namespace_manager)
        self.copy: ox.Store | None = ox.Store()
        for triple in self:
            self._keep("add", triple)

    def add(self, triple):  # type: ignore[no-untyped-def]
        self._keep("add", triple)
        return super().add(triple)

    def remove(self, triple):  # type: ignore[no-untyped-def]
        for found in list(self.triples(triple)):
            self._keep("remove", found)
        return super().remove(triple)

    def _keep(self, change: str, triple: tuple) -> None:
        """The change made to the copy too. A term Oxigraph does not hold (a literal as subject)
        ends the copy: rdflib answers from then on."""
        if self.copy is not None:
            try:
                getattr(self.copy, change)(ox.Quad(*map(term, triple)))
            except (TypeError, ValueError):
                self.copy = None

    def query(self, query_object, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.copy is None or not isinstance(query_object, str) or args or kwargs:
            return super().query(query_object, *args, **kwargs)
        text = query_object
        if (None, _SD_NAME, None) not in self:
            text = _IN_MEMORY_SOURCE.sub("", text)
        try:
            solutions = self.copy.query(text)
        except SyntaxError:
            return super().query(query_object)
        if not isinstance(solutions, ox.QuerySolutions):
            return super().query(query_object)
        names = [v.value for v in solutions.variables]
        result = Result("SELECT")
        result.vars = [Variable(name) for name in names]
        result.bindings = [
            {Variable(name): node(value) for name, value in zip(names, row, strict=True) if value is not None}
            for row in solutions
        ]
        return result


def _reads_back(document: ET.Element) -> bool:
    """Whether parsing the document as ElementTree writes it gives it back: not if a text holds
    a carriage return (written as it is, read back as a line feed, as XML reads an end of line),
    or a name a namespace (read back with the prefixes ElementTree makes up)."""
    for element in document.iter():
        if "\r" in (element.text or "") or "\r" in (element.tail or ""):
            return False
        if "{" in element.tag or any("{" in name for name in element.attrib):
            return False
    return True


@contextlib.contextmanager
def _mended(
    documents: dict[str, ET.Element], sink: Callable[[str], object] | None = None, quick: bool = True
) -> Iterator[None]:
    """For one run: morph-kgc reads each XML file, iterator and reference once and runs the
    functions file once, and the literals its functions make are escaped (see the module's
    docstring). The joined ``documents`` are written to their paths, or with ``quick`` kept as
    they are for morph-kgc to read, where that is what it would read from the file (_reads_back).
    ``quick`` adds what saves time and nothing else: tests/test_rml.py compares the triples of a
    run with and without it. With ``sink``, the triples of each group of rules go to it."""
    import morph_kgc
    import pandas as pd
    from morph_kgc import materializer
    from morph_kgc.constants import RML_CONSTANT, RML_LITERAL, RML_REFERENCE, RML_TEMPLATE
    from morph_kgc.data_source import data_file
    from morph_kgc.fnml import fnml_executer
    from morph_kgc.fnml.built_in_functions import bif_dict
    from morph_kgc.mapping.mapping_parser import MappingParser
    from pandas.api.types import is_list_like

    # The parser's SPARQL queries answered by pyoxigraph (_MappingGraph).
    real_load_graph = MappingParser._load_mapping_graph

    def load_graph(self, section_name):  # type: ignore[no-untyped-def]
        return _MappingGraph(real_load_graph(self, section_name))

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
    unwritten = dict(documents)

    def write(path: str) -> None:
        if path in unwritten:
            ET.ElementTree(unwritten.pop(path)).write(path, encoding="utf-8", xml_declaration=True)

    for path, root in documents.items():
        if quick and _reads_back(root):  # writing and parsing the file took 0.2 s of a run
            trees[path] = (root, {})
        else:
            write(path)

    def read_xml(rml_rule, references):
        path, iterator, references = rml_rule["logical_source_value"], rml_rule["iterator"], list(references)
        if path.startswith("http") or not references:
            write(path)
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
        found = {r: columns[path, iterator, r] for r in references}
        if quick and all(len(v) == 1 for values in found.values() for v in values):
            # One value per record for each reference: what the explosion below gives, in a step.
            return pd.DataFrame(
                {r: [v for (v,) in values] for r, values in found.items()}, columns=references
            )
        frame = pd.DataFrame(found, columns=references)
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

    # execute_fnml, for a function whose every parameter takes one reference, constant or
    # template: the same column, without what costs it 1 s of a run for nothing here: a group-by
    # of every function's parameters, and the arguments regrouped row by row in Python lists, on
    # each of its 94 calls. Any other function goes to morph-kgc's. A function of the functions
    # file gives the answer it gave for the same arguments (functions.py keeps them for the run):
    # rules call 130,000 times for 37,000 answers.
    real_execute = fnml_executer.execute_fnml
    plans: dict[str, tuple[Callable, list[tuple[str, str, str]], dict | None] | None] = {}
    kept: dict[tuple[Callable, tuple[str, ...]], dict] = {}

    def plan(fnml_df, fnml_execution, config):  # type: ignore[no-untyped-def]
        rows = fnml_df[fnml_df["function_execution"] == fnml_execution]
        values: dict[str, list[tuple[str, str]]] = {}
        columns = ("parameter_map_value", "value_map_type", "value_map_value")
        for parameter, kind, value in zip(*(rows[c] for c in columns), strict=True):
            values.setdefault(parameter, []).append((kind, value))
        simple = (RML_REFERENCE, RML_CONSTANT, RML_TEMPLATE)
        if any(len(v) != 1 or v[0][0] not in simple for v in values.values()):
            return None  # a composite function, or a parameter given several values
        function_id = rows.iloc[0]["function_map_value"]
        udf = bif_dict[function_id] if function_id in bif_dict else load_udfs(config)[function_id]
        inputs = [(name, *values[iri][0]) for name, iri in udf["parameters"].items() if iri in values]
        names = tuple(name for name, _, _ in inputs)
        answers = None if function_id in bif_dict else kept.setdefault((udf["function"], names), {})
        return udf["function"], inputs, answers

    def execute(data, fnml_df, fnml_execution, config, in_recursion=False):  # type: ignore[no-untyped-def]
        if fnml_execution not in plans:
            plans[fnml_execution] = plan(fnml_df, fnml_execution, config)
        if plans[fnml_execution] is None:
            return real_execute(data, fnml_df, fnml_execution, config, in_recursion)
        function, inputs, known = plans[fnml_execution]  # type: ignore[misc]
        names, columns = [], []
        for name, kind, value in inputs:
            if kind == RML_CONSTANT:
                columns.append([value] * len(data))
            elif kind == RML_TEMPLATE:  # as morph-kgc: it adds its working columns to the data
                columns.append(list(fnml_executer._materialize_fnml_template(data, value)))
            else:
                columns.append(list(data[value]))
            names.append(name)
        rows = list(zip(*columns, strict=True)) if names else [()] * len(data)

        def call(row: tuple) -> object:
            return function(**dict(zip(names, row, strict=True)))

        try:
            answers = (
                [known[r] if r in known else known.setdefault(r, call(r)) for r in rows]
                if known is not None
                else None
            )
        except TypeError:  # an argument that is no key (a list): each row is called, as by morph-kgc
            answers = None
        if answers is None:
            answers = [call(row) for row in rows]
        data[fnml_execution] = answers
        data = fnml_executer.remove_null_values_from_dataframe(
            data, config, fnml_execution, column=fnml_execution
        )
        if in_recursion or any(map(is_list_like, answers)):
            return data if in_recursion else data.explode(fnml_execution)
        # Exploding a column that holds no list gives the same values (0.1 s of a run for nothing),
        # in a frame of its own: a shallow copy, not the rows dropna kept of another, whose columns
        # pandas would warn of setting.
        return data.copy(deep=False)

    # Each group's triples to the sink as soon as they are made (in no order), none kept.
    real_group = morph_kgc._materialize_mapping_group_to_set

    def group(*args, **kwargs):  # type: ignore[no-untyped-def]
        sink("".join(f"{t} .\n" for t in real_group(*args, **kwargs)))  # type: ignore[misc]
        return set()

    if quick:
        MappingParser._load_mapping_graph = load_graph
        materializer.execute_fnml = fnml_executer.execute_fnml = execute
    if sink is not None:
        morph_kgc._materialize_mapping_group_to_set = group
    data_file._read_xml = read_xml
    materializer._materialize_fnml_execution = fnml
    materializer._get_data = get_data
    fnml_executer.load_udfs = load_udfs
    try:
        yield
    finally:
        morph_kgc._materialize_mapping_group_to_set = real_group
        MappingParser._load_mapping_graph = real_load_graph
        data_file._read_xml = real_read_xml
        materializer._materialize_fnml_execution = real_fnml
        materializer._get_data = real_get_data
        materializer.execute_fnml = fnml_executer.execute_fnml = real_execute
        fnml_executer.load_udfs = real_load_udfs


def materialize(
    mappings: list[Path],
    functions: Path | None,
    data_dir: Path,
    sink: Callable[[str], object] | None = None,
    work: Path | None = None,
) -> tuple[str, list[Problem]]:
    """Run the mappings: their triples as N-Triples text, and the problems of the records read.
    With ``sink``, the triples go to it as they are made instead, a text for each group of rules
    morph-kgc maps together (a triple two groups make is in both), and the text returned is empty.
    ``work``: an empty folder for the mappings' working copies, which the caller removes (a
    process killed while it maps cannot); else a temporary one, removed here."""
    with contextlib.ExitStack() as stack:
        if work is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kg-rml-")))
        return _materialize(mappings, functions, data_dir, sink, work)


def _materialize(
    mappings: list[Path],
    functions: Path | None,
    data_dir: Path,
    sink: Callable[[str], object] | None,
    work: Path,
) -> tuple[str, list[Problem]]:
    import morph_kgc

    logging.getLogger("morph_kgc").setLevel(logging.WARNING)
    fn.use_data_dir(data_dir)
    local, problems, documents = _prepare(mappings, data_dir, work)
    config = "[CONFIGURATION]\nnumber_of_processes=1\nlogging_level=WARNING\n"
    if functions is not None:
        config += f"udfs={functions}\n"
    config += f"[hsg]\nmappings={','.join(map(str, local))}\n"
    with _mended(documents, sink):
        try:
            triples = morph_kgc.materialize_set(config)
        except DataError:
            raise
        except Exception as exc:  # morph-kgc's own errors: a mapping it cannot run
            raise DataError(
                f"RML mappings {', '.join(m.name for m in mappings)}: {type(exc).__name__}: {exc}"
            ) from None
    return "".join(f"{t} .\n" for t in sorted(triples)), problems
