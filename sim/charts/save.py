"""Saving charts: atomic, byte-identical files with the permissions ``open()`` would give.

Charts are drawn by the other modules of :mod:`sim.charts`, which return figures and write
nothing; :func:`save_figure` writes a figure once per format, and :func:`write_atomically`
is the one way any file of a chart folder is put in place (under a temporary name in its
folder, then renamed, so a reader never sees half a file).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO

from matplotlib.figure import Figure

from sim.charts.style import house_style

__all__ = ["save_figure", "save_figures", "write_atomically"]

# Metadata keys that would otherwise carry a date or version and break byte-identical output.
_METADATA = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}


def _umask() -> int:
    """The process's umask (read by setting it, then setting it back)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def write_atomically(path: Path, write: Callable[[IO], None], *, mode: int | None = None,
                     text: bool = False) -> Path:
    """Write ``path`` through ``write(stream)`` under a temporary name, then rename it.

    Args:
        path: The file to write; its folder must exist.
        write: Writes the content to the open stream it is given.
        mode: Permission bits of the file; ``None``: ``0o666`` less the umask, as
            ``open()`` gives (``mkstemp`` alone would make it ``0o600``).
        text: Open the stream in text mode (newlines untranslated) rather than binary.

    Returns:
        ``path``.

    Raises:
        OSError: the file cannot be written; no temporary file is left behind.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "note.txt"
        >>> write_atomically(target, lambda s: s.write("hi"), text=True).read_text()
        'hi'
    """
    path = Path(path)
    mode = 0o666 & ~_umask() if mode is None else mode
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with (os.fdopen(handle, "w", newline="") if text else os.fdopen(handle, "wb")) as stream:
            write(stream)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_figure(fig: Figure, path: Path, formats: Iterable[str] = ("png",)) -> list[Path]:
    """Write ``fig`` once per format, atomically and byte-identically for the same data.

    Dates and versions are kept out of the metadata and SVG ids are salted by the style.
    Each file is written with :func:`write_atomically`, with the permissions ``open()``
    would give. The figure is left open; the caller decides when to drop it.

    Args:
        fig: The figure to save.
        path: Target path; its suffix is replaced by each format (``out/funnel`` →
            ``out/funnel.png``).
        formats: Any of matplotlib's formats, e.g. ``("png", "svg", "pdf")``. PNG is
            rendered at 150 dpi.

    Returns:
        The paths written, in the order of ``formats``.

    Example:
        >>> import tempfile
        >>> fig = Figure()
        >>> [p.name for p in save_figure(fig, Path(tempfile.mkdtemp()) / "funnel")]
        ['funnel.png']
    """
    path = Path(path)
    written = []
    mode = 0o666 & ~_umask()
    with house_style():
        for fmt in formats:
            fmt = fmt.lower().lstrip(".")
            target = path.with_suffix("." + fmt)
            written.append(write_atomically(
                target, lambda stream, fmt=fmt: fig.savefig(
                    stream, format=fmt, dpi=150, metadata=_METADATA.get(fmt)), mode=mode))
    return written


def save_figures(figures: Mapping[str, Figure], out_dir: Path,
                 formats: Iterable[str] = ("png",)) -> list[Path]:
    """Save each figure as ``out_dir/<name>.<format>`` (:func:`save_figure`), then clear it.

    Figures built without pyplot have nothing to unregister: clearing drops their artists,
    whether the save worked or not.

    Args:
        figures: Figures by file name (without suffix), in the order to write them.
        out_dir: An existing folder.
        formats: File formats, as for :func:`save_figure`.

    Returns:
        The paths written: every format of the first figure, then of the next, and so on.
    """
    out_dir = Path(out_dir)
    formats = tuple(formats)
    written: list[Path] = []
    for name, fig in figures.items():
        try:
            written += save_figure(fig, out_dir / name, formats)
        finally:
            fig.clear()
    return written
