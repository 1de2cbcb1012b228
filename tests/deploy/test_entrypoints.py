"""Every command a Dockerfile, the compose file or a manifest runs exists in the code, and
is installed in the image that runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from . import _kustomize as kz
from ._repo import (
    COMPOSE_FILE,
    DEPLOY,
    POOLER_IMAGE,
    ROOT,
    SANDBOX_DOCKERFILE,
    SERVICE_BY_NAME,
    SERVICES,
    Instruction,
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
    image: str  # the workspace distribution of the image it runs in

    def __str__(self) -> str:
        return f"{self.where}: {' '.join(self.argv)}"


def image_distribution(instructions: list[Instruction]) -> str:
    """The `--package` a Dockerfile's `uv sync` installs."""
    for instruction in instructions:
        words = instruction.args.split()
        if instruction.keyword == "RUN" and "--package" in words:
            return words[words.index("--package") + 1]
    raise AssertionError("the Dockerfile installs no --package")


def script_aliases(instructions: list[Instruction]) -> dict[str, str]:
    """Console scripts linked under another name (`ln -s <script> /app/.venv/bin/<alias>`)."""
    aliases = {}
    for instruction in instructions:
        words = instruction.args.replace('"', "").split() if instruction.keyword == "RUN" else []
        for i in range(len(words) - 3):
            if words[i : i + 2] == ["ln", "-s"] and words[i + 3].startswith("/app/.venv/bin/"):
                aliases[words[i + 3].removeprefix("/app/.venv/bin/")] = words[i + 2]
    return aliases


def images() -> list[tuple[str, list[Instruction]]]:
    """(name, instructions) of every image: each service's, then the sandbox's."""
    return [
        *((f"{rel(s.dockerfile)} {s.name}", s.instructions()) for s in SERVICES),
        (rel(SANDBOX_DOCKERFILE), dockerfile_instructions(SANDBOX_DOCKERFILE)),
    ]


def dockerfile_commands() -> list[Command]:
    found = []
    for name, instructions in images():
        aliases = script_aliases(instructions)
        for instruction in final_stage(instructions):
            if instruction.keyword in {"CMD", "ENTRYPOINT"}:
                program, *args = instruction.exec_form()
                argv = (aliases.get(program, program), *args)
                image = image_distribution(instructions)
                found.append(Command(f"{name} {instruction.keyword}", argv, image))
    return found


def compose_commands() -> list[Command]:
    found = []
    for name, service in load_yaml(COMPOSE_FILE)["services"].items():
        if "build" in service and "command" in service:
            build = service["build"]
            instructions = dockerfile_instructions(ROOT / build["dockerfile"], build.get("args"))
            image = image_distribution(instructions)
            found.append(Command(f"compose {name}", tuple(service["command"]), image))
    return found


def manifest_commands() -> list[Command]:
    found = []
    for resource in kz.build(DEPLOY / "base"):
        for container in kz.containers(resource):
            image = container["image"]
            if kz.image_name(image) == POOLER_IMAGE:
                continue  # PgBouncer's own image: not ours to check
            assert image.startswith("channel-sync/"), image
            service = SERVICE_BY_NAME.get(image.removeprefix("channel-sync/").split(":")[0])
            assert service is not None, f"no service image is {image}"
            argv = tuple([*container.get("command", []), *container.get("args", [])])
            where = f"{resource['kind']}/{resource['metadata']['name']}"
            found.append(Command(where, argv, image_distribution(service.instructions())))
    return found


def problem(command: Command) -> str | None:
    """Why `command` cannot run in its image, or None."""
    dists = workspace_distributions()
    installed = installed_with(command.image)
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
    image = SERVICES[0].name
    assert problem(Command("example", ("no-such-service",), image))
    assert problem(Command("example", ("python", "-m", "beds24_sandbox"), image))
    assert problem(Command("example", ("channel-sync-migrate",), image)) is None


def test_the_image_command_is_the_service_itself() -> None:
    commands = {c.where: c.argv for c in dockerfile_commands()}
    for service in SERVICES:
        assert commands[f"{rel(service.dockerfile)} {service.name} CMD"] == (service.name,)
