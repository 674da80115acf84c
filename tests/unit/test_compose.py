"""docker-compose.yml validates with Debian's docker-compose 1.29 and keeps its shape.

PyYAML is not a project dependency, so the facts are read from what
``docker-compose config`` prints (``--services``, ``--volumes`` and the resolved
file). That output is PyYAML block style with sorted keys; the small helpers
below split it by indentation, which is all these checks need.

docker-compose runs hermetically: LAZARUS_* / COMPOSE_* variables of the caller
are dropped and an empty ``--env-file`` replaces any local ``.env``, so a
developer's shell cannot change the outcome.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"

MISSING_COMPOSE = (
    "docker-compose not found: install Debian's package with "
    "`apt-get install -y docker-compose` (the .ci/run script does this)"
)

KAFKA_NODES = ["kafka-1", "kafka-2", "kafka-3"]
INFRA = {*KAFKA_NODES, "redis"}
ONE_SHOT = "topics"
ROLE_COMMANDS = {
    "producers-sensors": ["python", "-m", "lazarus.producers", "sensors", "--rate", "200"],
    "producers-genomes": ["python", "-m", "lazarus.producers", "genomes", "--rate", "50"],
    "trainer-habitat": ["python", "-m", "lazarus.trainer", "habitat"],
    "trainer-viability": ["python", "-m", "lazarus.trainer", "viability"],
    "scorer-habitat": ["python", "-m", "lazarus.scorer", "habitat"],
    "trainer-habitat-sites": ["python", "-m", "lazarus.trainer", "habitat_sites"],
    "scorer-habitat-sites": ["python", "-m", "lazarus.scorer", "habitat_sites"],
    "lag-exporter": ["python", "-m", "lazarus", "lag-exporter"],
}
LONG_RUNNING_ROLES = sorted(ROLE_COMMANDS)
LAZARUS_SERVICES = sorted({*ROLE_COMMANDS, ONE_SHOT})
ALL_SERVICES = INFRA | {ONE_SHOT} | set(ROLE_COMMANDS)
VOLUMES = {"kafka-1-data", "kafka-2-data", "kafka-3-data", "redis-data"}
BOOTSTRAP = "kafka-1:9092,kafka-2:9092,kafka-3:9092"

KAFKA_HEALTHY = dict.fromkeys(KAFKA_NODES, "service_healthy")
ROLE_DEPENDS_ON = {
    **KAFKA_HEALTHY,
    "redis": "service_healthy",
    "topics": "service_completed_successfully",
}

# Secrets the file may only pass through from the environment, never carry a value.
SECRETS = {
    "LAZARUS_KAFKA_SASL_PASSWORD": set(LAZARUS_SERVICES),
    "LAZARUS_SIGNING_PRIVATE_KEY": {
        "trainer-habitat",
        "trainer-viability",
        "trainer-habitat-sites",
    },
    "LAZARUS_SIGNING_PUBLIC_KEY": {"scorer-habitat", "scorer-habitat-sites"},
}


# --------------------------------------------------------------------------- running


def _docker_compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail(MISSING_COMPOSE, pytrace=False)
    return exe


class Compose:
    """Runs ``docker-compose -f <repo>/docker-compose.yml <args>`` hermetically.

    docker-compose is looked up on first use, inside the test, so a missing
    binary shows up as a test failure (not a fixture error or a skip).
    """

    def __init__(self, empty_env_file: Path) -> None:
        self._env_file = empty_env_file
        self._services: dict[str, dict[str, str]] | None = None

    def run(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """Output of a docker-compose command that must succeed."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("LAZARUS_", "COMPOSE_"))}
        proc = subprocess.run(
            [_docker_compose(), "--env-file", str(self._env_file), "-f", str(COMPOSE_FILE), *args],
            capture_output=True,
            text=True,
            env={**base, **(env or {})},
            cwd=REPO,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 0, (
            f"{' '.join(proc.args)} exited {proc.returncode}\n"
            f"stderr:\n{proc.stderr}\nstdout:\n{proc.stdout}"
        )
        return proc.stdout

    def services(self) -> dict[str, dict[str, str]]:
        """The resolved services (``config`` with every secret unset), parsed once."""
        if self._services is None:
            self._services = _services(self.run("config"))
        return self._services


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Compose:
    empty_env_file = tmp_path_factory.mktemp("compose") / "empty.env"
    empty_env_file.write_text("")
    return Compose(empty_env_file)


# --------------------------------------------------------------------------- parsing

_KEY = re.compile(r"""^(?P<key>'[^']*'|"[^"]*"|[^\s'"#\-][^:]*):(?:\s+(?P<value>.*))?$""")


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _mapping(text: str) -> dict[str, str]:
    """Split a block mapping into ``{key: body}`` at its outermost indentation.

    A body is the key's inline value (if any) followed by its dedented child
    lines, including PyYAML's un-indented ``- item`` sequences and the
    continuation lines of long, folded scalars.
    """
    lines = [line for line in textwrap.dedent(text).splitlines() if line.strip()]
    result: dict[str, str] = {}
    key: str | None = None
    inline = ""
    children: list[str] = []

    def close() -> None:
        if key is not None:
            result[key] = (inline + "\n" + textwrap.dedent("\n".join(children))).strip("\n")

    for line in lines:
        match = None if line[:1].isspace() or line.startswith("- ") else _KEY.match(line)
        if match:
            close()
            key, inline, children = _unquote(match["key"]), match["value"] or "", []
        else:
            children.append(line)
    close()
    return result


def _scalar(body: str) -> str:
    """A (possibly folded, possibly quoted) scalar on one line."""
    return _unquote(" ".join(body.split()))


def _sequence(body: str) -> list[str]:
    """Items of a block sequence of scalars, folded lines re-joined."""
    items: list[list[str]] = []
    for line in textwrap.dedent(body).splitlines():
        if line.startswith("- "):
            items.append([line[2:]])
        elif line.strip() and items:
            items[-1].append(line)
    return [_scalar(" ".join(parts)) for parts in items]


def _env(service: Mapping[str, str]) -> dict[str, str | None]:
    values = {k: _scalar(v) for k, v in _mapping(service.get("environment", "")).items()}
    return {k: (None if v == "null" else v) for k, v in values.items()}


def _services(config_text: str) -> dict[str, dict[str, str]]:
    top = _mapping(config_text)
    return {name: _mapping(body) for name, body in _mapping(top["services"]).items()}


# --------------------------------------------------------------------------- tests


def test_missing_docker_compose_fails_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(pytest.fail.Exception, match=re.escape(MISSING_COMPOSE)):
        _docker_compose()


def test_config_validates(compose: Compose) -> None:
    """`config -q` passes with every secret unset (a fresh checkout, CI, `down`)."""
    compose.run("config", "-q")


def test_spec_format_without_version_key() -> None:
    # docker-compose 1.29 honours depends_on conditions only without a "3.x" version key.
    assert not re.search(r"^version\s*:", COMPOSE_FILE.read_text(), re.MULTILINE)


def test_services_and_volumes(compose: Compose) -> None:
    assert set(compose.run("config", "--services").split()) == ALL_SERVICES
    assert set(compose.run("config", "--volumes").split()) == VOLUMES
    assert set(compose.services()) == ALL_SERVICES  # the parser saw the same services


def _kafka_version() -> str:
    script = (REPO / "scripts" / "kafka").read_text()
    found = re.search(r'^VERSION = "([^"]+)"$', script, re.MULTILINE)
    assert found, "scripts/kafka pins no VERSION"
    return found[1]


@pytest.mark.parametrize(("node", "name"), list(enumerate(KAFKA_NODES, start=1)))
def test_kafka_is_three_kraft_nodes(compose: Compose, node: int, name: str) -> None:
    kafka = compose.services()[name]
    # The release the tests run on (scripts/kafka), so production is what was proven.
    assert _scalar(kafka["image"]) == f"apache/kafka:{_kafka_version()}"
    env = _env(kafka)
    assert env["KAFKA_NODE_ID"] == str(node)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == ("1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093")
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
    assert env["KAFKA_NUM_PARTITIONS"] == "4"
    for replicas in (
        "KAFKA_DEFAULT_REPLICATION_FACTOR",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
    ):
        assert env[replicas] == "3", replicas
    for in_sync in ("KAFKA_MIN_INSYNC_REPLICAS", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
        assert env[in_sync] == "2", in_sync
    probe = " ".join(_sequence(_mapping(kafka["healthcheck"])["test"]))
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092" in probe
    assert _sequence(kafka["volumes"])[0].startswith(f"{name}-data:")


def test_kafka_nodes_share_one_cluster(compose: Compose) -> None:
    ids = {_env(compose.services()[name])["CLUSTER_ID"] for name in KAFKA_NODES}
    assert len(ids) == 1 and None not in ids


def test_redis_persists_and_is_probed(compose: Compose) -> None:
    redis = compose.services()["redis"]
    assert _scalar(redis["image"]).startswith("redis:7")
    command = redis["command"]
    words = _sequence(command) if command.lstrip().startswith("- ") else [_scalar(command)]
    assert "--appendonly yes" in " ".join(words)
    assert "redis-cli ping" in " ".join(_sequence(_mapping(redis["healthcheck"])["test"]))
    assert any(v.startswith("redis-data:") for v in _sequence(redis["volumes"]))


@pytest.mark.parametrize("name", sorted(INFRA))
def test_infra_restarts_and_has_healthcheck(compose: Compose, name: str) -> None:
    service = compose.services()[name]
    assert _scalar(service["restart"]) == "unless-stopped"
    assert _mapping(service["healthcheck"])["test"]


@pytest.mark.parametrize("name", LAZARUS_SERVICES)
def test_lazarus_services_share_one_image(compose: Compose, name: str) -> None:
    service = compose.services()[name]
    build = {k: _scalar(v) for k, v in _mapping(service["build"]).items()}
    assert Path(build["context"]).resolve() == REPO
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    assert _scalar(service["image"]) == "lazarus:latest"
    env = _env(service)
    assert env["LAZARUS_EMBEDDED"] == "false"
    assert env["LAZARUS_KAFKA_BOOTSTRAP_SERVERS"] == BOOTSTRAP
    assert env["LAZARUS_REDIS_URL"] == "redis://redis:6379/0"
    assert env["LAZARUS_TOPIC_PARTITIONS"] == "4"
    assert env["LAZARUS_METRICS_PORT"] == "8000"
    # Scalable (`--scale`): no fixed name, no host ports to collide on.
    assert "container_name" not in service
    assert "ports" not in service


def _conditions(service: Mapping[str, str]) -> dict[str, str]:
    deps = _mapping(service["depends_on"])
    return {dep: _scalar(_mapping(body)["condition"]) for dep, body in deps.items()}


@pytest.mark.parametrize("name", LONG_RUNNING_ROLES)
def test_roles_run_their_command_after_dependencies(compose: Compose, name: str) -> None:
    service = compose.services()[name]
    assert _sequence(service["command"]) == ROLE_COMMANDS[name]
    assert _scalar(service["restart"]) == "unless-stopped"
    assert _scalar(service["stop_grace_period"]) == "15s"
    assert _conditions(service) == ROLE_DEPENDS_ON
    assert _mapping(service["healthcheck"])["test"]


def test_topics_is_a_one_shot_after_every_kafka_node(compose: Compose) -> None:
    topics = compose.services()[ONE_SHOT]
    assert _sequence(topics["command"]) == ["lazarus", "topics", "create"]
    assert _scalar(topics["restart"]) == "no"
    assert _conditions(topics) == KAFKA_HEALTHY


def test_secrets_are_passed_through_never_written(compose: Compose) -> None:
    # Unset in the environment: declared (so they can be passed) but without a value.
    services = compose.services()
    for secret, holders in SECRETS.items():
        for name in sorted(ALL_SERVICES):
            env = _env(services[name])
            if name in holders:
                assert secret in env, f"{name} does not receive {secret}"
                assert env[secret] is None, f"{name} hard-codes {secret}"
            else:
                assert secret not in env, f"{name} must not receive {secret}"

    # Set in the environment: each secret reaches exactly the services that need it.
    sentinels = {secret: f"sentinel-{secret.lower()}" for secret in SECRETS}
    resolved = _services(compose.run("config", env=sentinels))
    for secret, holders in SECRETS.items():
        receivers = {n for n, s in resolved.items() if _env(s).get(secret) == sentinels[secret]}
        assert receivers == holders, secret
