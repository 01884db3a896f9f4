"""Start the Streamlit app (``gisplan app``): ``python -m streamlit run app/streamlit_app.py`` on 127.0.0.1.

The app lives in the ``app/`` folder next to the ``gisplan`` package (a source
checkout or an editable install).  Streamlit is started with the app folder as
working directory, so ``app/.streamlit/config.toml`` applies, and the options
that matter offline (static file serving, local address, no usage statistics)
are also passed on the command line.  The server answers only to the host names of
:func:`allowed_hosts` (Streamlit's ``server.allowedHosts``, checked on the WebSocket that
carries every page): a site whose name is re-pointed to 127.0.0.1 (DNS rebinding) gets no session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gisplan._errors import GisplanError

__all__ = ["LOCAL_HOSTS", "allowed_hosts", "app_command", "app_dir", "run_app"]


def app_dir() -> Path:
    """Return the folder holding ``streamlit_app.py``.

    Raises
    ------
    GisplanError
        When the folder is missing (gisplan installed from a wheel without its app).
    """
    here = Path(__file__).resolve().parents[2] / "app"
    if not (here / "streamlit_app.py").is_file():
        raise GisplanError(
            f"the Streamlit app is not at {here}; run `gisplan app` from a source checkout "
            f"(git clone, then `pip install -e .[app]`) / không có ứng dụng Streamlit tại {here}; hãy chạy "
            "`gisplan app` từ bản mã nguồn (git clone, rồi `pip install -e .[app]`)"
        )
    return here


#: Host names the app answers on 127.0.0.1 (``server.allowedHosts``); any other ``Host`` header is refused.
LOCAL_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost")


def allowed_hosts(address: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The ``Host`` names the app accepts: the local names, the bound address and ``extra`` (a server's own names).

    Streamlit checks ``server.allowedHosts`` on the WebSocket that carries every page, so a page of another site
    whose name was re-pointed to 127.0.0.1 (DNS rebinding) cannot open a session.  ``*`` is refused: it would
    switch the check off.
    """
    hosts = [*LOCAL_HOSTS, address, *extra]
    if any(h.strip() in ("", "*") for h in hosts):
        raise GisplanError(
            "allowed hosts must be host names or addresses; '*' (any host) is refused "
            "/ các máy được phép phải là tên máy hoặc địa chỉ; không chấp nhận '*' (mọi máy)"
        )
    return list(dict.fromkeys(h.strip().lower() for h in hosts))


def app_command(
    *, port: int = 8501, open_browser: bool = False, address: str = "127.0.0.1", hosts: tuple[str, ...] = ()
) -> list[str]:
    """Return the command line that starts the app, answering only to :func:`allowed_hosts`."""
    if not 0 < port < 65536:
        raise GisplanError(
            f"port {port} is not a TCP port; choose one in 1..65535 (default 8501) "
            f"/ cổng {port} không phải cổng TCP; hãy chọn trong khoảng 1..65535 (mặc định 8501)"
        )
    host_options = [arg for host in allowed_hosts(address, hosts) for arg in ("--server.allowedHosts", host)]
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_dir() / "streamlit_app.py"),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "false" if open_browser else "true",
        "--server.enableStaticServing",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.enableXsrfProtection",
        "true",
        "--client.showErrorDetails",
        "type",
        *host_options,
    ]


def run_app(*, port: int = 8501, open_browser: bool = False) -> int:
    """Run the app until it is stopped (Ctrl+C or SIGTERM); return Streamlit's exit code.

    The Streamlit server runs as a child process; SIGTERM and SIGINT sent to ``gisplan app`` are passed on to it,
    so stopping ``gisplan app`` stops the server and frees the port.  Paths in ``GISPLAN_PROJECT`` and
    ``GISPLAN_STORE`` are made absolute first (the server runs in the app folder).

    Parameters
    ----------
    port
        TCP port on 127.0.0.1.
    open_browser
        Open the app in the default web browser.
    """
    import signal

    cmd = app_command(port=port, open_browser=open_browser)
    env = dict(os.environ)
    for var in ("GISPLAN_PROJECT", "GISPLAN_STORE"):
        if env.get(var):
            env[var] = str(Path(env[var]).expanduser().resolve())
    proc = subprocess.Popen(cmd, cwd=app_dir(), env=env)

    def forward(signum: int, _frame: object) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:  # Ctrl+C reaches the child too (same process group); wait for it to stop
                forward(signal.SIGINT, None)
    finally:
        signal.signal(signal.SIGTERM, previous)
