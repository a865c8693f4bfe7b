# netinspect: set-up, demo, tests and lint. Every target installs what it needs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

# The one place torch is pinned: the CPU build (an unpinned torch pulls a multi-GB CUDA build).
# Where no local CPU wheel exists, add the PyTorch CPU index, e.g.
#   make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH       := torch==2.13.0+cpu
TORCH_INDEX ?=
PIP_TORCH   := $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))

.PHONY: install install-dev demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamps make re-runs instant; they are redone when pyproject.toml changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml Makefile
	$(BIN)/pip install --quiet $(PIP_TORCH) "$(TORCH)"
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[bench]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/netinspect tree configs/rgnet.yaml
	$(BIN)/netinspect params configs/rgnet.yaml

test: install-dev
	$(BIN)/python -m pytest -q

lint: install-dev $(VENV)/.installed-bench
	$(BIN)/ruff check netinspect tests bench
	$(BIN)/ruff format --check netinspect tests bench
	$(BIN)/mypy

# Whole processes side by side with their peers (torchinfo), several runs each: takes minutes.
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
