# Two commands: `make app` (set up, then start the dashboard) and `make test` (set up, then run the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BUILT := $(VENV)/.built
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: app test setup build bench clean

setup: $(BUILT)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

# Compiles the Cython engine (mars_core/engine/*.pyx) and installs the `mars` command.
$(BUILT): $(STAMP) setup.py $(wildcard mars_core/engine/*.pyx mars_core/engine/*.pxd)
	$(BIN)/pip install --quiet --no-build-isolation --no-deps -e .
	touch $(BUILT)

build: $(BUILT)

app: setup
	$(BIN)/streamlit run app.py --server.address $(HOST) --server.port $(PORT) --server.headless true

test: setup
	$(BIN)/python -m pytest -n 2 -q

bench: setup
	$(BIN)/mars bench engine --json
	$(BIN)/mars bench sim --json

clean:
	rm -rf build *.egg-info mars_core/engine/*.cpp mars_core/engine/*.so $(BUILT)
