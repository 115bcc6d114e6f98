# The README's two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-cache-dir --upgrade pip
	$(PY) -m pip install --quiet --no-cache-dir -e '.[dev,eval]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP)
	$(PY) -m ruff check genlmk tests scripts
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) scripts/bench_render.py
	$(PY) scripts/bench_extract.py

clean:
	rm -rf $(VENV) demo runs
