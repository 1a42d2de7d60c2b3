"""The reasoners side by side: owlrl and the rules engine (on rdflib and on pyoxigraph terms).

    .venv/bin/python bench/reason.py                          # project, 1k, 10k, 100k, 1m: ~5 min
    .venv/bin/python bench/reason.py --sizes 10k,100k --owlrl-max 10k
    .venv/bin/python bench/reason.py --sizes 2200k --reasoners rules,rules-ox

Each run is its own process: it reads the ontology and asserted graphs of one N-Quads file
into rdflib (as the build has them), then times ``kg.reason.closure`` (everything the
build's reason step does: coding, rounds, decoding into the inferred rdflib graph). The
``rules-ox`` runs read the asserted graph into a pyoxigraph store instead (the ontology
into rdflib) and time ``kg.reason.closure_quads``, whose inferred triples stay pyoxigraph
terms, in a pyoxigraph store (what ``kg serve --data --reason --no-validate`` does). Each
reports its peak RSS (ru_maxrss: parsing the input included), its RSS once the input
graphs are loaded (VmRSS, what the reasoner starts from) and its peak RSS while reasoning
(VmRSS sampled every 20 ms). owlrl runs up to ``--owlrl-max``
and within ``--timeout`` seconds; above, it is
reported as not run. The inferred graphs are compared (blank nodes masked, as each process
names them anew): rules with owlrl where both ran, rules-ox with rules.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def size_of(name: str) -> int:
    return SIZES.get(name) or int(float(name.lower().replace("k", "e3").replace("m", "e6")))


def read_graphs(path: Path) -> tuple[object, object]:
    """The ontology and asserted graphs of a build-shaped N-Quads file, as rdflib graphs."""
    from rdflib import Graph

    lines: dict[str, list[str]] = {"ontology": [], "asserted": [], "inferred": []}
    with path.open(encoding="utf-8") as f:
        for line in f:
            triple, _, graph = line.rstrip()[:-2].rpartition(" ")
            lines.setdefault(graph.rsplit("/", 1)[-1].rstrip(">"), []).append(triple + " .\n")
    ontology = Graph().parse(data="".join(lines["ontology"]), format="nt")
    data = Graph().parse(data="".join(lines["asserted"]), format="nt")
    return ontology, data


def read_quads(path: Path, work: Path) -> tuple[object, object]:
    """The ontology into rdflib, the asserted graph into a pyoxigraph store (no rdflib per triple)."""
    import pyoxigraph as ox
    from rdflib import Graph

    ontology: list[str] = []
    asserted = work / "asserted.nt"
    with path.open(encoding="utf-8") as f, asserted.open("w", encoding="utf-8") as out:
        for line in f:
            triple, _, graph = line.rstrip()[:-2].rpartition(" ")
            name = graph.rsplit("/", 1)[-1].rstrip(">")
            if name == "asserted":
                out.write(triple + " .\n")
            elif name == "ontology":
                ontology.append(triple + " .\n")
    store = ox.Store()
    store.bulk_load(path=str(asserted), format=ox.RdfFormat.N_TRIPLES)
    asserted.unlink()
    return Graph().parse(data="".join(ontology), format="nt"), store


def current_rss_mb() -> int:
    """This process's resident set now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


class RssSampler(threading.Thread):
    """The highest VmRSS seen every 20 ms while it runs: the peak while reasoning alone."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = current_rss_mb()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, current_rss_mb())


def child(path: Path, reasoner: str) -> None:
    """One run, in its own process: print a JSON line of figures."""
    import pyoxigraph as ox

    from kg.derivations import term
    from kg.reason import closure, closure_quads

    if reasoner == "rules-ox":
        with tempfile.TemporaryDirectory(prefix="kg-bench-reason-") as tmp:
            ontology, data = read_quads(path, Path(tmp))
    else:
        ontology, data = read_graphs(path)
    gc.collect()
    rss_loaded = current_rss_mb()
    sampler = RssSampler()
    sampler.start()
    t = time.perf_counter()
    if reasoner == "rules-ox":
        inference = closure_quads(ontology, data)  # type: ignore[arg-type]
    else:
        inference = closure(ontology, data, reasoner=reasoner)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t
    sampler.done.set()
    sampler.join()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    triples = (
        (
            (q.subject, q.predicate, q.object)
            for q in inference.inferred  # type: ignore[attr-defined]
        )
        if reasoner == "rules-ox"
        else iter(inference.inferred)
    )  # type: ignore[arg-type]
    digest = hashlib.sha256()
    for line in sorted(
        " ".join("_:b" if isinstance(x, ox.BlankNode) else str(x) for x in map(term, triple))
        for triple in triples
    ):
        digest.update(line.encode() + b"\n")
    figures = {
        "asserted": len(ontology) + len(data),  # type: ignore[arg-type]
        "seconds": seconds,
        "inferred": len(inference.inferred),
        "derivations": len(inference.derivations),
        "rss_loaded_mb": rss_loaded,
        "rss_peak_mb": rss_peak,
        "rss_reasoning_peak_mb": sampler.peak,
        "digest": digest.hexdigest()[:16],
    }
    print(json.dumps(figures))


def run(path: Path, reasoner: str, timeout: float) -> dict:
    command = [sys.executable, __file__, "--child", str(path), "--reasoner", reasoner]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"note": f"stopped after {timeout:.0f} s"}
    except subprocess.CalledProcessError as exc:
        return {"note": f"failed: {exc.stderr.strip().splitlines()[-1:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def dataset(name: str, work: Path) -> Path:
    """build/graph.nq for ``project``, else a generated graph of that many quads."""
    quads = REPO / "build" / "graph.nq"
    if not quads.is_file():
        subprocess.run([str(REPO / ".venv" / "bin" / "kg"), "build"], check=True)
    if name == "project":
        return quads
    sys.path.insert(0, str(REPO / "bench"))
    from generate import generate

    path = work / f"{name}.nq"
    with path.open("w", encoding="utf-8") as out:
        generate(out, size_of(name), seed=1, ontology_from=quads)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="project,1k,10k,100k,1m", help="project and generate.py sizes")
    parser.add_argument("--owlrl-max", default="100k", help="largest size owlrl runs on (owlrl: >1 h at 1m)")
    parser.add_argument("--reasoners", default="owlrl,rules,rules-ox", help="which runs, in this order")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds a run may take")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reasoner", default="rules", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.reasoner)
        return 0
    rows = []
    header = (
        "graph | asserted triples | reasoner | seconds | inferred | peak RSS MB | input loaded MB | peak MB"
    )
    print(f"| {header} | note |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory(prefix="kg-bench-reason-") as tmp:
        for name in args.sizes.split(","):
            path = dataset(name, Path(tmp))
            figures = {}
            for reasoner in args.reasoners.split(","):
                if reasoner == "owlrl" and name != "project" and size_of(name) > size_of(args.owlrl_max):
                    figures[reasoner] = {"note": f"not run (above --owlrl-max {args.owlrl_max})"}
                else:
                    figures[reasoner] = run(path, reasoner, args.timeout)
            asserted = next((f["asserted"] for f in figures.values() if "asserted" in f), 0)
            for reasoner, f in figures.items():
                note, same = f.get("note", ""), None
                oracle = {"rules": "owlrl", "rules-ox": "rules"}.get(reasoner)
                digests = (f.get("digest"), figures.get(oracle, {}).get("digest"))  # type: ignore[arg-type]
                if None not in digests:
                    same = digests[0] == digests[1]
                    note = f"same triples as {oracle}" if same else f"DIFFERENT from {oracle}"
                rows.append({"graph": name, "reasoner": reasoner, "asserted": asserted, **f, "same": same})
                cells = "– | – | – | – | –"
                if "seconds" in f:
                    rss = f"{f['rss_peak_mb']:,} | {f['rss_loaded_mb']:,} | {f['rss_reasoning_peak_mb']:,}"
                    cells = f"{f['seconds']:.1f} | {f['inferred']:,} | {rss}"
                print(f"| {name} | {asserted:,} | {reasoner} | {cells} | {note} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
