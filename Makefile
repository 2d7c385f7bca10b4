# The two commands of the README: `make run` and `make test`.
# Both create .venv when missing and install the project into it (idempotent).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := data/boundaries/demo_county.gpkg

.PHONY: setup run test demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/streamlit run app.py -- --workspace $(DEMO)

test: setup
	$(BIN)/python -m pytest

# Rebuild the demo county from its seeded script (byte-for-byte reproducible).
demo: setup
	$(BIN)/python data/boundaries/make_demo_county.py --out $(DEMO)

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
