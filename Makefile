# Two commands matter: `make serve` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 50051
STAMP := $(VENV)/.installed

.PHONY: serve test proto bench cpp-client clean-venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

MODEL ?= models/default
STORE ?= var/tuner.sqlite

serve: $(STAMP)
	HOST=$(HOST) PORT=$(PORT) MODEL=$(MODEL) STORE=$(STORE) $(PY) -m service

# Whole test files per worker: a file's module fixtures (trained models) are built once.
TEST_JOBS ?= 2

test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_JOBS) --dist loadfile

proto: $(STAMP)
	$(PY) -m proto.generate

cpp-client: $(STAMP)
	$(MAKE) -C clients/cpp

bench: $(STAMP)
	$(PY) benchmarks/featurize.py

clean-venv:
	rm -rf $(VENV)
