# Two commands for a fresh machine:
#   make book   create .venv, install, run the notebooks (paper profile), build the site
#   make test   unit tests, the notebooks in the quick profile, a test build of the book,
#               and a check of the quick-profile numbers
# Offline: AEB_DATA_DIR=/path/to/data make ...   (a folder holding MNIST/raw/*-ubyte)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= paper
NOTEBOOKS ?=
STAMP := $(VENV)/.installed
TESTBOOK := _build/testbook
JB_FLAGS := -W -n --keep-going

.PHONY: book notebooks test unit notebooks-quick testbook check-numbers strip bench clean install

install: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (aebottleneck)"
	touch $(STAMP)

# Executed notebooks go to book/executed/; finished runs come from results/runs/ (resumable).
# NOTEBOOKS="decorrelation embeddings" re-executes only those (default: all, in order).
notebooks: $(STAMP) results/bench.csv
	$(BIN)/python -m aebottleneck.execute $(NOTEBOOKS) --profile $(PROFILE)

book: notebooks
	$(BIN)/jupyter-book build book $(JB_FLAGS)
	@echo "Open _build/html/index.html (or book/_build/html/index.html)"

test: unit testbook check-numbers

unit: $(STAMP)
	$(BIN)/python -m pytest -q --ignore=tests/test_quick_numbers.py

# The quick profile is built in a copy of the book, so it never replaces the paper site.
testbook: $(STAMP) results/bench.csv
	rm -rf $(TESTBOOK) && mkdir -p $(TESTBOOK)/book
	cp _config.yml _toc.yml $(TESTBOOK)/
	cp book/*.md $(TESTBOOK)/book/ && ln -s ../_toc.yml $(TESTBOOK)/book/_toc.yml
	$(BIN)/python -m aebottleneck.execute --profile quick --output-dir $(TESTBOOK)/book/executed
	$(BIN)/jupyter-book build $(TESTBOOK)/book $(JB_FLAGS)

check-numbers: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_quick_numbers.py

strip: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb

# The speed page reads results/bench.csv; `make bench` re-measures, the book reuses a measurement.
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training.py

results/bench.csv: | $(STAMP)
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf _build book/_build book/executed
