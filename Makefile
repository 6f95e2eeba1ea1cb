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

# Until the operator window lands (issue #4), the demo runs headless: every bundled demo image
# through the default model, verdicts stored in the per-user data dir, then the review queue.
run: $(STAMP)
	$(BIN)/station run resources/demo
	$(BIN)/station queue --limit 10

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/station bench

# Reproduces models/default from scratch (synthetic data, fixed seeds).
demo-model: $(STAMP)
	bash scripts/train_default_model.sh

clean:
	rm -rf build dist .pytest_cache
