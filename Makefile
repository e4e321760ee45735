# One command to test (`make test`), one to try the system (`make demo`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: install lint test bench demo collect clean

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
	bash scripts/demo.sh

clean:
	rm -rf .mypy_cache .ruff_cache .pytest_cache
