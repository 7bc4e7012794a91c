# Two verbs a newcomer needs (report, test), and the few a developer uses.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: report test ui bench clean system-libraries

# WeasyPrint's Pango, HarfBuzz and Fontconfig come from the system: say which is missing, in one sentence.
system-libraries:
	@$(PYTHON) scripts/check_system_libraries.py

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

report: system-libraries $(STAMP)  ## set up, then write the 2007 report to data/outputs/2007/
	$(BIN)/cleantech-survey run data/raw/2007.csv

test: system-libraries $(STAMP)  ## set up, then run every test
	$(BIN)/pytest

bench: system-libraries $(STAMP)  ## time the command at growing wave sizes, stage by stage
	$(BIN)/python bench/run_benchmark.py

ui: system-libraries $(STAMP)  ## the Dagster UI with its daemon on 127.0.0.1:3000
	$(BIN)/cleantech-survey ui

clean:  ## remove the environment, the warehouse and every output
	rm -rf $(VENV) data/warehouse data/outputs .dagster
