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
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/evalkit run --run-id demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Refresh requirements.lock from the current environment (maintainers only).
lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^evalkit' > requirements.lock

clean-reports:
	rm -rf reports/*/ reports/.*-tmp-*
