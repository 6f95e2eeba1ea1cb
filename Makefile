# The two front-door commands: `make run` and `make test`. Each creates .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

PEERS := .peers/.installed-stamp

.PHONY: run test test-fast check bench demo-model screenshots package clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	# Not --no-compile: it saves 23 s here, but where PYTHONDONTWRITEBYTECODE is set (CI machines)
	# every interpreter the suite starts then compiles torch again, and the suite took far longer.
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Opens the station window on the bundled demo (no arguments = the demo through the default model).
run: $(STAMP)
	$(BIN)/station

# Lint, types and the import contracts (Qt only in station.ui, the core never imports the
# command line, no cycles): seconds, and run first by both test targets.
check: $(STAMP)
	$(BIN)/ruff check station tests scripts
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Everything CI runs (tests/unit, tests/integration, tests/gui) on two workers. Whole files go to one worker,
# in collection order: the bundle build, the longest single step, first (tests/conftest.py).
# The checks run beside the tests (the suite leaves a core idle a fifth of the time); both must pass,
# and the checks' output comes at the end. Three workers were slower here: two cores, three pools.
test: $(STAMP) $(PEERS)
	@$(MAKE) --no-print-directory check > $(VENV)/check.log 2>&1 & checks=$$!; \
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder; tests=$$?; \
	wait $$checks; checked=$$?; cat $(VENV)/check.log; \
	if [ $$checked -ne 0 ]; then echo "make check failed (above)"; fi; \
	[ $$tests -eq 0 ] && [ $$checked -eq 0 ]

# mosquitto and Aravis's fake GigE Vision camera, for the outputs and camera tests (Debian's packages).
$(PEERS): scripts/install_test_peers.sh
	bash scripts/install_test_peers.sh .peers
	touch $(PEERS)

# The unit tier: in-process, no servers, no child processes, no window; under a minute. One worker:
# two would each load the models and the generated sets again, and take longer.
test-fast: check
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/unit

bench: $(STAMP)
	$(BIN)/station bench

# The README's screenshots, rendered from the real window offscreen.
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/screenshots.py docs/screenshots

# The one-folder shop-PC apps: dist/station/ (full: trains) and dist/station-line/ (line: onnxruntime,
# no torch); the executable is `station` (station.exe on Windows). STATION_BUNDLES=line builds one.
package: $(STAMP)
	$(BIN)/pyinstaller --noconfirm --log-level WARN build.spec

# Reproduces models/default from scratch (synthetic data, fixed seeds).
demo-model: $(STAMP)
	bash scripts/train_default_model.sh

clean:
	rm -rf build dist .pytest_cache
