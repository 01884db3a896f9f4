"""`gisplan app`: the server stops when the launcher is stopped (SIGTERM is passed on), freeing the port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip("streamlit")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.mark.slow
def test_sigterm_stops_the_server(tmp_path):
    port = _free_port()
    env = {**os.environ, "HOME": str(tmp_path)}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "gisplan.cli.main", "app", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _healthy(port):
            assert launcher.poll() is None, "gisplan app exited before serving"
            assert time.monotonic() < deadline, "the app did not start within 60 s"
            time.sleep(0.5)
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _healthy(port) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _healthy(port), "the Streamlit server kept running after gisplan app was stopped"
    finally:
        if launcher.poll() is None:
            launcher.kill()
