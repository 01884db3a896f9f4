"""Start the Streamlit app (``gisplan app``): ``python -m streamlit run app/streamlit_app.py`` on 127.0.0.1.

The app lives in the ``app/`` folder next to the ``gisplan`` package (a source
checkout or an editable install).  Streamlit is started with the app folder as
working directory, so ``app/.streamlit/config.toml`` applies, and the options
that matter offline (static file serving, local address, no usage statistics)
are also passed on the command line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gisplan._errors import GisplanError

__all__ = ["app_command", "app_dir", "run_app"]


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
            "(git clone, then `pip install -e .[app]`)"
        )
    return here


def app_command(*, port: int = 8501, open_browser: bool = False, address: str = "127.0.0.1") -> list[str]:
    """Return the command line that starts the app."""
    if not 0 < port < 65536:
        raise GisplanError(f"port {port} is not a TCP port; choose one in 1..65535 (default 8501)")
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
