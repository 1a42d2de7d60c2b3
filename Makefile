# One obvious command each: `make run`, `make test`, `make lint`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run build serve test lint clean install install-test system-test-deps bench

SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/kg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

# Front-end libraries (CodeMirror) from npm; without npm the editor falls back to a plain textarea.
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent; \
	else echo "npm not found: the query editor will work without syntax highlighting"; fi

install: $(BIN)/kg node_modules/.package-lock.json

# Browser tests drive Debian's Chromium (Playwright's own browser download is not used);
# Noto fonts render the Bengali.
system-test-deps:
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -q "Noto Sans Bengali" || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-noto-core >/dev/null)

install-test: install system-test-deps
	$(BIN)/pip install --quiet -e '.[test]'

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

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

clean:
	rm -rf build .pytest_cache test-artifacts
