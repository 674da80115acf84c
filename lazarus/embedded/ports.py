"""Port checks for the services we start."""

from __future__ import annotations

import socket


def port_is_free(host: str, port: int) -> bool:
    """True when a server could listen on host:port now (we bind it, then release it).

    The test bind sets SO_REUSEADDR, as Tansu, redis-server and our dashboard do when they
    listen: on Linux a socket in TIME_WAIT (left by a server stopped a minute ago) then does
    not count, while a live listener, or a socket bound without SO_REUSEADDR, still does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
