# The two commands: `make run` serves YuCredit with demo data; `make test` runs every test.
.PHONY: run test install check-lock lock upgrade lint format bench-seed

install:
	@scripts/bootstrap.sh

# pyproject.toml holds the ranges, requirements.lock the exact versions; they must agree.
check-lock:
	@python3 scripts/lock.py check

# Re-resolve the lock from pyproject.toml (needs the package registry). Pins that still satisfy
# their range are kept; `make upgrade` (or `make lock UPGRADE=1`) moves everything to the newest.
lock: install
	@.venv/bin/python scripts/lock.py write $(if $(UPGRADE),--upgrade)

upgrade:
	@$(MAKE) --no-print-directory lock UPGRADE=1

run: install
	@.venv/bin/python run.py ensure-redis
	@.venv/bin/python run.py migrate
	@.venv/bin/python run.py seed --if-empty --enterprises 2000 --records 50000 --seed 7
	@.venv/bin/python run.py serve --with-workers --with-fake-wechat --with-fake-oidc --with-dev-pki

test: check-lock install
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@scripts/test.sh $(PYTEST_ARGS)

lint: install
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: install
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench-seed: install
	@.venv/bin/python bench/seed.py
