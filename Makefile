# Two commands do all the set-up on a fresh machine:
#   make demo   installs, then crawls the bundled offline catalogue and shows the dataset
#   make test   installs (the browser and redis-server too, where apt can), then runs every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install upgrade browser redis demo test lint bench clean

# The exact versions and hashes of requirements.lock (runtime and dev, Python 3.11), then
# the project itself without dependencies; pyproject.toml keeps the ranges for people who
# install the package into an environment of their own.
install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements.lock
	@# setuptools warns that a folder named like a package shadows it: that folder is it.
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

# Regenerate requirements.lock from pyproject.toml's ranges (newest matching releases).
LOCK_ARGS := --extra dev --extra scrapyd --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28
upgrade: install
	$(BIN)/uv pip compile pyproject.toml $(LOCK_ARGS) --upgrade -q -o requirements.lock
	rm -f $(VENV)/.installed

# Debian's chromium-headless-shell for RENDER=auto/always (skipped, with a message,
# where apt is not usable; the rendering tests then skip naming the package).
browser:
	bash scripts/install-browser.sh

# Debian's redis-server, for shared crawls (FRONTIER_URL) and their tests; the tests start
# their own server on a free port, never the system one.
redis:
	bash scripts/install-redis.sh

demo: install
	$(BIN)/python scripts/demo.py

# Two workers per core (pytest-xdist): most of a test's time is spent waiting on the
# crawl processes and servers it starts (each on free ports, under its own tmp_path), so
# one worker per core leaves a third of the CPU idle.  --dist loadfile keeps a module on
# one worker, so a module-scoped fixture (a baseline crawl, a mirror) is built once; the
# longest modules go out first (tests/conftest.py: LONGEST_FIRST).  The crawls are forked
# from a warm interpreter (tests/forkserver.py).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
test: install browser redis lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
		--durations=15

# ruff over everything; mypy over the package code (files set in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/crawl.py
	$(BIN)/python bench/mirror_memory.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/views.py
	$(BIN)/python bench/year.py
	$(BIN)/python bench/redis_frontier.py
	$(BIN)/python bench/shared_rate.py
	$(BIN)/python bench/workers.py
	$(BIN)/python bench/s3_commit.py

clean:
	rm -rf $(VENV) output/*/ .pytest_cache .hypothesis
