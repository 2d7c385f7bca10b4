"""How ``gridpatrol serve`` starts the app: the Streamlit command line and the host check."""
from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

from geo.errors import GridPatrolError
from server.accounts import AccountStore

__all__ = ["APP_SCRIPT", "serve_argv", "is_loopback", "check_host"]

APP_SCRIPT = Path(__file__).resolve().parent.parent / "app.py"
MAX_UPLOAD_MB = 200


def serve_argv(*, data_dir: Path, host: str, port: int, workspace: Path | None,
               launcher: Path | None = None) -> list[str]:
    """The command that runs the app with Streamlit.

    Parameters
    ----------
    data_dir : the data directory the app serves (accounts, workspace library).
    host : the address to listen on (``127.0.0.1`` keeps the app on this machine).
    port : the TCP port.
    workspace : one workspace file to open at start (local mode on that file), or None.
    launcher : the script to run instead of app.py (``server.basemap.prepare_launcher``): the app
        then also serves the data directory's ``tiles/`` at ``/app/static/`` (local basemap tiles).

    Returns
    -------
    ``python -m streamlit run app.py`` with headless server options (no usage statistics, no
    file watcher, a minimal toolbar, generic error messages in the browser, uploads up to
    200 MB), then the app's own arguments after ``--``.
    """
    argv = [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT if launcher is None else launcher),
            "--server.address", str(host), "--server.port", str(int(port)),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
            "--client.showErrorDetails", "none",
            "--server.maxUploadSize", str(MAX_UPLOAD_MB)]
    if launcher is not None:
        argv += ["--server.enableStaticServing", "true"]
    argv += ["--", "--data-dir", str(data_dir)]
    if workspace is not None:
        argv += ["--workspace", str(workspace)]
    return argv


def is_loopback(host: str) -> bool:
    """True when ``host`` is reachable from this machine only: ``localhost``, 127.0.0.0/8 or ::1
    (``[::1]`` and IPv4-mapped forms included). An empty host means every interface: False."""
    value = (host or "").strip().rstrip(".").lower()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    if value == "localhost" or value.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def check_host(host: str, store: AccountStore) -> None:
    """Raise GridPatrolError when ``host`` is reachable from other machines while ``store`` has no
    admin account (anyone on the network could then use the app without signing in)."""
    if is_loopback(host) or store.has_admin():
        return
    raise GridPatrolError(
        f"`host` was {host!r}, which other machines can reach, but the data directory "
        f"{store.data_dir} has no admin account, so anyone could use the app without signing in; "
        "add one first with `gridpatrol user add NAME --role admin --password-stdin`, or serve on "
        "127.0.0.1")
