# Two commands for a fresh machine:
#   make book   create .venv, install, run the notebooks (paper profile), build the site
#   make test   unit tests, the notebooks in the quick profile (MNIST and Fashion-MNIST), test builds of the book,
#               and a check of the quick-profile numbers
# Offline: AEB_DATA_DIR=/path/to/data make ...   (a folder holding MNIST/raw/*-ubyte)
# Fashion-MNIST: make book DATASET=fashion_mnist  (site in _build/book-fashion_mnist/_build/html)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= paper
NOTEBOOKS ?=
DATASET ?= mnist
# MNIST is the paper's data set and the book's own folder; another data set gets a copy of the
# book (same pages) whose executed notebooks and site are its own. Tables: results/<profile>[-<dataset>]/.
ifeq ($(DATASET),mnist)
SITE := book
HTML := _build/html
else
SITE := _build/book-$(DATASET)/book
HTML := _build/book-$(DATASET)/_build/html
endif
STAMP := $(VENV)/.installed
.DEFAULT_GOAL := install
TESTBOOK := _build/testbook
JB_FLAGS := -W -n --keep-going

.PHONY: record record-status pages check-pages install-locked book notebooks test machine unit notebooks-quick testbook testbook-fashion check-numbers strip bench clean install \
	mathjax vega chromium browsercheck

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (aebottleneck)"
	touch $(STAMP)

# MathJax is served by the site itself (a reader offline still sees the math): the npm package,
# pinned, goes to .venv/mathjax/npm; the parts a page loads (the TeX-to-HTML component, the
# TeX extensions it loads on demand, the accessibility and menu parts, the web fonts) are
# copied to .venv/mathjax/site/mathjax. Each book folder links that folder as _mathjax, which
# _config.yml lists in html_static_path: every build copies it to its own _static/mathjax/.
MATHJAX_VERSION := 3.2.2
MATHJAX := $(VENV)/mathjax
MATHJAX_JS := $(MATHJAX)/site/mathjax/tex-chtml.js

mathjax: $(MATHJAX_JS)

$(MATHJAX_JS): | $(STAMP)
	@command -v npm >/dev/null || { echo "error: npm is needed to install MathJax (apt-get install -y npm)"; exit 1; }
	npm install --prefix $(MATHJAX)/npm --no-save --no-audit --no-fund --silent mathjax@$(MATHJAX_VERSION)
	rm -rf $(MATHJAX)/site && mkdir -p $(MATHJAX)/site/mathjax/input/tex $(MATHJAX)/site/mathjax/output/chtml/fonts
	cd $(MATHJAX)/npm/node_modules/mathjax/es5 && cp -r tex-chtml.js a11y ui $(CURDIR)/$(MATHJAX)/site/mathjax/ \
		&& cp -r input/tex/extensions $(CURDIR)/$(MATHJAX)/site/mathjax/input/tex/ \
		&& cp -r output/chtml/fonts/woff-v2 $(CURDIR)/$(MATHJAX)/site/mathjax/output/chtml/fonts/

# The alpha explorer's chart (vega-lite, drawn by vega-embed) is served by the site too: the npm
# packages, pinned, go to .venv/vega/npm, their minified builds to .venv/vega/site/vega, which each
# book folder links as _vega (html_static_path): every build copies it to its own _static/vega/.
VEGA := $(VENV)/vega
VEGA_JS := $(VEGA)/site/vega/vega-embed.min.js

vega: $(VEGA_JS)

$(VEGA_JS): | $(STAMP)
	@command -v npm >/dev/null || { echo "error: npm is needed to install vega (apt-get install -y npm)"; exit 1; }
	npm install --prefix $(VEGA)/npm --no-save --no-audit --no-fund --silent vega@5.30.0 vega-lite@5.20.1 vega-embed@6.26.0
	rm -rf $(VEGA)/site && mkdir -p $(VEGA)/site/vega
	cp $(VEGA)/npm/node_modules/vega/build/vega.min.js $(VEGA)/npm/node_modules/vega-lite/build/vega-lite.min.js \
		$(VEGA)/npm/node_modules/vega-embed/build/vega-embed.min.js $(VEGA)/site/vega/

install: $(STAMP) $(MATHJAX_JS) $(VEGA_JS)

# $(1): a book folder (holding the pages); links the MathJax and vega files in as $(1)/_mathjax, $(1)/_vega.
define link_mathjax
	ln -sfn $(abspath $(MATHJAX)/site) $(1)/_mathjax
	ln -sfn $(abspath $(VEGA)/site) $(1)/_vega
endef

# A copy of the book's pages in $(1)/book, built apart from book/ (the test build, other data sets).
define book_copy
	mkdir -p $(1)/book
	cp _config.yml _toc.yml $(1)/
	cp book/*.md $(1)/book/ && ln -sfn ../_toc.yml $(1)/book/_toc.yml
	$(call link_mathjax,$(1)/book)
endef

# Executed notebooks go to $(SITE)/executed/; finished runs come from results/runs/ (resumable).
# NOTEBOOKS="decorrelation embeddings" re-executes only those (default: all, in order). The paper
# profile on MNIST executes the pages the committed record completes from it (no training, `make
# pages`), then the others, training what neither the run cache nor the record holds.
notebooks: $(STAMP) results/bench.csv
ifneq ($(DATASET),mnist)
	$(call book_copy,$(dir $(SITE)))
endif
ifeq ($(PROFILE)-$(DATASET)-$(NOTEBOOKS),paper-mnist-)
	$(BIN)/python -m aebottleneck.rebuild --all
else
	$(BIN)/python -m aebottleneck.execute $(NOTEBOOKS) --profile $(PROFILE) -p dataset $(DATASET) \
		--output-dir $(SITE)/executed
endif

book: notebooks $(MATHJAX_JS) $(VEGA_JS)
	$(call link_mathjax,$(SITE))
	$(BIN)/jupyter-book build $(SITE) $(JB_FLAGS)
	@echo "Open $(HTML)/index.html"

# The committed record (record/): trains what the book lacks, in pieces, and stops before BUDGET
# (aebottleneck.plan); prints what is left. Interrupt and rerun at any time.
BUDGET ?= 140m
record: $(STAMP)
	$(BIN)/python -m aebottleneck.plan --profile $(PROFILE) --budget $(BUDGET)

# Exactly the packages a record was made with (ENV: a digest named in its record files; default the
# one the most recently recorded run names, by its recorded_at: file times in a clone say nothing).
ENV ?= $(shell $(PYTHON) -c "import glob, json; runs = [json.load(open(f)) for f in glob.glob('record/runs/*.json')]; \
	print(max(runs, key=lambda r: r['recorded_at'])['environment'] if runs else '')")
install-locked:
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r record/environments/$(ENV).txt && $(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (aebottleneck)"
	touch $(STAMP)

test: machine record-status check-pages unit testbook browsercheck testbook-fashion check-numbers

# How much of the paper profile the committed record holds (fails on a bad record file).
record-status: $(STAMP)
	$(BIN)/python -m aebottleneck.plan --profile paper --dry-run

# The paper pages the committed record completes, executed from it alone (nothing trains) into
# book/executed/ with their tables in results/paper/ (both committed): `make pages` writes them,
# `make check-pages` re-executes them aside and fails where a committed page or table differs.
pages: $(STAMP)
	$(BIN)/python -m aebottleneck.rebuild --profile paper

check-pages: $(STAMP)
	$(BIN)/python -m aebottleneck.rebuild --profile paper --check

# What the numbers' round-off depends on (CPU, threads, BLAS, ATen kernels), printed first.
machine: $(STAMP)
	$(BIN)/python -m aebottleneck.machine

unit: $(STAMP)
	$(BIN)/python -m pytest -q --ignore=tests/test_quick_numbers.py

# The quick profile is built in a copy of the book, so it never replaces the paper site.
testbook: $(STAMP) results/bench.csv $(MATHJAX_JS) $(VEGA_JS)
	rm -rf $(TESTBOOK)
	$(call book_copy,$(TESTBOOK))
	$(BIN)/python -m aebottleneck.execute --profile quick --output-dir $(TESTBOOK)/book/executed
	$(BIN)/jupyter-book build $(TESTBOOK)/book $(JB_FLAGS)

# The same quick build on Fashion-MNIST: every notebook must run on the second data set too.
testbook-fashion: $(STAMP) results/bench.csv $(MATHJAX_JS) $(VEGA_JS)
	rm -rf $(TESTBOOK)-fashion_mnist
	$(call book_copy,$(TESTBOOK)-fashion_mnist)
	$(BIN)/python -m aebottleneck.execute --profile quick -p dataset fashion_mnist \
		--output-dir $(TESTBOOK)-fashion_mnist/book/executed
	$(BIN)/jupyter-book build $(TESTBOOK)-fashion_mnist/book $(JB_FLAGS)

# Headless Chromium opens every page of the quick test build from file:// (no network) and fails on
# raw TeX, a broken image or link, a remote script, an error in an output or a nan in a table;
# screenshots of three pages go to _build/screenshots/. Checks the last `make testbook`.
browsercheck: $(STAMP) chromium
	$(BIN)/python -m aebottleneck.sitecheck $(TESTBOOK)/_build/html --screenshots _build/screenshots

# Debian's chromium, installed where missing (needs root, as apt-get does).
chromium:
	@command -v chromium >/dev/null || apt-get install -y chromium || \
		{ apt-get update && apt-get install -y chromium; }

check-numbers: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_quick_numbers.py

strip: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb

# The speed page reads results/bench.csv; `make bench` re-measures, the book reuses a measurement
# (re-measured when the benchmark script changes).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training.py

results/bench.csv: benchmarks/bench_training.py | $(STAMP)
	$(BIN)/python benchmarks/bench_training.py

clean:   # book/executed/ keeps the committed paper pages (made from the record)
	rm -rf _build book/_build book/executed book/_mathjax book/_vega
	git checkout -- book/executed 2>/dev/null || true
