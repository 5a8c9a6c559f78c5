# Two commands: `make app` (set up, then start the dashboard) and `make test` (set up, then run the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BUILT := $(VENV)/.built
HOST ?= 127.0.0.1
PORT ?= 8501

.PHONY: app test setup build bench clean manifest

setup: $(BUILT)

# Each step says what it does: the first run downloads about 1 GB and takes several minutes; later runs skip it.
$(STAMP): requirements.txt pyproject.toml
	@echo "==> [1/4] Python environment in $(VENV)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip
	@echo "==> [2/4] Installing torch (CPU; the largest download, a few minutes on a fresh clone)"
	@$(BIN)/pip install --quiet torch==2.13.0
	@echo "==> [3/4] Installing the other requirements (requirements.txt)"
	@$(BIN)/pip install --quiet -r requirements.txt
	@touch $(STAMP)

# Compiles the Cython engine (mars_core/engine/*.pyx) and installs the `mars` command.
$(BUILT): $(STAMP) setup.py $(wildcard mars_core/engine/*.pyx mars_core/engine/*.pxd)
	@echo "==> [4/4] Compiling the order-book engine (Cython) and installing the mars command"
	@$(BIN)/pip install --quiet --no-build-isolation --no-deps -e .
	@touch $(BUILT)

build: $(BUILT)

# Served without a file watcher (.streamlit/config.toml): edits need a restart, and no inotify queue floods the log.
app: setup
	@echo "==> Setup done. Starting the dashboard at http://$(HOST):$(PORT) (Ctrl-C stops it)"
	$(BIN)/streamlit run app.py --server.address $(HOST) --server.port $(PORT) --server.headless true

test: setup
	$(BIN)/python -m pytest -n 2 -q

# Records the SHA-256 of every shipped checkpoint (assets/models/*/*.pt) in assets/models/MANIFEST.sha256;
# loading a shipped model checks it. Run it after replacing a shipped model on purpose.
manifest: setup
	$(BIN)/python -c "from mars_core.model.checkpoint import write_manifest; print(write_manifest())"

bench: setup
	$(BIN)/mars bench engine --json
	$(BIN)/mars bench sim --json

clean:
	rm -rf build *.egg-info mars_core/engine/*.cpp mars_core/engine/*.so $(BUILT)
