"""A clone alone explains the design: nothing in the repository points at documents outside it,
and the docs the README names exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Names of the team's brief that a clone does not contain (case matters: docs/beds24.md is ours).
OUTSIDE = re.compile(r"DESIGN\.md|BEDS24\.md|/work/shared|the seed's|event-driven-sync-plan")
TEXT = (".py", ".md", ".sql", ".yaml", ".yml", ".toml", ".html", ".sh")


def tracked() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / n for n in names if n.endswith(TEXT) and "schemas/" not in n]


def test_no_file_points_at_documents_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in tracked()
        if path.exists() and path != Path(__file__)
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not found, f"references to documents outside the repository: {found}"


def test_the_docs_the_readme_links_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    linked = set(re.findall(r"\]\((docs/[^)#]+)", readme))
    assert {"docs/design.md", "docs/beds24.md", "docs/operations.md"} <= linked
    assert all((ROOT / link).is_file() for link in linked)
