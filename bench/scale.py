"""Scale: load time, memory and the bench queries at 1M and 10M triples, embedded vs Virtuoso.

    .venv/bin/python bench/scale.py                                   # 1M and 10M: ~60 min
    .venv/bin/python bench/scale.py --sizes 1000000 --seconds 3       # 1M only: ~15 min
    .venv/bin/python bench/scale.py --report build/bench/scale.json   # the tables again

For each size, one synthetic graph (bench/generate.py, seed 1) is loaded four ways and served
three ways, side by side in one run:

* **load, embedded**: the build folder `kg serve` reads (graph.nq and the pyoxigraph on-disk
  store, bulk-loaded then compacted as kg.store.write_store does), in a child process; and, at the
  sizes of ``--data-path-sizes``, what `kg serve --data FILE --no-validate --union-default-graph`
  prepares before it serves (kg.pipeline through an in-memory store);
* **load, Virtuoso**: its bulk loader (``ld_dir`` + ``rdf_loader_run()`` + ``checkpoint``
  through isql-vt) into one scratch Virtuoso; at ``--publish-sizes``, into `kg publish`'s
  staging graphs, then `kg publish`'s count and switch, and a whole `kg publish` over the Graph
  Store Protocol into a second scratch Virtuoso (see ``serve_virtuoso``);
* **serve**: `kg serve` on the embedded build (``kg``), `kg serve --engine` on the published
  Virtuoso (``kg→virtuoso``) when both commands exist, and the bulk-loaded Virtuoso's own /sparql
  (``virtuoso``) for reference. The queries are bench/run.py's (six uncached, the site's timeline
  uncached), plus two the response cache answers (a point lookup and the timeline, sent without
  ``Cache-Control``), each for ``--seconds`` at every ``--connections`` count, the servers taking
  turns.

Server CPU per request is the robust figure on a shared 2-core machine: user + system time from
/proc of every process behind the answer (kg serve's process group; the Virtuoso process it asks,
or is), before and after each cell, over the requests answered. Requests/s and p50/p95 latency
are beside it (the client runs on the same cores). Memory is RSS and PSS from smaps_rollup:
after load, the highest sampled while the queries run, and after them.

`kg serve` runs with ``KG_CLIENT_QUERIES=0`` (the per-client limit would hold the bench's eight
connections from one address to one query at a time: it is a fairness rule, not capacity) and
``KG_QUERY_TIMEOUT`` from ``--query-timeout`` (so a slow query is measured, not cut at 10 s;
the table says which exceed the default). Virtuoso runs on tests/stores.py's scratch
configuration with more buffers (``--virtuoso-buffers``): its 80 MB would make it read from
disk at 10M. Everything listens on 127.0.0.1 and is stopped at the end, on errors and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from generate import generate
from http_front import group_cpu, prepare_build
from run import (
    CANNED,
    DISCOVER,
    HOST,
    KG,
    PREFIXES,
    QUERIES,
    REPO,
    Connection,
    Server,
    fetch,
    finite,
    free_port,
    get_request,
    group_memory,
    load,
    rows,
    spawn,
    wait_ready,
)

PYTHON = REPO / ".venv" / "bin" / "python"
ISQL = Path("/usr/bin/isql-vt")
TICK = os.sysconf("SC_CLK_TCK")
GRAPHS = "https://w3id.org/hos-kg/graph/"
XSD = "http://www.w3.org/2001/XMLSchema#"
MB = 1024 * 1024


# ---------------------------------------------------------------------- processes: CPU, memory, disk


def pid_cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) of one process; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def pid_memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MB of one process (Virtuoso is one process of many threads)."""
    rss = pss = 0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss / 1024, pss / 1024


def disk_mb(*paths: Path) -> float:
    """Space taken on disk (allocated blocks), files and folders, in MB."""
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_blocks * 512
        elif path.is_dir():
            total += sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())
    return total / MB


class Peak:
    """The highest value of ``read()``, sampled every ``interval`` seconds while the block runs."""

    def __init__(self, read: Callable[[], float], interval: float = 0.5) -> None:
        self.read, self.interval, self.value = read, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.value = max(self.value, self.read())
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.value = max(self.value, self.read())


@dataclass
class Usage:
    """What one loading child process took: wall and CPU seconds, its peak RSS."""

    wall: float
    cpu: float
    peak_mb: float
    out: dict = field(default_factory=dict)  # what the child reported (JSON on its last line)


def run_child(cmd: list[str], log: Path, timeout: float, env: dict[str, str] | None = None) -> Usage:
    """Run ``cmd`` to its end; its rusage (peak RSS: the child or a descendant it waited for)."""
    started = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{cmd[:4]} failed with code {proc.returncode}:\n{tail}")
    lines = log.read_text(errors="replace").strip().splitlines()
    out = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    return Usage(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out)


# ---------------------------------------------------------------------- data and the embedded build


def dataset(triples: int, folder: Path) -> tuple[Path, int]:
    """The synthetic graph of ``triples`` (kept in ``folder`` and reused: it depends only on the
    size and seed 1), and its count of quads."""
    file = folder / f"synthetic-{triples}.nq"
    if not file.is_file():
        print(f"generating {file} ...", flush=True)
        part = file.with_suffix(".part")
        with part.open("w", encoding="utf-8") as out:
            generate(out, triples, seed=1, ontology_from=REPO / "build" / "graph.nq")
        part.rename(file)
    with file.open("rb") as f:
        quads = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b""))
    return file, quads


def write_build(data: Path, out: Path, quads: int) -> None:
    """In the child: a build folder `kg serve` can read, as `kg build` writes its store
    (kg.store.write_store: graph.nq, bulk-loaded into the on-disk store, compacted)."""
    import pyoxigraph as ox

    from kg.build import Build, Manifest

    out.mkdir(parents=True)
    build = Build(out)
    try:
        os.link(data, build.quads)
    except OSError:
        shutil.copyfile(data, build.quads)
    t = time.perf_counter()
    store = ox.Store(str(build.store))
    store.bulk_load(path=str(build.quads), format=ox.RdfFormat.N_QUADS)
    loaded = time.perf_counter()
    store.optimize()
    store.flush()
    del store
    done = time.perf_counter()
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    build.write_manifest(
        Manifest(
            digest="bench-scale", created=created, counts={"data": quads, "total": quads}, sources={"data": 1}
        )
    )
    print(json.dumps({"bulk_load_s": loaded - t, "optimize_s": done - loaded}), flush=True)


# ---------------------------------------------------------------------- Virtuoso


@contextlib.contextmanager
def virtuoso(folder: Path, buffers: int) -> Iterator[tuple[object, int]]:
    """tests/stores.py's scratch Virtuoso with ``buffers`` 8 kB pages of cache; (Store, isql port)."""
    sys.path.insert(0, str(REPO))
    from tests import stores

    original = getattr(stores._virtuoso_ini, "untuned", stores._virtuoso_ini)  # another may be open

    def tuned(folder: Path, isql_port: int, http_port: int) -> str:
        text = original(folder, isql_port, http_port)
        changes = {
            "NumberOfBuffers = 10000": f"NumberOfBuffers = {buffers}",
            "MaxDirtyBuffers = 6000": f"MaxDirtyBuffers = {buffers * 3 // 4}",
            "MaxQueryMem = 256M": "MaxQueryMem = 1G",
        }
        for old, new in changes.items():
            if old not in text:
                raise RuntimeError(f"tests/stores.py's Virtuoso configuration changed: no {old!r} to tune")
            text = text.replace(old, new)
        return text

    tuned.untuned = original  # type: ignore[attr-defined]
    stores._virtuoso_ini = tuned
    try:
        with stores.virtuoso(folder) as store:
            ini = configparser.ConfigParser(strict=False, inline_comment_prefixes=(";",))
            ini.read(folder / "virtuoso.ini")
            yield store, int(ini["Parameters"]["ServerPort"].rsplit(":", 1)[1])
    finally:
        stores._virtuoso_ini = original


def isql(port: int, sql: str, timeout: float) -> str:
    done = subprocess.run(
        [str(ISQL), str(port), "dba", "dba", f"EXEC={sql}"], capture_output=True, text=True, timeout=timeout
    )
    output = done.stdout + done.stderr
    if done.returncode != 0 or "*** Error" in output:
        raise RuntimeError(f"isql-vt failed on {sql!r}: {output[-2000:]}")
    return output


def bulk_load(store: object, port: int, folder: Path, data: Path, timeout: float) -> dict:
    """Virtuoso's bulk loader on ``data`` (one loader: Virtuoso advises one per 2.5 cores), then a
    checkpoint, which writes the loaded pages to the database file."""
    pid = store.process.pid  # type: ignore[attr-defined]
    if data.parent != folder:
        raise ValueError(f"Virtuoso's loader reads only under DirsAllowed: put {data.name} in {folder}")
    cpu, started = pid_cpu(pid), time.perf_counter()
    with Peak(lambda: pid_memory(pid)[0]) as peak:
        isql(
            port,
            f"ld_dir('{folder}', '{data.name}', '{GRAPHS}default'); rdf_loader_run(); checkpoint;",
            timeout,
        )
    wall = time.perf_counter() - started
    failed = isql(port, "SELECT ll_file, ll_error FROM DB.DBA.LOAD_LIST WHERE ll_error IS NOT NULL;", 60)
    if "0 Rows." not in failed:
        raise RuntimeError(f"Virtuoso's loader reported errors: {failed[-2000:]}")
    return {"wall_s": wall, "cpu_s": pid_cpu(pid) - cpu, "peak_mb": peak.value}


def publish_available() -> bool:
    return subprocess.run([str(KG), "publish", "--help"], capture_output=True).returncode == 0


def engine_available() -> bool:
    done = subprocess.run([str(KG), "serve", "--help"], capture_output=True, text=True)
    return "--engine" in done.stdout


def publish(store: object, build: Path, log: Path, timeout: float) -> dict:
    """`kg publish` of ``build`` to the store: its wall time, the store's CPU and the command's."""
    pid = store.process.pid  # type: ignore[attr-defined]
    cmd = [str(KG), "publish", "--to", store.query, "--build", str(build)]  # type: ignore[attr-defined]
    cmd += ["--update", store.update, "--graph-store", store.graph_store]  # type: ignore[attr-defined]
    cpu = pid_cpu(pid)
    with Peak(lambda: pid_memory(pid)[0]) as peak:
        usage = run_child(cmd, log, timeout)
    return {
        "wall_s": usage.wall,
        "cpu_s": pid_cpu(pid) - cpu,
        "client_cpu_s": usage.cpu,
        "client_peak_mb": usage.peak_mb,
        "peak_mb": peak.value,
    }


def count(url: str, where: str, timeout: float) -> int:
    """``SELECT (COUNT(*) AS ?n) WHERE { where }`` at the SPARQL endpoint ``url``."""
    status, body = fetch(*_port_path(url), f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}", timeout)
    if status != 200:
        raise RuntimeError(f"counting at {url}: HTTP {status}: {body[:500]!r}")
    return int(json.loads(body)["results"]["bindings"][0]["n"]["value"])


def _port_path(url: str) -> tuple[int, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.port or 80, parts.path


# ---------------------------------------------------------------------- what is measured


@dataclass
class Target:
    """One way of answering: a kg serve (its process group) and/or the Virtuoso process behind it."""

    name: str
    port: int
    path: str
    kg: Server | None = None
    store_pid: int | None = None
    peak: dict[str, float] = field(default_factory=dict)

    @property
    def cached(self) -> bool:
        return self.kg is not None  # only kg serve has a response cache

    def cpu(self) -> tuple[float, float]:
        """(front, engine) CPU seconds: kg serve's HTTP side; its query processes or the store."""
        front = engine = 0.0
        if self.kg is not None:
            total, queries = group_cpu(self.kg.proc.pid)
            front, engine = total - queries, queries
        if self.store_pid is not None:
            engine += pid_cpu(self.store_pid)
        return front, engine

    def memory(self) -> dict[str, float]:
        """MB: kg serve's process group (RSS, PSS summed) and the store process's RSS."""
        out: dict[str, float] = {}
        if self.kg is not None:
            out["kg_rss"], out["kg_pss"] = group_memory(self.kg.proc.pid)
        if self.store_pid is not None:
            out["store_rss"] = pid_memory(self.store_pid)[0]
        return out

    def note_peak(self) -> None:
        for k, v in self.memory().items():
            self.peak[k] = max(self.peak.get(k, 0.0), v)


def start_kg(name: str, build: Path, work: Path, args: argparse.Namespace, extra: list[str]) -> Server:
    port, log = free_port(), work / f"{name.replace('→', '-')}.log"
    env = {
        **os.environ,
        "KG_BUILD_DIR": str(build),
        "KG_CLIENT_QUERIES": "0",
        "KG_QUERY_TIMEOUT": str(args.query_timeout),
        "KG_ENGINE_TIMEOUT_PARAM": "timeout",  # Virtuoso's own limit, in ms (kg.config)
    }
    started = time.perf_counter()
    proc = spawn([str(KG), "serve", "--host", HOST, "--port", str(port), *extra], log, env)
    server = Server(name, port, "/sparql", proc, log)
    try:
        wait_ready(server, started + args.startup_timeout)
    except BaseException:
        server.stop()
        raise
    server.startup = time.perf_counter() - started
    time.sleep(1)  # let the workers and query processes settle before memory is read
    return server


def settle(target: Target, timeout: float) -> bool:
    """Wait until the target answers at once again (abandoned slow requests may still run)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with contextlib.suppress(OSError, ValueError, IndexError):
            if fetch(target.port, target.path, "ASK { ?s ?p ?o }", deadline - time.perf_counter())[0] == 200:
                return True
        time.sleep(0.5)
    return False


def measure(target: Target, request: bytes, connections: int, seconds: float, grace: float) -> dict:
    before = target.cpu()
    m = load(target.port, request, connections, seconds, grace)
    after = target.cpu()
    n = m.requests
    front, engine = after[0] - before[0], after[1] - before[1]
    return {
        "requests": n,
        "rps": m.rate,
        "p50_ms": finite(m.percentile(50)),
        "p95_ms": finite(m.percentile(95)),
        "cpu_ms": 1000 * (front + engine) / n if n else None,
        "engine_ms": 1000 * engine / n if n else None,
        "errors": m.errors,
        "timeouts": m.timeouts,
    }


@dataclass
class Query:
    name: str
    text: str
    no_cache: bool


def queries(targets: list[Target], timeout: float) -> tuple[list[Query], dict[str, str]]:
    """bench/run.py's queries with the IRIs and word picked from the data (by the first target
    that answers the discovery query: it sorts every meeting), and the two cached ones."""
    failures = []
    for target in targets:
        status, body = fetch(target.port, target.path, DISCOVER, timeout)
        if status == 200:
            break
        failures.append(f"{target.name}: HTTP {status} {body[:300]!r}")
    else:
        raise RuntimeError(f"the discovery query failed: {'; '.join(failures)}")
    for failure in failures:
        print(f"  the discovery query failed on {failure}", flush=True)
    found = json.loads(body)["results"]["bindings"][0]
    params = {k: found[k]["value"] for k in ("meeting", "person", "country")}
    params["word"] = found["personLabel"]["value"].split()[-1].lower()
    out = [Query(name, PREFIXES + text.format(**params), True) for name, text in QUERIES.items()]
    timeline = PREFIXES + CANNED[1]
    out.append(Query("timeline", timeline, True))
    out.append(Query("point-lookup (cached)", out[0].text, False))
    out.append(Query("timeline (cached)", timeline, False))
    return out, params


# ---------------------------------------------------------------------- one size


def staged_copy(data: Path, out: Path, identity: str) -> None:
    """``data`` with every graph renamed to the staging graph `kg publish` loads it into
    (kg.iris.staging_graph): bulk-loaded there, the store holds what a publish run that stopped
    just before its switch would have left, and `kg publish` only counts and switches."""
    from kg.iris import staging_graph

    names: dict[bytes, bytes] = {}
    with data.open("rb") as src, out.open("wb") as dst:
        for line in src:
            head, _, graph = line.rstrip()[:-1].rstrip().rpartition(b" ")  # "<s> <p> <o> <g> ."
            if not graph.startswith(b"<"):
                raise ValueError(f"a quad without a graph in {data}: {line[:200]!r}")
            new = names.get(graph)
            if new is None:
                new = names[graph] = f"<{staging_graph(graph[1:-1].decode(), identity)}>".encode()
            dst.write(head + b" " + new + b" .\n")


def serve_virtuoso(
    triples: int,
    quads: int,
    data: Path,
    build: Path,
    work: Path,
    args: argparse.Namespace,
    stack: contextlib.ExitStack,
    result: dict,
) -> list[Target]:
    """Load one Virtuoso with its bulk loader and serve it two ways: `kg serve --engine` (when
    `kg publish` and `--engine` exist) and directly.

    At ``--publish-sizes`` the loader fills `kg publish`'s staging graphs and `kg publish` then
    counts them and switches (a COPY of every graph); a whole `kg publish` over the Graph Store
    Protocol is timed too, into a second Virtuoso stopped after it. At the other sizes the loader
    fills the served graphs and the bench writes GRAPH_PUBLISHED itself (``record_published``):
    the count and switch took 211 s at 1M, and grow with the graph.
    """
    from kg.build import Build

    loads = result["load"]
    folder = work / "virtuoso"
    store, port = stack.enter_context(virtuoso(folder, args.virtuoso_buffers))
    direct = Target("virtuoso", *_port_path(store.query), store_pid=store.process.pid)
    can_publish = publish_available()
    full = can_publish and triples in args.publish_sizes
    identity = Build(build).identity()
    staged = folder / "staged.nq"
    if full:
        staged_copy(data, staged, identity)
    else:
        os.link(data, staged)
    loaded = bulk_load(store, port, folder, staged, args.load_timeout)
    staged.unlink()
    every = f'GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{GRAPHS}"))'
    counted = count(store.query, every, args.request_timeout)
    into = "kg publish's staging graphs" if full else "the served graph names"
    loads[f"virtuoso bulk loader (into {into})"] = {**loaded, "disk_mb": virtuoso_disk(folder)}
    print(f"  virtuoso bulk loader: {loaded['wall_s']:.1f} s, {counted:,} quads", flush=True)
    if counted != quads:
        print(f"  WARNING: Virtuoso holds {counted:,} quads, the file {quads:,}", flush=True)
    if not can_publish:
        result["not_measured"] = "kg publish does not exist yet: no kg→virtuoso"
        return [direct]
    if full:
        switched = publish(store, build, work / "publish.log", args.load_timeout)
        loads["kg publish after the bulk load (count + switch)"] = {
            **switched,
            "disk_mb": virtuoso_disk(folder),
        }
        print(f"  kg publish (count + switch): {switched['wall_s']:.1f} s", flush=True)
        other = work / "virtuoso-gsp"
        with virtuoso(other, args.virtuoso_buffers) as (gsp_store, _):
            sent = publish(gsp_store, build, work / "publish-gsp.log", args.load_timeout)
            sent["disk_mb"] = virtuoso_disk(other)
        shutil.rmtree(other, ignore_errors=True)
        loads["kg publish over the Graph Store Protocol (every triple)"] = sent
        print(f"  kg publish over GSP: {sent['wall_s']:.1f} s", flush=True)
    else:
        record_published(store, identity, args.request_timeout)
    if not engine_available():
        result["not_measured"] = "kg serve --engine does not exist yet"
        return [direct]
    server = start_kg("kg→virtuoso", build, work, args, ["--engine", store.query])
    stack.callback(server.stop)
    return [Target("kg→virtuoso", server.port, "/sparql", server, store.process.pid), direct]


def record_published(store: object, identity: str, timeout: float) -> None:
    """The description `kg publish`'s switch writes into GRAPH_PUBLISHED (kg.publish._switch,
    read by kg/remote/published.rq; all but its date), for graphs the bulk loader put under
    their served names."""
    from kg.iris import GRAPH_PUBLISHED

    graph = f"<{GRAPH_PUBLISHED}>"
    counts = {
        GRAPHS + name: count(store.query, f"GRAPH <{GRAPHS}{name}> {{ ?s ?p ?o }}", timeout)  # type: ignore[attr-defined]
        for name in ("ontology", "asserted", "inferred")  # bench/generate.py's graphs
    }
    about = [
        f'{graph} <http://purl.org/dc/terms/identifier> "{identity}"',
        f"{graph} <https://w3id.org/hos-kg/ontology#unionDefaultGraph> true",
        *(f"{graph} <http://purl.org/dc/terms/hasPart> <{g}>" for g in counts),
        *(f'<{g}> <http://rdfs.org/ns/void#triples> "{n}"^^<{XSD}integer>' for g, n in counts.items()),
    ]
    update = f"INSERT DATA {{ GRAPH {graph} {{ " + " . ".join(about) + " . } }"
    form = urllib.parse.urlencode({"update": update}).encode()
    request = urllib.request.Request(store.update, data=form, method="POST")  # type: ignore[attr-defined]
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        answer.read()


def virtuoso_disk(folder: Path) -> float:
    return disk_mb(*folder.glob("virtuoso*.db"), *folder.glob("virtuoso*.trx"))


def bench_size(triples: int, args: argparse.Namespace, stack: contextlib.ExitStack) -> dict:
    data, quads = dataset(triples, args.data)
    work = args.work / str(triples)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(f"\n## {triples:,} triples: {data} ({quads:,} quads)\n", flush=True)
    result: dict = {"triples": triples, "quads": quads, "load": {}, "memory": {}, "cells": []}
    loads = result["load"]

    # Load, embedded: the build folder kg serve reads.
    build = work / "kg-build"
    child = [str(PYTHON), __file__, "--write-build", str(data), str(build), str(quads)]
    usage = run_child(child, work / "write-build.log", args.load_timeout)
    loads["kg store (bulk load + optimize)"] = {
        "wall_s": usage.wall,
        "cpu_s": usage.cpu,
        "peak_mb": usage.peak_mb,
        "disk_mb": disk_mb(build / "store"),
        **usage.out,
    }
    print(f"  kg store: {usage.wall:.1f} s, peak {usage.peak_mb:,.0f} MB", flush=True)
    if triples in args.data_path_sizes:
        out = work / "kg-data-build"
        child = [str(PYTHON), __file__, "--prepare-data", str(data), str(out)]
        usage = run_child(child, work / "prepare-data.log", args.load_timeout)
        loads["kg serve --data (preparation)"] = {
            "wall_s": usage.wall,
            "cpu_s": usage.cpu,
            "peak_mb": usage.peak_mb,
            "disk_mb": disk_mb(out / "store"),
        }
        shutil.rmtree(out, ignore_errors=True)
        print(f"  kg serve --data: {usage.wall:.1f} s, peak {usage.peak_mb:,.0f} MB", flush=True)

    targets: list[Target] = []
    if not args.no_virtuoso:
        targets += serve_virtuoso(triples, quads, data, build, work, args, stack, result)
    server = start_kg("kg", build, work, args, [])
    stack.callback(server.stop)
    targets.insert(0, Target("kg", server.port, "/sparql", server))
    result["startup_s"] = {t.name: t.kg.startup for t in targets if t.kg is not None}

    qs, params = queries(targets[::-1], args.request_timeout)  # Virtuoso first: the quickest here
    result["params"] = params
    print(f"  parameters: {params}", flush=True)
    for t in targets:
        t.note_peak()
    result["memory"]["loaded"] = {t.name: t.memory() for t in targets}
    # Same answers everywhere (row counts); every target warmed up on every query, and each
    # answer's time kept: a cell lasts at least twice as long, so that slow queries finish in it.
    expected: dict[str, int | str] = {}
    single: dict[tuple[str, str], float] = {}
    for q in qs:
        if not q.no_cache:
            continue
        counts = {}
        for t in targets:
            started = time.perf_counter()
            status, body = fetch(t.port, t.path, q.text, args.request_timeout)
            single[t.name, q.name] = time.perf_counter() - started
            counts[t.name] = rows(body) if status == 200 else f"HTTP {status}"
            if status != 200:
                print(f"  {t.name} answers {q.name} with HTTP {status}: {body[:300]!r}", flush=True)
        expected[q.name] = next((c for c in counts.values() if isinstance(c, int)), counts["kg"])
        if len(set(counts.values())) > 1:
            print(f"  WARNING {q.name}: the servers disagree: {counts}", flush=True)
            result.setdefault("disagreements", {})[q.name] = counts

    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            for t in targets:
                t.note_peak()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        for q in qs:
            uncached = q.name.split(" (")[0]
            rows_of = expected.get(q.name, expected.get(uncached))
            if not q.no_cache:  # the answer goes into the response cache first
                for t in targets:
                    if t.cached:
                        with contextlib.closing(Connection(t.port, args.request_timeout)) as conn:
                            conn.request(get_request(t.port, t.path, q.text, False), args.request_timeout)
            for connections in args.connections:
                cell = {"query": q.name, "rows": rows_of, "connections": connections, "by": {}}
                for t in targets:
                    if not q.no_cache and not t.cached:
                        continue  # no response cache: the same as the uncached cell
                    request = get_request(t.port, t.path, q.text, q.no_cache)
                    slow = 2 * single.get((t.name, uncached), 0) if q.no_cache else 0
                    seconds, grace = max(args.seconds, slow), max(args.grace, slow)
                    cell["by"][t.name] = measure(t, request, connections, seconds, grace)
                    if not settle(t, args.settle_timeout):
                        raise RuntimeError(f"{t.name} stays busy after {q.name}")
                result["cells"].append(cell)
                print(
                    f"  {q.name:<22} {connections} conn: "
                    + ", ".join(
                        f"{n} {m['rps']:,.1f}/s {fmt(m['cpu_ms'])} ms CPU" for n, m in cell["by"].items()
                    ),
                    flush=True,
                )
    finally:
        stop.set()
        sampler.join()
    result["memory"]["after"] = {t.name: t.memory() for t in targets}
    result["memory"]["peak"] = {t.name: dict(t.peak) for t in targets}
    result["disk_mb"] = {
        "graph.nq": disk_mb(build / "graph.nq"),
        "kg store": disk_mb(build / "store"),
    }
    return result


# ---------------------------------------------------------------------- tables


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.{digits}f}"


def tables(results: list[dict], query_timeout: float) -> str:
    lines = ["### Load", ""]
    lines += [
        "| triples | how | wall s | CPU s | triples/s | peak RSS MB | on disk MB |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for how, x in r["load"].items():
            cpu = f"{fmt(x['cpu_s'])}" + (
                f" + client {fmt(x['client_cpu_s'])}" if "client_cpu_s" in x else ""
            )
            lines.append(
                f"| {r['triples']:,} | {how} | {fmt(x['wall_s'])} | {cpu} | "
                f"{r['quads'] / x['wall_s']:,.0f} | "
                f"{fmt(x['peak_mb'])} | {fmt(x.get('disk_mb'))} |"
            )
    lines += ["", "### Memory of the serving processes (MB)", ""]
    lines += [
        "| triples | server | kg RSS / PSS loaded | kg RSS / PSS peak | kg RSS / PSS after "
        "| store RSS loaded | store RSS peak | store RSS after | start-up s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        mem = r["memory"]
        for name in mem["loaded"]:
            row = [f"{r['triples']:,}", name]
            for phase in ("loaded", "peak", "after"):
                m = mem[phase][name]
                row.append(f"{fmt(m['kg_rss'])} / {fmt(m['kg_pss'])}" if "kg_rss" in m else "–")
            for phase in ("loaded", "peak", "after"):
                row.append(fmt(mem[phase][name].get("store_rss")))
            row.append(fmt(r["startup_s"].get(name)))
            lines.append("| " + " | ".join(row) + " |")
    for r in results:
        names = list(r["memory"]["loaded"])
        lines += ["", f"### Queries at {r['triples']:,} triples", ""]
        head = "| query | rows | conn | " + " | ".join(
            f"{n} req/s | p50 ms | p95 ms | CPU ms/req" for n in names
        )
        lines += [head + " |", "|---|---:|---:|" + "---:|" * (4 * len(names))]
        for c in r["cells"]:
            parts = []
            for n in names:
                m = c["by"].get(n)
                if m is None:
                    parts.append("– | – | – | –")
                    continue
                notes = [f"{m[k]} {k}" for k in ("errors", "timeouts") if m[k]]
                rate = fmt(m["rps"]) + (f" ({', '.join(notes)})" if notes else "")
                slow = " ⚠" if m["p50_ms"] is not None and m["p50_ms"] > 1000 * 10 else ""
                parts.append(
                    f"{rate} | {fmt(m['p50_ms'])}{slow} | {fmt(m['p95_ms'])} | {fmt(m['cpu_ms'], 2)}"
                )
            lines.append(f"| {c['query']} | {c['rows']} | {c['connections']} | " + " | ".join(parts) + " |")
    lines += ["", "### Per replica: one kg serve (2 HTTP workers), at the most connections", ""]
    lines += [
        "| triples | server | query | req/s | CPU ms/request | of it, engine "
        "| requests/s per core at 100 % CPU |",
        "|---:|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        most = max(c["connections"] for c in r["cells"])
        for c in r["cells"]:
            if c["connections"] != most:
                continue
            for n, m in c["by"].items():
                if not n.startswith("kg") or not m["cpu_ms"]:
                    continue
                lines.append(
                    f"| {r['triples']:,} | {n} | {c['query']} | {fmt(m['rps'])} | {fmt(m['cpu_ms'], 2)} | "
                    f"{fmt(m['engine_ms'], 2)} | {fmt(1000 / m['cpu_ms'])} |"
                )
    lines += [
        "",
        f"⚠: p50 above kg serve's default query time limit of 10 s (this run allowed {query_timeout:g} s).",
    ]
    for r in results:
        if "not_measured" in r:
            lines.append(f"- {r['triples']:,}: not measured: {r['not_measured']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- main


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1000000,10000000", help="Triples, comma-separated (default: %(default)s)."
    )
    parser.add_argument(
        "--seconds", type=float, default=5, help="Length of each measurement (default: %(default)s)."
    )
    parser.add_argument("--connections", default="1,8", help="Concurrent connections (default: %(default)s).")
    parser.add_argument(
        "--grace", type=float, default=15, help="Seconds a request may outlast a measurement."
    )
    parser.add_argument(
        "--query-timeout",
        type=float,
        default=120,
        help="KG_QUERY_TIMEOUT for kg serve (default: %(default)s).",
    )
    parser.add_argument(
        "--data-path-sizes",
        default="1000000",
        help="Sizes at which `kg serve --data`'s preparation is timed too "
        "(default: %(default)s; '' for none).",
    )
    parser.add_argument(
        "--publish-sizes",
        default="1000000",
        help="Sizes at which `kg publish` is timed in full: its count and switch after the bulk load, and "
        "a whole publish over the Graph Store Protocol (default: %(default)s; '' for none).",
    )
    parser.add_argument(
        "--virtuoso-buffers",
        type=int,
        default=170_000,
        help="Virtuoso's NumberOfBuffers, 8 kB each "
        "(default: %(default)s, about 1.3 GB: Virtuoso's advice for 2 GB of RAM).",
    )
    parser.add_argument("--no-virtuoso", action="store_true", help="Measure the embedded store alone.")
    parser.add_argument(
        "--data", type=Path, default=REPO / "build" / "bench", help="Where the N-Quads are kept."
    )
    parser.add_argument(
        "--work", type=Path, default=REPO / "build" / "bench" / "scale", help="Stores and logs."
    )
    parser.add_argument(
        "--json", type=Path, default=REPO / "build" / "bench" / "scale.json", help="Figures as JSON."
    )
    parser.add_argument(
        "--markdown", type=Path, default=REPO / "build" / "bench" / "scale.md", help="The tables."
    )
    parser.add_argument(
        "--report", type=Path, nargs="+", help="Print the tables of earlier runs' JSON files."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the stores and logs under --work.")
    parser.add_argument("--request-timeout", type=float, default=600, help=argparse.SUPPRESS)
    parser.add_argument("--startup-timeout", type=float, default=900, help=argparse.SUPPRESS)
    parser.add_argument("--settle-timeout", type=float, default=300, help=argparse.SUPPRESS)
    parser.add_argument("--load-timeout", type=float, default=3600, help=argparse.SUPPRESS)
    parser.add_argument("--write-build", nargs=3, metavar=("DATA", "OUT", "QUADS"), help=argparse.SUPPRESS)
    parser.add_argument("--prepare-data", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write_build:
        write_build(Path(args.write_build[0]), Path(args.write_build[1]), int(args.write_build[2]))
        return 0
    if args.prepare_data:
        prepare_build(Path(args.prepare_data[0]), Path(args.prepare_data[1]))
        return 0
    if args.report:
        print(tables([r for file in args.report for r in json.loads(file.read_text())], args.query_timeout))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.connections = [int(c) for c in args.connections.split(",")]
    args.data_path_sizes = {int(s) for s in args.data_path_sizes.split(",") if s.strip()}
    args.publish_sizes = {int(s) for s in args.publish_sizes.split(",") if s.strip()}
    args.data.mkdir(parents=True, exist_ok=True)

    signal.signal(signal.SIGTERM, interrupt)
    print(
        f"# Scale, {time.strftime('%Y-%m-%d %H:%M')}: sizes {sizes}, {args.seconds:g} s a cell, "
        f"connections {args.connections}, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results = []
    try:
        for triples in sizes:
            with contextlib.ExitStack() as stack:
                results.append(bench_size(triples, args, stack))
            args.json.write_text(json.dumps(results, indent=1))
            if not args.keep:  # kept when a size fails: its logs tell why
                shutil.rmtree(args.work / str(triples), ignore_errors=True)
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped", file=sys.stderr)
        return 130
    text = tables(results, args.query_timeout)
    args.markdown.write_text(text + "\n")
    print("\n" + text)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}; figures in {args.json} and {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
