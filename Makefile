# reach — one entry point for people and CI.
#   make demo   set up, build the sample lake, serve the dashboard on http://127.0.0.1:8050
#   make test   set up and run the whole test suite (what CI runs)
#   make bench  the benchmarks against DuckDB (10M follow edges; takes minutes)
VENV ?= .venv
PY := $(VENV)/bin/python
REACH := $(VENV)/bin/reach

.PHONY: setup system-deps demo test test-slow check-sample bench lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Debian packages some tests need (PostgreSQL server, Chromium + driver); CI runs this first.
system-deps:
	./.ci/system-deps

demo: setup
	$(REACH) demo --workdir demo

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q --runslow

# The sample through the whole pipeline, then the expectation suites through GX.
check-sample: setup
	rm -rf .ci-sample && $(REACH) sample --out .ci-sample/data
	$(REACH) run .ci-sample/data --lake .ci-sample/lake
	$(REACH) validate --lake .ci-sample/lake

bench: setup
	$(PY) benchmarks/bench_etl.py
	$(PY) benchmarks/bench_daily.py
	$(PY) benchmarks/bench_readers.py
	$(PY) benchmarks/bench_reach.py
	$(PY) benchmarks/bench_attribution.py
	$(PY) benchmarks/bench_whatif.py
	$(PY) benchmarks/bench_uplift.py
	$(PY) benchmarks/bench_dashboard.py

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf demo .ci-sample .bench .pytest_cache
