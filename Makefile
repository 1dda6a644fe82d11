# Two commands do everything on a fresh machine:  make demo   and   make test
SHELL := /bin/bash
VENV ?= .venv
PRESET ?= demo
BIN := $(VENV)/bin
STAMP := $(VENV)/.symmusic-installed

.PHONY: demo test slow report bench setup tools docs-html fresh-venv

$(STAMP): settings.ini setup.py .ci/setup.sh
	bash .ci/setup.sh $(VENV)

setup: $(STAMP)  ## create .venv, install pinned packages and the Debian tools

tools:
	@bash .ci/setup.sh --tools-only

demo: $(STAMP) tools  ## the main job: a small scaling study on the embedded music21 corpus, then the report
	$(BIN)/python .ci/demo.py $(PRESET)

test: $(STAMP) tools  ## the fast test suite; ends with "N passed, N failed, N skipped"
	$(BIN)/python .ci/tests.py

slow: $(STAMP) tools  ## the whole suite, including tests flagged slow
	$(BIN)/python .ci/tests.py --slow

fresh-venv: $(STAMP) tools  ## the package as users get it: a wheel in a new venv outside the checkout, the smoke study from an empty folder
	PYTHON=$(BIN)/python bash .ci/fresh_venv.sh

report: $(STAMP)  ## build the offline HTML report from what the study wrote
	$(BIN)/symmusic_report

bench: $(STAMP) tools  ## benchmarks (not tests): write bench/*.json
	$(BIN)/symmusic_bench
