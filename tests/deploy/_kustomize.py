"""A small, strict stand-in for `kustomize build` (no kustomize binary on these machines).

It understands exactly the fields our kustomizations use and refuses any other one, so a
kustomization that outgrows it fails the checks loudly instead of being half-rendered:
resources (files and directories), namespace, images, labels (without selectors) and
strategic-merge patches by file (maps merge, lists are replaced, as for the fields we patch).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ._repo import load_yaml, load_yaml_all

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches", "labels"}
# Lists that strategic merge would merge by key: replacing them would hide a mistake.
KEYED_LISTS = {"containers", "initContainers", "env", "envFrom", "volumes", "volumeMounts", "ports"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}

Resource = dict[str, Any]


class KustomizeError(AssertionError):
    pass


def kustomization(folder: Path) -> dict[str, Any]:
    data = load_yaml(folder / "kustomization.yaml")
    unknown = set(data) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{folder}: fields this check cannot render: {sorted(unknown)}")
    return dict(data)


def named_files(folder: Path) -> list[Path]:
    """Every file or folder a kustomization names (resources and patches)."""
    data = kustomization(folder)
    paths = [folder / entry for entry in data.get("resources", [])]
    paths += [folder / patch["path"] for patch in data.get("patches", [])]
    return paths


def build(folder: Path) -> list[Resource]:
    data = kustomization(folder)
    resources: list[Resource] = []
    for entry in data.get("resources", []):
        path = folder / entry
        resources += build(path) if path.is_dir() else copy.deepcopy(load_yaml_all(path))
    for patch in data.get("patches", []):
        if set(patch) != {"path"}:
            raise KustomizeError(f"{folder}: only file patches are rendered here: {patch}")
        for doc in load_yaml_all(folder / patch["path"]):
            _merge(_find(resources, doc, folder / patch["path"]), doc, path=[])
    for entry in data.get("labels", []):
        if entry.get("includeSelectors") or entry.get("includeTemplates"):
            raise KustomizeError(f"{folder}: labels on selectors/templates are not rendered here")
        for resource in resources:
            resource["metadata"].setdefault("labels", {}).update(entry["pairs"])
    for image in data.get("images", []):
        _retag(resources, image)
    if "namespace" in data:
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = data["namespace"]
    return resources


def _find(resources: list[Resource], patch: Resource, source: Path) -> Resource:
    matches = [
        r
        for r in resources
        if r["kind"] == patch["kind"]
        and r["apiVersion"] == patch["apiVersion"]
        and r["metadata"]["name"] == patch["metadata"]["name"]
    ]
    if len(matches) != 1:
        raise KustomizeError(
            f"{source}: patch for {patch['kind']}/{patch['metadata']['name']} matches "
            f"{len(matches)} resources"
        )
    return matches[0]


def _merge(target: dict[str, Any], patch: dict[str, Any], path: list[str]) -> None:
    for key, value in patch.items():
        if key in KEYED_LISTS:
            raise KustomizeError(f"patching {'.'.join([*path, key])} is not rendered here")
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value, [*path, key])
        else:
            target[key] = copy.deepcopy(value)


def pod_specs(resource: Resource) -> list[dict[str, Any]]:
    if resource["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        return [resource["spec"]["template"]["spec"]]
    if resource["kind"] == "CronJob":
        return [resource["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []


def containers(resource: Resource) -> list[dict[str, Any]]:
    return [
        c
        for spec in pod_specs(resource)
        for c in [*spec.get("initContainers", []), *spec["containers"]]
    ]


def image_name(image: str) -> str:
    """`registry/name:tag` -> `registry/name` (a port in the registry host is kept)."""
    last = image.rsplit("/", 1)[-1]
    return image[: len(image) - len(last)] + last.split(":", 1)[0].split("@", 1)[0]


def _retag(resources: list[Resource], image: dict[str, str]) -> None:
    unknown = set(image) - {"name", "newName", "newTag"}
    if unknown:
        raise KustomizeError(f"image fields not rendered here: {sorted(unknown)}")
    for resource in resources:
        for container in containers(resource):
            if image_name(container["image"]) == image["name"]:
                name = image.get("newName", image["name"])
                tag = image.get("newTag")
                container["image"] = f"{name}:{tag}" if tag else name
