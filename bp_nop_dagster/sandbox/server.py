"""Run both simulators over real HTTP: in the foreground (`bp-nop sandbox`) or in a background
thread (tests, benchmarks, the demo). Both servers share one event loop (see `world.py`)."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass

import uvicorn

from bp_nop_dagster.sandbox.brightpearl.webhooks import WebhookDeliverer
from bp_nop_dagster.sandbox.world import PROFILES, Profile, SandboxWorld


@dataclass(frozen=True)
class SandboxUrls:
    brightpearl_base_url: str
    nopcommerce_base_url: str
    brightpearl_root: str
    nopcommerce_root: str


class RunningSandbox:
    """Both simulators serving in a daemon thread until `stop()` (or the `with` block ends).

    `profile` (default: the world's; given, it becomes the world's) other than `faithful` wraps
    both apps in that profile's rewriter of routes and replies (`sandbox/profiles.py`), outside
    the simulators."""

    def __init__(
        self,
        world: SandboxWorld,
        *,
        host: str = "127.0.0.1",
        brightpearl_port: int = 0,
        nopcommerce_port: int = 0,
        profile: Profile | None = None,
    ) -> None:
        from bp_nop_dagster.sandbox.brightpearl.app import build_brightpearl_app
        from bp_nop_dagster.sandbox.nopcommerce.app import build_nopcommerce_app
        from bp_nop_dagster.sandbox.profiles import with_profile

        if profile is not None:
            if profile not in PROFILES:
                raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")
            world.profile = profile
        self.world = world
        self.host = host
        self._sockets = [_bind(host, brightpearl_port), _bind(host, nopcommerce_port)]
        apps = [
            with_profile(build_brightpearl_app(world), world.profile, "brightpearl"),
            with_profile(build_nopcommerce_app(world), world.profile, "nopcommerce"),
        ]
        self._servers = [
            uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2))
            for app in apps
        ]
        self._thread = threading.Thread(target=self._run, name="bp-nop-sandbox", daemon=True)
        # Brightpearl's webhook calls to the registered URLs (sandbox/brightpearl/webhooks.py).
        self._deliverer = WebhookDeliverer(world)
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def urls(self) -> SandboxUrls:
        bp_port = self._sockets[0].getsockname()[1]
        nop_port = self._sockets[1].getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        bp_root = f"http://{host}:{bp_port}"
        nop_root = f"http://{host}:{nop_port}"
        return SandboxUrls(
            brightpearl_base_url=f"{bp_root}/public-api/{self.world.credentials.brightpearl_account_code}",
            nopcommerce_base_url=f"{nop_root}/api-backend",
            brightpearl_root=bp_root,
            nopcommerce_root=nop_root,
        )

    def _run(self) -> None:
        async def serve_both() -> None:
            tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in zip(self._servers, self._sockets)]
            while not all(server.started for server in self._servers):
                if any(task.done() for task in tasks):
                    break
                await asyncio.sleep(0.01)
            self._started.set()
            await asyncio.gather(*tasks)

        try:
            asyncio.run(serve_both())
        except BaseException as error:  # surfaced by start()
            self._error = error
        finally:
            self._started.set()

    def start(self) -> "RunningSandbox":
        self._thread.start()
        self._started.wait(30)
        if self._error is not None or not all(server.started for server in self._servers):
            raise RuntimeError(f"sandbox failed to start: {self._error!r}")
        self._deliverer.start()
        return self

    def stop(self, timeout: float = 8.0) -> None:
        self._deliverer.stop()
        for server in self._servers:
            server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            for server in self._servers:
                server.force_exit = True
            self._thread.join(timeout)
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> "RunningSandbox":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this: without it, keep-alive replies wait on Nagle + delayed ACK (~40 ms).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror}") from error
    sock.listen(512)
    sock.setblocking(False)
    return sock
