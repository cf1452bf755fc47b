"""The production deployment, checked without Docker or a cluster: the compose file against the Compose
Specification's schema, the Kubernetes manifests against Kubernetes' schemas, and both against the code —
every LENTUR_* variable is a real setting, ports match the settings, probes hit real paths, secrets come
only from the environment or Secrets, images are real and pinned."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from runtime.settings import Settings
from services.system.api import router as system_router

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
K8S_FILES = sorted((DEPLOY / "k8s").glob("*.yaml"))
K8S_DOCS = [
    (path.name, doc)
    for path in K8S_FILES
    if path.name != "kustomization.yaml"
    for doc in yaml.safe_load_all(path.read_text())
    if doc
]
# Every manifest runs the image of the release being built (the project's version in pyproject.toml).
LENTUR_IMAGE = f"lentur:{tomllib.loads((DEPLOY.parent / 'pyproject.toml').read_text())['project']['version']}"
UPSTREAM_IMAGES = {"postgres", "temporalio/auto-setup", "temporalio/ui", "nats"}
SETTING_NAMES = {f"LENTUR_{name.upper()}" for name in Settings.model_fields}
SECRET_WORDS = ("SECRET", "PASSWORD", "DATABASE_URL")
HTTP_PORT = Settings.model_fields["http_port"].default
APP_PATHS = {route.path for route in system_router.routes}  # type: ignore[attr-defined]
LENTUR_SERVICES = ("api", "worker", "projector")


def _placeholder(value: str) -> str:
    """A compose value with `${NAME:?…}` / `${NAME:-default}` replaced the way compose would (secrets faked)."""

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3)
        if default is not None and match.group(2) == ":-":
            return default
        return f"{name.lower()}-" + "x" * 40

    return re.sub(r"\$\{([A-Z_]+)(?:(:[?-])([^}]*))?\}", sub, value)


def _settings_from_env(env: dict[str, str]) -> Settings:
    """Settings exactly as a container with this environment would read them."""
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("LENTUR_")]:
            patch.delenv(key)
        for key, value in env.items():
            patch.setenv(key, value)
        return Settings()


# -- compose ----------------------------------------------------------------------------------------------


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text())
    # The file names draft 2019-09 under a non-canonical URL; say so explicitly.
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(COMPOSE), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_compose_runs_the_distributed_engines_and_two_replicas_of_each_component() -> None:
    services = COMPOSE["services"]
    temporal = services["temporal"]
    assert temporal["image"].startswith("temporalio/auto-setup:")
    assert temporal["environment"]["DB"] == "postgres12" and temporal["environment"]["POSTGRES_SEEDS"] == "postgres"
    dynamic = yaml.safe_load((DEPLOY / "temporal" / "dynamicconfig.yaml").read_text())
    assert dynamic["frontend.enableUpdateWorkflowExecution"][0]["value"] is True
    assert dynamic["frontend.enableExecuteMultiOperation"][0]["value"] is True
    nats = {name: s for name, s in services.items() if name.startswith("nats-")}
    assert len(nats) == 3
    for name, node in nats.items():
        command = node["command"]
        assert "-js" in command and command[command.index("--cluster_name") + 1] == "lentur"
        routes = command[command.index("--routes") + 1]
        assert sorted(routes.split(",")) == sorted(f"nats://{n}:6222" for n in nats if n != name)
    for name in LENTUR_SERVICES:
        service = services[name]
        assert service["deploy"]["replicas"] >= 2
        assert service["deploy"]["resources"]["limits"]
        assert service["command"] == [{"api": "serve"}.get(name, name)]
    servers = services["api"]["environment"]["LENTUR_NATS_URL"].split(",")
    assert sorted(servers) == sorted(f"nats://{n}:4222" for n in nats)


def test_compose_images_are_real_and_pinned_and_ours_is_built_from_the_dockerfile() -> None:
    for name, service in COMPOSE["services"].items():
        image = service["image"]
        repository, _, tag = image.partition(":")
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not pinned"
        if "build" in service:
            assert image == LENTUR_IMAGE
            assert (
                DEPLOY.parent / service["build"]["context"].replace("..", ".") / service["build"]["dockerfile"]
            ).exists()
        else:
            assert repository in UPSTREAM_IMAGES, f"{name}: {image}"


def test_compose_settings_are_real_settings_and_secrets_only_interpolated() -> None:
    for name in (*LENTUR_SERVICES, "migrate"):
        environment = COMPOSE["services"][name]["environment"]
        unknown = {k for k in environment if k.startswith("LENTUR_")} - SETTING_NAMES
        assert not unknown, f"{name}: {unknown}"
        for key, value in environment.items():
            if any(word in key for word in SECRET_WORDS):
                # required from the environment, or (previous JWT secrets, an optional OIDC client secret) an
                # empty list or nothing unless given: never a value written here
                from_env = re.search(r"\$\{[A-Z_]+:(\?[^}]*|-\[\]|-)\}", str(value))
                assert from_env, f"{name}.{key} must come from the environment"
        settings = _settings_from_env(
            {k: _placeholder(str(v)) for k, v in environment.items() if k.startswith("LENTUR_")}
        )
        assert settings.env == "production"  # production validation passes with real-looking secrets
        assert settings.http_port == HTTP_PORT


def test_compose_health_checks_use_the_configured_ports_and_real_paths() -> None:
    services = COMPOSE["services"]
    env = services["api"]["environment"]
    api_check = " ".join(services["api"]["healthcheck"]["test"])
    assert f"127.0.0.1:{env['LENTUR_HTTP_PORT']}/readyz" in api_check and "/readyz" in APP_PATHS
    for name in ("worker", "projector"):
        check = " ".join(services[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{env['LENTUR_METRICS_PORT']}/metrics" in check
    init = services["postgres"]["volumes"][1].split(":")[0]
    assert (DEPLOY / init).exists()
    assert (DEPLOY / "compose.env.example").exists()


# -- Kubernetes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "doc"), K8S_DOCS, ids=[f"{n}:{d['kind']}" for n, d in K8S_DOCS])
def test_manifest_is_valid_kubernetes(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, "1.30.0", strict=True)


def _containers() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for _, doc in K8S_DOCS:
        if doc["kind"] in ("Deployment", "Job"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                found.append((doc["metadata"]["name"], container))
    return found


def _config() -> dict[str, str]:
    return next(doc["data"] for _, doc in K8S_DOCS if doc["kind"] == "ConfigMap")


def test_kustomization_lists_every_manifest_and_sets_our_image() -> None:
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in K8S_FILES if p.name != "kustomization.yaml")
    (image,) = kustomization["images"]
    assert f"{image['newName']}:{image['newTag']}" == LENTUR_IMAGE


def test_components_run_replicated_with_limits_and_our_image() -> None:
    deployments = {doc["metadata"]["name"]: doc for _, doc in K8S_DOCS if doc["kind"] == "Deployment"}
    assert set(deployments) == {f"lentur-{n}" for n in LENTUR_SERVICES}
    for doc in deployments.values():
        assert doc["spec"]["replicas"] >= 2
    for owner, container in _containers():
        assert container["image"] == LENTUR_IMAGE, owner
        limits = container["resources"]["limits"]
        assert limits.get("cpu") and limits.get("memory"), owner
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_probes_point_at_real_paths_on_the_configured_ports() -> None:
    config = _config()
    for owner, container in _containers():
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        if owner == "lentur-api":
            assert ports["http"] == int(config["LENTUR_HTTP_PORT"]) == HTTP_PORT
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        elif owner != "lentur-migrate":
            assert ports["metrics"] == int(config["LENTUR_METRICS_PORT"])
            assert container["livenessProbe"]["httpGet"]["port"] == "metrics"
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            if probe in container:
                assert container[probe]["httpGet"]["path"] in APP_PATHS


def test_kubernetes_settings_are_real_and_secrets_come_from_secrets() -> None:
    config = _config()
    assert set(config) <= SETTING_NAMES, set(config) - SETTING_NAMES
    assert not any(word in key for key in config for word in SECRET_WORDS)
    fake_secrets: dict[str, str] = {}
    for owner, container in _containers():
        for item in container.get("env", []):
            if item["name"].startswith("LENTUR_"):
                assert item["name"] in SETTING_NAMES, f"{owner}: {item['name']}"
                assert "valueFrom" in item and "secretKeyRef" in item["valueFrom"], f"{owner}: {item['name']}"
                fake_secrets[item["name"]] = (
                    "[]" if item["name"].endswith("PREVIOUS_SECRETS") else item["name"].lower() + "-" + "x" * 40
                )
    settings = _settings_from_env({**config, **fake_secrets})
    assert settings.env == "production" and settings.nats_stream_replicas == 3


def test_official_chart_values_configure_postgres_persistence_and_a_jetstream_cluster() -> None:
    temporal = yaml.safe_load((DEPLOY / "k8s" / "charts" / "temporal-values.yaml").read_text())
    persistence = temporal["server"]["config"]["persistence"]
    assert {persistence[s]["sql"]["driver"] for s in ("default", "visibility")} == {"postgres12"}
    assert temporal["server"]["dynamicConfig"]["frontend.enableExecuteMultiOperation"][0]["value"] is True
    assert temporal["cassandra"]["enabled"] is False
    nats = yaml.safe_load((DEPLOY / "k8s" / "charts" / "nats-values.yaml").read_text())
    assert nats["config"]["cluster"]["replicas"] == 3 and nats["config"]["jetstream"]["enabled"] is True


# -- the image --------------------------------------------------------------------------------------------


def test_the_image_is_pinned_runs_unprivileged_and_carries_no_secret() -> None:
    lines = [
        ln.strip() for ln in (DEPLOY / "Dockerfile").read_text().splitlines() if ln.strip() and not ln.startswith("#")
    ]
    bases = [ln.split()[1] for ln in lines if ln.startswith("FROM ")]
    assert bases and all(re.search(r":\d", b) and "latest" not in b for b in bases)
    user = next(ln.split()[1] for ln in reversed(lines) if ln.startswith("USER "))
    assert user.isdigit() and int(user) > 0
    assert 'ENTRYPOINT ["lentur"]' in lines
    exposed = {int(p) for ln in lines if ln.startswith("EXPOSE ") for p in ln.split()[1:]}
    assert {HTTP_PORT, int(_config()["LENTUR_METRICS_PORT"])} <= exposed
    env_text = " ".join(ln for ln in lines if not ln.startswith(("RUN", "COPY")))
    assert not re.search(r"(SECRET|PASSWORD)\s*=", env_text)
    for source in re.findall(r"^COPY (?!--from)(\S+)", "\n".join(lines), flags=re.M):
        assert (DEPLOY.parent / source).exists(), source
