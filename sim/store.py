"""Sweep results on disk: Parquet batch files, a manifest, resume, atomic writes.

A sweep folder holds::

    manifest.json            experiment hash, root seed, versions, git revision, the resolved
                             experiment and its design points, run counts, status
    results/batch-000001.parquet      one row per run (parameters, seed, status, metrics)
    timeseries/batch-000001.parquet   daily members by role of the same runs

Every file is written under a temporary name in its folder and moved into place with
``os.replace``, so a reader (or a resumed sweep) never sees half a file. The timeseries file
of a batch is written first and its results file last: a run is *done* if and only if its row
is in a results file, and a timeseries file without its results file (a sweep killed in
between) is an orphan, ignored by :func:`read_timeseries` and removed on resume.

Example:
    >>> from sim.store import read_results, read_timeseries
    >>> df = read_results("runs/sweeps/seed_count")  # doctest: +SKIP
    >>> df.groupby(["seeding.count", "seeding.strategy"]).members.median()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import DataError, OutputError

if TYPE_CHECKING:  # pragma: no cover
    from .experiments import Experiment

MANIFEST = "manifest.json"
RESULTS = "results"
TIMESERIES = "timeseries"
TIMESERIES_COLUMNS = ("run_id", "day", "members", "kols", "actives", "lurkers", "churned")
PACKAGES = ("fishpond", "numpy", "numba", "mesa", "dask", "distributed", "SALib", "pandas",
            "pyarrow", "scipy")
_BATCH = re.compile(r"^batch-(\d+)\.parquet$")


# --- small helpers ---------------------------------------------------------------------------


def _replace_atomically(tmp: Path, final: Path) -> None:
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temporary file, then ``os.replace``)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    _replace_atomically(tmp, path)


def read_manifest(out: str | os.PathLike) -> dict:
    """The sweep's ``manifest.json`` as a dict.

    Raises:
        DataError: no manifest, or not readable JSON.
    """
    path = Path(out) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: not found; is {out} a sweep folder?") from None
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read the manifest: {e}") from None


def _batches(folder: Path) -> dict[int, Path]:
    if not folder.is_dir():
        return {}
    return {int(m.group(1)): p for p in folder.iterdir() if (m := _BATCH.match(p.name))}


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a sweep's results depend on."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_revision() -> str | None:
    """``git rev-parse HEAD`` of the source checkout, or None (not a checkout, no git)."""
    try:
        proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parents[1],
                              capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- preparing a folder ----------------------------------------------------------------------


def check_out(out: Path, experiment_hash: str, *, resume: bool, overwrite: bool) -> None:
    """Refuse an unusable output folder before anything is written.

    Raises:
        OutputError: ``out`` is a file; not empty without resume/overwrite; or (resume) it
            holds another experiment's sweep, or something that is not a sweep.
    """
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder; choose another path")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if resume:
        if not (out / MANIFEST).is_file():
            raise OutputError(f"--out {out}: not a sweep folder (no {MANIFEST}); cannot resume "
                              "it; choose another --out")
        old = read_manifest(out).get("experiment_hash")
        if old != experiment_hash:
            raise OutputError(
                f"--out {out}: holds a sweep of a different experiment (hash {str(old)[:12]}, "
                f"now {experiment_hash[:12]}): the experiment or its scenarios changed; "
                + ("drop --resume to start over (--overwrite then replaces the folder)"
                   if overwrite else "use --overwrite to start over")
                + " or choose another --out")
    elif not overwrite:
        raise OutputError(f"--out {out}: folder exists and is not empty; use --resume to finish "
                          "its sweep, --overwrite to replace it, or choose another --out")


def manifest(exp: Experiment, experiment_hash: str, runs: int) -> dict:
    """The manifest of a sweep: provenance, the resolved experiment and its design points."""
    from .experiments import design_table, replicate_seeds, scenario_texts

    points = design_table(exp)
    return {
        "experiment_hash": experiment_hash,
        "experiment_file": exp.label,
        "experiment_dir": str(exp._base_dir),  # relative scenario paths start here
        "root_seed": exp.seed,
        "runs": runs,
        "points": len(points),
        "replicates": exp.replicates,
        "replicate_seeds": replicate_seeds(exp, 1)[0] if exp.common_seeds else None,
        "versions": package_versions(),
        "git_revision": git_revision(),
        "experiment": exp.model_dump(mode="json"),
        "scenarios": scenario_texts(exp),
        "design_points": json.loads(points.to_json(orient="records")),
    }


def prepare(out: Path, info: dict, *, resume: bool, overwrite: bool) -> set[int]:
    """Make ``out`` ready for a sweep; return the run ids already done (resume).

    Clears the folder when overwriting, removes temporary files and orphaned timeseries
    batches, and writes the manifest with status ``running``.
    """
    if out.is_dir() and any(out.iterdir()) and overwrite and not resume:
        shutil.rmtree(out)
    (out / RESULTS).mkdir(parents=True, exist_ok=True)
    (out / TIMESERIES).mkdir(exist_ok=True)
    for folder in (out, out / RESULTS, out / TIMESERIES):
        for p in folder.glob(".*.tmp"):
            p.unlink(missing_ok=True)
    results = _batches(out / RESULTS)
    for index, path in _batches(out / TIMESERIES).items():
        if index not in results:
            path.unlink()
    done: set[int] = set()
    for path in results.values():
        ids = pd.read_parquet(path, columns=["run_id"])["run_id"].tolist()
        if done.intersection(ids):
            raise DataError(f"{path}: repeats runs of another batch file; the folder was edited")
        done.update(ids)
    old = read_manifest(out) if resume and (out / MANIFEST).is_file() else {}
    info = {**info, "status": "running", "started": old.get("started", _now()),
            "resumed": old.get("resumed", []) + ([_now()] if old else []),
            "runs_done": len(done)}
    write_json(out / MANIFEST, info)
    return done


def finish(out: Path, status: str) -> dict:
    """Record the final state of a sweep in its manifest (status, counts, finished time)."""
    info = read_manifest(out)
    results = read_results(out, columns=["run_id", "status"])
    info.update(status=status, finished=_now(), runs_done=len(results),
                runs_failed=int((results["status"] == "failed").sum()) if len(results) else 0)
    write_json(out / MANIFEST, info)
    return info


# --- writing ---------------------------------------------------------------------------------


class BatchWriter:
    """Collects finished runs and writes them as one batch file pair at a time.

    Args:
        out: the sweep folder (prepared by :func:`prepare`).
        batch_size: runs per batch file.
        max_seconds: also write a batch when its first run is older than this.
    """

    def __init__(self, out: Path, batch_size: int, max_seconds: float = 60.0) -> None:
        self.out, self.batch_size, self.max_seconds = Path(out), batch_size, max_seconds
        existing = set(_batches(self.out / RESULTS)) | set(_batches(self.out / TIMESERIES))
        self.next_index = max(existing, default=0) + 1
        self.rows: list[dict] = []
        self.series: list[pd.DataFrame] = []
        self.since = time.monotonic()
        self.written = 0

    def add(self, row: dict, series: pd.DataFrame | None) -> None:
        """Queue one finished run (its result row and, if it ran, its daily series)."""
        if not self.rows:
            self.since = time.monotonic()
        self.rows.append(row)
        if series is not None:
            self.series.append(series)

    def due(self) -> bool:
        """Whether a batch should be written now (full, or its oldest run waited too long)."""
        return len(self.rows) >= self.batch_size or (
            bool(self.rows) and time.monotonic() - self.since >= self.max_seconds)

    def flush(self) -> None:
        """Write the queued runs as the next batch (timeseries first, results last)."""
        if not self.rows:
            return
        name = f"batch-{self.next_index:06d}.parquet"
        cols = list(TIMESERIES_COLUMNS)
        ts = pd.concat(self.series, ignore_index=True) if self.series else pd.DataFrame(
            {c: pd.Series(dtype="int64") for c in cols})
        results = pd.DataFrame(self.rows)
        for frame, folder in ((ts[cols], TIMESERIES), (results, RESULTS)):
            final = self.out / folder / name
            tmp = final.with_name(f".{name}.{os.getpid()}.tmp")
            frame.to_parquet(tmp, index=False)
            _replace_atomically(tmp, final)
        self.next_index += 1
        self.written += len(self.rows)
        self.rows, self.series = [], []


# --- reading ---------------------------------------------------------------------------------


def _read_all(folder: Path, columns: list[str] | None, keep: set[int] | None,
              filters: Any = None) -> list[pd.DataFrame]:
    frames = []
    for index, path in sorted(_batches(folder).items()):
        if keep is not None and index not in keep:
            continue
        try:
            frames.append(pd.read_parquet(path, columns=columns, filters=filters))
        except Exception as e:  # noqa: BLE001 (pyarrow raises many kinds)
            raise DataError(f"{path}: cannot read the batch file: {e}".replace("\n", " ")) from None
    return frames


def read_results(out: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """Every finished run of a sweep, one row per run, ordered by ``run_id``.

    Args:
        out: the sweep folder.
        columns: read only these columns (``run_id`` is always included).

    Raises:
        DataError: not a sweep folder, an unreadable batch file, or a run recorded twice.

    Example:
        >>> df = read_results("runs/sweeps/compare_strategies")  # doctest: +SKIP
        >>> df.groupby("scenario").members.median()  # doctest: +SKIP
    """
    folder = Path(out) / RESULTS
    if not folder.is_dir():
        raise DataError(f"{out}: not a sweep folder (no {RESULTS}/)")
    if columns is not None and "run_id" not in columns:
        columns = ["run_id", *columns]
    frames = [f for f in _read_all(folder, columns, None) if len(f)]
    if not frames:
        return pd.DataFrame({"run_id": pd.Series(dtype="int64")})
    df = pd.concat(frames, ignore_index=True)
    if df["run_id"].duplicated().any():
        dup = int(df.loc[df["run_id"].duplicated(), "run_id"].iloc[0])
        raise DataError(f"{out}: run {dup} is recorded twice; the folder was edited")
    return df.sort_values("run_id", kind="stable").reset_index(drop=True)


def read_timeseries(out: str | os.PathLike, run_ids: list[int] | None = None) -> pd.DataFrame:
    """The daily members by role of a sweep's finished runs, ordered by ``run_id`` and ``day``.

    Columns: run_id, day, members, kols, actives, lurkers, churned (join to
    :func:`read_results` on ``run_id`` for the parameters).

    Example:
        >>> ts = read_timeseries("runs/sweeps/compare_strategies", run_ids=[0, 1])  # doctest: +SKIP
    """
    out = Path(out)
    keep = set(_batches(out / RESULTS))
    filters = [("run_id", "in", list(run_ids))] if run_ids is not None else None
    frames = [f for f in _read_all(out / TIMESERIES, None, keep, filters) if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in TIMESERIES_COLUMNS})
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(["run_id", "day"], kind="stable").reset_index(drop=True)
