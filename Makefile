.PHONY: help install demo test lint format bench
help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' Makefile | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'
install:  ## install meterwall with its test dependencies (and Debian's chromium)
	scripts/install-test-deps
demo:  ## install and serve the demo site on http://127.0.0.1:8000/
	scripts/demo
test:  ## install test dependencies, start services, run the whole suite
	scripts/test
lint:  ## ruff check, ruff format --check, mypy --strict
	scripts/lint
format:  ## apply ruff's formatting and safe fixes
	python3 -m ruff format . && python3 -m ruff check --fix .
bench:  ## run the benchmarks and print their figures (see BENCHMARKS.md)
	python3 benchmarks/run.py
