"""Scheduled crawls, run for real: the exact command lines of deploy/crontab and of
deploy/imdb-crawl.service, and a crawl scheduled through a real Scrapyd.

The cron and systemd command lines are taken from the files as shipped and expanded the
way cron (and sh) and systemd would, with the shipped environment file where only the
paths, the site, the seed and the extra options point at this checkout, a tmp dir and the
local mirror.  The clock is the only thing faked: a ``date`` first on PATH answers for a
chosen instant, so the ISO week that names the JOBDIR is known.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mirror.server import MirrorServer
from mirror.synthetic import bfs_order, synthetic_graph, tconst_of
from tests.crawling import FAST, ROOT, read_table

DEPLOY = ROOT / "deploy"
GRAPH = synthetic_graph(30, out_degree=3, seed=9)
SEED = tconst_of(1)
DEPTH = 1
EXPECTED = bfs_order(GRAPH, [SEED], DEPTH, 1000)
EXPECTED_TITLES = sorted(set(EXPECTED.order) - set(EXPECTED.missing))
# FAST as extra options: values without spaces, so both sh and systemd split them alike.
FAST_OPTIONS = " ".join(f"-s {k}={v}" for k, v in FAST.items())
TIMEOUT = 120.0
# Instants and the ISO weeks `date -u +%G-W%V` names for them.
SUNDAY_W22 = "2025-06-01T12:00:00Z"
TUESDAY_W22 = "2025-05-27T08:00:00Z"
MONDAY_W23 = "2025-06-02T00:30:00Z"
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CRON_PATH = "/usr/bin:/bin"


# --- environment file ---------------------------------------------------------------------


def env_file_for(tmp: Path, **values: str) -> Path:
    """deploy/imdb-crawl.env with the given names' lines replaced (each must be there)."""
    lines = (DEPLOY / "imdb-crawl.env").read_text(encoding="utf-8").splitlines()
    seen = set()
    for i, line in enumerate(lines):
        name = line.split("=", 1)[0]
        if "=" in line and not line.startswith("#") and name in values:
            value = values[name]
            lines[i] = f'{name}="{value}"' if " " in value else f"{name}={value}"
            seen.add(name)
    assert seen == set(values), f"not in deploy/imdb-crawl.env: {set(values) - seen}"
    path = tmp / "imdb-crawl.env"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def parse_systemd_env_file(text: str) -> dict[str, str]:
    """EnvironmentFile= as systemd reads it: NAME=value lines, # and ; comments, a value in
    double quotes (backslash escapes) or single quotes, unquoted values stripped."""
    env: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        name, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip()), raw
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        elif len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r'\\([\\"$`])', r"\1", value[1:-1])
        else:
            assert "\\" not in value and "'" not in value and '"' not in value, raw
        env[name.strip()] = value
    return env


# --- systemd ---------------------------------------------------------------------------------


def unit_entries(path: Path) -> dict[str, dict[str, list[str]]]:
    """{section: {key: [values]}} of a unit file (keys may repeat; \\ continues a line)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = pending + raw
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            current = sections.setdefault(stripped.strip("[]"), {})
            continue
        assert current is not None, line
        key, _, value = stripped.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def systemd_specifiers(text: str) -> str:
    """%% is a literal %; any other specifier is refused (this test does not model them)."""
    unknown = re.findall(r"%[^%]", text.replace("%%", ""))
    assert not unknown, f"specifiers not modelled here: {unknown}"
    return text.replace("%%", "%")


def systemd_split(line: str) -> list[str]:
    """ExecStart= words: separated by whitespace, quoted with '...' or "...", with C
    escapes (\\\\, \\", \\', \\n, \\t) in and out of quotes."""
    escapes = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", " ": " "}
    words: list[str] = []
    word: str | None = None
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            nxt = line[i + 1]
            assert nxt in escapes, f"escape \\{nxt} not modelled"
            word = (word or "") + escapes[nxt]
            i += 2
            continue
        if quote:
            if c == quote:
                quote = ""
            else:
                word += c  # type: ignore[operator]
        elif c in "'\"":
            quote = c
            word = word or ""
        elif c.isspace():
            if word is not None:
                words.append(word)
            word = None
        else:
            word = (word or "") + c
        i += 1
    assert not quote, "unbalanced quote in ExecStart"
    if word is not None:
        words.append(word)
    return words


def systemd_substitute(words: list[str], env: dict[str, str]) -> list[str]:
    """systemd.service(5): $$ is a literal $; "${FOO}" anywhere in a word is replaced by the
    value as is; "$FOO" as a word of its own by the value split at whitespace (zero or more
    words); unknown variables are empty.  $FOO inside a longer word is refused, as its
    handling differs between systemd versions."""
    out: list[str] = []
    name = r"[A-Za-z_][A-Za-z0-9_]*"
    for word in words:
        whole = re.fullmatch(r"\$(" + name + ")", word)
        if whole:
            out.extend(env.get(whole.group(1), "").split())
            continue
        result = []
        i = 0
        while i < len(word):
            if word.startswith("$$", i):
                result.append("$")
                i += 2
            elif word.startswith("${", i):
                m = re.compile(r"\$\{(" + name + r")\}").match(word, i)
                assert m, f"bad ${{...}} in {word!r}"
                result.append(env.get(m.group(1), ""))
                i = m.end()
            elif word[i] == "$":
                raise AssertionError(f"$VAR inside a word is version-dependent: {word!r}")
            else:
                result.append(word[i])
                i += 1
        out.append("".join(result))
    return out


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str]
    log: Path | None  # where the command sends its output, when it does not go to us


def systemd_command(env_file: Path, fake_bin: Path, home: Path,
                    unit: str = "imdb-crawl.service") -> Command:
    service = unit_entries(DEPLOY / unit)["Service"]
    assert service["Type"] == ["oneshot"]
    (exec_start,) = service["ExecStart"]
    assert exec_start[0] not in "-@+!:|", "ExecStart prefixes are not modelled"
    assert service["EnvironmentFile"] == ["/etc/default/imdb-crawl"]
    assert "Environment" not in service and "WorkingDirectory" not in service
    # Our env file stands in for /etc/default/imdb-crawl; systemd puts it in the environment.
    file_env = parse_systemd_env_file(env_file.read_text(encoding="utf-8"))
    argv = systemd_substitute(systemd_split(systemd_specifiers(exec_start)), file_env)
    env = {"PATH": f"{fake_bin}:{SYSTEMD_PATH}", "HOME": str(home), "LANG": "C.UTF-8",
           **file_env}
    return Command(argv, env, None)


# --- cron ------------------------------------------------------------------------------------


# The job lines of deploy/crontab: the spider each runs, its schedule, its log file.
CRON_JOBS = {"more_like_this": (["17", "3", "*", "*", "*"], "crawl.log"),
             "imdb_datasets": (["47", "7", "*", "*", "*"], "datasets.log")}


def cron_command(env_file: Path, fake_bin: Path, home: Path,
                 spider: str = "more_like_this") -> Command:
    """The job line of deploy/crontab that runs ``spider``, as cron runs it: SHELL -c the
    command, where an unescaped % ends the command (the rest is stdin) and \\% is a %; the
    crontab's NAME=value lines, HOME, LOGNAME and PATH=/usr/bin:/bin are its environment."""
    env = {"PATH": CRON_PATH, "HOME": str(home), "LOGNAME": "imdb", "SHELL": "/bin/sh"}
    jobs = []
    for raw in (DEPLOY / "crontab").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        assignment = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", line)
        if assignment:
            env[assignment.group(1)] = assignment.group(2).strip("'\"")
            continue
        fields = line.split(None, 5)
        assert len(fields) == 6, f"not a cron job line: {raw!r}"
        jobs.append(fields)
    spiders = [re.findall(r" crawl (\w+) ", f[5]) for f in jobs]
    assert sorted(name for found in spiders for name in found) == sorted(CRON_JOBS)
    (fields,) = [f for f in jobs if f" crawl {spider} " in f[5]]
    schedule, log_name = CRON_JOBS[spider]
    assert fields[:5] == schedule
    command = fields[5]
    unescaped = re.search(r"(?<!\\)%", command)
    assert unescaped is None, "an unescaped % would cut the command there"
    command = command.replace("\\%", "%")
    # Our env file and clock stand in for /etc/default/imdb-crawl and the real date.
    assert env["IMDB_ENV"] == "/etc/default/imdb-crawl"
    env["IMDB_ENV"] = str(env_file)
    env["PATH"] = f"{fake_bin}:{env['PATH']}"
    data = parse_systemd_env_file(env_file.read_text(encoding="utf-8"))["IMDB_DATA"]
    return Command([env["SHELL"], "-c", command], env, Path(data) / log_name)


# --- the runs ----------------------------------------------------------------------------------


def set_clock(fake_bin: Path, instant: str) -> None:
    """A `date` that answers for ``instant`` (with whatever format it is asked)."""
    fake_bin.mkdir(exist_ok=True)
    date = fake_bin / "date"
    date.write_text(f'#!/bin/sh\nexec /bin/date -d "{instant}" "$@"\n', encoding="ascii")
    date.chmod(0o755)


def run(command: Command) -> tuple[int, str]:
    """Runs the command; its exit code and what it wrote (its log file's new part, for cron)."""
    before = command.log.stat().st_size if command.log and command.log.exists() else 0
    proc = subprocess.run(command.argv, env=command.env, cwd="/", capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)
    output = proc.stdout + proc.stderr
    if command.log is not None:
        assert output == "", f"cron would mail this: {output!r}"
        with command.log.open(encoding="utf-8") as f:
            f.seek(before)
            output = f.read()
    return proc.returncode, output


def finished_runs(dataset: Path) -> list[dict[str, Any]]:
    return sorted(read_table(dataset, "crawl_runs"), key=lambda r: r["started_at"])


@pytest.fixture(scope="module")
def mirror() -> Iterator[MirrorServer]:
    with MirrorServer(records=GRAPH) as server:
        yield server


@pytest.mark.parametrize("scheduler", ["cron", "systemd"])
def test_scheduled_command_crawls_once_a_week(
    scheduler: str, mirror: MirrorServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    env_file = env_file_for(tmp_path, IMDB_HOME=str(ROOT), IMDB_DATA=str(data),
                            IMDB_BASE_URL=mirror.base_url, SEED=SEED, DEPTH=str(DEPTH),
                            CRAWL_OPTIONS=FAST_OPTIONS)
    fake_bin = tmp_path / "bin"
    make = cron_command if scheduler == "cron" else systemd_command
    command = make(env_file, fake_bin, tmp_path)
    dataset = data / "dataset"

    # The week's first start crawls.
    set_clock(fake_bin, SUNDAY_W22)
    code, output = run(command)
    assert code == 0, output
    assert "Traceback" not in output
    assert sorted(r["tconst"] for r in read_table(dataset, "titles")) == EXPECTED_TITLES
    (first,) = finished_runs(dataset)
    assert first["finish_reason"] == "finished"
    assert first["titles_rows"] == len(EXPECTED_TITLES)
    assert first["seeds"] == [SEED] and first["depth"] == DEPTH
    assert sorted(p.name for p in (data / "jobs").iterdir()) == ["2025-W22"]
    job = json.loads((data / "jobs" / "2025-W22" / "more_like_this.json").read_text())
    assert job["run_id"] == first["run_id"] and job["finished_at"]

    # A later start in the same week finds the run finished: nothing to do, exit 0.
    set_clock(fake_bin, TUESDAY_W22)
    code, output = run(command)
    assert code == 0, output
    assert f"holds run {first['run_id']}, already finished" in output
    assert finished_runs(dataset) == [first]

    # The next week starts a new run in a JOBDIR of its own.
    set_clock(fake_bin, MONDAY_W23)
    code, output = run(command)
    assert code == 0, output
    assert "Traceback" not in output
    runs = finished_runs(dataset)
    assert len(runs) == 2 and runs[0] == first
    assert runs[1]["run_id"] != first["run_id"]
    assert runs[1]["finish_reason"] == "finished"
    assert sorted(p.name for p in (data / "jobs").iterdir()) == ["2025-W22", "2025-W23"]
    job = json.loads((data / "jobs" / "2025-W23" / "more_like_this.json").read_text())
    assert job["run_id"] == runs[1]["run_id"] and job["finished_at"]


@pytest.mark.parametrize("scheduler", ["cron", "systemd"])
def test_scheduled_imdb_datasets_downloads_then_finds_the_files_unchanged(
    scheduler: str, tmp_path: Path
) -> None:
    """The daily line of IMDb's dataset files, as shipped, against a local dataset host."""
    from tests.datasets_server import DatasetsServer, tsv_gz

    data = tmp_path / "data"
    data.mkdir()
    fast = "-s DOWNLOAD_DELAY=0 -s AUTOTHROTTLE_ENABLED=False -s CRAWL_RETRY_TIMES=0"
    with DatasetsServer() as server:
        server.put("title.ratings", tsv_gz(["tconst", "averageRating", "numVotes"],
                                           [["tt0050634", "8.3", "60531"]]))
        env_file = env_file_for(tmp_path, IMDB_HOME=str(ROOT), IMDB_DATA=str(data),
                                IMDB_DATASETS_URL=server.base_url, DATASETS_FILES="ratings",
                                DATASETS_TITLES="all", DATASETS_OPTIONS=fast)
        fake_bin = tmp_path / "bin"
        set_clock(fake_bin, SUNDAY_W22)
        if scheduler == "cron":
            command = cron_command(env_file, fake_bin, tmp_path, "imdb_datasets")
        else:
            command = systemd_command(env_file, fake_bin, tmp_path, "imdb-datasets.service")
        code, output = run(command)
        assert code == 0, output
        assert "title.ratings: snapshot of 2026-03-01 committed" in output
        code, output = run(command)
        assert code == 0, output
        assert "title.ratings: unchanged since 2026-03-01" in output
    rows = read_table(data / "dataset", "imdb_title_ratings")
    assert [(r["tconst"], r["num_votes"]) for r in rows] == [("tt0050634", 60531)]
    outcomes = sorted(r["outcome"] for r in read_table(data / "dataset", "imdb_dataset_runs"))
    assert outcomes == ["downloaded", "unchanged"]


def test_iso_week_names_of_the_clock() -> None:
    """The JOBDIR names above are GNU date's ISO weeks (the year of the week, not of the day)."""
    fmt = "+%G-W%V"
    for instant, week in [(SUNDAY_W22, "2025-W22"), (TUESDAY_W22, "2025-W22"),
                          (MONDAY_W23, "2025-W23"), ("2024-12-30T00:00:00Z", "2025-W01")]:
        out = subprocess.run(["/bin/date", "-u", "-d", instant, fmt], capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == week


def test_systemd_substitution_rules() -> None:
    env = {"A": "x y", "B": ""}
    words = systemd_split(systemd_specifiers("""/bin/echo $A "${A}" pre${A}post '$$A' $B 100%%"""))
    assert systemd_substitute(words, env) == ["/bin/echo", "x", "y", "x y", "prex ypost",
                                              "$A", "100%"]


@pytest.mark.parametrize(("name", "calendar"), [("imdb-crawl", "*-*-* 03:17:00"),
                                                 ("imdb-datasets", "*-*-* 07:47:00")])
def test_timer_and_service_settings(name: str, calendar: str) -> None:
    timer = unit_entries(DEPLOY / f"{name}.timer")["Timer"]
    assert timer["Persistent"] == ["true"]
    assert timer["OnCalendar"] == [calendar]
    service = unit_entries(DEPLOY / f"{name}.service")["Service"]
    assert service["Nice"] == ["10"] and service["IOSchedulingClass"] == ["best-effort"]


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (Debian package systemd)")
    units = ("imdb-crawl.service", "imdb-crawl.timer", "imdb-datasets.service",
             "imdb-datasets.timer")
    for name in units:
        shutil.copy(DEPLOY / name, tmp_path / name)
    proc = subprocess.run([analyze, "verify", *(str(tmp_path / name) for name in units)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "imdb-crawl" not in proc.stderr and "imdb-datasets" not in proc.stderr, proc.stderr


# --- Scrapyd ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bare_python(tmp: Path) -> Path:
    """A venv that sees this one's packages but not this project (installed editable here),
    so the crawls Scrapyd runs can only import crawler and pipelines from the egg."""
    venv = tmp / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)],
                   check=True, capture_output=True)
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = Path(subprocess.run([str(venv / "bin" / "python"), "-c", where], check=True,
                                  capture_output=True, text=True).stdout.strip())
    # A path line only: the .pth files there (the editable install's finder) are not run.
    (purelib / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    python = venv / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import crawler"], cwd=tmp,
                           capture_output=True, text=True, check=False)
    assert "No module named 'crawler'" in probe.stderr
    return python


def api(base: str, endpoint: str, data: list[tuple[str, str]] | None = None) -> Any:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(base + endpoint, data=body, timeout=30) as response:
        reply = json.loads(response.read())
    assert reply["status"] == "ok", reply
    return reply


def wait_until(condition: Any, what: str, process: subprocess.Popen[str], log: Path) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"scrapyd exited:\n{log.read_text()}"
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()}")


@pytest.fixture
def scrapyd(tmp_path: Path) -> Iterator[tuple[str, Path, Path, subprocess.Popen[str]]]:
    """A real Scrapyd on 127.0.0.1 (a free port), its directories in tmp_path; yields its URL,
    its directory, its own log and the process."""
    home = tmp_path / "scrapyd"
    home.mkdir()
    port = free_port()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        "bind_address = 127.0.0.1\n"
        f"http_port = {port}\n"
        f"eggs_dir = {home / 'eggs'}\n"
        f"logs_dir = {home / 'logs'}\n"
        f"items_dir = {home / 'items'}\n"
        f"dbs_dir = {home / 'dbs'}\n"
        "jobs_dir =\n"
        "max_proc = 1\n"
        "poll_interval = 0.2\n", encoding="utf-8")
    python = bare_python(tmp_path)
    log = home / "scrapyd.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRAPY", "PYTHON"))}
    with log.open("w") as out:
        # cwd: Scrapyd reads ./scrapyd.conf, and no scrapy.cfg is above it.
        process = subprocess.Popen([str(python), "-m", "scrapyd", "--pidfile="], cwd=home,
                                   env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        def up() -> bool:
            try:
                return api(base, "daemonstatus.json")["status"] == "ok"
            except OSError:
                return False

        wait_until(up, "scrapyd to listen", process, log)
        yield base, home, log, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_scrapyd_deploys_and_runs_a_scheduled_crawl(
    scrapyd: tuple[str, Path, Path, subprocess.Popen[str]], mirror: MirrorServer,
    tmp_path: Path
) -> None:
    base, home, log, process = scrapyd
    bin_dir = Path(sys.executable).parent

    # The egg: analytics, crawler and pipelines and the settings entry point, nothing else.
    egg = tmp_path / "imdb.egg"
    subprocess.run([sys.executable, "deploy/build_egg.py", str(egg)], cwd=ROOT, check=True,
                   capture_output=True)
    names = zipfile.ZipFile(egg).namelist()
    assert {n.split("/")[0] for n in names} == {"EGG-INFO", "analytics", "crawler", "pipelines"}
    assert "crawler/spiders/more_like_this.py" in names and "pipelines/parquet.py" in names
    assert "analytics/views.sql" in names  # package data the views are built from
    assert "analytics/templates/report.html.j2" in names  # the report's page
    entry_points = zipfile.ZipFile(egg).read("EGG-INFO/entry_points.txt").decode()
    assert "[scrapy]\nsettings = crawler.settings" in entry_points

    deploy = subprocess.run(
        [str(bin_dir / "scrapyd-deploy"), "--egg", str(egg), "--version", "r1"], cwd=ROOT,
        env={**os.environ, "SCRAPYD_URL": base}, capture_output=True, text=True, check=False)
    assert deploy.returncode == 0, deploy.stderr
    # Scrapyd lists the spiders by running the egg: the egg alone is enough to load them.
    assert json.loads(deploy.stdout) == {"node_name": json.loads(deploy.stdout)["node_name"],
                                         "status": "ok", "project": "imdb", "version": "r1",
                                         "spiders": 2}
    assert api(base, "listspiders.json?project=imdb")["spiders"] == ["imdb_datasets",
                                                                     "more_like_this"]

    output = tmp_path / "dataset"
    jobdir = tmp_path / "jobs" / "2025-W22"
    settings = {**FAST, "IMDB_BASE_URL": mirror.base_url, "OUTPUT_DIR": str(output),
                "JOBDIR": str(jobdir)}
    form = [("project", "imdb"), ("spider", "more_like_this"), ("seed", SEED),
            ("depth", str(DEPTH)), ("max_titles", "1000"), ("refresh", "7d"),
            *[("setting", f"{k}={v}") for k, v in settings.items()]]

    def finished(job: str) -> Callable[[], bool]:
        return lambda: any(j["id"] == job
                           for j in api(base, "listjobs.json?project=imdb")["finished"])

    job = api(base, "schedule.json", form)["jobid"]
    wait_until(finished(job), f"job {job} to finish", process, log)

    # Exit 0: Scrapyd says "Process finished" (an exit code other than 0 is "Process died").
    server_log = log.read_text()
    assert re.search(rf"Process finished: .*job='{job}'", server_log), server_log
    assert "Process died" not in server_log and "Traceback" not in server_log
    job_log = (home / "logs" / "imdb" / "more_like_this" / f"{job}.log").read_text()
    assert "Traceback" not in job_log and " ERROR: " not in job_log, job_log
    assert "Spider closed (finished)" in job_log

    assert sorted(r["tconst"] for r in read_table(output, "titles")) == EXPECTED_TITLES
    (row,) = read_table(output, "crawl_runs")
    assert row["finish_reason"] == "finished"
    assert row["titles_rows"] == len(EXPECTED_TITLES)
    assert row["seeds"] == [SEED] and row["depth"] == DEPTH and row["max_titles"] == 1000
    state = json.loads((jobdir / "more_like_this.json").read_text())
    assert state["run_id"] == row["run_id"] and state["finished_at"]
    # Scrapyd's items feed (items_dir): one line per title page.
    items = (home / "items" / "imdb" / "more_like_this" / f"{job}.jl").read_text().splitlines()
    assert sorted(json.loads(line)["tconst"] for line in items) == sorted(EXPECTED.order)

    # The same JOBDIR scheduled again: "already finished", nothing written, exit 0.
    again = api(base, "schedule.json", form)["jobid"]
    wait_until(finished(again), f"job {again} to finish", process, log)
    server_log = log.read_text()
    assert re.search(rf"Process finished: .*job='{again}'", server_log), server_log
    assert f"holds run {row['run_id']}, already finished" in server_log
    assert read_table(output, "crawl_runs") == [row]
