"""deploy/: compose, Kubernetes, Prometheus and Grafana files agree with the services' real settings and routes,
and no secret has a default. `docker compose config` (or docker-compose) validates the compose file where a
client is installed; no Docker engine is needed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import yaml
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Route

from services.common.http import operator_routes
from services.ingest.app import Ingest, http_app
from services.ingest.settings import IngestSettings
from services.ingest.telemetry import IngestMetrics
from services.metrics.api import routes as metrics_api_routes
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import MetricsTelemetry

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
SECRETS = (
    "CLICKHOUSE_ADMIN_PASSWORD",
    "INGEST_CLICKHOUSE_PASSWORD",
    "METRICS_CLICKHOUSE_PASSWORD",
    "DASHBOARD_READER_PASSWORD",
    "PSEUDONYM_KEY",
    "GRAFANA_ADMIN_PASSWORD",
)
SECRET_SETTINGS = {"CLICKHOUSE_PASSWORD", "PSEUDONYM_KEY"}
# The service a container runs, by its command.
SERVICES = {"workforce-ingest": "ingest", "workforce-metrics": "metrics"}


async def _ok() -> tuple[bool, str]:
    return True, ""


def ingest_paths() -> set[str]:
    settings = IngestSettings(pseudonym_key=SecretStr("k0123456789abcdefghijklmnopqrstuvwxyz"))
    fake = SimpleNamespace(settings=settings, metrics=IngestMetrics(), consumer=None, adapter=None, store=None)
    server = http_app(cast(Ingest, fake))
    app = cast(Starlette, server.config.app)
    return {route.path for route in app.routes if isinstance(route, Route)}


def metrics_paths() -> set[str]:
    operator = operator_routes(live=_ok, ready=_ok, registry=MetricsTelemetry().registry)
    routes = [*operator, *metrics_api_routes(None, k=5)]  # type: ignore[arg-type]
    return {route.path for route in routes if isinstance(route, Route)}


ROUTES = {"ingest": ingest_paths(), "metrics": metrics_paths()}
FIELDS = {
    "ingest": {name.upper() for name in IngestSettings.model_fields},
    "metrics": {name.upper() for name in MetricsSettings.model_fields},
}
PORTS = {"ingest": 8081, "metrics": 8082}


def test_routes_are_the_documented_ones() -> None:
    assert {"/health", "/ready", "/metrics", "/asyncapi.json"} <= ROUTES["ingest"]
    assert {"/health", "/ready", "/metrics", "/indicators", "/indicators/catalog", "/openapi.json"} <= ROUTES["metrics"]
    assert {"METRICS_HTTP_PORT", "METRICS_K", "METRICS_AS_OF", "METRICS_REFRESH_SECONDS"} <= FIELDS["metrics"]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def service_of(command: list[str]) -> str | None:
    return SERVICES.get(command[0]) if command else None


def test_compose_env_of_the_services_is_real_settings() -> None:
    services = compose()["services"]
    seen = set()
    for container in services.values():
        service = service_of(container.get("command", []))
        if service is None:
            continue
        seen.add(service)
        unknown = set(container["environment"]) - FIELDS[service]
        assert not unknown, f"{service}: not settings fields: {unknown}"
    assert seen == {"ingest", "metrics"}


def test_compose_secrets_are_required_and_never_defaulted() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert not re.search(r"\$\{\w+:?-", text), "a variable has a default"
    for name in SECRETS:
        assert re.search(rf"\$\{{{name}:\?", text), f"{name} is not required"
    for container in compose()["services"].values():
        for key, value in dict(container.get("environment", {})).items():
            if "PASSWORD" in key or key in SECRET_SETTINGS:
                assert str(value).startswith("${") and ":?" in str(value), f"{key} is not a required variable"


def test_compose_health_checks_gate_every_dependency() -> None:
    services = compose()["services"]
    for name, container in services.items():
        assert "healthcheck" in container, f"{name} has no health check"
        for dependency, condition in container.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, f"{name} → {dependency}"
            assert dependency in services
    assert services["clickhouse"]["image"] == "clickhouse/clickhouse-server:26.9"
    assert all(":" in c["image"] and not c["image"].endswith(":latest") for c in services.values())


def test_compose_probes_use_real_routes() -> None:
    for container in compose()["services"].values():
        service = service_of(container.get("command", []))
        if service is None:
            continue
        probe = " ".join(container["healthcheck"]["test"])
        match = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w./-]*)", probe)
        assert match, probe
        assert int(match[1]) == PORTS[service]
        assert match[2] in ROUTES[service]


def k8s_documents() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if doc
    ]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in k8s_documents() if doc["kind"] == kind]


def test_k8s_deployments_probe_real_routes_with_resources() -> None:
    deployments = of_kind("Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {"ingest", "metrics"}
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert service_of(container["args"]) == name
        assert container["ports"][0]["containerPort"] == PORTS[name]
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe in container:
                assert container[probe]["httpGet"]["path"] in ROUTES[name], f"{name} {probe}"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert {"requests", "limits"} <= set(container["resources"])
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/path"] in ROUTES[name]


def test_k8s_env_is_real_settings_and_secrets_come_from_secrets() -> None:
    (config_map,) = of_kind("ConfigMap")
    config_keys = set(config_map["data"])
    assert not config_keys & SECRET_SETTINGS
    for deployment in of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item for item in container["env"]}
        assert set(env) <= FIELDS[name]
        assert config_keys <= FIELDS["ingest"] | FIELDS["metrics"]
        for key in SECRET_SETTINGS & FIELDS[name]:
            if key == "PSEUDONYM_KEY" and name != "ingest":
                continue
            assert "value" not in env[key], f"{name}: {key} given inline"
            ref = env[key]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "workforce-secrets" and ref["optional"] is False
    assert not of_kind("Secret"), "no Secret with values is committed"


def test_k8s_hpa_and_services_target_the_deployments() -> None:
    (hpa,) = of_kind("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ingest"}
    assert hpa["spec"]["minReplicas"] >= 2
    labels = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in of_kind("Deployment")}
    for service in of_kind("Service"):
        name = service["metadata"]["name"]
        assert service["spec"]["selector"].items() <= labels[name].items()
        assert service["spec"]["ports"][0]["port"] == PORTS[name]
    (metrics,) = (d for d in of_kind("Deployment") if d["metadata"]["name"] == "metrics")
    assert metrics["spec"]["replicas"] == 1 and metrics["spec"]["strategy"]["type"] == "Recreate"


def test_prometheus_scrapes_both_services_on_their_ports() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for service, port in PORTS.items():
        assert jobs[service]["static_configs"][0]["targets"] == [f"{service}:{port}"]
        assert jobs[service]["metrics_path"] in ROUTES[service]


def test_grafana_provisioning_matches_dashboards_and_compose() -> None:
    text = (DEPLOY / "grafana" / "provisioning" / "datasources" / "workforce.yaml").read_text(encoding="utf-8")
    sources = {s["uid"]: s for s in yaml.safe_load(text)["datasources"]}
    clickhouse = sources["workforce-clickhouse"]
    assert clickhouse["type"] == "grafana-clickhouse-datasource"
    assert clickhouse["jsonData"]["protocol"] == "http"
    assert clickhouse["jsonData"]["username"] == "dashboard_reader"
    assert clickhouse["secureJsonData"]["password"] == "${DASHBOARD_READER_PASSWORD}"
    used = set(re.findall(r"\$\{(\w+)\}", text))
    grafana_env = set(compose()["services"]["grafana"]["environment"])
    assert used <= grafana_env
    dashboards = "".join(p.read_text(encoding="utf-8") for p in (DEPLOY / "grafana" / "dashboards").rglob("*.json"))
    assert set(re.findall(r'"uid": "(workforce-(?:clickhouse|prometheus))"', dashboards)) == set(sources)


def test_grafana_provisions_every_dashboard_of_both_languages_once() -> None:
    """Each language folder of generated dashboards is a provider's path under compose's mount, both hold the same
    dashboards (career among them), and no two share a uid (Grafana would load only one of them)."""
    text = (DEPLOY / "grafana" / "provisioning" / "dashboards" / "workforce.yaml").read_text(encoding="utf-8")
    paths = sorted(p["options"]["path"] for p in yaml.safe_load(text)["providers"])
    mounts = [v.split(":") for v in compose()["services"]["grafana"]["volumes"]]
    (target,) = (inside for outside, inside, *_ in mounts if outside == "./grafana/dashboards")
    root = DEPLOY / "grafana" / "dashboards"
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert folders == ["en", "zh"] and paths == [f"{target}/{folder}" for folder in folders]
    keys = {folder: {p.stem for p in (root / folder).glob("*.json")} for folder in folders}
    assert keys["zh"] == keys["en"] and {"retention", "pay", "training", "career", "pipeline"} <= keys["zh"]
    uids = [json.loads(p.read_text(encoding="utf-8"))["uid"] for p in root.rglob("*.json")]
    assert len(uids) == len(set(uids))


def compose_client() -> list[str]:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    pytest.skip("neither the `docker compose` plugin nor `docker-compose` is installed")


def run_compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(
        [*compose_client(), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env={**clean, **env},
        check=False,
        timeout=60,
    )


def test_compose_config_validates_with_every_secret() -> None:
    result = run_compose_config({name: "x" * 32 for name in SECRETS})
    assert result.returncode == 0, result.stderr


def test_compose_config_refuses_a_missing_secret() -> None:
    for missing in SECRETS:
        result = run_compose_config({name: "x" * 32 for name in SECRETS if name != missing})
        assert result.returncode != 0
        assert missing in result.stderr
