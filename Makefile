# The verbs a reader types. `make book` and `make test` work on a fresh clone with only Python
# 3.11, git and make installed: they create .venv from requirements.txt when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book book-stored test notebooks sync format lint bench sweep clean browser-deps

# Executes the notebooks whose code changed since the last build (all of them the first time; the
# execution cache is _build/.jupyter_cache) and builds the HTML book. FRESH=1 executes every one.
book: $(STAMP)  ## execute the notebooks (only those changed since the last build) and build _build/html
	$(if $(FRESH),rm -rf _build/.jupyter_cache)
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "The book is in _build/html/index.html"

book-stored: $(STAMP)  ## build _build/html from the committed, nbval-checked outputs; nothing executes
	$(BIN)/python -m tools.stored_book

test: $(STAMP) browser-deps  ## every test: units, notebooks (nbval, papermill), book build, browser
	$(BIN)/pytest --nbval-lax tests notebooks

notebooks: $(STAMP) sync  ## re-execute the committed .ipynb after editing a chapter's .md
	cd notebooks && for nb in *.ipynb; do ../$(BIN)/jupyter execute --inplace --timeout=3600 "$$nb" || exit 1; done

# The .md is the source: its cells overwrite the .ipynb's, outputs kept. (jupytext --sync would take
# the newer file's cells, and an .ipynb just executed in place is newer than an edited .md.)
sync: $(STAMP)  ## bring each .ipynb's cells in line with its .md source (outputs kept)
	$(BIN)/jupytext --quiet --to ipynb --update notebooks/*.md

# Notebook code is formatted to the book's column (74 characters; tests/test_notebook_sources.py),
# piped as ipynb so that ruff keeps the semicolon that silences a cell's last value.
format: $(STAMP)  ## format the code cells of the .md sources with ruff, to the book's column
	$(BIN)/jupytext --quiet --pipe-fmt ipynb --pipe "$(BIN)/ruff format --line-length 74 --stdin-filename cell.ipynb -" notebooks/*.md

lint: $(STAMP)
	$(BIN)/ruff check helpers tests benchmarks book/_ext tools

# Each benchmark runs idle and busy (beside one spinning process per core). The table goes to
# runs/benchmarks/latest.json; SAVE=1 also replaces the committed benchmarks/results/latest.json.
bench: $(STAMP)  ## time the kernels against their baselines, idle and busy; the table in runs/benchmarks/ (SAVE=1: also benchmarks/results/)
	mkdir -p runs/benchmarks
	$(BIN)/python -m benchmarks.hebbian_weights --json runs/benchmarks/hebbian_weights.json
	$(BIN)/python -m benchmarks.rate_dynamics --json runs/benchmarks/rate_dynamics.json
	$(BIN)/python -m benchmarks.capacity_curve --json runs/benchmarks/capacity_curve.json
	$(BIN)/python -m benchmarks.brunel_network --json runs/benchmarks/brunel_network.json
	$(BIN)/python -m benchmarks.spiking_memory --json runs/benchmarks/spiking_memory.json
	$(BIN)/python -m benchmarks.plastic_network --json runs/benchmarks/plastic_network.json
	$(BIN)/pip install --quiet --no-deps -r requirements-bench.txt
	$(BIN)/python -m benchmarks.hopfield_retrieval --json runs/benchmarks/hopfield_retrieval.json
	$(BIN)/python -m benchmarks.summary --runs runs/benchmarks --out runs/benchmarks/latest.json
	$(if $(SAVE),cp runs/benchmarks/latest.json benchmarks/results/latest.json)

# A notebook over a parameter grid (helpers.sweep): make sweep NOTEBOOK=... GRID=grid.yaml OUT=runs/sweeps/name
# [SCHEDULER=tcp://host:8786] [WORKERS=n]. Rerun the same command to resume.
sweep: $(STAMP)  ## run NOTEBOOK over the grid in GRID, into OUT; on a Dask cluster if SCHEDULER is given
	@test -n "$(NOTEBOOK)" -a -n "$(GRID)" -a -n "$(OUT)" || { echo "make sweep needs NOTEBOOK=, GRID= and OUT="; exit 2; }
	$(BIN)/python -m helpers.sweep $(NOTEBOOK) --grid $(GRID) --out $(OUT) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(WORKERS),--workers $(WORKERS))

$(STAMP): requirements.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

# Headless Chromium for the browser test, from Debian's packages (as root) when it is missing.
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser test needs Chromium: sudo apt-get install chromium"; exit 1; \
	  fi; \
	fi

clean:
	rm -rf _build .pytest_cache .hypothesis
