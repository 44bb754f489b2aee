# The two commands a new user needs:
#   make conformance   set up, run every feature against the embedded sandbox, write reports/
#   make test          the project's own tests (environment errors, skips, detection matrix, secrets)
# ENV=<name or path> runs `make conformance` against another environment.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ENV    ?= sandbox

.PHONY: conformance test matrix setup clean

conformance: setup
	$(PY) -m pytest --env=$(ENV) --alluredir=reports/allure-results --clean-alluredir \
		--junitxml=reports/junit.xml

test: setup
	$(PY) -m pytest -c tests/pytest.ini -n auto tests

matrix: setup
	$(PY) scripts/detection_matrix.py

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

clean:
	rm -rf $(VENV) reports/allure-results reports/allure-report reports/*.json reports/*.xml reports/*.md.tmp
