VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

ADDR ?= 127.0.0.1:8000
RUN_LOG ?= run.log

.PHONY: client bench-cpu bench-resource run serve test test-services test-defaults test-latest lint lock bench bench-smoke bench-country bench-signups bench-webhooks bench-servers bench-scale drills drills-smoke soak worker clean

## the virtual environment, from the lock file: every package pinned and checked against its hash
$(VENV)/.installed: requirements-dev.lock
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q --require-hashes -r requirements-dev.lock
	touch $@

## the passwordless peers' own environment (django-phone-verify needs phonenumberslite, which clashes with ours)
.venv-peers/.installed: bench/peers/requirements.txt
	python3 -m venv .venv-peers
	.venv-peers/bin/pip install -q --upgrade pip
	.venv-peers/bin/pip install -q -r bench/peers/requirements.txt
	touch $@

## lock: re-resolve requirements*.txt (the ranges we accept) into the lock files, with hashes (uv)
lock: $(VENV)/.installed
	$(PIP) install -q uv
	$(VENV)/bin/uv pip compile requirements.txt --generate-hashes --python-version 3.11 --no-header -o requirements.lock
	$(VENV)/bin/uv pip compile requirements-dev.txt --generate-hashes --python-version 3.11 --no-header -o requirements-dev.lock

## client: the TypeScript client (clients/js): installed from its lock file, typechecked, built and tested
## (Node's test runner); the example pages serve the build
client: $(VENV)/.installed
	cd clients/js && npm ci --no-audit --no-fund && npm run typecheck && npm test
	$(PY) -m pip wheel --no-deps --no-build-isolation -q -w $${TMPDIR:-/tmp}/cheershare-wheels clients/python
	rm -rf clients/python/build clients/python/*.egg-info

## run: the development server on SQLite, the in-process cache, eager Celery, console SMS
run: $(VENV)/.installed
	cd clients/js && (test -d dist/src || (npm ci --no-audit --no-fund && npm run build)) || echo "clients/js not built: the example page /examples/index.html needs Node (npm)"
	$(PY) manage.py migrate --noinput
	$(PY) manage.py runserver $(ADDR) 2>&1 | tee $(RUN_LOG)

## serve: the production server (granian, scripts/serve: 2 workers) on the environment's settings;
## put nginx in front (deploy/nginx.conf) as docker-compose.yml does
serve: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	PATH=$(VENV)/bin:$$PATH scripts/serve --host $(firstword $(subst :, ,$(ADDR))) --port $(lastword $(subst :, ,$(ADDR)))

## test: the whole suite on both stacks: the local PostgreSQL, Redis and RabbitMQ (started if down), then
## the `make run` defaults (SQLite, in-process cache, eager Celery, console SMS)
test: test-services test-defaults

test-services: $(VENV)/.installed client
	NEEDS_RABBITMQ=1 scripts/ensure-services
	scripts/ensure-browser
	scripts/ensure-nginx
	TEST_STACK=services $(PY) -m pytest

test-defaults: $(VENV)/.installed client
	scripts/ensure-browser
	TEST_STACK=defaults $(PY) -m pytest

## test-latest: the suite on the make run defaults, in a venv of the newest releases requirements*.txt
## allow (not the lock), so an upgrade that breaks what we reach into (docs/operations.md) shows at once
test-latest:
	rm -rf .venv-latest
	python3 -m venv .venv-latest
	.venv-latest/bin/pip install -q --upgrade pip
	.venv-latest/bin/pip install -q --upgrade -r requirements-dev.txt
	.venv-latest/bin/pip list --format=freeze | grep -iE '^(django|djangorestframework|psycopg|drf-spectacular|pyjwt|celery|granian)=='
	scripts/ensure-browser
	TEST_STACK=defaults .venv-latest/bin/python -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

## worker: a Celery worker (set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/1)
worker: $(VENV)/.installed
	$(VENV)/bin/celery -A cheershare worker --loglevel=INFO

## bench: benchmarks on granian (scripts/serve) + PostgreSQL + Redis, the SMS task queued on RabbitMQ, driven by wrk
## (writes bench/RESULTS.md; `$(PY) bench/run.py --server gunicorn --output bench/RESULTS-gunicorn.md`: the same on gunicorn)
bench: $(VENV)/.installed .venv-peers/.installed
	NEEDS_RABBITMQ=1 scripts/ensure-services
	command -v wrk >/dev/null || apt-get install -y wrk
	$(PIP) install -q -r bench/requirements.txt
	$(PY) bench/run.py

## bench-smoke: seconds-long run that keeps the benchmark working (CI); writes nothing in the tree
bench-smoke: $(VENV)/.installed .venv-peers/.installed
	NEEDS_RABBITMQ=1 scripts/ensure-services
	command -v wrk >/dev/null || apt-get install -y wrk
	$(PIP) install -q -r bench/requirements.txt
	$(PY) bench/run.py --seconds 1 --scale 0.001 --output $${TMPDIR:-/tmp}/cheershare-bench-smoke.md
	$(PY) bench/run.py --server gunicorn --seconds 1 --scale 0.001 --output $${TMPDIR:-/tmp}/cheershare-bench-smoke-gunicorn.md
	$(PY) bench/country_page.py --messages 2000 --repeats 1 --output $${TMPDIR:-/tmp}/cheershare-country-smoke.md
	$(PY) bench/signups.py --numbers 50 --clients 4 --output $${TMPDIR:-/tmp}/cheershare-signups-smoke.md
	$(PY) bench/webhooks.py --events 100 --output $${TMPDIR:-/tmp}/cheershare-webhooks-smoke.md
	$(PY) bench/webhooks.py --drill --drill-seconds 12 --down 3 --cut 3 --output $${TMPDIR:-/tmp}/cheershare-webhooks-drill-smoke.md
	$(PY) bench/resource_server.py --seconds 1 --rounds 1 --tokens 300 --output $${TMPDIR:-/tmp}/cheershare-resource-smoke.md
	$(PY) bench/cpu_per_request.py --seconds 1 --output $${TMPDIR:-/tmp}/cheershare-cpu-smoke.md

## bench-cpu: CPU per code request by process (server, RabbitMQ, PostgreSQL, Redis, kernel, wrk), ours
## beside django-phone-verify's (writes bench/RESULTS-cpu.md)
bench-cpu: $(VENV)/.installed .venv-peers/.installed
	NEEDS_RABBITMQ=1 scripts/ensure-services
	command -v wrk >/dev/null || apt-get install -y wrk
	$(PIP) install -q -r bench/requirements.txt
	$(PY) bench/cpu_per_request.py

## bench-resource: another service trusting our signed tokens through clients/python, beside its bare view
## (writes bench/RESULTS-resource.md)
bench-resource: $(VENV)/.installed
	scripts/ensure-services
	command -v wrk >/dev/null || apt-get install -y wrk
	$(PY) bench/resource_server.py

## bench-webhooks: how fast one worker delivers events to a loopback receiver (bench/RESULTS-webhooks.md)
bench-webhooks: $(VENV)/.installed
	scripts/ensure-services
	$(PY) bench/webhooks.py
	$(PY) bench/webhooks.py --drill

## bench-signups: 1,000 sign-ups end to end (16 clients, granian, a real worker, loopback Twilio); nothing lost
bench-signups: $(VENV)/.installed
	scripts/ensure-services
	$(PY) bench/signups.py

## bench-country: the admin's "Delivery by country" page over 1M message records (writes bench/RESULTS-country-page.md)
bench-country: $(VENV)/.installed
	scripts/ensure-services
	$(PIP) install -q -r bench/requirements.txt
	$(PY) bench/country_page.py

## bench-servers: granian (the default), gunicorn sync and gthread, uWSGI and waitress at 8 and 64 connections
## (writes bench/RESULTS-servers.md)
bench-servers: $(VENV)/.installed
	scripts/ensure-services
	command -v wrk >/dev/null || apt-get install -y wrk
	$(PIP) install -q -r bench/requirements.txt -r bench/requirements-servers.txt
	$(PY) bench/servers.py

## bench-scale: the authenticated rate at 10M tokens against 1k, and the purge of 10M expired tokens
## (not in CI: minutes and gigabytes; writes bench/RESULTS-scale.md)
bench-scale: $(VENV)/.installed
	scripts/ensure-services
	command -v wrk >/dev/null || apt-get install -y wrk
	$(PIP) install -q -r bench/requirements.txt
	$(PY) bench/scale.py

## drills: faults under load (Redis stopped and stalled, PostgreSQL stopped and its connections all
## taken, a 2-minute Twilio outage, the Celery worker and a server worker killed; slow clients; RabbitMQ
## cut and stalled; one Redis with cache and broker crashed; a Sentinel failover), what clients saw and
## what was lost, the invariants after each (writes bench/RESULTS-drills.md; --only picks some)
drills: $(VENV)/.installed
	NEEDS_RABBITMQ=1 scripts/ensure-services
	scripts/ensure-nginx
	$(PY) bench/drills.py

## drills-smoke: the same drills with 5 s outages (10 s for Twilio) and 15 s of slow clients (CI);
## writes nothing in the tree
drills-smoke: $(VENV)/.installed
	NEEDS_RABBITMQ=1 scripts/ensure-services
	scripts/ensure-nginx
	$(PY) bench/drills.py --short --output $${TMPDIR:-/tmp}/cheershare-drills-smoke.md

## soak: 200,000 mixed requests in rounds; each worker's memory, descriptors and DB connections stay flat
## (writes bench/RESULTS-soak.md)
soak: $(VENV)/.installed
	scripts/ensure-services
	command -v wrk >/dev/null || apt-get install -y wrk
	$(PY) bench/soak.py

clean:
	rm -rf $(VENV) .venv-peers db.sqlite3
