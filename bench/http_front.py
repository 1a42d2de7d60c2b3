"""The HTTP front: server CPU per request and requests/s, this server beside the Oxigraph server.

    .venv/bin/python bench/http_front.py                       # kg serve as it is, and Oxigraph
    .venv/bin/python bench/http_front.py --fronts bounded,gthread,gevent,granian --requests 3000

Two requests, both `point-lookup` from bench/run.py on the synthetic 100k graph:

* ``cached``: sent without ``Cache-Control``, so this server answers it from its response cache
  (the Oxigraph server has no cache and evaluates it every time);
* ``uncached``: with ``Cache-Control: no-cache``, so this server evaluates it again in a query
  process.

Each cell sends a fixed number of requests over 1 or 8 keep-alive connections and reads the
CPU time (user + system) of every process of the server's process group from /proc before
and after: CPU per request is the difference over the count. The client runs on the same
cores, so requests/s is for comparison within one run only.

Fronts for this server (``--fronts``), each the whole `kg serve` process model (a master, two
HTTP workers, two shared query processes) unless said otherwise:

* ``default``: `kg serve` as it is now;
* ``bounded``, ``gthread``, ``gevent``: `kg.serve.serve()` with that gunicorn worker class
  (``bounded`` is kg.serve's own worker, ``gthread`` gunicorn's threaded one);
* ``granian``: granian's WSGI interface, 2 workers × 8 threads, each worker with its own
  query processes (granian has no master hook to start them once).

All traffic goes to 127.0.0.1; every server runs in its own process group and is killed at
the end, on errors and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from generate import generate
from run import (
    BASELINE,
    DISCOVER,
    HOST,
    KG,
    PREFIXES,
    QUERIES,
    REPO,
    Connection,
    Server,
    ensure_peers,
    fetch,
    free_port,
    get_request,
    spawn,
    start_server,
    wait_ready,
)

TICK = os.sysconf("SC_CLK_TCK")
PYTHON = REPO / ".venv" / "bin" / "python"
FRONTS = ("default", "bounded", "gthread", "gevent", "granian")


def group_cpu(pgid: int) -> tuple[float, float]:
    """CPU seconds (user + system) of the live processes of one process group: all of them, and
    the query processes' share (the supervisor and its children run ``python -m kg.workers``)."""
    total = query = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            ticks = int(fields[11]) + int(fields[12])
            total += ticks
            if b"kg.workers" in Path(entry.path, "cmdline").read_bytes():
                query += ticks
        except (OSError, IndexError, ValueError):  # it ended meanwhile
            continue
    return total / TICK, query / TICK


def send_count(port: int, request: bytes, connections: int, count: int, timeout: float) -> tuple[int, float]:
    """``count`` requests over ``connections`` keep-alive connections: (200 answers, seconds)."""
    ok = [0] * connections
    per = [count // connections + (i < count % connections) for i in range(connections)]

    def worker(i: int) -> None:
        conn = Connection(port, timeout)
        try:
            for _ in range(per[i]):
                if not conn.open:
                    conn = Connection(port, timeout)
                status, _ = conn.request(request, timeout)
                ok[i] += status == 200
        except OSError:
            pass
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(ok), time.perf_counter() - start


# ---------------------------------------------------------------------- starting this server


def launcher(front: str, port: int, build: Path) -> list[str]:
    """The command that runs this server with ``front`` on ``port``, serving ``build``."""
    if front == "default":
        return [str(KG), "serve", "--host", HOST, "--port", str(port)]
    return [str(PYTHON), str(Path(__file__)), "--serve", front, "--port", str(port)]


def serve_front(front: str, port: int) -> None:
    """Run in the launched process: this server with one of the fronts (KG_BUILD_DIR is set)."""
    from kg.config import Settings

    settings = Settings.from_env()
    if front == "granian":
        from granian.constants import Interfaces
        from granian.server import Server as Granian

        Granian(
            "kg.web:create_app",
            address=HOST,
            port=port,
            interface=Interfaces.WSGI,
            workers=2,
            blocking_threads=8,
            factory=True,
            log_enabled=False,
        ).serve()
        return
    import kg.serve

    if front != "bounded":
        original = kg.serve._options

        def options(*args):
            worker = {"gthread": "gthread", "gevent": "gevent"}[front]
            return {**original(*args), "worker_class": worker, "worker_connections": 1000}

        kg.serve._options = options
    kg.serve.serve(settings, HOST, port)


def start_kg(front: str, build: Path, work: Path, timeout: float) -> Server:
    port, log = free_port(), work / f"kg-{front}.log"
    started = time.perf_counter()
    proc = spawn(launcher(front, port, build), log, {**os.environ, "KG_BUILD_DIR": str(build)})
    server = Server(f"kg {front}", port, "/sparql", proc, log)
    try:
        wait_ready(server, started + timeout)
    except BaseException:
        server.stop()
        raise
    server.startup = time.perf_counter() - started
    return server


def prepare_build(data: Path, out: Path) -> None:
    """The build `kg serve --data --no-validate --union-default-graph` would make, once for every front."""

    from kg.config import Settings
    from kg.pipeline import build
    from kg.serve import foreign

    build(foreign(Settings.from_env(), [data], out, validate=False, union=True))


# ---------------------------------------------------------------------- the run


def measure(server: Server, request: bytes, connections: int, count: int) -> dict:
    send_count(server.port, request, connections, min(200, count), 30)  # warm: caches, threads
    before = group_cpu(server.proc.pid)
    ok, seconds = send_count(server.port, request, connections, count, 30)
    after = group_cpu(server.proc.pid)
    per = 1e6 / max(ok, 1)
    return {
        "ok": ok,
        "rps": ok / seconds,
        "cpu_us": per * (after[0] - before[0]),
        "query_cpu_us": per * (after[1] - before[1]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fronts", default="default", help="Fronts of this server, comma-separated.")
    parser.add_argument("--triples", default=100_000, type=int, help="Synthetic graph size.")
    parser.add_argument("--requests", default=4000, type=int, help="Requests per cell.")
    parser.add_argument("--connections", default="1,8", help="Connections, comma-separated.")
    parser.add_argument("--rounds", default=1, type=int, help="Measure every cell this many times.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    parser.add_argument("--serve", choices=FRONTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve_front(args.serve, args.port)
        return 0
    fronts = [f.strip() for f in args.fronts.split(",") if f.strip()]
    if unknown := set(fronts) - set(FRONTS):
        parser.error(f"unknown fronts: {', '.join(sorted(unknown))}")
    connections = [int(c) for c in args.connections.split(",")]

    ensure_peers()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    work = Path(tempfile.mkdtemp(prefix="kg-bench-front-"))
    servers: list[Server] = []
    rows: list[dict] = []
    try:
        data = work / "synthetic.nq"
        with data.open("w", encoding="utf-8") as out:
            quads = generate(out, args.triples, seed=1, ontology_from=REPO / "build" / "graph.nq")
        build = work / "kg-build"
        prepare_build(data, build)
        print(
            f"# HTTP front, {time.strftime('%Y-%m-%d %H:%M')}: {quads:,} quads, {args.requests} requests/cell"
        )
        servers.append(start_server(BASELINE, data, work, 600))
        for front in fronts:
            servers.append(start_kg(front, build, work, 120))
        base = servers[0]
        _, body = fetch(base.port, base.path, DISCOVER, 60)
        meeting = json.loads(body)["results"]["bindings"][0]["meeting"]["value"]
        query = PREFIXES + QUERIES["point-lookup"].format(meeting=meeting)
        for _ in range(args.rounds):
            for kind, no_cache in (("cached", False), ("uncached", True)):
                for conns in connections:
                    for server in servers:  # taking turns, so drifts in the machine's load fall on all
                        request = get_request(server.port, server.path, query, no_cache)
                        row = {"server": server.name, "request": kind, "connections": conns}
                        row |= measure(server, request, conns, args.requests)
                        rows.append(row)
                        print(
                            f"  {kind:<8} {conns} conn {server.name:<12} {row['rps']:8,.0f} req/s "
                            f"{row['cpu_us']:7.0f} µs CPU/request, {row['query_cpu_us']:5.0f} of it in "
                            f"query processes ({row['ok']} ok)",
                            flush=True,
                        )
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped", file=sys.stderr)
        return 130
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


def print_table(rows: list[dict]) -> None:
    """Medians over the rounds, with each front's CPU/request as a multiple of Oxigraph's."""
    import statistics

    cells: dict[tuple, list[dict]] = {}
    for r in rows:
        cells.setdefault((r["request"], r["connections"], r["server"]), []).append(r)
    print("\n| request | conn | server | req/s | CPU µs/request | of it, queries | CPU ×ox | req/s ×ox |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for (kind, conns, name), runs in cells.items():
        rps = statistics.median(r["rps"] for r in runs)
        cpu = statistics.median(r["cpu_us"] for r in runs)
        query = statistics.median(r["query_cpu_us"] for r in runs)
        base = cells[(kind, conns, BASELINE)]
        base_rps = statistics.median(r["rps"] for r in base)
        base_cpu = statistics.median(r["cpu_us"] for r in base)
        print(
            f"| {kind} | {conns} | {name} | {rps:,.0f} | {cpu:,.0f} | {query:,.0f} | {cpu / base_cpu:.2f} | "
            f"{rps / base_rps:.2f} |"
        )


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
