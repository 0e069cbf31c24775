"""The app under load (slow): 20 ``gradio_client`` users at once through the queue of a real ``emogen app`` process
on the loopback; every request succeeds or gets a clear "queue full" answer, none hangs, memory stays bounded, and
no request reads a file outside the app's own folders."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.reliability]
gradio_client = pytest.importorskip("gradio_client")

USERS = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


@pytest.fixture(scope="module", params=[None, 12], ids=["default-queue", "queue-12"])
def server(request, tmp_path_factory):
    """``emogen app`` with the talking head only, in its own process: the default queue, or one of 12."""
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=str(
        tmp_path_factory.mktemp("gradio")))  # fmt: skip
    log = open(tmp_path_factory.mktemp("log") / "app.log", "w")
    cmd = [sys.executable, "-m", "emogen", "app", "--tabs", "talking_head", "--port", str(port)]
    if request.param is not None:
        cmd += ["--max-queue", str(request.param)]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            break
        except OSError:
            assert proc.poll() is None, open(log.name).read()
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("the app did not start within 180 s")
    yield url, proc, request.param
    proc.terminate()
    proc.wait(30)
    log.close()


def _render(url: str, k: int):
    client = gradio_client.Client(url, verbose=False)
    start = time.monotonic()
    try:
        video, _, files = client.predict(text=f"Hello number {k}.", emotion_from="Label", label="happy", size=64,
                                         steps=4, api_name="/talking_head")  # fmt: skip
        return "ok", video, time.monotonic() - start
    except Exception as err:  # noqa: BLE001 - the outcome is what we check
        return "error", str(err), time.monotonic() - start


def test_twenty_users_at_once(server):
    url, proc, max_queue = server
    _render(url, -1)  # warm: models loaded and the portrait prepared before measuring memory
    before = _rss_mb(proc.pid)
    with ThreadPoolExecutor(USERS) as pool:
        outcomes = list(pool.map(lambda k: _render(url, k), range(USERS), timeout=900))
    after = _rss_mb(proc.pid)
    done = [o for o in outcomes if o[0] == "ok"]
    refused = [o for o in outcomes if o[0] == "error"]
    assert all(os.path.getsize(video) > 1000 for _, video, _ in done)
    if max_queue is None:  # the default queue lets all 20 wait their turn
        assert len(done) == USERS, refused
    else:  # a queue of 12 (and one running): the rest are told the queue is full, nothing else
        assert len(done) >= max_queue, outcomes
        assert refused and all("queue" in msg.lower() and "full" in msg.lower() for _, msg, _ in refused), refused
    assert after - before < 1500, (before, after)  # MB: the queue does not keep every render in memory


def test_requests_cannot_read_outside_the_app(server):
    url, _, _ = server
    for path in ("gradio_api/file=/etc/passwd", "file=/etc/passwd", "gradio_api/file=../../../../etc/passwd",
                 "gradio_api/file=" + os.path.abspath(__file__)):  # fmt: skip
        try:
            with urllib.request.urlopen(url + path, timeout=10) as r:
                body = r.read()
            assert b"root:" not in body and b"def test_requests_cannot_read" not in body, path
        except urllib.error.HTTPError as err:
            assert err.code in (400, 403, 404), (path, err.code)
