# The two commands of the README: `make run` and `make test`.
# Both create .venv when missing and install the project into it (idempotent).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := data/boundaries/demo_county.gpkg

.PHONY: setup system-deps run test lint demo bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP) system-deps

# Debian packages the briefing (a CJK font), the browser test (Chromium) and the PostGIS tests
# (PostgreSQL's initdb/pg_ctl and the postgis extension, for a throw-away cluster) need: installed
# with apt-get when missing and running as root; otherwise the command to run is printed.
SYSTEM_PACKAGES := chromium fonts-noto-cjk postgresql postgresql-postgis postgis
system-deps:
	@if command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q . \
	  && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  && ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing $(SYSTEM_PACKAGES) with apt-get"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES)) \
	    || echo "warning: apt-get could not install $(SYSTEM_PACKAGES); the briefing, browser and PostGIS tests will fail"; \
	else echo "note: install the Debian packages $(SYSTEM_PACKAGES) (sudo apt-get install $(SYSTEM_PACKAGES)) for the briefing, the browser test and the PostGIS tests"; fi

# The app on this machine only (127.0.0.1), serving the data directory ./gridpatrol-data (or
# $GRIDPATROL_DATA); on first run the demo county is copied into its library. No sign-in while no
# account exists; the tracked demo file is never written.
run: setup
	$(BIN)/gridpatrol serve --host 127.0.0.1 --port 8501

# Lint first: a style or type error fails `make test` before the suite runs.
test: setup lint
	$(BIN)/python -m pytest

# Style and types ([tool.ruff] and [tool.mypy] in pyproject.toml).
lint: setup
	$(BIN)/ruff check . && $(BIN)/mypy geo planning

# Rebuild the demo county from its seeded script (byte-for-byte reproducible).
demo: setup
	$(BIN)/python data/boundaries/make_demo_county.py --out $(DEMO)

# Benchmarks, with the peers they compare against (OR-Tools, GerryChain, pandana).
bench: setup
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -W ignore -m bench

# Refresh the README screenshots (docs/screenshots/) from the app in headless Chromium.
screenshots: setup
	GRIDPATROL_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_browser.py -q

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
