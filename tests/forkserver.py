"""A warm start for the tests' crawls: ``python -m scrapy …`` forked from a process that
has already imported Scrapy, Twisted, pyarrow and this project.

Each crawl the tests run used to pay about a second of CPU for the interpreter and its
imports before it fetched anything; the suite runs hundreds.  Here one server per pytest
worker imports once, and forks a child per crawl.  The child runs exactly what
``python -m scrapy`` runs (``runpy``), with the test's argv, working directory,
environment and stdout/stderr, and its exit status comes back as a subprocess's would.
Nothing is shared but the modules already imported: no reactor is installed before the
fork (the server checks), and the server itself never crawls.

The server is single-threaded, as a process that forks must be: it waits on its
listening socket, on SIGCHLD (through a wake-up pipe) and on stdin, whose end (the
pytest worker gone) stops it.

Protocol, one connection per crawl: the client sends one JSON line
(``argv``, ``cwd``, ``env``) with its stdout and stderr file descriptors attached
(SCM_RIGHTS); the server answers ``{"pid": …}`` at once and ``{"status": …}`` (a wait
status) when the child ends.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import pkgutil
import runpy
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from typing import IO, Any

# Imported before the fork: everything a crawl imports that costs time.  Importing
# twisted.internet.reactor would install a reactor here; nothing below does (checked).
PRELOAD = (
    "scrapy.cmdline", "scrapy.crawler", "scrapy.http", "scrapy.utils.reactor",
    "scrapy.core.downloader.handlers.http11", "scrapy.core.downloader.contextfactory",
    "twisted.internet.asyncioreactor", "pyarrow", "pyarrow.parquet", "pyarrow.dataset",
    "pyarrow.compute", "orjson", "itemadapter",
    "crawler.settings", "crawler.commands.crawl", "crawler.spiders.more_like_this",
    "crawler.spiders.imdb_datasets", "pipelines.parquet", "pipelines.normalize",
    "duckdb", "analytics.report", "analytics.views",
)


# Packages imported whole (each module that imports here): the crawl loads most of their
# modules as it builds its command list, middlewares and extensions, ~300 modules a crawl.
PRELOAD_PACKAGES = (
    "crawler", "pipelines", "analytics", "scrapy.commands", "scrapy.downloadermiddlewares",
    "scrapy.spidermiddlewares", "scrapy.extensions",
)
PRELOAD_MORE = (
    "scrapy.shell", "scrapy.utils.test", "scrapy.pqueues", "scrapy.squeues",
    "scrapy.dupefilters", "scrapy.statscollectors", "scrapy.logformatter", "scrapy.robotstxt",
    "scrapy.http.cookies", "scrapy.contracts", "scrapy.core.downloader.handlers.datauri",
    "scrapy.core.downloader.handlers.file", "scrapy.core.downloader.handlers.s3",
    "tldextract", "requests", "aiohttp", "sqlite3", "pyarrow.fs",
)


def _package_modules(package: str) -> list[str]:
    module = importlib.import_module(package)
    return [info.name for info in pkgutil.walk_packages(module.__path__, package + ".")]


def preload() -> None:
    names = [*PRELOAD, *PRELOAD_MORE]
    for package in PRELOAD_PACKAGES:
        names += _package_modules(package)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated modules no crawl imports
        for name in names:
            # ImportError: an optional dependency this machine lacks; no crawl uses it.
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
    if "twisted.internet.reactor" in sys.modules:
        raise SystemExit("forkserver: a preloaded module installed a reactor")
    if threading.active_count() != 1:  # a process that forks must have one thread
        raise SystemExit(f"forkserver: preloading started threads: {threading.enumerate()}")


def _run_child(request: dict[str, Any], out_fd: int, err_fd: int) -> None:
    """In the child: become ``python -m scrapy <argv>`` and exit with its status."""
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    null = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((null, 0), (out_fd, 1), (err_fd, 2)):
        os.dup2(fd, target)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    sys.stdout.reconfigure(write_through=True)  # type: ignore[union-attr]
    sys.argv = ["scrapy", *request["argv"]]
    code = 0
    try:
        runpy.run_module("scrapy", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:  # a crash is the child's answer, as in a subprocess
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


class Server:
    def __init__(self, path: str) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(64)
        self.children: dict[int, socket.socket] = {}
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # the wake-up fd does the work
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "child")
        self.selector.register(sys.stdin, selectors.EVENT_READ, "stdin")

    def serve(self) -> None:
        while True:
            for key, _ in self.selector.select():
                if key.data == "accept":
                    self._accept()
                elif key.data == "child":
                    self._reap()
                elif not os.read(sys.stdin.fileno(), 1024):
                    return  # the pytest worker is gone

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 2)
        while not message.endswith(b"\n"):
            message += conn.recv(1 << 20)
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            for other in (self.listener, conn, *self.children.values()):
                other.close()
            os.close(self.wake_r)
            _run_child(request, fds[0], fds[1])
        for fd in fds:
            os.close(fd)
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        self.children[pid] = conn

    def _reap(self) -> None:
        try:
            while os.read(self.wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        while self.children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is not None:
                with contextlib.suppress(OSError):  # the client gave up on it (a timeout)
                    conn.sendall(json.dumps({"status": status}).encode() + b"\n")
                conn.close()


def main(argv: list[str]) -> None:
    preload()
    server = Server(argv[0])
    print("ready", flush=True)
    server.serve()


# --- the client: what tests/crawling.py calls ------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Environment read when the interpreter starts: a crawl that sets one of these differently
# from the server's gets a real subprocess (none does today).
_STARTUP_VARS = ("PYTHONPATH", "PYTHONWARNINGS", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE",
                 "PYTHONSAFEPATH", "TZ")


class Client:
    """One server per pytest worker, started on first use and stopped with the worker."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.path = ""
        self.env: dict[str, str] = {}

    def takes(self, cmd: list[str], cwd: str, env: dict[str, str]) -> bool:
        if os.environ.get("CRAWL_FORKSERVER", "1") == "0":
            return False
        if cmd[:3] != [sys.executable, "-m", "scrapy"] or os.path.abspath(cwd) != ROOT:
            return False
        return all(env.get(k) == os.environ.get(k) for k in _STARTUP_VARS)

    def run(self, cmd: list[str], env: dict[str, str],
            timeout: float | None) -> subprocess.CompletedProcess[str]:
        """``subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=timeout)``, forked from the warm server."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = self.start_process(cmd, env, out, err, text=False)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise subprocess.TimeoutExpired(cmd, timeout, _read(out), _read(err)) from None
            return subprocess.CompletedProcess(cmd, proc.wait(), _read(out), _read(err))

    def start_process(self, cmd: list[str], env: dict[str, str], stdout: Any, stderr: Any,
                      text: bool) -> ForkedProcess:
        pipes: dict[str, IO[Any]] = {}
        sent: list[int] = []
        to_close: list[int] = []
        for name, target in (("stdout", stdout), ("stderr", stderr)):
            if target == subprocess.STDOUT:
                sent.append(sent[0])
            elif target == subprocess.PIPE:
                read_end, write_end = os.pipe()
                pipes[name] = open(read_end, "r" if text else "rb")  # noqa: SIM115
                sent.append(write_end)
                to_close.append(write_end)
            elif target is None:
                sent.append(1 if name == "stdout" else 2)
            elif target == subprocess.DEVNULL:
                sent.append(os.open(os.devnull, os.O_WRONLY))
                to_close.append(sent[-1])
            else:
                sent.append(target.fileno())
        conn = self._connect()
        request = {"argv": cmd[3:], "cwd": ROOT, "env": env}
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], sent)
        for fd in to_close:
            os.close(fd)
        pid = json.loads(_read_line(conn))["pid"]
        return ForkedProcess(cmd, conn, pid, pipes)

    def _connect(self) -> socket.socket:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(self.path)
        return conn

    def _start(self) -> None:
        folder = tempfile.mkdtemp(prefix="forkserver-")
        self.path = os.path.join(folder, "socket")
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.forkserver", self.path],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"tests.forkserver did not start ({self.proc.wait()})")
        atexit.register(self.stop)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


class ForkedProcess:
    """The part of ``subprocess.Popen``'s interface the tests use, for a forked crawl:
    ``pid`` is the crawl's own, so signals reach it as they would a subprocess."""

    def __init__(self, cmd: list[str], conn: socket.socket, pid: int,
                 pipes: dict[str, IO[Any]]) -> None:
        self.args = cmd
        self.pid = pid
        self.stdout = pipes.get("stdout")
        self.stderr = pipes.get("stderr")
        self.returncode: int | None = None
        self._ended = threading.Event()
        threading.Thread(target=self._await_status, args=(conn,), daemon=True).start()

    def _await_status(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            line = reader.readline()
        # A lost server ends the crawl too (its stdin is the worker's): say so, as -9.
        status = json.loads(line)["status"] if line else 9
        self.returncode = os.waitstatus_to_exitcode(status)
        self._ended.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # ended meanwhile, as Popen allows
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def communicate(self, timeout: float | None = None) -> tuple[Any, Any]:
        results: dict[str, Any] = {}
        readers = [threading.Thread(target=lambda n=n, f=f: results.update({n: f.read()}),
                                    daemon=True)
                   for n, f in (("stdout", self.stdout), ("stderr", self.stderr)) if f]
        for reader in readers:
            reader.start()
        self.wait(timeout)
        for reader in readers:
            reader.join()
        return results.get("stdout"), results.get("stderr")

    def __enter__(self) -> ForkedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        for pipe in (self.stdout, self.stderr):
            if pipe:
                pipe.close()
        self.wait()


def popen(cmd: list[str], *, cwd: Any, env: dict[str, str] | None = None, stdout: Any = None,
          stderr: Any = None, text: bool = False) -> Any:
    """``subprocess.Popen(cmd, cwd=cwd, env=env, stdout=stdout, stderr=stderr,
    text=text)``: forked from the warm server where it can be, else that very call."""
    env = dict(os.environ if env is None else env)
    if not CLIENT.takes(cmd, str(cwd), env):
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=stdout, stderr=stderr,
                                text=text)
    return CLIENT.start_process(cmd, env, stdout, stderr, text)


def run(cmd: list[str], *, cwd: Any, env: dict[str, str] | None = None,
        timeout: float | None = None, capture_output: bool = True, text: bool = True,
        check: bool = False) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(cmd, …)``: forked from the warm server where it can be (output
    captured as text, unchecked: what the tests ask for)."""
    env = dict(os.environ if env is None else env)
    if not (capture_output and text and not check and CLIENT.takes(cmd, str(cwd), env)):
        return subprocess.run(cmd, cwd=cwd, env=env, capture_output=capture_output,
                              text=text, timeout=timeout, check=check)
    return CLIENT.run(cmd, env, timeout)


def _read_line(conn: socket.socket) -> bytes:
    """One line from ``conn``, read a byte at a time so nothing after it is consumed."""
    line = b""
    while not line.endswith(b"\n"):
        byte = conn.recv(1)
        if not byte:
            raise RuntimeError("tests.forkserver closed the connection")
        line += byte
    return line


def _read(file: Any) -> str:
    file.seek(0)
    return file.read().decode()


CLIENT = Client()


if __name__ == "__main__":
    main(sys.argv[1:])
