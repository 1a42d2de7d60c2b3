# One obvious command each: `make run`, `make test`, `make lint`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run build serve test lint clean install install-test system-test-deps bench mutation link-check

SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# morph-kgc (the RML engine that maps data/sources/hsg/) pins pyoxigraph<0.4 and rdflib<7.3, which
# the project has outgrown (pyoxigraph 0.5, owlrl 7.6 needs rdflib 7.6): pip cannot resolve both, so
# morph-kgc goes in without its pins and its own libraries are named here. It uses neither pin on
# the path the project takes (materialize_set: N-Triples text); tests/test_rml.py runs that path.
MORPH_KGC := morph-kgc==2.10.0
MORPH_KGC_DEPS := "elementpath>=4,<5" "jsonpath-python==1.0.6" "pandas>=2.1,<3" "ruamel.yaml>=0.18,<0.19" "falcon>=3,<5"

$(BIN)/kg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e . $(MORPH_KGC_DEPS)
	$(BIN)/pip install --quiet --no-deps $(MORPH_KGC)
	@touch $@

# Front-end libraries (CodeMirror) from npm; without npm the editor falls back to a plain textarea.
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: the query editor will work without syntax highlighting"; fi

install: $(BIN)/kg node_modules/.package-lock.json

# Browser tests drive Debian's Chromium (Playwright's own browser download is not used);
# Noto fonts render the Bengali. The scaling tests start Virtuoso (a remote SPARQL store, on a
# scratch configuration) and haproxy (a load balancer in front of replicas), both from Debian.
SYSTEM_TEST_PACKAGES := chromium fonts-noto-core virtuoso-opensource haproxy
system-test-deps:
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -q "Noto Sans Bengali" && \
	  command -v virtuoso-t >/dev/null && command -v haproxy >/dev/null || \
	  ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    $(SYSTEM_TEST_PACKAGES) >/dev/null)

install-test: install system-test-deps
	$(BIN)/pip install --quiet -e '.[test]' $(MORPH_KGC_DEPS)
	$(BIN)/pip install --quiet --no-deps $(MORPH_KGC)

# Mutation testing ([tool.mutmut] in pyproject.toml): mutmut mutates the guard, formats, queries,
# execute, the two caches and the reasoning filter, and runs their unit tests against each mutant.
# It works in a copy under build/mutation. mutmut leaves decorated functions alone, so the copy
# drops the @functools.lru_cache lines (a cache only: guard.check and negotiate_header are then
# mutated too, and no answer cached before a mutant was switched on can hide it). Not part of
# `make test`; about 10 minutes on 2 cores. The score per module is printed at the end.
MUTATION := build/mutation
mutation: install-test
	rm -rf $(MUTATION) && mkdir -p $(MUTATION)
	cp -r src tests ontology data queries bench pyproject.toml $(MUTATION)/
	sed -i '/^ *@functools\.lru_cache/d' $(MUTATION)/src/kg/guard.py $(MUTATION)/src/kg/formats.py
	cd $(MUTATION) && KG_TEST_BUILD_DIR=$(CURDIR)/$(MUTATION)/test-build KG_TEST_QUERY_WORKERS=0 \
	  $(CURDIR)/$(BIN)/mutmut run
	cd $(MUTATION) && $(CURDIR)/$(BIN)/mutmut results --all true | awk \
	  '{ name = $$1; sub(/:$$/, "", name); split(name, part, /\.x[_ǁ]/); m = part[1]; total[m]++; \
	     if ($$2 == "killed" || $$2 == "timeout") killed[m]++ } \
	   END { for (m in total) { printf "%-24s %4d of %4d killed: %5.1f %%\n", m, killed[m], total[m], \
	         100 * killed[m] / total[m]; all += total[m]; dead += killed[m] } \
	         printf "%-24s %4d of %4d killed: %5.1f %%\n", "all", dead, all, 100 * dead / all }'

build: install
	$(BIN)/kg build

run: build
	$(BIN)/kg serve --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/kg build
	$(BIN)/pytest

# Side by side with the Oxigraph server and rdflib-endpoint (installed into bench/.venv-peers).
bench: install
	$(BIN)/kg build
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Every link to Wikidata (and every item data/'s tables name) against the live query service:
# needs the network (the tests use a local stand-in instead). Answers are kept in
# build/wikidata-cache, so a second run asks nothing; LINK_CHECK_ARGS="--refresh" asks again,
# "--format json" for programs. Exit status 1: something to curate; 2: Wikidata could not be asked.
link-check: build
	@$(BIN)/kg link check $(LINK_CHECK_ARGS) || { status=$$?; [ $$status -ne 2 ] || \
	  echo "link-check: Wikidata could not be asked (no network?); LINK_CHECK_ARGS=--offline reads kept answers" >&2; \
	  exit $$status; }

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf build .pytest_cache test-artifacts
