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
MERMAID     := tests/js/node_modules/.package-lock.json

.PHONY: install install-dev demo test lint bench compat screenshot clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamps make re-runs instant; they are redone when pyproject.toml changes.
$(VENV)/.installed: $(BIN)/python pyproject.toml Makefile
	$(BIN)/pip install --quiet $(PIP_TORCH) "$(TORCH)"
	$(BIN)/pip install --quiet -e .
	touch $@

# One pip run for torch, the package and its dev tools: one resolve and one editable build
# (installing the package first, then again with [dev], built it twice: 12 s of make test).
# The dev install holds the plain one, so it stamps both.
$(VENV)/.installed-dev: $(BIN)/python pyproject.toml Makefile $(MERMAID)
	$(BIN)/pip install --quiet $(PIP_TORCH) "$(TORCH)" -e ".[dev]"
	touch $@ $(VENV)/.installed

# Mermaid, which the tests load into Chromium to parse and draw graph's flowcharts. It comes
# from the npm registry (pinned by tests/js/package-lock.json); without npm those tests are
# skipped, and pytest's header says so. Chromium and Graphviz are system packages: .ci/run
# installs them, and `make test` says which tests skip where they are missing.
$(MERMAID): tests/js/package.json tests/js/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix tests/js --no-audit --no-fund --loglevel=error; \
	else echo "note: npm not found: the tests that parse Mermaid will be skipped"; fi

$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[bench]"
	touch $@

# pre-commit only for make lint's slow test of the hook: make test stays lighter to install.
$(VENV)/.installed-hooks: $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -e ".[hooks]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/netinspect tree configs/rgnet.yaml
	$(BIN)/netinspect params configs/rgnet.yaml

test: install-dev
	@$(BIN)/python -m tests.chromium  # which picture tests run here, and how to get the rest
	$(BIN)/python -m pytest -q

lint: install-dev $(VENV)/.installed-bench $(VENV)/.installed-hooks
	$(BIN)/ruff check netinspect tests bench docs
	$(BIN)/ruff format --check netinspect tests bench docs
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider -m slow  # pre-commit for real; torchrun; new processes

# Whole processes side by side with their peers (torchinfo), several runs each: takes minutes.
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py
	$(BIN)/python bench/memory_truth.py
	$(BIN)/python bench/weights.py
	$(BIN)/python bench/ci_scale.py
	$(BIN)/python bench/init_stream.py
	$(BIN)/python bench/init_ranks.py
	$(BIN)/python bench/report_paint.py

# The README's picture of the HTML report (docs/report.png), taken in headless Chromium.
screenshot: install-dev
	$(BIN)/python docs/screenshot.py

# The declared torch range tested at both ends (README, "Compatibility"): the oldest release
# pyproject.toml admits and the newest on PyPI, each in its own venv under .venv-compat/.
# PyPI's Linux wheels are CUDA builds (about 5 GB with their libraries; they run on the
# CPU), so this downloads gigabytes and takes minutes per end: it is not part of `make test`.
# PIP_CONFIG_FILE=/dev/null: a machine's pip configuration may cap torch at a local copy.
COMPAT_TORCH ?= 2.6.0 2.15.0
compat:
	@status=0; for v in $(COMPAT_TORCH); do \
	  venv=.venv-compat/torch-$$v; \
	  test -x $$venv/bin/python || $(PYTHON) -m venv $$venv || exit 1; \
	  PIP_CONFIG_FILE=/dev/null $$venv/bin/pip install --quiet "torch==$$v" -e ".[dev]" || exit 1; \
	  $$venv/bin/python -m pytest -q -p no:cacheprovider > $$venv/pytest.log 2>&1; rc=$$?; \
	  echo "torch $$v: $$(tail -n 1 $$venv/pytest.log)"; \
	  [ $$rc = 0 ] || status=1; \
	done; exit $$status

clean:
	rm -rf $(VENV) .venv-compat .pytest_cache .mypy_cache .ruff_cache .hypothesis
