"""A real S3-compatible server (moto's server mode, from PyPI) on 127.0.0.1 and a free
port, for one test session.

Started by the ``s3_server`` fixture (tests/conftest.py).  It speaks the S3 REST API
over HTTP, so pyarrow's S3 filesystem (the AWS C++ SDK) talks to it exactly as to a
real object store; nothing in the test process is mocked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from tests.local_server import LocalServer

# What a crawl or reader needs in its environment to reach this server, and nothing else.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # never ask 169.254.169.254 for credentials
}


def moto_server() -> str:
    return shutil.which("moto_server", path=str(Path(sys.executable).parent)) or ""


class S3Server(LocalServer):
    name = "moto_server"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _try_start(self, timeout: float) -> bool:
        self.process = subprocess.Popen(
            [moto_server(), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.answers():  # a bounded poll of readiness, not a sleep
                return True
            time.sleep(0.05)
        self.stop()
        return False

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def new_bucket(self) -> str:
        """A new, empty bucket (created through pyarrow, like a user would with any client)."""
        import pyarrow.fs as pafs

        name = f"test-{uuid.uuid4().hex[:12]}"
        fs = pafs.S3FileSystem(access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                               secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                               region=CREDENTIALS["AWS_DEFAULT_REGION"],
                               endpoint_override=self.endpoint, allow_bucket_creation=True)
        fs.create_dir(name)
        return name

    def uri(self, bucket: str, prefix: str = "") -> str:
        """OUTPUT_DIR for a prefix of the bucket, the endpoint in pyarrow's URI option."""
        path = f"{bucket}/{prefix}".rstrip("/")
        return f"s3://{path}?endpoint_override={self.endpoint}"



def environment() -> dict[str, str]:
    return {**os.environ, **CREDENTIALS}
