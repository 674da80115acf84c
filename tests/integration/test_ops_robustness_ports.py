"""Restarting the broker within a minute (issue #12, item 13): its port is left with sockets in
TIME_WAIT, which must not count as "in use". The check agrees with the broker, which can listen
there, while a live broker still counts."""

from __future__ import annotations

import socket
import time

from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.ports import free_port, port_is_free
from lazarus.kafka.admin import list_topics
from lazarus.kafka.config import quiet_logger
from tests.unit.test_ops_robustness import leave_time_wait, time_wait_states


def wait_for_time_wait(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time_wait_states(port) == 0:
        assert time.monotonic() < deadline, f"no TIME_WAIT socket appeared on port {port}"
        time.sleep(0.02)


def test_a_broker_stopped_under_a_client_can_start_again_on_its_port() -> None:
    port = free_port()
    broker = EmbeddedBroker(port)
    broker.start()
    client = socket.create_connection(("127.0.0.1", port))
    broker.stop()
    assert client.recv(1) == b""  # the broker closed first: its side stays in TIME_WAIT
    client.close()
    wait_for_time_wait(port)
    assert port_is_free("127.0.0.1", port)
    with EmbeddedBroker(port) as again:
        conf = {"bootstrap.servers": again.bootstrap, "logger": quiet_logger()}
        assert list_topics(conf) == []
        assert not port_is_free("127.0.0.1", port)  # a live broker still counts


def test_the_broker_starts_on_a_port_another_server_left_in_time_wait() -> None:
    port = free_port()
    leave_time_wait(port)
    assert port_is_free("127.0.0.1", port)
    with EmbeddedBroker(port) as broker:
        assert broker.alive()
