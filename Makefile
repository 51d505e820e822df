# The two commands of the README: `make demo` (the main job) and `make test` (the suite).
# Each creates or refreshes .venv first, so on a fresh machine the command alone is enough.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test venv
venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,onnx,serve]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m src.demo

# The suite, then lint and types: src/ ships py.typed, so its types must hold.
LINTED := src hub_conf.py mindspore_hub_conf.py
test: $(STAMP)
	$(PY) -m pytest
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)
	$(PY) -m mypy
