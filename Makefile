# The two set-up commands of README.rst:
#   make demo   build a private index from a buildout's download cache, then
#               re-run the buildout from it with the network cut off
#   make test   install what the tests need and run the whole test suite
# Both start from a fresh machine and create .venv themselves.

PYTHON ?= python3
VENV   := .venv
# pip must not see this machine's configuration (extra indexes, find-links,
# constraints): every pip call here runs isolated from it.
ISOLATED := env $(foreach v,$(filter PIP_% UV_%,$(.VARIABLES)),-u $(v)) PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: venv test lint demo clean wheelhouse

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(ISOLATED) $(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(ISOLATED) $(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

# The bootstrap test needs the real wheels of the bootstrap closure: fetched
# from the package registry here, before the (offline) suite runs.
wheelhouse: venv
	$(ISOLATED) $(VENV)/bin/python tests/wheelhouse.py build/wheelhouse

test: venv lint wheelhouse
	bash .ci/install-system-deps
	$(ISOLATED) $(VENV)/bin/python -m pytest

demo: venv
	$(ISOLATED) bash demo.sh

clean:
	rm -rf $(VENV) bin parts eggs develop-eggs downloads private-index .installed.cfg versions.cfg
