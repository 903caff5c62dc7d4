# Set-up and the honest aliases: `make demo` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --constraint constraints.txt

.PHONY: demo test lint bench serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml constraints.txt
	$(PIP) -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/diffcompare "x**2+3*x"

# The verdict corpus is most of the run; pytest-xdist spreads it over two workers.
# The service's browser test needs Debian's Chromium and the SVG graphs Graphviz; the script
# installs them (as root, with apt-get) or says what is missing, and the tests needing them
# then skip with the reason. INSTALL_LATEX=1 also installs pdfLaTeX (about 3 minutes).
test: $(VENV)/.installed-dev
	sh scripts/install-system.sh
	$(BIN)/python -m pytest -n 2

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check diffcompare tests examples benchmarks
	$(BIN)/ruff format --check diffcompare tests examples benchmarks
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_methods.py

# The HTTP service and web page on http://127.0.0.1:8000 (flags: diffcompare serve --help).
serve: $(VENV)/.installed-dev
	$(BIN)/diffcompare serve

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
