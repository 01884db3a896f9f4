"""Hardening of the app server (issue 11, case 10): only allowed Host headers get a session (DNS rebinding)."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from gisplan._errors import GisplanError
from gisplan.cli._app_launcher import allowed_hosts, app_command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _websocket_status(port: int, host: str) -> str:
    """The status line the server answers to a WebSocket upgrade of the app's stream with ``Host: host``.

    A page of ``http://host`` (a name an attacker re-pointed to 127.0.0.1) sends its own name as Host and Origin.
    """
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: http://{host}:{port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request.encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


@pytest.mark.slow
def test_app_refuses_a_foreign_host_header(tmp_path: Path) -> None:
    """Case 10: the app accepted any Host header (DNS rebinding); it answers 127.0.0.1 and localhost only."""
    port = _free_port()
    env = {**os.environ, "HOME": str(tmp_path)}
    server = subprocess.Popen(
        app_command(port=port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 90
        while not _healthy(port):
            assert server.poll() is None, "the app exited before serving"
            assert time.monotonic() < deadline, "the app did not start within 90 s"
            time.sleep(0.5)
        assert " 101 " in _websocket_status(port, "127.0.0.1") + " "
        assert " 101 " in _websocket_status(port, "localhost") + " "
        refused = _websocket_status(port, "rebind.attacker.example")
        assert " 101 " not in refused + " " and refused.startswith("HTTP/1.1 4"), refused
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_allowed_hosts_never_include_any_host() -> None:
    """Case 10: the allow-list holds the local names and the bound address; '*' (any host) is refused."""
    assert allowed_hosts("127.0.0.1") == ["127.0.0.1", "localhost"]
    assert allowed_hosts("10.0.0.5", ("gis.kiengiang.gov.vn",)) == [
        "127.0.0.1",
        "localhost",
        "10.0.0.5",
        "gis.kiengiang.gov.vn",
    ]
    with pytest.raises(GisplanError):
        allowed_hosts("127.0.0.1", ("*",))
    cmd = app_command(port=8765)  # the launcher passes the list itself, whatever folder Streamlit reads config from
    given = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--server.allowedHosts"]
    assert given == ["127.0.0.1", "localhost"]
    config = (Path(__file__).resolve().parents[1] / "app" / ".streamlit" / "config.toml").read_text(encoding="utf-8")
    assert 'allowedHosts = ["127.0.0.1", "localhost"]' in config
