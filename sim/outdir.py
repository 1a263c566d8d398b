"""Output folders that never lose what a user has: checked first, replaced last, recovered.

Every command that writes (run, sweep, compare, chart) follows these rules:

- The location is checked before anything runs: no file on the way (``afile/sub``), the
  folder (or its nearest existing parent) takes a real test write (permission bits alone
  would pass a read-only mount for root), and the disk has room for an estimate.
- ``--overwrite`` replaces only a folder Fishpond wrote (a run or sweep ``manifest.json``,
  or an old run folder holding nothing but run outputs); never the working directory or a
  folder above it, never a folder holding an input file, never a symbolic link's target.
- New output is written into a hidden sibling ``.NAME.tmp-PID-XXXXXXXX``. It replaces
  ``NAME`` only when complete: ``NAME`` is renamed to ``.NAME.old-PID-XXXXXXXX``, the new
  folder to ``NAME``, and the old one is deleted. An existing empty folder (``--out .``) is
  filled in place from ``NAME/.fishpond.tmp-PID-XXXXXXXX`` instead.
- :func:`recover` repairs what a killed process left behind: an ``.old-`` folder whose
  ``NAME`` is missing is renamed back; the temporary folders of processes that no longer
  exist are deleted (an in-place fill that had finished writing is completed).
- A sweep folder is locked while a process writes into it (``NAME/.fishpond.lock``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError

LOCK = ".fishpond.lock"
MANIFEST = "manifest.json"
IN_PLACE = "fishpond"  # the staging folder inside an empty output folder: .fishpond.tmp-...
COMPLETE = ".complete"  # in a staging folder: every file is written, only moving is left
RUN_FILES = frozenset({"summary.json", "timeseries.csv", "referral_curve.csv", "scenario.yaml"})
RUN_CHARTS = frozenset({"members_by_role", "funnel", "referral_concentration"})
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]{8}$")
_LEGACY_OLD = re.compile(r"^\.(?P<name>.+)\.old\.[a-z0-9_]{8}$")  # before: mkdtemp(".NAME.old.")
_LEGACY_TMP = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}$")  # before: mkdtemp(".NAME.")
_LEGACY_AGE = 600.0  # seconds: an older version's staging folder untouched this long is dead


# --- what a folder is --------------------------------------------------------------------------


def entries(folder: Path) -> list[Path]:
    """The entries of ``folder`` except its lock file."""
    return [p for p in Path(folder).iterdir() if p.name != LOCK]


def has_content(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a folder holding anything besides a lock file."""
    folder = Path(folder)
    return folder.is_dir() and bool(entries(folder))


def _run_output(name: str) -> bool:
    stem, _, suffix = name.rpartition(".")
    return name in RUN_FILES or name == MANIFEST or (
        stem in RUN_CHARTS and suffix in ("png", "svg", "pdf"))


def fishpond_kind(folder: str | os.PathLike) -> str | None:
    """``"run"``, ``"sweep"`` or ``"calibration"`` for a folder Fishpond wrote, else None."""
    folder = Path(folder)
    try:
        info = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = None
    if isinstance(info, dict):
        if "experiment_hash" in info:
            return "sweep"
        if info.get("kind") in ("run", "calibration"):
            return info["kind"]
    try:
        names = [p.name for p in entries(folder)]
    except OSError:
        return None
    if "summary.json" in names and all(_run_output(n) for n in names):
        return "run"  # written before run folders had a manifest
    return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def _temp_name(name: str, kind: str) -> str:
    return f".{name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


# --- checks before anything runs --------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def _probe(folder: Path, label: str) -> None:
    """A real test write in ``folder`` (``os.access`` alone trusts root on a read-only mount)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{label}: cannot write in {folder}: permission denied; choose "
                          "another --out")
    path = folder / f".fishpond-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"fishpond")
        finally:
            os.close(fd)
    except OSError as e:
        raise OutputError(f"{label}: cannot write in {folder}: {e.strerror or e}; choose "
                          "another --out") from None
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def may_replace(out: Path, inputs: Iterable[str | os.PathLike] = (), label: str | None = None
                ) -> None:
    """Refuse to replace ``out`` unless Fishpond wrote it and it holds nothing else we need.

    Raises:
        OutputError: ``out`` is a symbolic link, the working directory (or above it), a
            mount point, holds an input file, or was not written by Fishpond.
    """
    label = label or f"--out {out}"
    if out.is_symlink():
        raise OutputError(f"{label}: is a symbolic link (to {os.readlink(out)}); --overwrite "
                          "never replaces a link's target; give the folder itself or choose "
                          "another --out")
    real, cwd = out.resolve(), Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise OutputError(f"{label}: is the working directory"
                          f"{'' if real == cwd else ' or above it'}"
                          "; --overwrite never deletes it; choose a new folder for --out")
    for p in inputs:
        p = Path(p).resolve()
        if real == p or real in p.parents:
            raise OutputError(f"{label}: holds the input file {p}; --overwrite never deletes "
                              "inputs; choose another --out")
    if os.stat(real).st_dev != os.stat(real.parent).st_dev:
        raise OutputError(f"{label}: is a mount point; --overwrite cannot replace it; choose a "
                          "folder inside it")
    if fishpond_kind(out) is None:
        raise OutputError(f"{label}: not written by fishpond (no {MANIFEST}); --overwrite "
                          "replaces only fishpond's output folders; empty it yourself or choose "
                          "another --out")


def check(out: Path, *, overwrite: bool = False, resume: bool = False,
          inputs: Iterable[str | os.PathLike] = (), need_bytes: int = 0) -> None:
    """Refuse an output location that cannot be used, before anything runs.

    The caller refuses a non-empty folder without ``--overwrite``/``--resume`` itself (its
    message names its options); this checks the rest.

    Raises:
        OutputError: one line saying what is wrong with the location.
    """
    label = f"--out {out}"
    if out.is_symlink() and not out.exists():
        raise OutputError(f"{label}: is a broken symbolic link; choose another --out")
    near = Path(os.path.abspath(out))
    while not near.exists() and near != near.parent:
        near = near.parent
    if not near.is_dir():
        if near == Path(os.path.abspath(out)):
            raise OutputError(f"{label}: exists and is not a folder; choose another path")
        raise OutputError(f"{label}: {near} is a file, not a folder; choose another path")
    if out.is_dir():
        content = has_content(out)
        if content and overwrite and not resume:
            may_replace(out, inputs, label)
            _probe(out.resolve().parent, label)  # the new folder is built beside the old one
        _probe(out.resolve(), label)
    else:
        _probe(near, label)
    if need_bytes:
        try:
            free = shutil.disk_usage(near).free
        except OSError:
            return
        if free < need_bytes:
            raise OutputError(f"{label}: needs about {_mb(need_bytes)}, {_mb(free)} free on "
                              f"{near}; free some space or choose another --out")


def write_error(out: Path, err: OSError, what: str = "nothing was written") -> OutputError:
    """A failed write (disk full, read-only, ...) as one line."""
    where = f" {err.filename}" if getattr(err, "filename", None) else ""
    text = (err.strerror or str(err) or type(err).__name__).replace("\n", " ")
    return OutputError(f"--out {out}: cannot write{where}: {text}; {what}")


# --- writing a folder completely, then putting it in place ------------------------------------


def staging(out: Path) -> Path:
    """A new hidden sibling folder of ``out`` for writing its replacement."""
    out = Path(os.path.abspath(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / _temp_name(out.name, "tmp")
    tmp.mkdir()
    return tmp


def install(tmp: Path, out: Path, *, overwrite: bool, inputs: Iterable = ()) -> None:
    """Put the complete folder ``tmp`` in the place of ``out`` (recoverable, see the module).

    Raises:
        OutputError: ``out`` gained content meanwhile and may not be replaced.
    """
    out = Path(os.path.abspath(out))
    if out.is_dir() or out.is_symlink():
        if has_content(out) and not overwrite:
            raise OutputError(f"--out {out}: folder appeared while running; nothing was written")
        if has_content(out) or out.is_symlink():
            may_replace(out, inputs)
        old = out.parent / _temp_name(out.name, "old")
        os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)


def _move_in(tmp: Path, out: Path) -> None:
    """Move the finished files of an in-place staging folder into ``out``, manifest last."""
    names = sorted((n for n in os.listdir(tmp) if n != COMPLETE), key=lambda n: n == MANIFEST)
    for name in names:
        if not os.path.lexists(out / name):
            os.rename(tmp / name, out / name)
    shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def writing(out: Path, *, overwrite: bool, inputs: Iterable = ()) -> Iterator[Path]:
    """Yield an empty private folder; when the block ends, its files become ``out``.

    On any error the private folder is removed and ``out`` is left as it was; a failed
    write (``OSError``) becomes one :class:`OutputError` line.
    """
    in_place = out.is_dir() and not has_content(out)
    if in_place:
        tmp = out.resolve() / _temp_name(IN_PLACE, "tmp")
        tmp.mkdir()
    else:
        tmp = staging(out)
    try:
        yield tmp
        if in_place:
            if any(p.name != tmp.name for p in entries(out)):
                raise OutputError(f"--out {out}: folder appeared while running; nothing was "
                                  "written")
            (tmp / COMPLETE).touch()
            _move_in(tmp, out.resolve())
        else:
            install(tmp, out, overwrite=overwrite, inputs=inputs)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise write_error(out, e) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --- after a crash -------------------------------------------------------------------------------


def recover(out: str | os.PathLike) -> list[str]:
    """Repair what a killed Fishpond left around ``out``; return notes of what was restored.

    An ``.old-`` folder of a dead process whose ``out`` is missing is renamed back to ``out``
    (otherwise deleted); staging folders of dead processes are deleted, or completed when
    an in-place fill had finished writing.
    """
    out = Path(os.path.abspath(out))
    notes: list[str] = []
    try:
        names = os.listdir(out.parent)
    except OSError:
        return notes
    olds: list[Path] = []
    for name in sorted(names):
        path = out.parent / name
        try:
            if (m := _TEMP.match(name)) and m["name"] == out.name:
                if _alive(int(m["pid"])):
                    continue
                if m["kind"] == "old":
                    olds.append(path)
                else:
                    shutil.rmtree(path, ignore_errors=True)
            elif (m := _LEGACY_OLD.match(name)) and m["name"] == out.name:
                if os.listdir(path) == ["x"]:
                    olds.append(path / "x")
            elif ((m := _LEGACY_TMP.match(name)) and m["name"] == out.name and path.is_dir()
                  and time.time() - path.stat().st_mtime > _LEGACY_AGE
                  and all(_run_output(n) or n.endswith(".tmp") for n in os.listdir(path))):
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue
    for old in olds:
        try:
            if not os.path.lexists(out):
                os.rename(old, out)
                notes.append(f"restored {out} from an interrupted replacement ({old})")
            else:
                shutil.rmtree(old, ignore_errors=True)  # replaced; only the deletion was left
            if old.name == "x":
                os.rmdir(old.parent)
        except OSError:
            continue
    if out.is_dir():
        for name in os.listdir(out):
            m = _TEMP.match(name)
            if not (m and m["name"] == IN_PLACE and m["kind"] == "tmp") or _alive(int(m["pid"])):
                continue
            try:
                if (out / name / COMPLETE).exists():
                    _move_in(out / name, out.resolve())
                    notes.append(f"completed the interrupted writing of {out}")
                else:
                    shutil.rmtree(out / name, ignore_errors=True)
            except OSError:
                continue
    return notes


# --- one writer at a time ---------------------------------------------------------------------


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold ``out/.fishpond.lock`` (the folder must exist) while the block runs.

    Raises:
        OutputError: another process holds it.
    """
    import filelock

    path = Path(out) / LOCK
    try:
        owner = path.read_text(encoding="ascii").strip() or "unknown"
    except (OSError, ValueError):
        owner = "unknown"
    lock = filelock.FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise OutputError(f"--out {out}: folder is in use by another fishpond process (pid "
                          f"{owner}); wait for it to finish or choose another --out") from None
    try:
        try:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode("ascii"))
            finally:
                os.close(fd)
        except OSError:
            pass  # the lock holds without the note of its owner
        yield
    finally:
        lock.release()


# --- sizes ---------------------------------------------------------------------------------------


def run_bytes(scenario) -> int:
    """An upper estimate of the size of a run folder (CSV files and charts)."""
    return 4_000_000 + 400 * (scenario.steps + 1)
