"""Render deploy/kubernetes/ overlays with kustomize and validate them offline.

Rendering uses `kubectl kustomize` (or a standalone `kustomize build`); neither being installed
fails the caller with how to get one. Built-in kinds are validated with the PyPI package
`kubernetes-validate` (the Kubernetes JSON schemas of each release, bundled; strict: unknown
fields are errors); KEDA's kinds with the schemas vendored in deploy/kubernetes/schemas/.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("dev", "production")
KUBERNETES_VERSION = "1.30"
"""The oldest Kubernetes release docs/kubernetes.md supports: the manifests must be valid there."""
KEDA_SCHEMAS = {
    "ScaledObject": KUBERNETES / "schemas" / "scaledobject_v1alpha1.json",
    "TriggerAuthentication": KUBERNETES / "schemas" / "triggerauthentication_v1alpha1.json",
}
MISSING_KUSTOMIZE = (
    "neither kubectl nor kustomize found: install kubectl (it renders with `kubectl kustomize`: "
    "https://kubernetes.io/docs/tasks/tools/) or kustomize "
    "(`go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0`)"
)

Doc = dict[str, Any]


def kustomize_command(path: Path) -> list[str]:
    """The command that renders the kustomization at `path`; fails the test without a tool."""
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        return [kubectl, "kustomize", str(path)]
    kustomize = shutil.which("kustomize")
    if kustomize is not None:
        return [kustomize, "build", str(path)]
    pytest.fail(MISSING_KUSTOMIZE)


@functools.cache
def render(overlay: str) -> tuple[Doc, ...]:
    """Every document `overlays/<overlay>` renders to, parsed (the result is shared: copy to
    change)."""
    command = kustomize_command(KUBERNETES / "overlays" / overlay)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


@functools.cache
def keda_schema(kind: str) -> Any:
    return json.loads(KEDA_SCHEMAS[kind].read_text())


def problems(doc: Doc) -> list[str]:
    """Why `doc` is not a valid object of its kind (empty: valid). A kind with no schema to
    validate it against is a problem too: nothing passes unchecked."""
    kind, name = doc.get("kind"), doc.get("metadata", {}).get("name")
    where = f"{kind}/{name}"
    if str(doc.get("apiVersion", "")).startswith("keda.sh/"):
        if kind not in KEDA_SCHEMAS:
            return [f"{where}: no KEDA schema in deploy/kubernetes/schemas/ for this kind"]
        validator = jsonschema.Draft202012Validator(keda_schema(kind))
        return [
            f"{where}: {'.'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(doc)
        ]
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{where}: {'.'.join(map(str, error.path))}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"{where}: {error.message}"]
    return []


def of_kind(docs: tuple[Doc, ...], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: tuple[Doc, ...], kind: str, name: str) -> Doc:
    found = [doc for doc in of_kind(docs, kind) if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} named {name}, found {len(found)}"
    return found[0]


def settings(docs: tuple[Doc, ...]) -> dict[str, str]:
    """The data of the one ConfigMap every role reads (`lazarus-settings-<hash>`)."""
    maps = [m for m in of_kind(docs, "ConfigMap") if m["metadata"]["name"].startswith("lazarus-")]
    assert len(maps) == 1, [m["metadata"]["name"] for m in maps]
    data: dict[str, str] = maps[0]["data"]
    return data


def roles(docs: tuple[Doc, ...]) -> list[Doc]:
    """The Lazarus Deployments (not the development Kafka and Redis)."""
    return [
        d
        for d in of_kind(docs, "Deployment")
        if d["metadata"]["labels"].get("app.kubernetes.io/part-of") == "lazarus"
    ]


def container(workload: Doc) -> Doc:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["lazarus"], workload["metadata"]["name"]
    found: Doc = containers[0]
    return found


def model_of(workload: Doc) -> str:
    """The model a trainer, scorer or quality monitor runs: its command's last word."""
    command = container(workload)["command"]
    assert command[:2] == ["lazarus", command[1]] and command[1] in ("train", "score", "quality")
    model: str = command[2]
    return model
