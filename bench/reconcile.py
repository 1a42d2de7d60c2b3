"""Benchmark: the reconciliation service (/reconcile) beside one SPARQL search per name.

    .venv/bin/python bench/reconcile.py [--seconds 5]       # about 45 s

Starts `kg serve` as it is on a free port on build/, a records build (`kg build` runs first if
build/manifest.json is missing), takes the English labels of the hos:HeadOfState people and
measures, each for --seconds on one keep-alive connection, one request after another as
OpenRefine sends them: (1) POST /reconcile batches of 10 names, a new batch each time (POSTs are
never response-cached; matching is plain Python over the index, memoizing nothing); (2) the
same names as one GET /sparql each of the site's search query (queries/internal/search.rq, the
name bound) with Cache-Control: no-cache; (3) suggest/entity, a new prefix each time with
no-cache, then one URL from the response cache; (4) extend, 10 ids × iri, wikidata, country;
and first of all (5) the first batch each HTTP worker serves, which builds its index.

Server CPU (user + system) is summed over the server's process group from /proc before and after
each case (http_front.group_cpu; "of it, queries": the query processes), over the requests. The
client shares the two cores: req/s compare within one run only. p50: one HTTP request's latency.
The server runs in its own process group and is stopped at the end, on errors, Ctrl-C, SIGTERM.
See bench/README.md, "Reconciliation service".
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from http_front import TICK, group_cpu, start_kg
from run import HOST, KG, PREFIXES, REPO, Connection, Measurement, fetch, get_request, interrupt

BUILD = REPO / "build"
BATCH = 10
POOL = PREFIXES + (
    """SELECT ?person ?name (SAMPLE(?countryName) AS ?country) WHERE {
  ?person a hos:HeadOfState ; rdfs:label ?name FILTER(LANG(?name) = "en")
  OPTIONAL { ?person (hos:holdsOffice|hos:heldTitle)/hos:ofCountry/rdfs:label ?countryName
             FILTER(LANG(?countryName) = "en") }
} GROUP BY ?person ?name ORDER BY ?person"""
)
EXTEND_PROPERTIES = [{"id": "iri"}, {"id": "wikidata"}, {"id": "country"}]


def search_query(name: str) -> str:
    """queries/internal/search.rq with ?_text bound to ``name`` and ?_lang to "en", as text."""
    text = (REPO / "queries" / "internal" / "search.rq").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#+"))
    head, where = body.split("WHERE {", 1)
    where = where.replace("?_text", json.dumps(name)).replace("?_lang", '"en"')
    return head.replace(" ?_text ?_lang", "") + "WHERE {" + where


def raw(port: int, target: str, form: dict[str, str] | None = None, no_cache: bool = False) -> bytes:
    """A GET of ``target``, or a POST of ``form`` to it, as the bytes of an HTTP/1.1 request."""
    body = urllib.parse.urlencode(form).encode() if form is not None else b""
    head = f"{'GET' if form is None else 'POST'} {target} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
    head += "Accept: application/json\r\n" + ("Cache-Control: no-cache\r\n" if no_cache else "")
    if form is not None:
        head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


def http_workers(pgid: int) -> dict[int, float]:
    """CPU seconds of each HTTP worker: the group's processes but its leader (gunicorn's master)
    and the query processes (``python -m kg.workers``)."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == pgid:
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):  # it ended meanwhile
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and b"kg.workers" not in Path(entry.path, "cmdline").read_bytes():
                out[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def row(case: str, m: Measurement, cpu: tuple[float, float], items: int) -> dict:
    """One line of the table; ``items``: names or ids per request (0: not counted)."""
    n, rps = max(m.requests, 1), m.rate
    cpu_ms, query_ms, p50 = 1000 * cpu[0] / n, 1000 * cpu[1] / n, m.percentile(50)
    item_ms = cpu_ms / items if items else None
    out = {"case": case, "requests": m.requests, "errors": m.errors, "rps": rps, "cpu_ms": cpu_ms}
    return out | {"query_ms": query_ms, "item_ms": item_ms, "p50_ms": p50}


def drive(port: int, pgid: int, requests: list[bytes], seconds: float, warm: int = 0) -> tuple:
    """Send ``requests`` in turn on one keep-alive connection for ``seconds``, after ``warm`` of
    them unmeasured: the Measurement and the group's (CPU, query processes' CPU) seconds."""
    conn, m = Connection(port, 60), Measurement()
    for request in requests[:warm]:
        conn.request(request, 60)
    before, start, i = group_cpu(pgid), time.perf_counter(), 0
    while (t0 := time.perf_counter()) < start + seconds:
        try:
            if not conn.open:
                conn = Connection(port, 60)
            status, _ = conn.request(requests[i % len(requests)], 60)
        except OSError:
            status = 0
            conn.close()
        i += 1
        if status == 200:
            m.requests += 1
            m.latencies.append(time.perf_counter() - t0)
        else:
            m.errors += 1
    m.seconds = time.perf_counter() - start
    after = group_cpu(pgid)
    conn.close()
    return m, (after[0] - before[0], after[1] - before[1])


def first_batches(port: int, pgid: int, batches: list[bytes]) -> list[dict]:
    """The first batch each HTTP worker serves (its index build), each on a new connection."""
    out, served, workers = [], set(), len(http_workers(pgid))
    for batch in batches[:40]:  # the connections land on the workers as the kernel hands them out
        before, cpu0, t0 = http_workers(pgid), group_cpu(pgid), time.perf_counter()
        conn = Connection(port, 120)
        status, _ = conn.request(batch, 120)
        m = Measurement(int(status == 200), int(status != 200), seconds=time.perf_counter() - t0)
        m.latencies.append(m.seconds)
        conn.close()
        after, cpu1 = http_workers(pgid), group_cpu(pgid)
        pid = max(after, key=lambda p: after[p] - before.get(p, after[p]))
        if pid not in served:
            served.add(pid)
            case = f"first batch in HTTP worker {len(served)} (index build)"
            out.append(row(case, m, (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]), 0) | {"rps": None})
        if len(served) == workers:
            break
    return out


def answers(port: int, target: str, times: int = 1) -> list[http.client.HTTPResponse]:
    """GET ``target`` ``times`` on one connection (so one HTTP worker), bodies read."""
    conn, out = http.client.HTTPConnection(HOST, port, timeout=60), []
    for _ in range(times):
        conn.request("GET", target)
        out.append(response := conn.getresponse())
        response.body = response.read()
    conn.close()
    return out


def pool(port: int) -> list[dict]:
    """The heads of state: id (their IRI less the manifest's identifierSpace), name, country."""
    space = json.loads(answers(port, "/reconcile")[0].body)["identifierSpace"]
    status, body = fetch(port, "/sparql", POOL, 60)
    if status != 200:
        raise RuntimeError(f"the names query answered HTTP {status}: {body[:300]!r}")
    return [
        {"id": r["person"]["value"].removeprefix(space), "name": r["name"]["value"]}
        | {"country": r.get("country", {}).get("value")}
        for r in json.loads(body)["results"]["bindings"]
    ]


def bench(server, seconds: float) -> list[dict]:
    port, pgid = server.port, server.proc.pid
    people, rng = pool(port), random.Random(1)
    samples = [rng.sample(people, BATCH) for _ in range(60)]
    print(f"{len(people)} heads of state, {sum(bool(p['country']) for p in people)} with a country")

    def batch(names: list[dict], n: int) -> dict:
        out = {}
        for j, p in enumerate(names):
            query = {"query": p["name"], "type": "Person", "type_strict": "should"}
            if p["country"] and j % 3 == 0:
                query["properties"] = [{"pid": "country", "v": p["country"]}]
            out[f"b{n}q{j}"] = query
        return out

    batches = [raw(port, "/reconcile", {"queries": json.dumps(batch(s, n))}) for n, s in enumerate(samples)]
    rows = first_batches(port, pgid, batches)

    # A check, not a measurement: how many names the service matched to the person they came from.
    conn = Connection(port, 60)
    got = [json.loads(conn.request(b, 60)[1]) for b in batches[:10]]
    conn.close()
    right = sum(
        (r := a[f"b{n}q{j}"]["result"]) != [] and r[0]["id"] == p["id"] and r[0]["match"]
        for n, (a, s) in enumerate(zip(got, samples[:10], strict=True))
        for j, p in enumerate(s)
    )
    print(f"check: {right} of {BATCH * len(got)} names matched (match: true) to their own id", flush=True)

    m, cpu = drive(port, pgid, batches, seconds)
    rows.append(row(f"reconcile: batch of {BATCH} names (POST)", m, cpu, BATCH))
    names = [p["name"] for s in samples for p in s]
    searches = [get_request(port, "/sparql", search_query(n), no_cache=True) for n in names]
    m, cpu = drive(port, pgid, searches, seconds)
    rows.append(row("SPARQL search.rq, 1 name per request (no-cache)", m, cpu, 1))

    prefixes = list(dict.fromkeys(p["name"].split()[0][:k] for p in people for k in (3, 4, 5)))
    targets = [f"/reconcile/suggest/entity?{urllib.parse.urlencode({'prefix': x})}" for x in prefixes]
    seen = [r.getheader("X-Cache") for r in answers(port, targets[0], 2)]
    print(f"suggest: X-Cache {seen} for the same {targets[0]} twice", flush=True)
    m, cpu = drive(port, pgid, [raw(port, t, no_cache=True) for t in targets], seconds)
    rows.append(row("suggest/entity, a new prefix each (no-cache)", m, cpu, 0))
    m, cpu = drive(port, pgid, [raw(port, targets[0])], seconds, warm=1)
    rows.append(row("suggest/entity, repeated (response cache)", m, cpu, 0))

    asked = [{"ids": [p["id"] for p in s], "properties": EXTEND_PROPERTIES} for s in samples]
    extends = [raw(port, "/reconcile", {"extend": json.dumps(a)}) for a in asked]
    m, cpu = drive(port, pgid, extends, seconds)
    rows.append(row(f"extend: {BATCH} ids × iri, wikidata, country (POST)", m, cpu, BATCH))
    return rows


def table(rows: list[dict]) -> None:
    print("\n| case | requests | req/s | CPU ms/request | of it, queries | CPU ms/name (id) | p50 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        rps = "–" if r["rps"] is None else f"{r['rps']:,.1f}"
        item = "–" if r["item_ms"] is None else f"{r['item_ms']:.2f}"
        errors = f" ({r['errors']} errors)" if r["errors"] else ""
        print(
            f"| {r['case']} | {r['requests']:,}{errors} | {rps} | {r['cpu_ms']:,.1f} | {r['query_ms']:,.1f} "
            f"| {item} | {r['p50_ms']:,.1f} |"
        )
    ours = next(r for r in rows if r["case"].startswith("reconcile"))
    sparql = next(r for r in rows if r["case"].startswith("SPARQL"))
    if ours["item_ms"] and sparql["item_ms"]:
        batch, singly = BATCH * ours["item_ms"], BATCH * sparql["item_ms"]
        print(f"\n{BATCH} names, server CPU: {batch:.0f} ms in one reconcile batch, ", end="")
        print(f"{singly:.0f} ms as {BATCH} SPARQL searches ({singly / batch:.0f}×).")
    for first in (r for r in rows if r["case"].startswith("first")):
        print(f"{first['case']}: {first['cpu_ms'] - ours['cpu_ms']:.0f} ms of CPU more than a later batch.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="Length of each case (default: 5).")
    args = parser.parse_args(argv)
    if not (BUILD / "manifest.json").is_file():
        print("build/manifest.json is missing: running `kg build` (about a minute) ...", flush=True)
        subprocess.run([str(KG), "build"], check=True, cwd=REPO)
    manifest = json.loads((BUILD / "manifest.json").read_text())
    if "hsg" not in manifest.get("sources", {}):
        parser.error("build/ is not a records build (no hsg sources in its manifest): run `kg build`")
    print(f"# Reconciliation service, {time.strftime('%Y-%m-%d %H:%M')}: {os.cpu_count()} cores, ", end="")
    print(f"Python {platform.python_version()}, load average {Path('/proc/loadavg').read_text().split()[:3]}")
    print(f"build: {manifest['counts']['total']:,} triples; {args.seconds:g} s per case\n", flush=True)
    signal.signal(signal.SIGTERM, interrupt)  # unwinds like Ctrl-C, so the server is stopped
    work = Path(tempfile.mkdtemp(prefix="kg-bench-reconcile-"))
    server = None
    try:
        server = start_kg("default", BUILD, work, 180)
        print(f"kg serve ready in {server.startup:.1f} s", flush=True)
        rows = bench(server, args.seconds)
    except KeyboardInterrupt:
        print("\ninterrupted: server stopped", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    table(rows)
    print(f"\nload average at the end: {Path('/proc/loadavg').read_text().split()[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
