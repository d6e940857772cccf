# Every target installs what it needs into .venv first (Python 3.11+ and the package registries).
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: test lint demo bench clean

$(BIN)/trustbot: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,demo]"
	touch $@

test: $(BIN)/trustbot
	$(BIN)/pytest -n 2

lint: $(BIN)/trustbot
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

demo: $(BIN)/trustbot
	$(BIN)/trustbot demo

bench: $(BIN)/trustbot
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
