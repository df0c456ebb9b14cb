# evalkit — the two commands a newcomer needs:
#   make demo   set up (first time) and run the report notebooks on the synthetic demo city
#   make test   set up (first time) and run the whole test suite
# Set-up creates .venv and installs the exact versions in requirements.lock, then evalkit itself.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup bench lock clean-reports

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/evalkit run --run-id demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Re-resolve requirements.lock from pyproject.toml in a clean, temporary venv (maintainers only),
# so packages installed by hand in .venv never leak into the lock.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -e '.[test]'
	{ echo "# Exact versions for reproducible installs (make setup installs these, then evalkit itself)."; \
	  echo "# Regenerate with 'make lock' (resolves pyproject.toml in a clean venv)."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^evalkit'; } > requirements.lock
	rm -rf .lock-venv

clean-reports:
	rm -rf reports/*/ reports/.*-tmp-*
