"""Static checks of docker-compose.yml (no container engine runs on these machines)."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from channel_sync.amqp.consumer import EventConsumer

from ._repo import COMPOSE_FILE, ROOT, SECRET_ENV, SERVICES, env_names, load_yaml, settings_class

# Vendored from compose-spec/compose-spec schema/compose-spec.json (see schemas/README.md).
SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
SERVICE_NAMES = [s.name for s in SERVICES]


def compose() -> dict[str, Any]:
    return dict(load_yaml(COMPOSE_FILE))


def compose_service(name: str) -> dict[str, Any]:
    return dict(compose()["services"][name])


def seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, f"unparsed duration {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


def test_the_compose_file_matches_the_compose_specification() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(compose())
    ]
    assert not errors, "\n".join(errors)


def test_the_schema_check_rejects_an_unknown_key() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    broken = compose()
    broken["services"]["admin-api"]["helthcheck"] = {}
    assert not validator.is_valid(broken)


def test_secrets_must_be_supplied() -> None:
    text = COMPOSE_FILE.read_text()
    for variable in ("ADMIN_API_TOKEN", "POSTGRES_PASSWORD", "RABBITMQ_PASSWORD"):
        uses = re.findall(r"\$\{" + variable + r"([^}]*)\}", text)
        assert uses, f"{variable} is not used"
        # `${VAR:?message}` stops compose when VAR is unset or empty: no silent default.
        assert all(u.startswith(":?") for u in uses), f"{variable}: {uses}"


def test_images_are_pinned() -> None:
    for name, service in compose()["services"].items():
        image = service["image"]
        if "build" in service:
            assert image.startswith("channel-sync/"), name
            continue
        tag = image.rsplit(":", 1)[-1]
        assert ":" in image and re.match(r"\d+\.\d+", tag), f"{name}: pin {image} to a version"
    assert re.match(r"rabbitmq:\d+\.\d+(\.\d+)?-management$", compose_service("rabbitmq")["image"])


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_services_start_after_healthy_infrastructure_and_the_migration(name: str) -> None:
    assert compose_service(name)["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "pgbouncer": {"condition": "service_healthy"},
        "rabbitmq": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_services_pool_through_pgbouncer_and_listen_on_postgres(name: str) -> None:
    env = compose_service(name)["environment"]
    assert "@pgbouncer:6432/" in env["DATABASE_URL"]
    assert "@postgres:5432/" in env["DATABASE_LISTEN_URL"]
    # Transaction pooling: a named prepared statement would not outlive its transaction.
    assert env["DB_STATEMENT_CACHE_SIZE"] == "0"


def test_the_migration_goes_to_postgres_itself() -> None:
    # psycopg prepares statements it repeats: not through a transaction pooler.
    assert "@postgres:5432/" in compose_service("migrate")["environment"]["DATABASE_URL"]
    assert compose_service("pgbouncer")["depends_on"] == {
        "postgres": {"condition": "service_healthy"}
    }


def test_every_depended_on_service_can_become_healthy() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], dependency


@pytest.mark.parametrize("service", SERVICES, ids=SERVICE_NAMES)
def test_each_service_is_built_from_its_dockerfile_and_checks_its_own_port(service: Any) -> None:
    spec = compose_service(service.name)
    assert spec["build"] == {
        "context": ".",
        "dockerfile": "services/Dockerfile",
        "args": {"SERVICE": service.name, "PORT": str(service.port)},
    }
    assert (ROOT / spec["build"]["dockerfile"]).exists()
    assert spec["command"] == [service.name]
    assert spec["environment"]["HTTP_PORT"] == str(service.port)
    assert spec["environment"]["HTTP_HOST"] == "0.0.0.0"
    test = spec["healthcheck"]["test"]
    assert test[0] == "CMD" and f"http://127.0.0.1:{service.port}/healthz" in test[-1]


@pytest.mark.parametrize("service", SERVICES, ids=SERVICE_NAMES)
def test_env_names_are_settings_the_service_reads(service: Any) -> None:
    given = set(compose_service(service.name)["environment"])
    known, required = env_names(settings_class(service))
    assert given <= known, f"not settings of {service.name}: {sorted(given - known)}"
    assert required <= given, f"required but not set: {sorted(required - given)}"


def test_secrets_go_only_where_they_are_needed() -> None:
    assert "ADMIN_API_TOKEN" in compose_service("admin-api")["environment"]
    for name in ("webhook-gateway", "inbound-worker", "outbound-worker", "migrate"):
        assert "ADMIN_API_TOKEN" not in compose_service(name)["environment"], name
    assert set(compose_service("migrate")["environment"]) & SECRET_ENV == {"DATABASE_URL"}
    assert "DATABASE_LISTEN_URL" not in compose_service("migrate")["environment"]


def test_the_migration_is_a_one_shot_from_the_admin_image() -> None:
    migrate, admin = compose_service("migrate"), compose_service("admin-api")
    assert migrate["command"] == ["channel-sync-migrate", "upgrade", "head"]
    assert migrate["build"] == admin["build"] and migrate["image"] == admin["image"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_services_get_longer_to_stop_than_a_drain(name: str) -> None:
    drain_s = inspect.signature(EventConsumer.stop).parameters["drain_timeout_s"].default
    assert seconds(compose_service(name)["stop_grace_period"]) >= drain_s + 20


@pytest.mark.parametrize("name", [*SERVICE_NAMES, "migrate", "pgbouncer"])
def test_service_containers_are_hardened(name: str) -> None:
    spec = compose_service(name)
    assert spec["read_only"] is True
    assert spec["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in spec["security_opt"]


def test_the_sandbox_is_demo_only() -> None:
    services = compose()["services"]
    sandbox = services["beds24-sandbox"]
    assert sandbox["profiles"] == ["demo"]
    assert sandbox["build"]["dockerfile"] == "sandbox/Dockerfile"
    assert [n for n, s in services.items() if s.get("profiles")] == ["beds24-sandbox"]
    # A default `docker compose up` must not need it.
    assert all("beds24-sandbox" not in s.get("depends_on", {}) for s in services.values())


def test_only_operator_ports_are_published_beyond_localhost() -> None:
    published = {
        name: port
        for name, service in compose()["services"].items()
        for port in service.get("ports", [])
        if not str(port).startswith("127.0.0.1:")
    }
    assert published == {"webhook-gateway": "8080:8080"}
