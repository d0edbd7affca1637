# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# `make demo` installs only what the demo needs (agentcore, its console extra, the SQLite tool
# pack); `make test` adds the development tools and PostgreSQL support. Each has its stamp.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check --progress-bar on
DEMO_STAMP := $(VENV)/.demo-stamp
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-fast lint bench emulator eval clean

$(PY):
	@echo "==> creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)

$(DEMO_STAMP): pyproject.toml tools/sql/pyproject.toml | $(PY)
	@echo "==> installing agentcore, its console extra and the SQL tool pack (what the demo needs)"
	$(PIP) -e '.[console]' -e tools/sql
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml tools/sql/pyproject.toml | $(PY)
	@echo "==> installing agentcore with the development tools and the SQL tool pack"
	$(PIP) -e '.[dev,console]' -e 'tools/sql[postgres]'
	touch $(DEMO_STAMP) $(STAMP)

demo: $(DEMO_STAMP)
	$(PY) -m examples.support_agent $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check agentcore tools examples tests
	$(VENV)/bin/mypy agentcore tools/sql/agentcore_sql examples

test: lint
	$(VENV)/bin/pytest

test-fast: $(STAMP)
	$(VENV)/bin/pytest -m "not e2e"

bench: $(STAMP)
	$(PY) -m pytest tests/benchmarks -q -s -p no:cacheprovider --override-ini addopts=

# The support agent's 30 cases: the current prompt (every case must pass), then the
# candidate version 5 with its differences from version 4 (reported, not failing).
EVAL_DB ?= examples/support_agent/data/evals.db
EVAL_RUN = $(VENV)/bin/agentcore eval run examples/support_agent/evals/cases.yaml \
	--agent examples.support_agent.evals:build_eval_agent --history $(EVAL_DB)

eval: $(STAMP)
	$(EVAL_RUN) --prompt examples/support_agent/prompts/support_system.md --min-pass-rate 1 $(ARGS)
	$(EVAL_RUN) --prompt examples/support_agent/prompts/support_system_v5.md --no-gate $(ARGS)

emulator: $(DEMO_STAMP)
	$(PY) -m agentcore.emulator --port 0

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
