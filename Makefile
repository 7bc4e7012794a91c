# Two verbs a newcomer needs (report, test), and the few a developer uses.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: report test ui bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

report: $(STAMP)  ## set up, then write the 2007 report to data/outputs/2007/
	$(BIN)/cleantech-survey run data/raw/2007.csv

test: $(STAMP)  ## set up, then run every test
	$(BIN)/pytest

bench: $(STAMP)  ## time the command at growing wave sizes, stage by stage
	$(BIN)/python bench/run_benchmark.py

ui: $(STAMP)  ## the Dagster UI with its daemon on 127.0.0.1:3000
	$(BIN)/cleantech-survey ui

clean:  ## remove the environment, the warehouse and every output
	rm -rf $(VENV) data/warehouse data/outputs .dagster
