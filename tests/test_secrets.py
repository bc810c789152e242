"""No secret in any output (issue 19, point 3).

Credentials in a URL the user gives (``OUTPUT_DIR=s3://KEY:SECRET@bucket/...``,
``FRONTIER_URL``, ``IMDB_BASE_URL``, ``WAYBACK_BASE_URL``) appear in no log, message,
row, page or printed path: a real crawl into a real S3-compatible server (moto) that
reads its keys from the URI only, then ``scrapy report``, and every byte they left is
searched.  A URL whose password holds a raw ``@`` is refused in one line that shows no
part of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from analytics import views
from crawler.masking import is_ambiguous, scrub, shown_url
from crawler.state import dataset
from mirror.faults import Fault
from mirror.server import MirrorServer
from mirror.synthetic import synthetic_graph, tconst_of
from tests import forkserver
from tests.crawling import ROOT, VIEWS, crawl_command
from tests.s3_server import S3Server

KEY = "AKIAQX7PLAINKEYID"
SECRET = "wJalrXUtnF7MDENGbPxRfiCYsecretvalue"
GRAPH = synthetic_graph(8, out_degree=2, seed=4)
SEED = tconst_of(1)
GONE = GRAPH[SEED]["more_like_this"][0]["tconst"]  # a 404: a failures row


def no_aws_keys() -> dict[str, str]:
    """The environment without the test credentials: the crawl has only the URI's."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    return {**env, "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONUNBUFFERED": "1"}


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, env=no_aws_keys(), capture_output=True, text=True,
                          timeout=300, check=False)


def everything_under(uri: str) -> dict[str, bytes]:
    """Every object under the prefix (relative name -> bytes), through the test's own
    credentials."""
    rem = dataset.remote(uri.replace(f"{KEY}:{SECRET}@", ""))
    assert rem is not None
    infos = rem.fs.get_file_info(pafs.FileSelector(rem.root, recursive=True))
    out = {}
    for info in infos:
        if info.type == pafs.FileType.File:
            with rem.fs.open_input_stream(info.path) as f:
                out[info.path[len(rem.root) + 1:]] = f.read()
    return out


def test_keys_in_an_s3_uri_appear_in_no_output_of_the_crawl_or_the_report(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    uri = f"s3://{KEY}:{SECRET}@{s3_bucket}/imdb?endpoint_override={s3_server.endpoint}"
    with MirrorServer(records=GRAPH, faults={GONE: Fault.status(404)}) as mirror:
        crawl = run(crawl_command(mirror.base_url, uri, seed=SEED, depth=1,
                                  settings={"LOG_LEVEL": "DEBUG", "PROGRESS_INTERVAL": "0.1",
                                            **VIEWS}))
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    report = run([sys.executable, "-m", "scrapy", "report", "-s", f"OUTPUT_DIR={uri}"])
    assert report.returncode == 0, report.stderr[-3000:]
    shown = f"s3://***:***@{s3_bucket}/imdb"
    assert report.stdout.strip() == f"{shown}/report.html"
    assert f"views rebuilt: s3://{s3_bucket}/imdb/dataset.duckdb" in crawl.stderr

    outputs = {"crawl stdout": crawl.stdout, "crawl log": crawl.stderr,
               "report stdout": report.stdout, "report stderr": report.stderr}
    objects = everything_under(uri)
    assert {"report.html", "dataset.duckdb"} <= set(objects)
    tables = {name: pq.read_table(pa.BufferReader(data)).to_pylist()
              for name, data in objects.items() if name.endswith(".parquet")}
    rows = {name: json.dumps(t, default=str) for name, t in tables.items()}
    failures = [r for name, t in tables.items() if name.startswith("failures/") for r in t]
    assert [r["tconst"] for r in failures] == [GONE]  # the rows searched are real ones
    assert any(name.startswith("crawl_runs/") for name in tables)
    others = {name: data.decode("utf-8", "replace") for name, data in objects.items()
              if not name.endswith(".parquet")}
    con = views.connect(uri)
    try:
        database = json.dumps(con.execute("SELECT * FROM committed_files").fetchall()
                              + con.execute("SELECT sql FROM duckdb_views()").fetchall())
        (titles,) = con.execute("SELECT COUNT(*) FROM titles_latest").fetchone()
    finally:
        con.close()
    assert titles == 1 + 1  # the seed and its one other card; the first is gone
    for where, text in {**outputs, **rows, **others, "dataset.duckdb views": database}.items():
        for secret in (KEY, SECRET):
            assert secret not in text, f"{secret} in {where}"
    assert f"{shown}?endpoint_override=" in others["report.html"]
    assert "Traceback" not in crawl.stderr + report.stderr


AMBIGUOUS = "Wv9:pa@Zq7/Hk2"  # a password with a raw '@' and '/'
PIECES = ("Wv9", "pa@", "Zq7", "Hk2", "127.0.0.1", "bucket-x")


@pytest.mark.parametrize("url", [
    "redis://:p@ss/PW@host:6379/0", "redis://:p@ss@host:6379/0", "redis://:pa#ss@host",
    "redis://u:12/PW@host", "redis://:secret", "s3://KEY:SE/CRET@bucket/p",
    "http://u:p?w@host:80",
])
def test_a_raw_at_or_any_ambiguity_is_never_shown(url: str) -> None:
    assert is_ambiguous(url)
    assert shown_url(url) == f"<a {url.split(':')[0]} URL not shown: its credentials are " \
                              "ambiguous>"


@pytest.mark.parametrize(("url", "shown"), [
    ("s3://KEY:SECRET@b/p?endpoint_override=http://127.0.0.1:9",
     "s3://***:***@b/p?endpoint_override=http://127.0.0.1:9"),
    ("redis://:pw%40x@h:6379/0", "redis://:***@h:6379/0"),
    ("redis://user@h", "redis://***@h"),
    ("s3://b/p?region=x&secret_key=abc&access_key=KK", "s3://b/p?region=x&secret_key=***"
                                                       "&access_key=***"),
    ("redis://h:6379/0?password=hunter2", "redis://h:6379/0?password=***"),
    ("http://[::1]:8080", "http://[::1]:8080"),
    ("s3://bucket/a@b", "s3://bucket/a@b"),
    ("/data/imdb", "/data/imdb"),
])
def test_credentials_are_masked_and_the_rest_is_kept(url: str, shown: str) -> None:
    assert not is_ambiguous(url)
    assert shown_url(url) == shown
    # A message that quotes the URL, or a credential of it, percent-decoded or not.
    assert scrub(f"failed at {url}: pw@x hunter2 SECRET", url) == \
        f"failed at {shown}: {'***' if 'pw%40x' in url else 'pw@x'} " \
        f"{'***' if 'hunter2' in url else 'hunter2'} {'***' if 'SECRET' in url else 'SECRET'}"


def test_a_raw_at_in_any_url_setting_is_refused_in_one_line_showing_nothing(
    tmp_path: Path
) -> None:
    """The four URL settings of a crawl, and OUTPUT_DIR of ``scrapy report``: exit 2,
    one line naming the setting, no part of the value; nothing written."""
    out = str(tmp_path / "out")
    base = "http://127.0.0.1:9"
    bad = f"http://u:{AMBIGUOUS}@127.0.0.1:9"
    cases = {
        "OUTPUT_DIR": crawl_command(base, f"s3://k:{AMBIGUOUS}@bucket-x/p", seed=SEED),
        "FRONTIER_URL": crawl_command(base, out, seed=SEED, settings={
            "FRONTIER_URL": f"redis://:{AMBIGUOUS}@127.0.0.1:9/0"}),
        "IMDB_BASE_URL": crawl_command(bad, out, seed=SEED),
        "WAYBACK_BASE_URL": crawl_command(base, out, seed=SEED, extra_args={"as_of": "2018"},
                                          settings={"WAYBACK_BASE_URL": bad}),
        "report OUTPUT_DIR": [sys.executable, "-m", "scrapy", "report", "-s",
                              f"OUTPUT_DIR=s3://k:{AMBIGUOUS}@bucket-x/p"],
    }
    # All at once: each is a Python start-up, and none waits on another.
    procs = {name: forkserver.popen(cmd, cwd=ROOT, env=no_aws_keys(), text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for name, cmd in cases.items()}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 2, (name, stderr[-2000:])
        lines = stderr.strip().splitlines()
        setting = name.split()[-1]
        assert len(lines) == 1 and f"error: {setting} is refused and not shown" in lines[0], (
            name, stderr)
        assert not [p for p in PIECES if p in stdout + stderr], (name, stderr)
    assert not Path(out).exists()
