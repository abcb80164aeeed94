"""deploy/kubernetes: validated against the Kubernetes schemas kubernetes-validate carries (no
cluster, no network), and the properties a production deployment needs."""

import subprocess
import sys
from pathlib import Path

import yaml

from cheershare.environment import variables
from tests.live import ROOT

MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
VALIDATE = str(Path(sys.executable).parent / "kubernetes-validate")


def resources() -> dict[tuple[str, str], dict]:
    found = {}
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text()):
            found[(document["kind"], document["metadata"]["name"])] = document
    return found


def validate(*paths) -> subprocess.CompletedProcess:
    return subprocess.run([VALIDATE, "--strict", *map(str, paths)], capture_output=True, text=True, timeout=120)


def test_the_manifests_are_valid_kubernetes():
    result = validate(*MANIFESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == 11


def test_the_validator_refuses_a_broken_manifest(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        (ROOT / "deploy/kubernetes/web.yaml").read_text().replace("containerPort: 8000", "containerPort: web")
    )
    assert validate(broken).returncode != 0


def test_web_is_probed_disrupted_gently_and_autoscaled():
    found = resources()
    web = found[("Deployment", "cheershare-web")]["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert found[("PodDisruptionBudget", "cheershare-web")]["spec"]["minAvailable"] == 1
    assert found[("HorizontalPodAutoscaler", "cheershare-web")]["spec"]["minReplicas"] >= 2
    assert found[("Ingress", "cheershare")]["spec"]["tls"][0]["secretName"] == "cheershare-tls"


def test_one_beat_the_migrate_job_and_workers_per_queue():
    found = resources()
    beat = found[("Deployment", "cheershare-beat")]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate"
    assert found[("Job", "cheershare-migrate")]["spec"]["template"]["spec"]["containers"][0]["command"][-2:] == [
        "migrate", "--noinput",
    ]  # fmt: skip
    queues = {
        found[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]["command"][5]
        for name in ("cheershare-worker-codes", "cheershare-worker-events")
    }
    assert queues == {"celery", "celery.events"}


def test_the_config_and_secret_hold_only_settings_the_code_reads():
    found, known = resources(), set(variables())
    config = set(found[("ConfigMap", "cheershare-config")]["data"])
    secret = set(found[("Secret", "cheershare-secrets")]["stringData"])
    assert config <= known and secret <= known, (config | secret) - known
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "TWILIO_AUTH_TOKEN"} <= secret


def test_the_ingress_buffers_whole_bodies_for_web_pods_without_their_gate():
    """The web pods run on granian's plain WSGI interface (BODY_GATE=0): a slow body must be held by
    the ingress controller, which reads it whole first, never by a pod's worker."""
    found = resources()
    assert found[("ConfigMap", "cheershare-config")]["data"]["BODY_GATE"] == "0"
    annotations = found[("Ingress", "cheershare")]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "on"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "2m"
