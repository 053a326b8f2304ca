# PET Lab. The two commands: `make lab` (start the lab) and `make test` (run every test).
# Everything installs from pyproject.toml, pinned by constraints.txt, into .venv.

PYTHON ?= python3.10
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.labkit-installed
CRYPTEN := crypten==0.4.1
TORCH_VERSION ?= 2.9.1
PYTEST_ARGS ?=
# Where pip finds packages. WHEELHOUSE=dir: that folder only, no network (`make wheelhouse` fills one).
# Otherwise PyPI, plus PyTorch's CPU-only index when it answers within 5 s: torch==X then resolves to
# X+cpu, which pip ranks above PyPI's CUDA build (its CUDA libraries are ~4.7 GB of an ~8 GB .venv).
# Where the index cannot be reached the probe fails and PyPI's build is installed, with no retries.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
WHEELHOUSE ?=
WHEELHOUSE_DIR ?= build/wheelhouse
TORCH_INDEX_PROBE = $(shell $(PYTHON) -c 'import sys, urllib.request as r; r.urlopen(sys.argv[1] + "/torch/", timeout=5); print("--extra-index-url", sys.argv[1])' $(TORCH_CPU_INDEX) 2>/dev/null)
# probed once per make run, when a recipe first needs it
PIP_SOURCE = $(eval PIP_SOURCE := $(if $(WHEELHOUSE),--no-index --find-links $(abspath $(WHEELHOUSE)),$(TORCH_INDEX_PROBE)))$(PIP_SOURCE)
PIP_SOURCE_NOTE = $(if $(WHEELHOUSE),$(abspath $(WHEELHOUSE)) only (no network),$(if $(PIP_SOURCE),PyPI + $(TORCH_CPU_INDEX) (CPU-only torch),PyPI (PyTorch's CPU-only index unreachable: PyPI's CUDA build of torch)))

define PYTHON_HELP
PET Lab needs Python 3.10, and '$(PYTHON)' was not found (or is older than 3.10).
Why 3.10: OpenFHE's PyPI wheels carry a CPython 3.10 binary only; on another Python
the lab still runs, with OpenFHE reported unavailable by `labkit doctor`.
How to get it: `pyenv install 3.10` (this folder's .python-version then selects it),
or your system's package (e.g. `apt-get install python3.10 python3.10-venv`), or
python.org. To use another interpreter anyway: `make lab PYTHON=python3.11`.
endef
export PYTHON_HELP

.PHONY: setup lab test notebooks docs lock wheelhouse binder-check browser-deps hub-deps doctor report demo clean student

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 10))' >/dev/null 2>&1 \
		|| { echo "$$PYTHON_HELP" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.version_info[:2] == (3, 10) or print("note: not Python 3.10, OpenFHE will be unavailable")'
	@echo "packages from: $(PIP_SOURCE_NOTE)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIP_SOURCE) --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIP_SOURCE) -c constraints.txt -e ".[dev]"
	@# CrypTen 0.4.1 declares deprecated and heavy packages (sklearn, torchvision,
	@# tensorboard); its real needs are in pyproject.toml, so install it alone.
	$(BIN)/python -m pip install --quiet $(PIP_SOURCE) -c constraints.txt --no-deps $(CRYPTEN)
	$(BIN)/labkit setup-jupyter
	@touch $@

lab: setup
	$(BIN)/labkit lab

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

doctor: setup
	$(BIN)/labkit doctor

# The dashboard and the capstone as a Voila web app on 127.0.0.1 (LABKIT_DEMO_PORT, default 8866).
demo: setup
	$(BIN)/python -m labkit.demo

# The claims check: each lab's fast benchmark into the ResultStore, then the report (printed, and as one HTML file).
report: setup
	$(BIN)/labkit bench --fast
	$(BIN)/labkit report --out build/report.html

# docs/claims.md from the technique registry, docs/workshop.md's timings from the notebook tests (tests check both are current).
docs: setup
	$(BIN)/python -c "from labkit import report; open('docs/claims.md', 'w').write(report.claims_markdown())"
	@echo "wrote docs/claims.md"
	@# docs/workshop.md's timing table from the notebook harness's measurements (build/notebook_times.json)
	@if [ -f build/notebook_times.json ]; then $(BIN)/python -m labkit.workshop; \
		else echo "no build/notebook_times.json: run pytest tests/test_notebooks.py to measure the notebooks"; fi

# The student version: every notebook with its exercises' solutions left as `...` (labkit.student).
STUDENT_DIR ?= build/student
student: setup
	STUDENT_DIR="$(STUDENT_DIR)" $(BIN)/labkit student --out "$(STUDENT_DIR)"

notebooks: setup
	@# the "../build/notebooks//ipynb" format writes next to notebooks/, into build/notebooks/
	$(BIN)/jupytext --quiet --to "../build/notebooks//ipynb" notebooks/[0-9][0-9]_*.py
	@echo "wrote build/notebooks/*.ipynb"

# Regenerate constraints.txt: a clean throw-away venv, the project's dependency
# ranges from pyproject.toml (plus torch==$(TORCH_VERSION) and CrypTen), then
# `pip freeze` of the result. Tool: pip itself, nothing else to install.
lock:
	rm -rf build/lock-venv
	$(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet --upgrade pip
	build/lock-venv/bin/python -m pip install --quiet -e ".[dev,hub]" "torch==$(TORCH_VERSION)"
	build/lock-venv/bin/python -m pip install --quiet --no-deps $(CRYPTEN)
	{ echo "# Exact pins of the whole lab (Python 3.10, Linux x86_64). Regenerate with: make lock"; \
	  build/lock-venv/bin/python -m pip freeze --exclude-editable --all | grep -v '^pip=='; } > constraints.txt
	rm -rf build/lock-venv
	@echo "constraints.txt regenerated; update binder/requirements.txt to match (tests check it)"

# A room's installs from one download: every wheel `make setup` installs, for this platform and
# $(PYTHON), into WHEELHOUSE_DIR (CPU-only torch where its index answers). Copy the folder to each
# laptop of the same OS, architecture and Python, then `make setup WHEELHOUSE=that/folder` (no network).
wheelhouse:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 10))' >/dev/null 2>&1 \
		|| { echo "$$PYTHON_HELP" >&2; exit 1; }
	@echo "packages from: $(PIP_SOURCE_NOTE)"
	$(PYTHON) -m pip download --quiet $(PIP_SOURCE) -d $(WHEELHOUSE_DIR) pip "setuptools>=77"
	$(PYTHON) -m pip download --quiet $(PIP_SOURCE) -d $(WHEELHOUSE_DIR) -c constraints.txt ".[dev]"
	$(PYTHON) -m pip download --quiet $(PIP_SOURCE) -d $(WHEELHOUSE_DIR) -c constraints.txt --no-deps $(CRYPTEN)
	@echo "wrote $(WHEELHOUSE_DIR): $$(ls $(WHEELHOUSE_DIR) | wc -l) files, $$(du -sh $(WHEELHOUSE_DIR) | cut -f1); install with: make setup WHEELHOUSE=$(WHEELHOUSE_DIR)"

# Build an environment from binder/ alone (as mybinder.org does) and run the notebooks in it.
binder-check:
	rm -rf build/binder-venv
	$(PYTHON) -m venv build/binder-venv
	build/binder-venv/bin/python -m pip install --quiet --upgrade pip
	@# PIP_RETRIES=0: where PyTorch's CPU index is unreachable, fail over to PyPI at once
	PIP_RETRIES=0 build/binder-venv/bin/python -m pip install --quiet -r binder/requirements.txt
	PATH="$(CURDIR)/build/binder-venv/bin:$$PATH" bash binder/postBuild
	PATH="$(CURDIR)/build/binder-venv/bin:$$PATH" build/binder-venv/bin/python -m pytest -p no:cacheprovider tests/test_notebooks.py

# Debian's Chromium for the browser tests (they skip without it). Needs root or sudo.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

# The workshop hub (deploy/hub, its test in tests/deploy): JupyterHub from PyPI into the
# venv, and its proxy configurable-http-proxy from npm into the venv's bin/ (the test
# skips without them). npm comes from Debian's packages where it is missing (root or sudo).
CHP := configurable-http-proxy@4.6.3
hub-deps: setup
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[hub]"
	@command -v npm >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq nodejs npm; }
	@[ -x $(BIN)/configurable-http-proxy ] || npm install --global --prefix $(VENV) --no-fund --no-audit --loglevel=error $(CHP)

clean:
	rm -rf build .pytest_cache .ruff_cache
