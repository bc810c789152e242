"""A server process the tests start on 127.0.0.1 and a free port (redis-server, moto)."""

from __future__ import annotations

import socket
import subprocess
from typing import Any, Self


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    name = "server"

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen[Any] | None = None

    def start(self, timeout: float = 30.0) -> Self:
        for _ in range(5):  # the port may be taken between choosing and binding it
            self.port = free_port()
            if self._try_start(timeout):
                return self
        raise RuntimeError(f"{self.name} did not start on any of 5 free ports")

    def _try_start(self, timeout: float) -> bool:
        """Start on ``self.port``; True once it answers, else stopped and False."""
        raise NotImplementedError

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
