# snncc - two commands on a new machine:
#   make demo   install everything, compile an example for the FPGA, upload it to the
#               simulated board, verify it against the reference simulator
#   make test   install everything and run the test suite
#   make lock   refresh requirements.lock (exact versions and hashes of every Python package)
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BACKENDS := $(wildcard backends/*/pyproject.toml)

.PHONY: setup demo test bench clean clean-numba lock
setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock $(BACKENDS) scripts/install-system-deps.sh
	./scripts/install-system-deps.sh
	test -x $(PY) || "$${PYTHON310:-$$(./scripts/find-python310.sh)}" -m venv $(VENV)
	# every third-party package at the version and hash in requirements.lock, then snncc and its
	# backends from this checkout, built with the locked setuptools, their dependencies already there
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e . $(patsubst %/pyproject.toml,-e %,$(BACKENDS))
	touch $(STAMP)

# Refresh requirements.lock after changing requirements.in, requirements-dev.txt or a pyproject.toml:
# versions already locked stay unless they no longer fit (UPGRADE=1: the newest versions allowed).
# Needs only Python 3.10 and the package index; uv runs from its own venv, .lock-venv.
UV_VERSION := 0.13.9
lock:
	test -x .lock-venv/bin/uv || { "$${PYTHON310:-$$(./scripts/find-python310.sh)}" -m venv .lock-venv && \
	  .lock-venv/bin/pip install -q uv==$(UV_VERSION); }
	.lock-venv/bin/uv pip compile requirements.in -q -o requirements.lock --generate-hashes \
	  --python-version 3.10 --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" \
	  $(if $(UPGRADE),--upgrade)
	# the local distributions install from the checkout (pip refuses editables under --require-hashes)
	awk '/^-e /{skip=1;next} skip&&/^    #/{next} {skip=0;print}' requirements.lock > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock

demo: setup
	$(PY) -m snncc.demo

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) .lock-venv build .pytest_cache

# numba's cached machine code of the kernels (snncc/jitcache.py recompiles it when snncc's
# compiled code changes; this only frees the disk)
clean-numba:
	find snncc backends -path '*/__pycache__/*.nb[ic]' -delete
