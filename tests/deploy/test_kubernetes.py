"""Static checks of the Kubernetes manifests (deploy/base and every overlay), offline."""

from __future__ import annotations

import copy
import inspect
import re
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from channel_sync.amqp.consumer import EventConsumer
from channel_sync.amqp.topology import INBOUND, OUTBOUND

from . import _kustomize as kz
from ._repo import (
    DEPLOY,
    POOLER,
    SECRET_ENV,
    SECRET_FILES,
    SERVICE_BY_NAME,
    SERVICES,
    env_names,
    rel,
    settings_class,
)

# Oldest Kubernetes we support (preStop `sleep` needs 1.30) and the newest schema we have.
KUBERNETES_VERSIONS = ("1.30", "1.37")
CRD_KINDS = {"ScaledObject", "TriggerAuthentication", "PrometheusRule"}
SECRET_NAME = "channel-sync-secrets"
WORKER_QUEUES = {"inbound-worker": INBOUND.name, "outbound-worker": OUTBOUND.name}
KUSTOMIZATIONS = sorted(p.parent for p in DEPLOY.rglob("kustomization.yaml"))
OVERLAYS = [k for k in KUSTOMIZATIONS if k != DEPLOY / "base"]
Resource = dict[str, Any]


@cache
def rendered(folder: Path) -> tuple[Resource, ...]:
    return tuple(kz.build(folder))


def ids(folders: list[Path]) -> list[str]:
    return [rel(f) for f in folders]


def by_kind(resources: tuple[Resource, ...], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def only_container(deployment: Resource) -> dict[str, Any]:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) == {"matchLabels"}, "only matchLabels selectors are checked here"
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


def test_there_are_a_base_and_an_overlay() -> None:
    assert DEPLOY / "base" in KUSTOMIZATIONS
    assert OVERLAYS, "deploy/overlays/ should hold at least the example overlay"


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=ids(KUSTOMIZATIONS))
def test_every_file_a_kustomization_names_exists(folder: Path) -> None:
    missing = [rel(p) for p in kz.named_files(folder) if not p.exists()]
    assert not missing, f"{rel(folder)}/kustomization.yaml names missing files: {missing}"


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=ids(KUSTOMIZATIONS))
def test_manifests_match_the_kubernetes_schemas(folder: Path) -> None:
    problems = []
    for resource in rendered(folder):
        if resource["kind"] in CRD_KINDS:
            continue  # not in the Kubernetes schemas; see test_keda_objects_are_complete
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(resource, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = ".".join(str(p) for p in exc.path)
                problems.append(
                    f"{resource['kind']}/{resource['metadata']['name']} "
                    f"(k8s {version}) at {where}: {exc.message}"
                )
            except kubernetes_validate.SchemaNotFoundError as exc:
                problems.append(exc.message)
    assert not problems, "\n".join(problems)


def test_the_schema_check_rejects_an_unknown_field() -> None:
    deployment = copy.deepcopy(by_kind(rendered(DEPLOY / "base"), "Deployment")["admin-api"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=ids(KUSTOMIZATIONS))
def test_names_are_unique(folder: Path) -> None:
    keys = [(r["kind"], r["metadata"]["name"]) for r in rendered(folder)]
    assert len(keys) == len(set(keys)), (
        f"duplicates: {sorted(k for k in keys if keys.count(k) > 1)}"
    )


def test_each_service_has_a_deployment_running_its_console_script() -> None:
    deployments = by_kind(rendered(DEPLOY / "base"), "Deployment")
    assert set(deployments) == {*SERVICE_BY_NAME, POOLER}
    for name in SERVICE_BY_NAME:
        container = only_container(deployments[name])
        assert container["image"] == f"channel-sync/{name}"
        assert container["command"] == [name]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_probes_hit_healthz_and_readyz_on_the_service_port(service: Any) -> None:
    container = only_container(by_kind(rendered(DEPLOY / "base"), "Deployment")[service.name])
    [port] = container["ports"]
    assert port["containerPort"] == service.port
    assert env_of(container)["HTTP_PORT"]["value"] == str(service.port)
    for probe, path in (
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/healthz"),
    ):
        assert container[probe]["httpGet"] == {"path": path, "port": port["name"]}, probe


def test_pods_run_non_root_read_only_and_bounded() -> None:
    workloads = [r for r in rendered(DEPLOY / "base") if kz.pod_specs(r)]
    assert len(workloads) == len(SERVICES) + 2  # and the migration Job, and PgBouncer
    for resource in workloads:
        where = f"{resource['kind']}/{resource['metadata']['name']}"
        [spec] = kz.pod_specs(resource)
        security = spec["securityContext"]
        # What the `restricted` Pod Security Standard asks, which the example overlay enforces.
        assert security["runAsNonRoot"] is True, where
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
        # The same uid as the images' USER, so the images also run unchanged elsewhere.
        assert security["runAsUser"] == 10001, where
        assert spec["automountServiceAccountToken"] is False, where
        for container in kz.containers(resource):
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }, where
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, (where, bound)


def test_the_grace_period_outlasts_a_consumers_drain() -> None:
    drain_s = inspect.signature(EventConsumer.stop).parameters["drain_timeout_s"].default
    for name, deployment in by_kind(rendered(DEPLOY / "base"), "Deployment").items():
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        # The drain, then closing connections and the health server, with room to spare.
        assert grace >= drain_s + 20, f"{name}: {grace} s does not outlast a {drain_s} s drain"


def test_the_migration_runs_as_a_job_from_the_admin_image() -> None:
    jobs = by_kind(rendered(DEPLOY / "base"), "Job")
    [job] = jobs.values()
    [container] = kz.containers(job)
    assert container["image"] == "channel-sync/admin-api"
    assert container["command"] == ["channel-sync-migrate", "upgrade", "head"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert set(env_of(container)) == {"DATABASE_URL"}
    # Postgres itself: psycopg's prepared statements do not survive a transaction pooler.
    ref = env_of(container)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": SECRET_NAME, "key": "DATABASE_LISTEN_URL"}


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=ids(KUSTOMIZATIONS))
def test_secrets_come_only_from_the_secret(folder: Path) -> None:
    resources = rendered(folder)
    for config in by_kind(resources, "ConfigMap").values():
        assert not SECRET_ENV & set(config.get("data", {})), config["metadata"]["name"]
    assert not by_kind(resources, "Secret"), "secret values belong in the secret store"
    for resource in resources:
        # The migration reads Postgres itself under the name every program reads.
        migration = resource["kind"] == "Job"
        for container in kz.containers(resource):
            for name, entry in env_of(container).items():
                if name in SECRET_ENV:
                    key = "DATABASE_LISTEN_URL" if migration and name == "DATABASE_URL" else name
                    ref = entry["valueFrom"]["secretKeyRef"]
                    assert ref == {"name": SECRET_NAME, "key": key}, (name, ref)
        for secret in secret_files(resource):
            assert secret["name"] == SECRET_NAME
            assert {i["key"] for i in secret["items"]} <= SECRET_FILES


def secret_files(resource: Resource) -> list[dict[str, Any]]:
    """The Secrets a workload mounts as files (projected volumes)."""
    return [
        source["secret"]
        for spec in kz.pod_specs(resource)
        for volume in spec.get("volumes", [])
        for source in volume.get("projected", {}).get("sources", [])
        if "secret" in source
    ]


def test_the_readme_creates_every_secret_key_the_manifests_use() -> None:
    used = set()
    for resource in rendered(DEPLOY / "base"):
        for container in kz.containers(resource):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    used.add(ref["key"])
        if resource["kind"] == "TriggerAuthentication":
            used |= {t["key"] for t in resource["spec"]["secretTargetRef"]}
        used |= {item["key"] for secret in secret_files(resource) for item in secret["items"]}
    readme = (DEPLOY / "README.md").read_text()
    command = re.search(rf"kubectl[^\n]*create secret generic {SECRET_NAME}(.*?)```", readme, re.S)
    assert command, "deploy/README.md should show how to create the Secret"
    created = set(re.findall(r"--from-(?:literal|file)=(\w+)=", command.group(1)))
    assert used == created == SECRET_ENV | SECRET_FILES


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_env_names_are_settings_the_service_reads(service: Any) -> None:
    resources = rendered(DEPLOY / "base")
    configs = by_kind(resources, "ConfigMap")
    container = only_container(by_kind(resources, "Deployment")[service.name])
    given = set(env_of(container))
    for source in container.get("envFrom", []):
        given |= set(configs[source["configMapRef"]["name"]]["data"])
    known, required = env_names(settings_class(service))
    assert given <= known, f"not settings of {service.name}: {sorted(given - known)}"
    assert required <= given, f"required but not set: {sorted(required - given)}"


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=ids(KUSTOMIZATIONS))
def test_references_between_objects_resolve(folder: Path) -> None:
    resources = rendered(folder)
    deployments = by_kind(resources, "Deployment")
    configs = by_kind(resources, "ConfigMap")
    pod_labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}
    for name, deployment in deployments.items():
        assert selects(deployment["spec"]["selector"], pod_labels[name]), name
        for source in only_container(deployment).get("envFrom", []):
            assert source["configMapRef"]["name"] in configs, (name, source)
    services = by_kind(resources, "Service")
    for name, service in services.items():
        matched = [
            d
            for d, labels in pod_labels.items()
            if selects({"matchLabels": service["spec"]["selector"]}, labels)
        ]
        assert len(matched) == 1, f"Service {name} selects {matched}"
        port_names = {p["name"] for p in only_container(deployments[matched[0]])["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, (name, port)
    for ingress in by_kind(resources, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                ports = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
                assert backend["port"]["name"] in ports
    for kind in ("HorizontalPodAutoscaler", "ScaledObject"):
        for name, scaler in by_kind(resources, kind).items():
            assert scaler["spec"]["scaleTargetRef"]["name"] in deployments, (kind, name)
    for name, pdb in by_kind(resources, "PodDisruptionBudget").items():
        matched = [
            d for d, labels in pod_labels.items() if selects(pdb["spec"]["selector"], labels)
        ]
        assert len(matched) == 1, f"PodDisruptionBudget {name} selects {matched}"


def test_every_deployment_has_a_disruption_budget() -> None:
    resources = rendered(DEPLOY / "base")
    budgets = by_kind(resources, "PodDisruptionBudget")
    assert set(budgets) == set(by_kind(resources, "Deployment"))


def test_the_gateway_and_admin_api_have_services_and_only_the_gateway_is_exposed() -> None:
    resources = rendered(DEPLOY / "base")
    assert set(by_kind(resources, "Service")) == {"webhook-gateway", "admin-api", POOLER}
    [ingress] = by_kind(resources, "Ingress").values()
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    # Only the webhook routes: health, readiness and metrics stay inside the cluster.
    assert [(p["path"], p["backend"]["service"]["name"]) for p in paths] == [
        ("/webhooks/", "webhook-gateway")
    ]
    assert ingress["spec"]["tls"], "webhooks carry a shared secret: TLS only"


def test_the_gateway_scales_on_cpu() -> None:
    resources = rendered(DEPLOY / "base")
    [hpa] = by_kind(resources, "HorizontalPodAutoscaler").values()
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "webhook-gateway"
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert hpa["spec"]["minReplicas"] >= 2
    # The autoscaler owns the replica count; a fixed one would fight it on every apply.
    assert "replicas" not in by_kind(resources, "Deployment")["webhook-gateway"]["spec"]


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=ids(KUSTOMIZATIONS))
def test_keda_objects_are_complete(folder: Path) -> None:
    resources = rendered(folder)
    auths = by_kind(resources, "TriggerAuthentication")
    for auth in auths.values():
        assert auth["apiVersion"] == "keda.sh/v1alpha1"
        assert set(auth["spec"]) == {"secretTargetRef"}
        for target in auth["spec"]["secretTargetRef"]:
            assert set(target) == {"parameter", "name", "key"}, target
            assert target["name"] == SECRET_NAME and target["key"] in SECRET_ENV
        assert {t["parameter"] for t in auth["spec"]["secretTargetRef"]} == {"host"}
    scaled = by_kind(resources, "ScaledObject")
    assert set(scaled) == set(WORKER_QUEUES)
    for name, obj in scaled.items():
        assert obj["apiVersion"] == "keda.sh/v1alpha1"
        spec = obj["spec"]
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        # Never zero: the worker also runs the relay that fills its own queue.
        assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
        triggers = {t["type"]: t for t in spec["triggers"]}
        assert len(triggers) == len(spec["triggers"]) == 2, "one on depth, one on age"
        depth = triggers["rabbitmq"]
        assert depth["authenticationRef"]["name"] in auths
        meta = depth["metadata"]
        assert meta["queueName"] == WORKER_QUEUES[name]
        assert meta["mode"] == "QueueLength" and meta["protocol"] == "amqp"
        assert isinstance(meta["value"], str) and int(meta["value"]) > 0  # KEDA wants a string
        age = triggers["prometheus"]["metadata"]
        assert set(age) == {"serverAddress", "query", "threshold"}
        assert age["serverAddress"].startswith("http")
        direction = name.removesuffix("-worker")
        assert age["query"] == (
            f'max(channel_sync_oldest_pending_event_age_seconds{{direction="{direction}"}})'
        )
        assert isinstance(age["threshold"], str) and float(age["threshold"]) > 0
        assert "replicas" not in by_kind(resources, "Deployment")[name]["spec"]


@pytest.mark.parametrize("folder", OVERLAYS, ids=ids(OVERLAYS))
def test_overlays_set_a_namespace_and_registry_images(folder: Path) -> None:
    resources = rendered(folder)
    assert all(r["metadata"].get("namespace") for r in resources if r["kind"] != "Namespace")
    for resource in resources:
        for container in kz.containers(resource):
            image = container["image"]
            assert not image.startswith("channel-sync/"), f"{image} was not mapped by images:"
            assert re.search(r":[\w.-]+$", image) and not image.endswith(":latest"), image
