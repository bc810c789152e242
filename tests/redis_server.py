"""A real redis-server (Debian's) on 127.0.0.1 and a free port, for one test session.

Started by the ``redis_url`` fixture (tests/conftest.py); never the system server on
6379.  Without redis-server installed the shared-crawl tests skip, naming the install
script, except under REQUIRE_REDIS=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

READY = "Ready to accept connections"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or shutil.which("redis-server") or ""
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self._dir = tempfile.mkdtemp(prefix="redis-test-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> RedisServer:
        for _ in range(5):  # the port may be taken between choosing and binding it
            self.port = free_port()
            if self._try_start(timeout):
                return self
        raise RuntimeError("redis-server did not start on any of 5 free ports")

    def _try_start(self, timeout: float) -> bool:
        cmd = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--dir", self._dir,
               "--daemonize", "no", "--loglevel", "notice"]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        ready = threading.Event()
        lines: list[str] = []

        def watch() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                lines.append(line)
                if READY in line:
                    ready.set()
            ready.set()  # exited: wake the waiter

        threading.Thread(target=watch, daemon=True).start()
        ready.wait(timeout)
        if self.process.poll() is None and any(READY in line for line in lines):
            return True
        self.stop()
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


def required() -> bool:
    return os.environ.get("REQUIRE_REDIS") == "1"


INSTALL_HINT = f"redis-server not installed: run `bash {Path('scripts/install-redis.sh')}`"
