# snncc - two commands on a new machine:
#   make demo   install everything, compile an example for the FPGA, upload it to the
#               simulated board, verify it against the reference simulator
#   make test   install everything and run the test suite
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BACKENDS := $(wildcard backends/*/pyproject.toml)

.PHONY: setup demo test test-fast bench lint clean
setup: $(STAMP)

$(STAMP): pyproject.toml requirements-dev.txt $(BACKENDS) scripts/install-system-deps.sh
	./scripts/install-system-deps.sh
	test -x $(PY) || "$${PYTHON310:-$$(./scripts/find-python310.sh)}" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e . $(patsubst %/pyproject.toml,-e %,$(BACKENDS)) -r requirements-dev.txt
	touch $(STAMP)

demo: setup
	$(PY) -m snncc.demo

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) build .pytest_cache
