"""What the deployment checks read from the repository: YAML, Dockerfiles, pyprojects, settings."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from channel_sync.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"


@dataclass(frozen=True)
class Service:
    name: str  # distribution, console script, compose service and Deployment name
    package: str  # import package
    port: int  # HTTP_PORT: API port, or the health port of a worker

    @property
    def dockerfile(self) -> Path:
        return SERVICE_DOCKERFILE

    @property
    def build_args(self) -> dict[str, str]:
        return {"SERVICE": self.name, "PORT": str(self.port)}

    def instructions(self) -> list[Instruction]:
        """The one service Dockerfile as built for this service."""
        return dockerfile_instructions(self.dockerfile, self.build_args)


SERVICES = (
    Service("webhook-gateway", "webhook_gateway", 8080),
    Service("admin-api", "admin_api", 8081),
    Service("inbound-worker", "inbound_worker", 8082),
    Service("outbound-worker", "outbound_worker", 8083),
)
SERVICE_BY_NAME = {s.name: s for s in SERVICES}
# Every service image is built from this one file, with the service's build arguments.
SERVICE_DOCKERFILE = ROOT / "services" / "Dockerfile"
SANDBOX_DOCKERFILE = ROOT / "sandbox" / "Dockerfile"
DOCKERFILES = (SERVICE_DOCKERFILE, SANDBOX_DOCKERFILE)
# The only environment variables that carry secrets; they must never sit in plain config.
SECRET_ENV = frozenset({"DATABASE_URL", "DATABASE_LISTEN_URL", "RABBITMQ_URL", "ADMIN_API_TOKEN"})
# Secret keys mounted as files rather than given as variables (PgBouncer's userlist.txt).
SECRET_FILES = frozenset({"PGBOUNCER_USERLIST"})
# The one workload not built from this repository: the connection pooler.
POOLER = "pgbouncer"
POOLER_IMAGE = "ghcr.io/cloudnative-pg/pgbouncer"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_yaml_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# --- pyprojects --------------------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    name: str
    folder: Path
    scripts: dict[str, str]  # console script -> "module:function"
    dependencies: tuple[str, ...]


def workspace_distributions() -> dict[str, Distribution]:
    found = {}
    for pyproject in [
        ROOT / "shared/pyproject.toml",
        ROOT / "sandbox/pyproject.toml",
        ROOT / "testing/pyproject.toml",
        *sorted(ROOT.glob("services/*/pyproject.toml")),
    ]:
        project = tomllib.loads(pyproject.read_text())["project"]
        deps = tuple(re.split(r"[\s<>=!~\[;]", d, maxsplit=1)[0] for d in project["dependencies"])
        found[project["name"]] = Distribution(
            project["name"], pyproject.parent, dict(project.get("scripts", {})), deps
        )
    return found


def installed_with(package: str) -> set[str]:
    """The workspace distributions `uv sync --package <package>` installs."""
    dists = workspace_distributions()
    todo, seen = [package], set()
    while todo:
        name = todo.pop()
        if name in dists and name not in seen:
            seen.add(name)
            todo.extend(dists[name].dependencies)
    return seen


def module_file(dist: Distribution, module: str) -> Path | None:
    base = dist.folder / "src" / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def top_level_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def argparse_options(path: Path) -> set[str]:
    """Option strings passed to any `add_argument(...)` call in a module."""
    options = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            options |= {
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            }
    return options


# --- Dockerfiles -------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: int  # index of the FROM it belongs to

    def exec_form(self) -> list[str]:
        parsed = yaml.safe_load(self.args)  # a JSON array is also YAML
        if not isinstance(parsed, list):
            raise AssertionError(f"{self.keyword} {self.args!r} is not in exec (JSON) form")
        return [str(part) for part in parsed]


_BUILD_ARG = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def dockerfile_instructions(
    path: Path, build_args: dict[str, str] | None = None
) -> list[Instruction]:
    """The instructions, continued lines joined; with `build_args`, `${NAME}` and `$NAME` of
    those arguments are replaced as Docker would (where Docker expands them)."""
    joined, buffer = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        joined.append(buffer + stripped)
        buffer = ""
    instructions, stage = [], -1
    for text in joined:
        keyword, _, args = text.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        if build_args is not None and keyword.upper() in _EXPANDED:
            args = _BUILD_ARG.sub(lambda m: build_args.get(m[1] or m[2], m[0]), args)
        instructions.append(Instruction(keyword.upper(), args.strip(), stage))
    return instructions


# Where Docker substitutes build arguments (RUN: the shell does, from the same values).
_EXPANDED = {"FROM", "COPY", "ADD", "ENV", "EXPOSE", "LABEL", "USER", "WORKDIR", "RUN"}


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def copy_sources(instruction: Instruction) -> list[str]:
    """Build-context paths of a COPY (none for COPY --from=...)."""
    words = shlex.split(instruction.args)
    if any(w.startswith("--from") for w in words):
        return []
    paths = [w for w in words if not w.startswith("--")]
    return paths[:-1]


def shell_words(instruction: Instruction) -> list[str]:
    words = shlex.split(instruction.args)
    while words and words[0].startswith("--"):
        words.pop(0)
    return words


# --- settings ----------------------------------------------------------------------------


def settings_class(service: Service) -> type[CommonSettings]:
    module = importlib.import_module(f"{service.package}.settings")
    classes = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, CommonSettings)
        and obj is not CommonSettings
        and obj.__module__ == module.__name__
    ]
    assert len(classes) == 1, f"{module.__name__} should define one settings class: {classes}"
    return classes[0]


def env_names(cls: type[CommonSettings]) -> tuple[set[str], set[str]]:
    """(every variable the class reads, those without a default)."""
    known, required = set(), set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        env = (alias if isinstance(alias, str) else name).upper()
        known.add(env)
        if field.is_required():
            required.add(env)
    return known, required
