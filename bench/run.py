"""Benchmark: this server against the Oxigraph server and rdflib-endpoint, on the same data.

    .venv/bin/python bench/run.py                      # project graph, 100k and 1M triples
    .venv/bin/python bench/run.py --sizes project,100k --seconds 2

For each dataset the three servers load the same N-Quads file (the build's
three named graphs, or a synthetic graph of the same shape from
bench/generate.py), with the union of the named graphs as the default graph.
One Python client (keep-alive HTTP/1.1, one thread per connection) sends the
same GET requests to each for a fixed time, at 1 and 8 connections, and the
table gives requests/s, p50 and p99 latency, and the throughput ratio to
Oxigraph in the same run. The servers take turns on each query and connection
count, so slow drifts on the shared machine fall on all of them alike.

"Uncached" requests carry ``Cache-Control: no-cache``, which makes this server
skip its result cache; the canned query is sent without it, as a client
repeating one of the site's queries would. Every server gets the same bytes.

Memory is the resident set of each server's process group (the server and
every process it started), read from /proc: RSS summed, and PSS, which counts a
page shared by N processes as 1/N of a page in each (the fair total for a
server made of several processes). Servers run in their own process groups and
are killed at the end, also on errors and Ctrl-C. All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from generate import generate

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PEERS = BENCH / ".venv-peers"
# Pinned so that figures from different runs compare; oxigraph matches the project's pyoxigraph 0.5.
PEER_PACKAGES = ["oxigraph==0.5.13", "rdflib-endpoint[cli]==0.6.3"]
KG = REPO / ".venv" / "bin" / "kg"
HOST = "127.0.0.1"
ACCEPT = "application/sparql-results+json"
SERVERS = ("kg", "oxigraph", "rdflib-endpoint")
BASELINE = "oxigraph"

PREFIXES = """\
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX hos: <https://w3id.org/hos-kg/ontology#>
PREFIX schema: <https://schema.org/>
"""

# Picks the IRIs and the word the queries below ask about, so that they hit real data in every dataset.
DISCOVER = (
    PREFIXES
    + """SELECT ?meeting ?person ?personLabel ?country WHERE {
  ?meeting a hos:Meeting ; hos:participant ?person ; hos:date ?date ; hos:location ?city .
  ?city hos:inCountry ?country .
  ?person rdfs:label ?personLabel FILTER(LANG(?personLabel) = "en")
} ORDER BY ?meeting ?person LIMIT 1"""
)

QUERIES = {
    "point-lookup": "SELECT ?p ?o WHERE {{ <{meeting}> ?p ?o }}",
    "label-search": """SELECT ?s ?label WHERE {{
  ?s rdfs:label ?label FILTER(LANG(?label) = "en" && CONTAINS(LCASE(STR(?label)), "{word}"))
}} LIMIT 100""",
    "join": """SELECT ?meeting ?date ?personLabel ?cityLabel WHERE {{
  ?city hos:inCountry <{country}> ; rdfs:label ?cityLabel .
  ?meeting hos:location ?city ; hos:date ?date ; hos:participant ?person .
  ?person rdfs:label ?personLabel .
  FILTER(LANG(?cityLabel) = "en" && LANG(?personLabel) = "en")
}}""",
    "date-range": """SELECT ?meeting ?date WHERE {{
  ?meeting a hos:Meeting ; hos:date ?date
  FILTER(?date >= "2018-01-01"^^xsd:date && ?date < "2019-01-01"^^xsd:date)
}}""",
    "group-count": """SELECT ?country (COUNT(DISTINCT ?meeting) AS ?meetings) WHERE {{
  ?meeting a hos:Meeting ; hos:location ?city . ?city hos:inCountry ?country
}} GROUP BY ?country""",
    "order-limit": """SELECT ?meeting ?date ?label WHERE {{
  ?meeting a hos:Meeting ; hos:date ?date ; rdfs:label ?label FILTER(LANG(?label) = "en")
}} ORDER BY DESC(?date) ?meeting LIMIT 10""",
}
# The site's timeline (queries/timeline.rq with lang=en), one page of it: repeated, so cacheable.
CANNED = (
    "canned-timeline",
    """SELECT ?meeting ?label ?date ?month ?place ?placeLabel ?status ?occasion ?series WHERE {
  ?meeting a hos:Meeting ; rdfs:label ?label ; hos:location ?place ; schema:eventStatus ?status .
  FILTER(LANGMATCHES(LANG(?label), "en"))
  ?place rdfs:label ?placeLabel FILTER(LANGMATCHES(LANG(?placeLabel), "en"))
  OPTIONAL { ?meeting hos:date ?date }
  OPTIONAL { ?meeting hos:month ?month }
  OPTIONAL { ?meeting hos:occasion ?occasion OPTIONAL { ?occasion hos:editionOf ?series } }
  BIND(COALESCE(STR(?date), CONCAT(STR(?month), "-99")) AS ?sortKey)
}
ORDER BY ?sortKey ?meeting
LIMIT 100""",
)


# ---------------------------------------------------------------------- HTTP client


class Connection:
    """One keep-alive HTTP/1.1 connection: just enough protocol for GET and a full response body."""

    def __init__(self, port: int, timeout: float) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")
        self.open = True

    def close(self) -> None:
        self.open = False
        with contextlib.suppress(OSError):
            self.rfile.close()
            self.sock.close()

    def request(self, data: bytes, timeout: float) -> tuple[int, bytes]:
        self.sock.settimeout(max(timeout, 0.001))
        self.sock.sendall(data)
        status_line = self.rfile.readline(65537)
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length, chunked, close = None, False, False
        while (line := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                close = value == b"close"
        if chunked:
            body = self._chunked()
        elif length is not None:
            body = self._exactly(length)
        else:  # no framing: the body runs to the end of the connection
            body, close = self.rfile.read(), True
        if close:
            self.close()
        return status, body

    def _exactly(self, n: int) -> bytes:
        body = self.rfile.read(n)
        if len(body) != n:
            raise ConnectionError("the response body was cut short")
        return body

    def _chunked(self) -> bytes:
        parts = []
        while (size := int(self.rfile.readline(65537).split(b";")[0], 16)) > 0:
            parts.append(self._exactly(size))
            self.rfile.readline(65537)
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return b"".join(parts)


def get_request(port: int, path: str, query: str, no_cache: bool) -> bytes:
    target = f"{path}?{urllib.parse.urlencode({'query': query})}"
    headers = [f"GET {target} HTTP/1.1", f"Host: {HOST}:{port}", f"Accept: {ACCEPT}"]
    if no_cache:
        headers.append("Cache-Control: no-cache")
    return ("\r\n".join(headers) + "\r\n\r\n").encode()


def fetch(port: int, path: str, query: str, timeout: float) -> tuple[int, bytes]:
    conn = Connection(port, timeout)
    try:
        return conn.request(get_request(port, path, query, no_cache=True), timeout)
    finally:
        conn.close()


@dataclass
class Measurement:
    requests: int = 0
    errors: int = 0  # HTTP errors and broken connections
    timeouts: int = 0  # requests abandoned at the end of the grace period
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the successful requests' latencies, in milliseconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def load(port: int, request: bytes, connections: int, seconds: float, grace: float) -> Measurement:
    """Send ``request`` back to back on each connection for ``seconds``; latencies of the 200s.

    No request starts after ``seconds``; one still running ``grace`` seconds
    later is abandoned and counted as timed out, so a slow server cannot stretch
    the run without bound. The rate divides by the time until the last answer.
    """
    result = Measurement()
    lock = threading.Lock()
    start = time.perf_counter()
    stop, hard_stop = start + seconds, start + seconds + grace

    def worker() -> None:
        conn: Connection | None = None
        done, errors, timeouts, latencies = 0, 0, 0, []
        while (t0 := time.perf_counter()) < stop:
            try:
                if conn is None or not conn.open:
                    conn = Connection(port, hard_stop - t0)
                status, _ = conn.request(request, hard_stop - t0)
            except TimeoutError:
                timeouts += 1
                break
            except (OSError, ValueError, IndexError):
                errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)  # do not spin on a refused connection
                continue
            if status == 200:
                done += 1
                latencies.append(time.perf_counter() - t0)
            else:
                errors += 1
        if conn is not None:
            conn.close()
        with lock:
            result.requests += done
            result.errors += errors
            result.timeouts += timeouts
            result.latencies += latencies

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - start
    return result


# ---------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def group_memory(pgid: int) -> tuple[float, float]:
    """(RSS, PSS) in MB summed over the processes of one process group."""
    rss = pss = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            # Fields after the command name, which may hold spaces: state, ppid, pgrp, ...
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for line in Path(entry.path, "smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except (OSError, IndexError, ValueError):  # the process ended meanwhile
            continue
    return rss / 1024, pss / 1024


@dataclass
class Server:
    name: str
    port: int
    path: str  # where the SPARQL endpoint answers
    proc: subprocess.Popen
    log: Path
    startup: float = 0.0  # seconds from start (and load, for Oxigraph) to the first answer
    loaded: tuple[float, float] = (0.0, 0.0)  # (RSS, PSS) once ready
    peak: tuple[float, float] = (0.0, 0.0)  # the highest seen while measured
    alive: bool = True

    def memory(self) -> tuple[float, float]:
        return group_memory(self.proc.pid)

    def note_memory(self) -> None:
        rss, pss = self.memory()
        self.peak = (max(self.peak[0], rss), max(self.peak[1], pss))

    def stop(self) -> None:
        # Our own process group only (started with start_new_session): the server and its children.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError):  # whatever did not stop by itself
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


def spawn(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )


def start_server(name: str, data: Path, work: Path, timeout: float) -> Server:
    """Start one server on a free port and wait until it answers a query."""
    port, log = free_port(), work / f"{name}.log"
    started = time.perf_counter()
    if name == "kg":
        tmp = work / "kg-tmp"  # kg serve --data writes its store under TMPDIR: keep it in the work folder
        tmp.mkdir(exist_ok=True)
        # The peers' default graph is the union of all graphs, and none of them validates: the same here.
        cmd = [str(KG), "serve", "--data", str(data), "--no-validate", "--union-default-graph"]
        cmd += ["--host", HOST, "--port", str(port)]
        proc, path = spawn(cmd, log, {**os.environ, "TMPDIR": str(tmp)}), "/sparql"
    elif name == "oxigraph":
        store = work / "oxigraph-store"
        shutil.rmtree(store, ignore_errors=True)
        oxigraph = str(PEERS / "bin" / "oxigraph")
        # Loaded and then compacted, as `kg serve --data` does with its own store (Store.optimize).
        for step in (["load", "--file", str(data)], ["optimize"]):
            with log.open("ab") as out:
                subprocess.run(
                    [oxigraph, step[0], "--location", str(store), *step[1:]],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=True,
                    timeout=timeout,
                )
        cmd = [oxigraph, "serve-read-only", "--location", str(store)]
        proc, path = spawn([*cmd, "--bind", f"{HOST}:{port}", "--union-default-graph"], log), "/query"
    else:
        # Its CLI loads files into an rdflib Dataset(default_union=True): named graphs kept, union default.
        cmd = [
            str(PEERS / "bin" / "rdflib-endpoint"),
            "serve",
            str(data),
            "--host",
            HOST,
            "--port",
            str(port),
        ]
        proc, path = spawn(cmd, log), "/"
    server = Server(name, port, path, proc, log)
    try:
        wait_ready(server, started + timeout)
    except BaseException:  # also Ctrl-C: a half-started server must not outlive the run
        server.stop()
        raise
    server.startup = time.perf_counter() - started
    time.sleep(1)  # let start-up work (worker processes, page cache) settle before reading memory
    server.loaded = server.peak = server.memory()
    return server


def wait_ready(server: Server, deadline: float) -> None:
    while True:
        if server.proc.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(
                f"{server.name} exited with code {server.proc.returncode} while starting:\n{tail}"
            )
        with contextlib.suppress(OSError, ValueError, IndexError):
            status = fetch(server.port, server.path, "ASK { ?s ?p ?o }", 5)[0]
            if status == 200:
                return
            if 400 <= status < 500:  # a wrong path or request: waiting will not help
                raise RuntimeError(f"{server.name} answers HTTP {status} at {server.path}; see {server.log}")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{server.name} did not answer in time; see {server.log}")
        time.sleep(0.2)


def settle(server: Server, timeout: float) -> bool:
    """Wait until the server answers at once again (abandoned slow requests may still be running)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with contextlib.suppress(OSError, ValueError, IndexError):
            if fetch(server.port, server.path, "ASK { ?s ?p ?o }", deadline - time.perf_counter())[0] == 200:
                return True
        time.sleep(0.5)
    return False


def ensure_peers() -> None:
    if (PEERS / "bin" / "oxigraph").exists() and (PEERS / "bin" / "rdflib-endpoint").exists():
        return
    print(f"Installing {', '.join(PEER_PACKAGES)} into {PEERS} (once) ...", flush=True)
    subprocess.run(["python3", "-m", "venv", str(PEERS)], check=True)
    pip = [str(PEERS / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *PEER_PACKAGES], check=True)


def package_versions(python: Path, packages: list[str]) -> list[str]:
    script = f"import importlib.metadata as m; print(*(m.version(p) for p in {packages!r}))"
    return subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()


def revision() -> str:
    """The commit the measured server code is at, and whether src/ differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
        diff = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "src"], cwd=REPO)
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" with uncommitted changes in src/" if diff.returncode else "")


def versions() -> str:
    pyoxigraph, gunicorn = package_versions(REPO / ".venv" / "bin" / "python", ["pyoxigraph", "gunicorn"])
    ox, endpoint, rdflib = package_versions(
        PEERS / "bin" / "python", ["oxigraph", "rdflib-endpoint", "rdflib"]
    )
    return (
        f"kg serve (pyoxigraph {pyoxigraph}, gunicorn {gunicorn}); Oxigraph server {ox}; "
        f"rdflib-endpoint {endpoint} (rdflib {rdflib})"
    )


# ---------------------------------------------------------------------- the run


@dataclass
class Dataset:
    name: str
    file: Path
    quads: int


def datasets(sizes: list[str], work: Path) -> Iterator[Dataset]:
    build = REPO / "build" / "graph.nq"
    if not build.is_file():
        print("build/graph.nq is missing: running `kg build` ...", flush=True)
        subprocess.run([str(KG), "build"], check=True, cwd=REPO)
    for size in sizes:
        if size == "project":
            yield Dataset("project", build, sum(1 for _ in build.open("rb")))
            continue
        triples = parse_size(size)
        file = work / f"synthetic-{size}.nq"
        with file.open("w", encoding="utf-8") as out:
            quads = generate(out, triples, seed=1, ontology_from=build)
        yield Dataset(f"synthetic {size}", file, quads)


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+)([km]?)", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: a size is 'project' or a number like 100k or 1m")
    return int(match[1]) * {"": 1, "k": 1_000, "m": 1_000_000}[match[2]]


def rows(body: bytes) -> int:
    doc = json.loads(body)
    return len(doc["results"]["bindings"]) if "results" in doc else int(doc.get("boolean", False))


@dataclass
class Cell:
    query: str
    connections: int
    by_server: dict[str, Measurement]


def bench_dataset(ds: Dataset, names: list[str], args: argparse.Namespace, work: Path) -> dict:
    print(f"\n## {ds.name}: {ds.file} ({ds.quads:,} quads)\n", flush=True)
    servers: dict[str, Server] = {}
    stop_sampling = threading.Event()
    try:
        for name in names:  # one at a time, so start-up times and memory are not disturbed
            print(f"starting {name} ...", flush=True)
            try:
                servers[name] = start_server(name, ds.file, work, args.startup_timeout)
            except (RuntimeError, subprocess.SubprocessError) as exc:
                if name == BASELINE:
                    raise
                print(f"  FAILED, left out of this dataset: {exc}", flush=True)
                continue
            print(f"  ready in {servers[name].startup:.1f} s", flush=True)

        base = servers[BASELINE]
        _, body = fetch(base.port, base.path, DISCOVER, args.request_timeout)
        found = json.loads(body)["results"]["bindings"][0]
        params = {k: found[k]["value"] for k in ("meeting", "person", "country")}
        params["word"] = found["personLabel"]["value"].split()[-1].lower()
        queries = [(name, PREFIXES + text.format(**params), True) for name, text in QUERIES.items()]
        queries.append((CANNED[0], PREFIXES + CANNED[1], False))
        print(f"parameters: {params}", flush=True)

        # Same answers everywhere (row counts), and every server warmed up on every query.
        expected: dict[str, int] = {}
        for qname, text, _ in queries:
            counts = {}
            for name, server in servers.items():
                status, body = fetch(server.port, server.path, text, args.request_timeout)
                counts[name] = rows(body) if status == 200 else f"HTTP {status}"
            expected[qname] = counts[BASELINE]
            if len(set(counts.values())) > 1:
                print(f"  WARNING {qname}: the servers disagree on the answer: {counts}", flush=True)

        def sample() -> None:
            while not stop_sampling.wait(1.0):
                for server in servers.values():
                    server.note_memory()

        threading.Thread(target=sample, daemon=True).start()
        cells = []
        for qname, text, no_cache in queries:
            for connections in args.connections:
                cell = Cell(qname, connections, {})
                for name, server in servers.items():
                    if not server.alive:
                        continue
                    single = cells[-1].by_server.get(name) if cells and cells[-1].query == qname else None
                    if single is not None and single.requests == 0:
                        # Not one answer in time on one connection: more would only queue up behind it.
                        print(f"  {name}: {qname} at {connections} conn skipped (too slow at 1)", flush=True)
                        continue
                    request = get_request(server.port, server.path, text, no_cache)
                    cell.by_server[name] = load(server.port, request, connections, args.seconds, args.grace)
                    if not settle(server, args.settle_timeout):
                        print(f"  {name} stays busy after {qname}: left out from here on", flush=True)
                        server.alive = False
                m = cell.by_server
                print(
                    f"  {qname:<16} {connections} conn: "
                    + ", ".join(f"{n} {rate(x)}/s" for n, x in m.items()),
                    flush=True,
                )
                cells.append(cell)
        stop_sampling.set()
        for server in servers.values():
            server.note_memory()
    finally:
        stop_sampling.set()
        for server in servers.values():
            server.stop()

    print_tables(ds, servers, cells, expected)
    return {
        "dataset": ds.name,
        "quads": ds.quads,
        "servers": {
            n: {"startup_s": s.startup, "loaded_mb": s.loaded, "peak_mb": s.peak} for n, s in servers.items()
        },
        "cells": [
            {
                "query": c.query,
                "connections": c.connections,
                "rows": expected[c.query],
                **{
                    n: {
                        "rps": m.rate,
                        "p50_ms": finite(m.percentile(50)),
                        "p99_ms": finite(m.percentile(99)),
                        "errors": m.errors,
                        "timeouts": m.timeouts,
                    }
                    for n, m in c.by_server.items()
                },
            }
            for c in cells
        ],
    }


def finite(value: float) -> float | None:
    return None if math.isnan(value) else value  # JSON has no NaN


def rate(m: Measurement) -> str:
    return f"{m.rate:,.0f}" if m.rate >= 10 else f"{m.rate:.1f}"


def ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f}"


def ratio(cell: Cell, name: str) -> float:
    base = cell.by_server.get(BASELINE)
    mine = cell.by_server.get(name)
    return mine.rate / base.rate if base and mine and base.rate else math.nan


def print_tables(
    ds: Dataset, servers: dict[str, Server], cells: list[Cell], expected: dict[str, int]
) -> None:
    print(f"\n### {ds.name} ({ds.quads:,} quads)\n")
    print("| server | start-up s | RSS loaded MB | PSS loaded MB | RSS peak MB | PSS peak MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in servers.values():
        print(
            f"| {s.name} | {s.startup:.1f} | {s.loaded[0]:,.0f} | {s.loaded[1]:,.0f} | "
            f"{s.peak[0]:,.0f} | {s.peak[1]:,.0f} |"
        )
    names = list(servers)
    head = "| query | rows | conn | " + " | ".join(
        f"{n} req/s | p50 ms | p99 ms" + ("" if n == BASELINE else " | ×ox") for n in names
    )
    print("\n" + head + " |")
    print("|---|---:|---:|" + "---:|" * (3 * len(names) + len(names) - 1))
    for c in cells:
        parts = []
        for n in names:
            m = c.by_server.get(n)
            if m is None:
                parts.append("– | – | –" + ("" if n == BASELINE else " | –"))
                continue
            notes = [f"{k} {label}" for k, label in ((m.errors, "errors"), (m.timeouts, "timed out")) if k]
            notes_text = f" ({', '.join(notes)})" if notes else ""
            text = f"{rate(m)}{notes_text} | {ms(m.percentile(50))} | {ms(m.percentile(99))}"
            parts.append(text + ("" if n == BASELINE else f" | {ratio(c, n):.2f}"))
        print(f"| {c.query} | {expected[c.query]} | {c.connections} | " + " | ".join(parts) + " |")
    print(flush=True)


def check_targets(results: list[dict]) -> None:
    """The issue's targets, as ratios to Oxigraph in this run; reported, not asserted."""
    print("\n## Targets (this server / Oxigraph, same run)\n")
    by_name = {r["dataset"]: r for r in results}

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else "PASS" if ok else "FAIL"

    def ratios(r: dict, canned: bool) -> list[float]:
        out = []
        for c in r["cells"]:
            if (c["query"] == CANNED[0]) == canned and "kg" in c and c[BASELINE]["rps"]:
                out.append(c["kg"]["rps"] / c[BASELINE]["rps"])
        return out

    r = by_name.get("synthetic 100k")
    if r and (xs := ratios(r, canned=False)):
        geo = statistics.geometric_mean([max(x, 1e-9) for x in xs])
        below = sum(x < 0.5 for x in xs)
        print(
            f"- [{verdict(geo >= 0.5)}] uncached queries at 100k: ≥ 0.5× throughput: geometric mean "
            f"{geo:.2f}× over {len(xs)} query × connection cells (min {min(xs):.2f}×, max {max(xs):.2f}×; "
            f"{below} cells below 0.5×)"
        )
    else:
        print(f"- [{verdict(None)}] uncached queries at 100k: not measured (needs --sizes 100k with kg)")
    for name, r in by_name.items():
        xs = ratios(r, canned=True)
        if xs:
            shown = ", ".join(f"{x:.2f}×" for x in xs)
            print(f"- [{verdict(min(xs) >= 1)}] repeated canned query, {name}: ≥ 1× throughput: {shown}")
    r = by_name.get("synthetic 1m")
    if r and "kg" in r["servers"]:
        ours, base = r["servers"]["kg"]["peak_mb"], r["servers"][BASELINE]["peak_mb"]
        print(
            f"- [{verdict(ours[1] <= 2 * base[1])}] memory at 1M: ≤ 2× Oxigraph: peak PSS "
            f"{ours[1]:,.0f} MB vs {base[1]:,.0f} MB = {ours[1] / base[1]:.2f}× "
            f"(peak RSS {ours[0]:,.0f} vs {base[0]:,.0f} MB = {ours[0] / base[0]:.2f}×)"
        )
    else:
        print(f"- [{verdict(None)}] memory at 1M: not measured (needs --sizes 1m with kg)")


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="project,100k,1m",
        help="Datasets, comma-separated: 'project' (build/graph.nq) and synthetic sizes like 100k, 1m "
        "(default: %(default)s).",
    )
    parser.add_argument("--seconds", type=float, default=5, help="Duration of each measurement (default: 5).")
    parser.add_argument(
        "--connections", default="1,8", help="Concurrent connections, comma-separated (default: 1,8)."
    )
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"Servers to compare; {BASELINE} is always included (default: %(default)s).",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=10,
        help="Seconds a request may outlast a measurement (default: %(default)s).",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=120,
        help="For the one-off checking requests (default: %(default)s).",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=900,
        help="Seconds a server may take to load (default: %(default)s).",
    )
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=300,
        help="Seconds to wait for a busy server (default: %(default)s).",
    )
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    parser.add_argument(
        "--keep", action="store_true", help="Keep the work folder (data, stores, server logs)."
    )
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    try:
        for s in sizes:
            if s != "project":
                parse_size(s)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    args.connections = [int(c) for c in args.connections.split(",")]
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    if unknown := set(names) - set(SERVERS):
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    names = [BASELINE, *(n for n in SERVERS if n in names and n != BASELINE)]

    ensure_peers()
    # SIGTERM (e.g. from a CI time limit) unwinds like Ctrl-C, so the servers are stopped.
    signal.signal(signal.SIGTERM, interrupt)
    work = Path(tempfile.mkdtemp(prefix="kg-bench-"))
    print(f"# Benchmark, {time.strftime('%Y-%m-%d %H:%M')}\n")
    cpu = platform.processor() or platform.machine()
    print(f"- machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(f"- servers: {versions()}")
    print(f"- this server's code: commit {revision()}")
    print(f"- {args.seconds:g} s per measurement; connections {args.connections}; work folder {work}")
    results = []
    try:
        for ds in datasets(sizes, work):
            results.append(bench_dataset(ds, names, args, work))
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped", file=sys.stderr)
        return 130
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    check_targets(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
