.PHONY: help install demo test lint format bench lock
# Every target runs in .venv (scripts/_venv.sh creates it), never in the system interpreter.
SHELL := /bin/bash
VENV := source scripts/_venv.sh &&
help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' Makefile | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'
install:  ## install meterwall with its test dependencies into .venv (and Debian's chromium)
	scripts/install-test-deps
demo:  ## install and serve the demo site on http://127.0.0.1:8000/
	scripts/demo
test:  ## install test dependencies, start services, run the whole suite
	scripts/test
lint:  ## ruff check, ruff format --check, mypy --strict
	scripts/lint
format:  ## apply ruff's formatting and safe fixes
	$(VENV) venv_install test && "$$PY" -m ruff format . && "$$PY" -m ruff check --fix .
bench:  ## run the benchmarks and print their figures (see BENCHMARKS.md)
	$(VENV) venv_install bench && "$$PY" benchmarks/run.py
lock:  ## regenerate constraints.txt (every pinned version) after changing dependencies
	scripts/lock
