"""deploy/kubernetes/: each overlay renders with kustomize, every document validates offline
(Kubernetes' schemas of a pinned release, KEDA's for its kinds), and the shape issue #18 asks
for holds: scorers scale on their group's lag, per-key trainers match the partitions, secrets
are referenced and never inlined, probes and a disruption budget for every role.

kubectl (or kustomize) renders: without one these tests fail and say how to get it; they are
never skipped. See docs/kubernetes.md.
"""

from __future__ import annotations

import copy

import pytest

from lazarus.groups import group_name
from lazarus.schemas.models import load_contract
from lazarus.settings import ENV_PREFIX, Settings
from tests.unit.kube_manifests import (
    OVERLAYS,
    Doc,
    container,
    model_of,
    named,
    of_kind,
    problems,
    render,
    roles,
    settings,
)

pytestmark = pytest.mark.timeout(120)

SECRET_SETTINGS = {
    "LAZARUS_SIGNING_PRIVATE_KEY",
    "LAZARUS_SIGNING_PUBLIC_KEY",
    "LAZARUS_KAFKA_SASL_USERNAME",
    "LAZARUS_KAFKA_SASL_PASSWORD",
    "LAZARUS_KAFKA_SSL_KEY_PASSWORD",
}


def env(workload: Doc) -> dict[str, Doc]:
    return {var["name"]: var for var in container(workload).get("env", [])}


def of_component(docs: tuple[Doc, ...], component: str) -> list[Doc]:
    return [
        d
        for d in roles(docs)
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_document_validates(overlay: str) -> None:
    docs = render(overlay)
    kinds = {doc["kind"] for doc in docs}
    assert {"Deployment", "PodDisruptionBudget", "ScaledObject", "ConfigMap", "Job"} <= kinds
    found = [problem for doc in docs for problem in problems(doc)]
    assert not found, "\n".join(found)


def test_a_broken_manifest_is_reported() -> None:
    """The check can fail: a wrong type, an unknown field, a KEDA field of the wrong type."""
    docs = render("dev")
    trainer = copy.deepcopy(named(docs, "Deployment", "trainer-habitat"))
    trainer["spec"]["replicas"] = "one"
    assert any("spec.replicas" in p for p in problems(trainer))

    misspelt = copy.deepcopy(named(docs, "Deployment", "trainer-habitat"))
    container(misspelt)["livenessprobe"] = container(misspelt).pop("livenessProbe")
    assert any("livenessprobe" in p for p in problems(misspelt))

    scaled = copy.deepcopy(named(docs, "ScaledObject", "scorer-habitat"))
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 1000
    assert any("lagThreshold" in p for p in problems(scaled))

    unknown = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledJob", "metadata": {"name": "x"}}
    assert problems(unknown) == [
        "ScaledJob/x: no KEDA schema in deploy/kubernetes/schemas/ for this kind"
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_settings_are_lazarus_settings(overlay: str) -> None:
    """Every ConfigMap key is a setting, and its value one the settings accept."""
    data = settings(render(overlay))
    fields = {name: f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
    unknown = sorted(set(data) - set(fields.values()))
    assert not unknown, f"not Lazarus settings: {unknown}"
    assert not SECRET_SETTINGS & set(data), "a secret in the ConfigMap"
    by_field = {name: data[var] for name, var in fields.items() if var in data}
    parsed = Settings.model_validate(by_field)
    assert parsed.embedded is False
    assert parsed.metrics_port > 0
    assert parsed.health_file is not None and parsed.health_file.startswith("/tmp/")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scorers_scale_on_their_groups_lag(overlay: str) -> None:
    docs = render(overlay)
    data = settings(docs)
    prefix = data.get("LAZARUS_TOPIC_PREFIX", "")
    partitions = int(data["LAZARUS_TOPIC_PARTITIONS"])
    scorers = of_component(docs, "scorer")
    assert {model_of(s) for s in scorers} == {"habitat", "habitat_sites"}
    for scorer in scorers:
        name, model = scorer["metadata"]["name"], model_of(scorer)
        assert "replicas" not in scorer["spec"], f"{name}: KEDA owns the replica count"
        scaled = [
            s for s in of_kind(docs, "ScaledObject") if s["spec"]["scaleTargetRef"]["name"] == name
        ]
        assert len(scaled) == 1, f"{name}: one ScaledObject expected"
        spec = scaled[0]["spec"]
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] == partitions
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "kafka"
        (topic,) = load_contract(model).inputs
        assert trigger["metadata"] == trigger["metadata"] | {
            "bootstrapServers": data["LAZARUS_KAFKA_BOOTSTRAP_SERVERS"],
            "consumerGroup": group_name(prefix, "scorer", model),
            "topic": topic.full(prefix),
            "offsetResetPolicy": "earliest",
        }
        assert int(trigger["metadata"]["lagThreshold"]) > 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_trainers_match_the_partitions(overlay: str) -> None:
    """A per-key model's trainers: one per partition, never more during a rollout. A whole
    model's trainer: exactly one, the old stopped before the new starts."""
    docs = render(overlay)
    partitions = int(settings(docs)["LAZARUS_TOPIC_PARTITIONS"])
    trainers = {model_of(t): t for t in of_component(docs, "trainer")}
    assert set(trainers) == {"habitat", "habitat_sites"}
    for model, trainer in trainers.items():
        spec = trainer["spec"]
        if load_contract(model).per_key is not None:
            assert spec["replicas"] == partitions, f"{model}: replicas != partitions"
            assert spec["strategy"]["rollingUpdate"]["maxSurge"] == 0
        else:
            assert spec["replicas"] == 1
            assert spec["strategy"] == {"type": "Recreate"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_inlined(overlay: str) -> None:
    docs = render(overlay)
    assert not of_kind(docs, "Secret"), "the manifests must not carry Secrets"
    for workload in [*roles(docs), *of_kind(docs, "Job")]:
        name, variables = workload["metadata"]["name"], env(workload)
        for var in SECRET_SETTINGS & set(variables):
            assert set(variables[var]) == {"name", "valueFrom"}, f"{name}: {var} inlined"
            assert "secretKeyRef" in variables[var]["valueFrom"], f"{name}: {var} not a Secret"
        component = workload["metadata"]["labels"]["app.kubernetes.io/component"]
        has_private = "LAZARUS_SIGNING_PRIVATE_KEY" in variables
        assert has_private == (component == "trainer"), f"{name}: private key where?"
        if component in ("scorer", "quality"):
            assert "LAZARUS_SIGNING_PUBLIC_KEY" in variables, name
    redis_url = settings(docs).get("LAZARUS_REDIS_URL", "")
    assert "@" not in redis_url, "a Redis password in the ConfigMap"


def test_production_takes_its_kafka_and_redis_credentials_from_secrets() -> None:
    docs = render("production")
    assert settings(docs)["LAZARUS_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    for workload in [*roles(docs), *of_kind(docs, "Job")]:
        variables = env(workload)
        for var in (
            "LAZARUS_KAFKA_SASL_USERNAME",
            "LAZARUS_KAFKA_SASL_PASSWORD",
            "LAZARUS_REDIS_URL",
        ):
            ref = variables[var]["valueFrom"]["secretKeyRef"]
            assert not ref.get("optional", False), f"{workload['metadata']['name']}: {var}"
    for scaled in of_kind(docs, "ScaledObject"):
        (trigger,) = scaled["spec"]["triggers"]
        auth = named(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
        params = {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]}
        assert params == {"username", "password"}
        assert trigger["metadata"]["sasl"] == "scram_sha512"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_role_has_probes_and_a_clean_shutdown(overlay: str) -> None:
    docs = render(overlay)
    port = int(settings(docs)["LAZARUS_METRICS_PORT"])
    for workload in roles(docs):
        name, pod, box = (
            workload["metadata"]["name"],
            workload["spec"]["template"]["spec"],
            container(workload),
        )
        assert pod["terminationGracePeriodSeconds"] >= 15, name
        for probe in ("startupProbe", "livenessProbe"):
            assert "LAZARUS_HEALTH_FILE" in " ".join(box[probe]["exec"]["command"]), (name, probe)
        assert box["readinessProbe"]["httpGet"]["path"] == "/metrics", name
        ports = {p["name"]: p["containerPort"] for p in box["ports"]}
        assert ports[box["readinessProbe"]["httpGet"]["port"]] == port, name
        assert {"mountPath": "/tmp", "name": "tmp"} in box["volumeMounts"], name
        assert box["securityContext"]["readOnlyRootFilesystem"] is True, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_its_disruption_budget(overlay: str) -> None:
    docs = render(overlay)
    budgets = of_kind(docs, "PodDisruptionBudget")
    deployments = of_kind(docs, "Deployment")
    for deployment in deployments:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [
            b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(covering) == 1, f"{deployment['metadata']['name']}: {len(covering)} budgets"
    assert len(budgets) == len(deployments)
