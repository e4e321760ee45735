# `make test` tests; `make demo` runs the whole system against the built-in exchange simulator,
# `make run` against the real exchanges (both until Ctrl+C); `make demo-batch` is the one-shot
# pipeline (backfill 3 days, one snapshot, status) against the simulator, which ends by itself.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: install lint test bench demo demo-batch run clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy lib config

test: lint
	$(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) -p no:cacheprovider

bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

demo: install
	DATABASE_URL="$${DATABASE_URL:-sqlite:///$(CURDIR)/data/demo.db}" $(PY) start.py --simulate

run: install
	$(PY) start.py

demo-batch: install
	bash scripts/demo.sh

clean:
	rm -rf .mypy_cache .ruff_cache .pytest_cache
