"""Where the shipped scenario and experiment files are, however Fishpond was installed.

The repository's top-level ``scenarios/`` and ``experiments/`` folders are the only copies. A
wheel carries them as package data of ``sim._scenarios`` and ``sim._experiments``
(``pyproject.toml`` maps those package names onto the two folders), found here with
:mod:`importlib.resources`. A source checkout, installed with ``pip install -e .`` or used
through ``PYTHONPATH``, reads the folders themselves.

Example:
    >>> folder("scenarios").joinpath("fish_pond.yaml").is_file()
    True
    >>> "seed_count" in names("experiments")
    True
"""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path

_PACKAGES = {"scenarios": "_scenarios", "experiments": "_experiments"}


@functools.cache
def folder(kind: str) -> Path:
    """The folder of shipped ``kind`` files: ``"scenarios"`` or ``"experiments"``.

    Args:
        kind: ``"scenarios"`` (with ``data/``, the edge lists) or ``"experiments"``.

    Returns:
        The installed package-data folder (a wheel), else the source checkout's top-level
        folder. The path may not exist when neither is there (then nothing is shipped).
    """
    package = _PACKAGES[kind]
    installed = importlib.resources.files("sim").joinpath(package)
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[1] / kind  # a source checkout


def names(kind: str) -> list[str]:
    """Sorted names (file stems) of the shipped ``kind`` YAML files."""
    return sorted(p.stem for p in folder(kind).glob("*.yaml"))
