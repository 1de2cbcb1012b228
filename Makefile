# Channel sync: make setup | run | test | lint | demo | bench
# The runs are modules of tools/ (channel_sync_tools), started with python -m;
# scripts/ensure-infra.sh sets the machine up.
SHELL := /bin/bash
export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/channel_sync
export RABBITMQ_URL ?= amqp://guest:guest@127.0.0.1:5672/
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
RUN := $(UV) run --frozen

.PHONY: setup uv install infra migrate run test test-fast lint demo bench chaos soak hostile

setup: install infra migrate ## install everything, make sure Postgres and RabbitMQ run, migrate

uv:
	@command -v uv >/dev/null 2>&1 || [ -x "$(UV)" ] || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

install: uv
	$(UV) sync --frozen --all-packages

infra:
	./scripts/ensure-infra.sh

migrate:
	$(RUN) channel-sync-migrate upgrade head

run: ## all four services in the foreground; Ctrl-C stops them all
	$(RUN) python -m channel_sync_tools.run_all

test: ## every test directory in its own pytest process (ARGS=... passes options on)
	$(RUN) python -m channel_sync_tools.run_tests $(ARGS)

# The unit tests only (no Postgres, RabbitMQ or sandbox: their addresses point at nothing),
# with only the pytest plugins they need loaded (start-up is most of their time).
test-fast:
	DATABASE_URL=postgresql://nobody@127.0.0.1:1/none RABBITMQ_URL=amqp://nobody:x@127.0.0.1:1/ \
	TEST_DATABASE_ADMIN_URL=postgresql://nobody@127.0.0.1:1/none TEST_RABBITMQ_URL=amqp://nobody:x@127.0.0.1:1/ \
	PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 \
	$(RUN) python -m channel_sync_tools.run_tests --fast -q -p pytest_asyncio.plugin -p pytest_timeout $(ARGS)

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy -p channel_sync -p webhook_gateway -p inbound_worker -p outbound_worker -p admin_api -p beds24_sandbox -p channel_sync_testing -p channel_sync_tools

demo: setup ## the demo scenarios end to end, with evidence
	$(RUN) python -m channel_sync_tools.demo

bench: ## figures, never asserts: every path, the inbound path end to end at 200 and 400 webhooks/s, the gateway, the sandbox at scale, 1,000 hotels on 50 accounts (about 30 min in all)
	$(RUN) python -m channel_sync_tools.bench
	$(RUN) python -m channel_sync_tools.bench.inbound
	$(RUN) python -m channel_sync_tools.bench.gateway
	$(RUN) python -m channel_sync_tools.bench.sandbox_scale
	$(RUN) python -m channel_sync_tools.bench.many_hotels

hostile: ## thousands of hostile requests to the gateway and admin-api: no 5xx, nothing stored, no guest data in logs (also run by make test)
	$(RUN) python -m channel_sync_tools.hostile_run

chaos: ## faults under load (SIGKILLs, RabbitMQ and Postgres restarts) on private servers, then the soak
	$(RUN) python -m channel_sync_tools.chaos $(ARGS)
	$(MAKE) soak

soak: ## credit pressure for 16 minutes: fails on a stall, an event held past what credits explain, a refusal or a difference
	$(RUN) python -m channel_sync_tools.soak
