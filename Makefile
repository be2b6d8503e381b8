# The two commands: `make run` serves YuCredit with demo data; `make test` runs every test.
.PHONY: run test install lint format bench-seed

install:
	@scripts/bootstrap.sh

run: install
	@.venv/bin/python run.py ensure-redis
	@.venv/bin/python run.py migrate
	@.venv/bin/python run.py seed --if-empty --enterprises 2000 --records 50000 --seed 7
	@.venv/bin/python run.py serve --with-workers --with-fake-wechat

test: install
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@scripts/test.sh $(PYTEST_ARGS)

lint: install
	@.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: install
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench-seed: install
	@.venv/bin/python bench/seed.py
