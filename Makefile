# The two front-door commands: `make run` and `make test`. Each creates .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench demo-model screenshots package clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Opens the station window on the bundled demo (no arguments = the demo through the default model).
run: $(STAMP)
	$(BIN)/station

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/station bench

# The README's screenshots, rendered from the real window offscreen.
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/screenshots.py docs/screenshots

# The one-folder shop-PC app: dist/station/station (station.exe on Windows).
package: $(STAMP)
	$(BIN)/pyinstaller --noconfirm --log-level WARN build.spec

# Reproduces models/default from scratch (synthetic data, fixed seeds).
demo-model: $(STAMP)
	bash scripts/train_default_model.sh

clean:
	rm -rf build dist .pytest_cache
