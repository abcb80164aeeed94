"""The deployment files, read (no Docker engine runs here): the image, compose, the lock files and
the Makefile agree with each other and with the settings the code reads."""

import os
import re
from pathlib import Path

import pytest
import yaml

from cheershare.environment import variables

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
APP_SERVICES = ["migrate", "web", "worker", "beat"]


def requirement_names(path: str) -> set[str]:
    lines = (ROOT / path).read_text().splitlines()
    return {
        re.split(r"[<>=\[ ;#]", line.strip(), maxsplit=1)[0].lower() for line in lines if re.match(r"^[A-Za-z]", line)
    }


def test_the_image_is_multi_stage_non_root_hash_checked_and_healthy():
    assert DOCKERFILE.count("\nFROM ") + DOCKERFILE.startswith("FROM ") >= 2
    assert "pip install --require-hashes -r /tmp/requirements.lock" in DOCKERFILE
    assert "COPY requirements.lock" in DOCKERFILE
    user = re.search(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE)
    assert user and user.group(1) not in {"root", "0"}
    assert DOCKERFILE.index("USER ") < DOCKERFILE.index("CMD [")
    assert "HEALTHCHECK" in DOCKERFILE and "/healthz" in DOCKERFILE.split("HEALTHCHECK")[1]
    assert re.search(r'^CMD \["scripts/serve"\]$', DOCKERFILE, re.MULTILINE)
    assert os.access(ROOT / "scripts/serve", os.X_OK)  # the image runs it as it is
    serve = (ROOT / "scripts/serve").read_text()
    assert "SERVE_WSGI_APP=cheershare.wsgi:application" in serve and (ROOT / "cheershare/wsgi.py").exists()
    assert "--factory serving:from_environment" in serve and 'INTERFACE:-asginl}"' in serve
    assert re.search(
        r'^export GRANIAN_HOST="\$\{GRANIAN_HOST:-0\.0\.0\.0\}"$', serve, re.MULTILINE
    )  # reachable in a container


@pytest.mark.parametrize(
    "lock, source", [("requirements.lock", "requirements.txt"), ("requirements-dev.lock", "requirements-dev.txt")]
)
def test_lock_files_pin_every_package_with_hashes(lock, source):
    text = (ROOT / lock).read_text()
    pins = re.findall(r"^([a-z0-9._-]+)==([^\s\\]+)", text, re.MULTILINE)
    assert len(pins) > 20
    for block in re.split(r"\n(?=[a-z0-9._-]+==)", text):
        if re.match(r"^[a-z0-9._-]+==", block):
            assert "--hash=sha256:" in block, block.splitlines()[0]
    pinned = {name.replace("_", "-") for name, _ in pins}
    wanted = {name.replace("_", "-") for name in requirement_names(source) if name != "-r"}
    assert wanted <= pinned, wanted - pinned


def test_make_run_test_and_ci_install_from_the_lock_with_hashes():
    makefile = (ROOT / "Makefile").read_text()
    assert "$(VENV)/.installed: requirements-dev.lock" in makefile
    assert "install -q --require-hashes -r requirements-dev.lock" in makefile
    for target in ["run", "test-services", "test-defaults"]:
        assert re.search(rf"^{target}: \$\(VENV\)/.installed", makefile, re.MULTILINE)
    assert "make test" in (ROOT / ".ci/run").read_text()
    serve = makefile.split("\nserve:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/serve --host" in serve  # make serve runs what the image runs


def test_compose_sets_only_settings_the_code_reads():
    known = set(variables()) | {"DJANGO_SETTINGS_MODULE"}  # every variable the code reads
    for name in APP_SERVICES:
        environment = COMPOSE["services"][name]["environment"]
        assert set(environment) <= known, set(environment) - known
        assert COMPOSE["services"][name]["env_file"] == ".env"


def test_compose_waits_for_healthy_services_and_migrates_once():
    services = COMPOSE["services"]
    for name in ["postgres", "redis", "rabbitmq", "web", "worker", "beat"]:
        assert "healthcheck" in services[name], name
    for name in APP_SERVICES:
        conditions = {dependency["condition"] for dependency in services[name]["depends_on"].values()}
        assert conditions <= {"service_healthy", "service_completed_successfully"}
    for name in ["web", "worker", "beat"]:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == "python manage.py migrate --noinput"
    assert services["migrate"]["restart"] == "no"


def test_the_broker_is_durable_and_beat_runs_the_purge():
    services = COMPOSE["services"]
    broker = services["web"]["environment"]["CELERY_BROKER_URL"]
    assert broker.startswith("amqp://") and "@rabbitmq:5672" in broker
    assert any(volume.endswith(":/var/lib/rabbitmq") for volume in services["rabbitmq"]["volumes"])
    assert "rabbitmq" in COMPOSE["volumes"]
    assert services["worker"]["command"].startswith("celery -A cheershare worker")
    assert services["beat"]["command"].startswith("celery -A cheershare beat")
    from cheershare.celery import app

    app.loader.import_default_modules()
    purges = {"tokens.tasks.purge_expired_tokens", "messaging.tasks.purge_old_delivery_records",
              "events.tasks.purge_events", "accounts.tasks.purge_known_devices"}  # fmt: skip
    assert purges <= set(app.tasks) and purges <= {entry["task"] for entry in app.conf.beat_schedule.values()}


def test_nginx_fronts_the_web_service_with_tls_and_the_drilled_proxy_settings():
    """TLS on 443 from mounted certificates, port 80 redirected; the proxy settings the slow-client
    drill measures (bench/drills.py, through deploy/nginx.conf) are the ones compose runs."""
    services = COMPOSE["services"]
    nginx, web = services["nginx"], services["web"]
    assert "ports" not in web and web["expose"] == ["8000"]
    assert nginx["ports"] == ["80:80", "443:443"] and nginx["depends_on"]["web"]["condition"] == "service_healthy"
    assert "./deploy/nginx-tls.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    assert "./deploy/nginx/proxy.conf:/etc/nginx/cheershare/proxy.conf:ro" in nginx["volumes"]
    assert "./deploy/certs:/etc/nginx/certs:ro" in nginx["volumes"]
    tls = (ROOT / "deploy/nginx-tls.conf").read_text()
    assert "listen 443 ssl;" in tls and "return 301 https://$host$request_uri;" in tls
    assert "ssl_certificate /etc/nginx/certs/fullchain.pem;" in tls
    for site in (tls, (ROOT / "deploy/nginx.conf").read_text()):
        assert "server web:8000;" in site and "include /etc/nginx/cheershare/proxy.conf;" in site
    proxy = (ROOT / "deploy/nginx/proxy.conf").read_text()
    # nginx reads each body whole before passing it on, so the server behind it runs without its gate
    assert "proxy_request_buffering on;" in proxy and "client_header_timeout" in proxy
    assert web["environment"]["BODY_GATE"] == "0"
    assert "proxy_set_header Host $http_host;" in proxy  # the port too: the admin's CSRF origin check
    # nginx appends the client's address: the app trusts exactly that one hop.
    assert "$proxy_add_x_forwarded_for" in proxy and web["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    body_limit = int(re.search(r"client_max_body_size (\d+)m;", proxy).group(1))
    assert body_limit * 1024 * 1024 > 1024 * 1024  # over the app's 1 MiB, so the app answers 413 itself


def test_compose_holds_no_password_and_the_image_no_secret():
    text = (ROOT / "docker-compose.yml").read_text()
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?" in text and "cheershare:cheershare@" not in text
    assert "RABBITMQ_DEFAULT_PASS: ${RABBITMQ_PASSWORD:?" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".env.*", "deploy/certs", "*.pem", "*.key", ".git"} <= set(ignored)
    assert "!.env.example" in ignored


def test_compose_runs_metrics_in_multiprocess_mode_and_documents_the_admin():
    app = COMPOSE["x-app"]
    assert app["environment"]["PROMETHEUS_MULTIPROC_DIR"] == "/run/prometheus" and "/run/prometheus" in app["tmpfs"]
    manage = COMPOSE["services"]["manage"]
    assert manage["entrypoint"] == ["python", "manage.py"] and manage["profiles"] == ["manage"]
    assert "docker compose run --rm manage createsuperuser" in (ROOT / "docker-compose.yml").read_text()


def test_the_caches_redis_keeps_its_data_on_disk():
    """A restart must not hand out fresh failure budgets: AOF, fsync every second, on a volume."""
    redis = COMPOSE["services"]["redis"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert redis["command"][redis["command"].index("--appendfsync") + 1] == "everysec"
    assert "redisdata:/data" in redis["volumes"] and "redisdata" in COMPOSE["volumes"]


def test_redis_replies_are_parsed_and_commands_packed_in_c():
    """redis-py uses hiredis (requirements.txt: redis[hiredis]) when it is installed; in Python, packing
    the code request's one script call (51 arguments) cost about 100 µs more (bench/NOTES.md)."""
    from redis._parsers import _HiredisParser
    from redis.connection import Connection, HiredisRespSerializer

    connection = Connection()  # never connected: only its parser and packer are looked at
    assert isinstance(connection._parser, _HiredisParser)
    assert isinstance(connection._command_packer, HiredisRespSerializer)


def test_a_publish_waits_for_the_brokers_confirmation():
    """RabbitMQ (compose's broker): a code answered 200 is in a durable queue, not a socket buffer."""
    from django.conf import settings

    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["confirm_publish"] is True
    assert COMPOSE["x-app"]["environment"]["CELERY_BROKER_URL"].startswith("amqp://")
