"""Serving the ``fishpond app`` page (:mod:`sim.app`) with Solara's server.

This module is light (the command line imports it): it checks the options, hands the
scenario to the page through environment variables and runs ``solara run sim/app.py`` in
a child process. ``solara run sim/app.py`` by hand works too; it then starts from the
shipped fish pond.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from .errors import FishpondError

#: Environment variables the page reads at start-up (set by :func:`serve`).
ENV_SCENARIO = "FISHPOND_APP_SCENARIO"  # a scenario file or shipped name
ENV_SET = "FISHPOND_APP_SET"  # JSON list of KEY.PATH=VALUE overrides
ENV_SAVE_DIR = "FISHPOND_APP_SAVE_DIR"  # where "Save scenario" writes
APP_FILE = Path(__file__).with_name("app.py")


def check_address(host: str, port: int) -> None:
    """Refuse a port out of range or already in use on ``host``, in one line.

    Raises:
        FishpondError: the port is not in [1, 65535], or nothing can listen there.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise FishpondError(f"--port {port}: allowed: a whole number in [1, 65535]")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise FishpondError(f"--host {host}: cannot be resolved ({e.strerror or e}); allowed: "
                            "an address of this machine such as 127.0.0.1") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind(address)
        except OSError as e:
            raise FishpondError(f"--port {port}: cannot listen on {host}:{port} "
                                f"({e.strerror or e}); choose another --port") from None


def command(host: str, port: int) -> list[str]:
    """The command line that serves the page (Solara's server, production mode)."""
    return [sys.executable, "-m", "solara", "run", str(APP_FILE), "--host", host,
            "--port", str(port), "--production", "--no-open", "--log-level", "warning"]


def environment(scenario: str | os.PathLike, overrides: list[str], save_dir: Path) -> dict:
    """The child's environment: this one, plus the page's start-up settings."""
    env = dict(os.environ)
    env[ENV_SCENARIO] = str(scenario)
    env[ENV_SET] = json.dumps(list(overrides))
    env[ENV_SAVE_DIR] = str(Path(save_dir).expanduser().resolve())
    return env


def url(host: str, port: int) -> str:
    """The address to open in a browser.

    Example:
        >>> url("127.0.0.1", 8765), url("::1", 80)
        ('http://127.0.0.1:8765/', 'http://[::1]:80/')
    """
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(scenario: str | os.PathLike, overrides: list[str], *, host: str = "127.0.0.1",
          port: int = 8765, save_dir: Path = Path("saved_scenarios")) -> int:
    """Serve the app until interrupted; returns the server's exit status.

    Args:
        scenario: The scenario to start from (already validated by the caller).
        overrides: ``KEY.PATH=VALUE`` strings applied to it.
        host: The address to listen on (127.0.0.1: this machine only).
        port: The port.
        save_dir: Where "Save scenario" writes its YAML files.

    Raises:
        FishpondError: a bad address, or the app's libraries are missing.
    """
    check_address(host, port)
    import importlib.util

    missing = [m for m in ("solara", "altair") if importlib.util.find_spec(m) is None]
    if missing:
        raise FishpondError(f"fishpond app needs {' and '.join(missing)} (Mesa's SolaraViz); "
                            "install them with: pip install 'mesa[viz]' solara")
    print(f"fishpond app: serving {scenario} at {url(host, port)} (Ctrl+C to stop)", flush=True)
    proc = subprocess.Popen(command(host, port), env=environment(scenario, overrides, save_dir))
    try:
        signal.signal(signal.SIGTERM, _interrupt)  # stopped by a service manager: the same
    except ValueError:  # not the main thread: Ctrl+C only
        pass
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        print("fishpond app: stopped", file=sys.stderr)
        return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


# --- the page's assets, for machines without the CDN -----------------------------------------

ASSETS_ENV = "SOLARA_ASSETS_PROXY_CACHE_DIR"  # Solara's own setting: where its assets are read


def asset_packages() -> list[str]:
    """The npm packages (``name@version``) that Solara's page loads from its CDN.

    Read from the installed Solara's page template, so they follow its version; Solara's
    server reads them from :data:`ASSETS_ENV` when they are there (a machine that cannot
    reach the CDN, such as CI), else fetches them once.
    """
    import re

    import solara.server

    template = Path(solara.server.__file__).with_name("templates") / "solara.html.j2"
    specs = re.findall(r"\{\{cdn\}\}/((?:@[\w.-]+/)?[\w.-]+@\d+(?:\.\d+)*)/", template.read_text())
    return sorted(set(specs) | {"requirejs@2.3.6", "font-awesome@4.5.0"})


def fetch_assets(folder: str | os.PathLike) -> list[Path]:
    """Put :func:`asset_packages` in ``folder`` as Solara's CDN cache lays them out.

    Each package is fetched with ``npm pack`` (the npm registry) and unpacked to
    ``folder/<name>@<version>/``; packages already there are kept.

    Returns:
        The package folders.

    Raises:
        FishpondError: npm is missing or a package cannot be fetched.
    """
    import shutil
    import tarfile
    import tempfile

    folder = Path(folder)
    out = []
    for spec in asset_packages():
        target = folder / spec
        out.append(target)
        if target.is_dir() and any(target.iterdir()):
            continue
        npm = shutil.which("npm")
        if npm is None:
            raise FishpondError(f"npm not found: it fetches Solara's page assets ({spec}); "
                                "install Node.js and npm")
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run([npm, "pack", spec, "--pack-destination", tmp, "--silent"],
                                  capture_output=True, text=True)
            tarballs = list(Path(tmp).glob("*.tgz"))
            if done.returncode or not tarballs:
                raise FishpondError(f"npm pack {spec} failed: {done.stderr.strip()[-300:]}")
            unpacked = Path(tmp) / "unpacked"
            with tarfile.open(tarballs[0]) as tar:
                tar.extractall(unpacked, filter="data")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(unpacked / "package"), str(target))
    return out


if __name__ == "__main__":  # python -m sim.serve FOLDER: fetch the page's assets into FOLDER
    for path in fetch_assets(sys.argv[1] if len(sys.argv) > 1 else "solara-cdn"):
        print(path)
