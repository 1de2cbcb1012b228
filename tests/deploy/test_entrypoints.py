"""Every command a Dockerfile, the compose file or a manifest runs exists in the code, and
is installed in the image that runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import _kustomize as kz
from ._repo import (
    COMPOSE_FILE,
    DEPLOY,
    ROOT,
    SANDBOX_DOCKERFILE,
    SERVICES,
    argparse_options,
    dockerfile_instructions,
    final_stage,
    installed_with,
    load_yaml,
    module_file,
    rel,
    top_level_functions,
    workspace_distributions,
)


@dataclass(frozen=True)
class Command:
    where: str
    argv: tuple[str, ...]
    dockerfile: Path  # the image it runs in

    def __str__(self) -> str:
        return f"{self.where}: {' '.join(self.argv)}"


def image_distribution(dockerfile: Path) -> str:
    """The `--package` a Dockerfile's `uv sync` installs."""
    for instruction in dockerfile_instructions(dockerfile):
        words = instruction.args.split()
        if instruction.keyword == "RUN" and "--package" in words:
            return words[words.index("--package") + 1]
    raise AssertionError(f"{rel(dockerfile)} installs no --package")


def dockerfile_commands() -> list[Command]:
    found = []
    for path in [*(s.dockerfile for s in SERVICES), SANDBOX_DOCKERFILE]:
        for instruction in final_stage(dockerfile_instructions(path)):
            if instruction.keyword in {"CMD", "ENTRYPOINT"}:
                found.append(
                    Command(
                        f"{rel(path)} {instruction.keyword}", tuple(instruction.exec_form()), path
                    )
                )
    return found


def compose_commands() -> list[Command]:
    found = []
    for name, service in load_yaml(COMPOSE_FILE)["services"].items():
        if "build" in service and "command" in service:
            dockerfile = ROOT / service["build"]["dockerfile"]
            found.append(Command(f"compose {name}", tuple(service["command"]), dockerfile))
    return found


def manifest_commands() -> list[Command]:
    found = []
    for resource in kz.build(DEPLOY / "base"):
        for container in kz.containers(resource):
            image = container["image"]
            assert image.startswith("channel-sync/"), image
            dockerfile = ROOT / "services" / image.removeprefix("channel-sync/") / "Dockerfile"
            assert dockerfile.exists(), f"no Dockerfile builds {image}"
            argv = tuple([*container.get("command", []), *container.get("args", [])])
            where = f"{resource['kind']}/{resource['metadata']['name']}"
            found.append(Command(where, argv, dockerfile))
    return found


def problem(command: Command) -> str | None:
    """Why `command` cannot run in its image, or None."""
    dists = workspace_distributions()
    installed = installed_with(image_distribution(command.dockerfile))
    if not command.argv:
        return f"{command.where} relies on the image's CMD; name the command explicitly"
    program, *args = command.argv
    if program == "python":
        if args[:1] != ["-m"]:
            return f"{command}: only `python -m <module>` is checked"
        module = args[1]
        files = [
            f
            for d in installed
            if (f := module_file(dists[d], module + ".__main__") or module_file(dists[d], module))
        ]
        if not files:
            return f"{command}: module {module} is not installed in that image"
        flags = {a.split("=", 1)[0] for a in args[2:] if a.startswith("--")}
        missing = flags - argparse_options(files[0])
        return f"{command}: {module} takes no {sorted(missing)}" if missing else None
    owners = [dists[d] for d in installed if program in dists[d].scripts]
    if not owners:
        return f"{command}: no console script {program} in {sorted(installed)}"
    module, function = owners[0].scripts[program].split(":")
    path = module_file(owners[0], module)
    if path is None:
        return f"{command}: {module} (for {program}) does not exist (yet)"
    if function not in top_level_functions(path):
        return f"{command}: {module} has no {function}()"
    return None


@pytest.mark.parametrize(
    ("source", "minimum"),
    [(dockerfile_commands, len(SERVICES) + 1), (compose_commands, 6), (manifest_commands, 5)],
    ids=["Dockerfiles", "compose", "manifests"],
)
def test_every_command_exists_in_the_image_that_runs_it(
    source: Callable[[], list[Command]], minimum: int
) -> None:
    commands = source()
    assert len(commands) >= minimum, [str(c) for c in commands]
    problems = [p for c in commands if (p := problem(c))]
    assert not problems, "\n".join(problems)


def test_the_check_spots_a_missing_console_script() -> None:
    dockerfile = SERVICES[0].dockerfile
    assert problem(Command("example", ("no-such-service",), dockerfile))
    assert problem(Command("example", ("python", "-m", "beds24_sandbox"), dockerfile))
    assert problem(Command("example", ("channel-sync-migrate",), dockerfile)) is None
