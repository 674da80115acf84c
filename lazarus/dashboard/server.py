"""The dashboard's web app: `/` the page, `/api/state` JSON, `/healthz`, `/metrics`, `/static/*`.

Handlers never touch Redis or Kafka: they return what the `Sampler`'s threads last saw
(`/api/sites`, the site map's data: what its `SitesFeed` thread last saw).
`/metrics` reads the live roles' own /metrics, named by their heartbeats (`metrics_proxy`).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from lazarus.dashboard.metrics_proxy import CONTENT_TYPE, aggregate
from lazarus.errors import PortInUse

STATIC = Path(__file__).parent / "static"
NO_CACHE = {"Cache-Control": "no-store"}


class StateSource(Protocol):
    def state(self) -> dict[str, object]: ...
    def health(self) -> dict[str, object]: ...
    def sites(self) -> dict[str, object]: ...


def create_app(source: StateSource) -> Starlette:
    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=NO_CACHE)

    async def api_state(request: Request) -> Response:
        return JSONResponse(source.state(), headers=NO_CACHE)

    async def healthz(request: Request) -> Response:
        return JSONResponse(source.health(), headers=NO_CACHE)

    async def api_sites(request: Request) -> Response:
        return JSONResponse(source.sites(), headers=NO_CACHE)

    async def metrics(request: Request) -> Response:
        roles = source.state().get("roles") or []
        body = await run_in_threadpool(aggregate, roles if isinstance(roles, list) else [])
        return Response(body, media_type=CONTENT_TYPE, headers=NO_CACHE)

    return Starlette(
        routes=[
            Route("/", page),
            Route("/api/state", api_state),
            Route("/api/sites", api_sites),
            Route("/healthz", healthz),
            Route("/metrics", metrics),
            Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        ]
    )


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port), or PortInUse naming --port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another with --port "
            "(0 for any free port)"
        ) from exc
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"
