"""Operations under bad settings and failing services (issue #12, items 10, 11 and 13).

- librdkafka's verdict on options and client configurations, named by their variable;
- the line and exit code for every Kafka error code a broker that goes away produces;
- port checks that do not count a TIME_WAIT socket as a listener.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest
import redis
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

from lazarus.cli.failures import one_line
from lazarus.embedded.ports import free_port, port_is_free
from lazarus.errors import ConfigError, LazarusError, ServiceUnavailable
from lazarus.kafka.admin import broker_calls, broker_failure
from lazarus.kafka.config import client_config, config_error, option_problem, quiet_logger
from lazarus.settings import Settings

BOOTSTRAP = "LAZARUS_KAFKA_BOOTSTRAP_SERVERS"


def kafka_error(code: int, text: str | None = None) -> KafkaException:
    return KafkaException(KafkaError(code, text) if text else KafkaError(code))


# librdkafka's verdict on one option


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("linger.ms", 5),
        ("linger.ms", "5"),
        ("linger.ms", 2.5),
        ("enable.idempotence", True),
        ("enable.idempotence", "false"),
        ("client.id", "lab-7"),
        ("auto.offset.reset", "earliest"),  # a consumer option: fine for every client
        ("sasl.oauthbearer.client.secret", "tok"),
    ],
)
def test_options_librdkafka_accepts_have_no_problem(key: str, value: object) -> None:
    assert option_problem(key, value) is None


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("no.such.option", "1", 'No such configuration property: "no.such.option"'),
        ("linger.ms", "soon", "Invalid value"),
        ("linger.ms", True, "Invalid value"),
        ("enable.idempotence", "yes", 'Expected bool value for "enable.idempotence"'),
        ("auto.offset.reset", "sometime", 'Invalid value "sometime"'),
        ("logger", "print", "Python callable"),
        ("linger.ms", None, "string, number or boolean"),
        ("acks", ["all"], "string, number or boolean"),
    ],
)
def test_options_librdkafka_refuses_say_why(key: str, value: object, why: str) -> None:
    problem = option_problem(key, value)
    assert problem is not None and why in problem


# A configuration librdkafka refuses only when the client is built: named by its variable


def refused(build: type[Producer] | type[Consumer], settings: Settings) -> KafkaException:
    conf = {**client_config(settings, quiet=True), "group.id": "g"}
    with pytest.raises(KafkaException) as caught:
        build(conf)
    return caught.value


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_ca_location": "/no/such/ca.pem"},
            "LAZARUS_KAFKA_SSL_CA_LOCATION",
        ),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_mechanism": "BOGUS"},
            "LAZARUS_KAFKA_SASL_MECHANISM",
        ),
        (
            {"kafka_options": {"enable.idempotence": True, "max.in.flight": 10}},
            "LAZARUS_KAFKA_OPTIONS",
        ),
    ],
)
def test_a_configuration_refused_at_build_names_its_variable(
    changes: dict[str, object], variable: str
) -> None:
    exc = refused(Producer, Settings(**changes))  # type: ignore[arg-type]
    error = config_error(exc)
    assert isinstance(error, ConfigError)
    assert str(error).startswith(f"Kafka refused setting {variable}: Failed to create producer")
    assert one_line(exc) == (str(error), 2)


def test_an_invalid_argument_that_is_not_configuration_is_not_a_config_error() -> None:
    assert config_error(kafka_error(KafkaError._INVALID_ARG, "Invalid partition")) is None
    assert config_error(kafka_error(KafkaError._TRANSPORT)) is None


# A broker that fails under a call: every error code it produces gets its line


@pytest.mark.parametrize(
    "code",
    [
        KafkaError._UNKNOWN_PARTITION,  # what `lazarus status` used to crash on
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._TIMED_OUT,
        KafkaError._WAIT_COORD,
        KafkaError._UNKNOWN_TOPIC,
        KafkaError._RESOLVE,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.NOT_COORDINATOR,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.NETWORK_EXCEPTION,
    ],
)
def test_a_broker_that_went_away_names_the_bootstrap_setting(code: int) -> None:
    exc = kafka_error(code)
    error = broker_failure(exc, "127.0.0.1:9092")
    assert isinstance(error, ServiceUnavailable)
    line = str(error)
    assert line.startswith("Kafka at 127.0.0.1:9092 stopped answering (")
    assert KafkaError(code).name() in line and line.endswith(f"set {BOOTSTRAP}")
    message, exit_code = one_line(exc) or ("", 0)
    assert exit_code == 1 and BOOTSTRAP in message and "\n" not in message


def test_an_admin_future_that_timed_out_is_a_broker_that_went_away() -> None:
    error = broker_failure(TimeoutError())
    assert isinstance(error, ServiceUnavailable) and BOOTSTRAP in str(error)


@pytest.mark.parametrize(
    "code", [KafkaError.SASL_AUTHENTICATION_FAILED, KafkaError.TOPIC_AUTHORIZATION_FAILED]
)
def test_refused_credentials_name_the_sasl_settings(code: int) -> None:
    error = broker_failure(kafka_error(code))
    assert isinstance(error, ServiceUnavailable)
    assert "LAZARUS_KAFKA_SASL_USERNAME" in str(error) and BOOTSTRAP not in str(error)


def test_a_refused_replication_factor_is_a_bad_setting() -> None:
    error = broker_failure(kafka_error(KafkaError.INVALID_REPLICATION_FACTOR))
    assert isinstance(error, ConfigError)
    assert "LAZARUS_TOPIC_REPLICATION_FACTOR" in str(error)


def test_another_refusal_is_shown_as_the_broker_said_it() -> None:
    error = broker_failure(kafka_error(KafkaError.POLICY_VIOLATION, "no topics on Sundays"))
    assert type(error) is LazarusError
    assert str(error) == "Kafka refused the request (no topics on Sundays, POLICY_VIOLATION)"


def test_broker_calls_turns_kafka_errors_into_one_line_errors() -> None:
    conf = {"bootstrap.servers": "kafka-1:9092"}
    lost = pytest.raises(ServiceUnavailable, match=r"^Kafka at kafka-1:9092 stopped answering")
    with lost, broker_calls(conf):
        raise kafka_error(KafkaError._UNKNOWN_PARTITION)
    with pytest.raises(ConfigError, match="LAZARUS_KAFKA_OPTIONS"), broker_calls(conf):
        Producer({"enable.idempotence": True, "acks": "1", "logger": quiet_logger()})


def test_redis_going_away_names_its_setting() -> None:
    message, exit_code = one_line(redis.ConnectionError("Connection reset by peer")) or ("", 0)
    assert exit_code == 1 and "LAZARUS_REDIS_URL" in message


def test_folded_onto_one_line_and_bugs_keep_their_traceback() -> None:
    exc = kafka_error(KafkaError._TRANSPORT, "Broker: gone\nreally gone")
    message, _ = one_line(exc) or ("", 0)
    assert "\n" not in message and "gone really gone" in message
    assert one_line(ValueError("a bug")) is None
    assert one_line(ConfigError("setting X is invalid")) == ("setting X is invalid", 2)


# Ports: a TIME_WAIT socket is not a listener


def time_wait_states(port: int) -> int:
    """Sockets on 127.0.0.1:`port` in TIME_WAIT (state 06 in /proc/net/tcp)."""
    local = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(1 for r in rows if r[1] == local and r[3] == "06")


@contextlib.contextmanager
def listening(port: int) -> Iterator[socket.socket]:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(1)
    try:
        yield server
    finally:
        server.close()


def leave_time_wait(port: int) -> None:
    """A server on `port` that accepted a connection and closed it first, then stopped: the
    server's side of that connection stays in TIME_WAIT for a minute (2 x MSL)."""
    with listening(port) as server:
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        conn.close()  # the server closes first: its side goes through TIME_WAIT
        assert client.recv(1) == b""
        client.close()
    deadline = time.monotonic() + 10
    while time_wait_states(port) == 0:
        assert time.monotonic() < deadline, f"no TIME_WAIT socket appeared on port {port}"
        time.sleep(0.01)


def test_a_port_with_only_time_wait_sockets_is_free() -> None:
    port = free_port()
    leave_time_wait(port)
    plain = socket.socket()
    with pytest.raises(OSError):  # the old check: a bind without SO_REUSEADDR refuses it
        plain.bind(("127.0.0.1", port))
    plain.close()
    assert port_is_free("127.0.0.1", port)
    with listening(port):  # a server that sets SO_REUSEADDR listens there indeed
        pass


def test_a_port_with_a_listener_is_not_free() -> None:
    port = free_port()
    leave_time_wait(port)
    with listening(port):
        assert not port_is_free("127.0.0.1", port)
        assert not port_is_free("0.0.0.0", port)
    assert port_is_free("127.0.0.1", port)


def test_a_port_bound_without_reuse_is_not_free() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    try:
        assert not port_is_free("127.0.0.1", holder.getsockname()[1])
    finally:
        holder.close()


def test_a_metrics_host_that_is_no_address_names_its_setting() -> None:
    from lazarus.errors import ConfigError
    from lazarus.metrics import RoleMetrics
    from lazarus.settings import Settings

    settings = Settings(embedded=False, metrics_port=0, metrics_host="bogus.invalid")
    with pytest.raises(ConfigError, match=r"LAZARUS_METRICS_HOST='bogus\.invalid'"):
        RoleMetrics("trainer:test").serve(settings)
