# One entry point for people and CI. `make book` builds the site; `make test` runs every test.
# Both create .venv from requirements.txt when it is missing or out of date.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PY      := .venv/bin/python
STAMP   := .venv/.installed
# Strict build: warnings are errors, nitpicky references, report every problem in one run.
JBFLAGS := -W -n --keep-going
NBVAL   := --nbval --nbval-current-env --nbval-sanitize-with .ci/nbval-sanitize.cfg -p no:cacheprovider
# Inline figures need the inline backend: an inherited MPLBACKEND=Agg makes them vanish.
unexport MPLBACKEND

.PHONY: help venv book pdf test test-unit test-notebooks test-lab test-build test-site test-pdf notebooks serve lint format bench bench-peers clean chromium tex

help:
	@echo "make book       build the site into _build/html (strict)"
	@echo "make pdf        the site, then the whole book as one PDF (_build/html/hessnotes.pdf)"
	@echo "make test       lint, unit tests, strict nbval over every chapter, JupyterLab test,"
	@echo "                stale-build test, strict build, browser test, PDF test"
	@echo "make notebooks  re-execute every chapter in place, print time and peak memory,"
	@echo "                and regenerate the Colab copies (book/colab/)"
	@echo "make serve      serve _build/html on http://127.0.0.1:8000"
	@echo "make lint       ruff check + format check"
	@echo "make bench      run the benchmarks (tables of ratios; the site one needs make book)"
	@echo "make bench-peers  hessnotes against curvlinops, PyHessian, hessian-eigenthings, scipy"
	@echo "                  (installs them into their own .venv-peers, never into .venv)"

venv: $(STAMP)
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@touch $(STAMP)

book: $(STAMP)
	.venv/bin/jupyter-book build . $(JBFLAGS)
	@echo "Open file://$(CURDIR)/_build/html/index.html (or run: make serve)"

# The whole book as one PDF through LaTeX, from the site's Sphinx environment: chapters executed
# for `make book` are not executed again. Linked from every page's download menu.
pdf: book tex
	.venv/bin/jupyter-book build . --builder pdflatex $(JBFLAGS)
	cp _build/latex/hessnotes.pdf _build/html/hessnotes.pdf
	@echo "PDF: $(CURDIR)/_build/html/hessnotes.pdf ($$(pdfinfo _build/html/hessnotes.pdf | awk '/^Pages/ {print $$2}') pages)"

test: $(STAMP) chromium tex
	@.ci/phase lint      $(MAKE) -s lint
	@.ci/phase unit      $(MAKE) -s test-unit
	@.ci/phase nbval     $(MAKE) -s test-notebooks
	@.ci/phase lab       $(MAKE) -s test-lab
	@.ci/phase build     $(MAKE) -s test-build
	@.ci/phase site      $(MAKE) -s test-site

test-unit: $(STAMP)
	$(PY) -m pytest -q -m "not site and not lab and not build" tests

# The chapters themselves; their Colab copies (book/colab/, generated from them) are not re-run.
test-notebooks: $(STAMP)
	$(PY) -m pytest -q $(NBVAL) --ignore=book/colab book

# Chapters as a Binder reader runs them: JupyterLab with jupyterlab-myst, in Chromium (offline).
test-lab: $(STAMP) chromium
	$(PY) -m pytest -q -m lab tests

# Builds a scratch copy of the book, edits a library module and a chapter, rebuilds: only the
# chapters that depend on the change run again, and the pages show the new values.
test-build: $(STAMP)
	$(PY) -m pytest -q -s -m build tests

# Builds the book strictly into a temporary folder, then drives Chromium against it; the PDF
# is built from the same build (no chapter runs twice) and checked (tests/test_pdf.py).
test-site: $(STAMP) chromium tex
	$(PY) -m pytest -q -m site tests

# The PDF checks alone (they build the site first, as make pdf does).
test-pdf: $(STAMP) tex
	$(PY) -m pytest -q -m site tests/test_pdf.py

chromium:
	@.ci/ensure-chromium

tex:
	@.ci/ensure-tex

notebooks: $(STAMP)
	$(PY) .ci/execute-notebooks book/*.ipynb
	$(PY) .ci/list-exercises

serve:
	@test -f _build/html/index.html || { echo "no site yet: run make book first"; exit 1; }
	$(PY) -m http.server 8000 --bind 127.0.0.1 --directory _build/html

# One list of Python sources for lint and format alike (the .ci scripts are Python without .py).
PYSRC   := hessnotes tests benchmarks book .ci/execute-notebooks .ci/list-exercises \
           .ci/readers.py .ci/kernel_memory.py

lint: $(STAMP)
	$(PY) -m ruff check $(PYSRC)
	$(PY) -m ruff format --check $(PYSRC)

format: $(STAMP)
	$(PY) -m ruff format $(PYSRC)
	$(PY) -m ruff check --fix $(PYSRC)

bench: $(STAMP) chromium
	$(PY) benchmarks/bench_secant.py
	$(PY) benchmarks/bench_kron.py
	$(PY) benchmarks/bench_limited.py
	$(PY) benchmarks/bench_curvature.py
	$(PY) benchmarks/bench_checks.py
	$(PY) benchmarks/bench_calculus.py
	@test -f _build/html/index.html || $(MAKE) -s book
	$(PY) benchmarks/bench_site.py _build/html

# The peers live in their own environment: the book's .venv and make test never import them.
PEERS       := .venv-peers/bin/python
PEERS_STAMP := .venv-peers/.installed
$(PEERS_STAMP): benchmarks/peers-requirements.txt
	@test -x $(PEERS) || python3 -m venv .venv-peers
	$(PEERS) -m pip install --disable-pip-version-check -q -r benchmarks/peers-requirements.txt
	@touch $(PEERS_STAMP)

bench-peers: $(PEERS_STAMP)
	$(PEERS) benchmarks/bench_peers.py

clean:
	rm -rf _build .pytest_cache .hypothesis
