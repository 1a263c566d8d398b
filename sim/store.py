"""Results on disk: run folders, and sweep folders of Parquet batch files, a manifest, resume.

A run folder (:func:`write_run`, ``fishpond run``) holds ``summary.json``, ``timeseries.csv``,
``referral_curve.csv``, ``scenario.yaml``, the run's charts and a ``manifest.json`` of kind
``run``; it is written in a private folder and put in place whole (:func:`sim.outdir.writing`).

A sweep folder (sweep, compare, facts) holds::

    manifest.json            experiment hash, root seed, versions, git revision, the resolved
                             experiment and its design points, run counts, status
    results/batch-000001-3fa2c1d0.parquet      one row per run (parameters, seed, status, ...)
    timeseries/batch-000001-3fa2c1d0.parquet   daily members by role of the same runs
    .fishpond.lock           held by the process writing into the folder (one at a time)

Batch names carry a random tag of their writer, so that two writers never replace each
other's files (older folders have untagged ``batch-000001.parquet`` names, still read).

Every file is written under a temporary name in its folder and moved into place with
``os.replace``, so a reader (or a resumed sweep) never sees half a file. The timeseries file
of a batch is written first and its results file last: a run is *done* if and only if its row
is in a results file, and a timeseries file without its results file (a sweep killed in
between) is an orphan, ignored by :func:`read_timeseries` and removed on resume.

Example (not run as a doctest: it needs a finished sweep or minutes)::

    from sim.store import read_results, read_timeseries
    df = read_results("runs/sweeps/seed_count")
    df.groupby(["seeding.count", "seeding.strategy"]).members.median()
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from . import outdir
from .errors import DataError, OutputError

MANIFEST = "manifest.json"
RESULTS = "results"
TIMESERIES = "timeseries"
TIMESERIES_COLUMNS = ("run_id", "day", "members", "kols", "actives", "lurkers", "churned")
PACKAGES = ("fishpond", "numpy", "numba", "mesa", "dask", "distributed", "SALib", "pandas",
            "pyarrow", "scipy")
_BATCH = re.compile(r"^batch-(\d+)(?:-([0-9a-f]+))?\.parquet$")
DAMAGED = "damaged"  # where ``repair`` moves unreadable batch files


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
    try:
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
        _replace_atomically(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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


def _batches(folder: Path) -> dict[tuple[int, str], Path]:
    """Batch files by (index, writer tag); a results and a timeseries file pair by key."""
    if not folder.is_dir():
        return {}
    return {(int(m.group(1)), m.group(2) or ""): p for p in folder.iterdir()
            if (m := _BATCH.match(p.name))}


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


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return _now()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- preparing a folder ----------------------------------------------------------------------


def check_out(out: Path, experiment_hash: str, *, resume: bool, overwrite: bool,
              inputs: Any = (), need_bytes: int = 0) -> None:
    """Refuse an unusable output folder before anything is written.

    Args:
        out: the output folder.
        experiment_hash: the hash of the experiment about to run (a resumed folder must
            hold the same experiment's sweep).
        resume: finish the sweep already in ``out``.
        overwrite: replace a non-empty ``out``.
        inputs: the files the sweep reads (``--overwrite`` never deletes a folder holding one).
        need_bytes: an estimate of the space the sweep writes.

    Raises:
        OutputError: ``out`` is a file or under one, not writable, short of space; not
            empty without resume/overwrite; (overwrite) not a folder Fishpond wrote, the
            working directory, a link, or holding an input; (resume) it holds another
            experiment's sweep, or something that is not a sweep.
    """
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder; choose another path")
    if not outdir.has_content(out):
        outdir.check(out, need_bytes=need_bytes)
        return
    if resume:
        if not (out / MANIFEST).is_file():
            raise OutputError(f"--out {out}: not a sweep folder (no {MANIFEST}); cannot resume "
                              "it; choose another --out")
        info = read_manifest(out)
        if "experiment_hash" not in info:
            raise OutputError(f"--out {out}: not a sweep folder (a run's folder); cannot resume "
                              "it; choose another --out")
        old = info.get("experiment_hash")
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
    outdir.check(out, overwrite=overwrite, resume=resume, inputs=inputs, need_bytes=need_bytes)


def estimate_bytes(specs: Any) -> int:
    """A rough upper estimate of what a sweep of ``specs`` writes (rows, series, charts)."""
    return 5_000_000 + sum(2048 + 16 * (s.scenario.steps + 1) for s in specs)


def prepare(out: Path, info: dict, *, resume: bool, overwrite: bool = False,
            repair: bool = False) -> set[int]:
    """Make ``out`` ready for a sweep; return the run ids already done (resume).

    Clears the folder when overwriting (only a folder Fishpond wrote), removes temporary
    files and orphaned timeseries batches, merges identical duplicate rows (two writers of
    an older version), and writes the manifest with status ``running``.

    Args:
        out: the sweep folder.
        info: the manifest to write (status, start time and counts are added).
        resume: keep the runs already in ``out``.
        overwrite: clear ``out`` first (unless resuming).
        repair: move unreadable batch files to ``out/damaged/`` (their runs run again)
            instead of refusing the folder.

    Raises:
        DataError: a damaged batch file (without ``repair``), or a run recorded twice with
            different results.
    """
    if outdir.has_content(out) and overwrite and not resume:
        outdir.may_replace(out)
        shutil.rmtree(out)
    (out / RESULTS).mkdir(parents=True, exist_ok=True)
    (out / TIMESERIES).mkdir(exist_ok=True)
    for folder in (out, out / RESULTS, out / TIMESERIES):
        for p in folder.glob(".*.tmp"):
            p.unlink(missing_ok=True)
    results = _batches(out / RESULTS)
    series = _batches(out / TIMESERIES)
    for key, path in series.items():
        if key not in results:
            path.unlink()
    repairs: list[str] = []
    ids: dict[tuple[int, str], list[int]] = {}
    for key, path in sorted(results.items()):
        try:
            try:
                ids[key] = pd.read_parquet(path, columns=["run_id"])["run_id"].tolist()
            except Exception as e:  # noqa: BLE001 (pyarrow raises many kinds)
                raise DataError(f"{path}: damaged batch file ({_reason(e)})") from None
            if key in series:
                _check_parquet(series[key])
        except DataError as e:
            if not repair:
                raise DataError(f"{e}; to run its runs again: resume with --repair, which "
                                f"moves it to {out / DAMAGED}/") from None
            (out / DAMAGED).mkdir(exist_ok=True)
            for p in (path, series.get(key)):
                if p is not None and p.exists():
                    os.replace(p, out / DAMAGED / f"{p.parent.name}-{p.name}"
                               if p.parent.name == TIMESERIES else out / DAMAGED / p.name)
            repairs.append(f"moved the damaged {path.name} to {DAMAGED}/; its runs run again")
    every = [i for run_ids in ids.values() for i in run_ids]
    if len(every) != len(set(every)):
        done, note = _merge_duplicates(out)
        repairs.append(note)
    else:
        done = set(every)
    old = read_manifest(out) if resume and (out / MANIFEST).is_file() else {}
    info = {**info, "status": "running", "started": old.get("started", _now()),
            "resumed": old.get("resumed", []) + ([_now()] if old else []),
            "runs_done": len(done)}
    if repairs or old.get("repairs"):
        info["repairs"] = old.get("repairs", []) + [f"{_now()}: {r}" for r in repairs]
    write_json(out / MANIFEST, info)
    return done


def _check_parquet(path: Path) -> None:
    """Read a Parquet file's footer (a truncated file has none)."""
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except Exception as e:  # noqa: BLE001 (pyarrow raises many kinds)
        raise DataError(f"{path}: damaged batch file ({_reason(e)})") from None


def _reason(e: Exception) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _merge_duplicates(out: Path) -> tuple[set[int], str]:
    """Rewrite a folder whose runs are recorded more than once (by two writers) as one batch.

    Rows of one run that differ only in their wall-clock ``duration`` are one run; a run
    whose timeseries is missing (one writer replaced the other's file) is dropped, to run
    again. Written as a new batch pair before the old files are removed, so a crash in
    between leaves identical duplicates, merged again on the next resume.
    """
    results, series = _batches(out / RESULTS), _batches(out / TIMESERIES)
    rows = pd.concat([pd.read_parquet(p) for _, p in sorted(results.items())], ignore_index=True)
    same = [c for c in rows.columns if c != "duration"]
    merged = rows.drop_duplicates(subset=same, keep="first")
    if merged["run_id"].duplicated().any():
        dup = int(merged.loc[merged["run_id"].duplicated(), "run_id"].iloc[0])
        raise DataError(f"{out}: run {dup} is recorded twice with different results; the folder "
                        "was edited")
    frames = [pd.read_parquet(p) for k, p in sorted(series.items()) if k in results]
    ts = (pd.concat(frames, ignore_index=True).drop_duplicates() if frames else
          pd.DataFrame({c: pd.Series(dtype="int64") for c in TIMESERIES_COLUMNS}))
    if ts.duplicated(subset=["run_id", "day"]).any():
        dup = int(ts.loc[ts.duplicated(subset=["run_id", "day"]), "run_id"].iloc[0])
        raise DataError(f"{out}: the timeseries of run {dup} is recorded twice with different "
                        "values; the folder was edited")
    status = merged["status"] if "status" in merged.columns else pd.Series("ok", merged.index)
    lost = merged[(status == "ok") & ~merged["run_id"].isin(ts["run_id"])]
    merged = merged[~merged["run_id"].isin(lost["run_id"])].sort_values("run_id", kind="stable")
    ts = ts[ts["run_id"].isin(merged["run_id"])].sort_values(["run_id", "day"], kind="stable")
    index = max(k[0] for k in list(results) + list(series)) + 1
    name = f"batch-{index:06d}-{secrets.token_hex(4)}.parquet"
    _write_pair(out, name, ts[list(TIMESERIES_COLUMNS)], merged.reset_index(drop=True))
    for key, path in list(results.items()) + list(series.items()):
        path.unlink(missing_ok=True)
    note = (f"merged {len(rows) - len(merged) - len(lost)} duplicate rows of runs recorded by "
            f"two writers" + (f"; {len(lost)} runs without their timeseries run again"
                              if len(lost) else ""))
    return set(merged["run_id"].tolist()), note


def _write_pair(out: Path, name: str, ts: pd.DataFrame, results: pd.DataFrame) -> None:
    """Write one batch: its timeseries file first, its results file last (atomically each)."""
    for frame, folder in ((ts, TIMESERIES), (results, RESULTS)):
        final = out / folder / name
        tmp = final.with_name(f".{name}.{os.getpid()}.tmp")
        try:
            frame.to_parquet(tmp, index=False)
            _replace_atomically(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def finish(out: Path, status: str) -> dict:
    """Record the final state of a sweep in its manifest (status, counts, finished time)."""
    info = read_manifest(out)
    results = read_results(out, columns=["run_id", "status"])
    info.update(status=status, finished=_now(), runs_done=len(results),
                runs_failed=int((results["status"] == "failed").sum()) if len(results) else 0)
    write_json(out / MANIFEST, info)
    return info


# --- writing ---------------------------------------------------------------------------------


RUN_FILES = ("summary.json", "timeseries.csv", "referral_curve.csv", "scenario.yaml",
             "manifest.json")


def write_run(out: str | os.PathLike, *, summary: dict, timeseries: pd.DataFrame,
              referral_curve: pd.DataFrame, scenario_yaml: str, source: Path | None = None,
              overwrite: bool = False, inputs: Iterable = (),
              charts: Callable[[Path], list[Path]] | None = None) -> list[str]:
    """Write one run's folder: files in a private folder first, put in place when complete.

    Args:
        out: The run folder (checked by the caller, see :func:`sim.outdir.check`).
        summary: The run's summary (``summary.json``).
        timeseries: Its daily series (``timeseries.csv``).
        referral_curve: Its referral concentration curve (``referral_curve.csv``).
        scenario_yaml: The fully resolved scenario (``scenario.yaml``).
        source: The scenario file it was read from (recorded in the manifest).
        overwrite: Replace a non-empty folder (only one Fishpond wrote).
        inputs: Files read by the run; a folder holding one is never replaced.
        charts: ``charts(folder)`` draws the run's charts into the private folder and
            returns their paths.

    Returns:
        The names of the files written, sorted.

    Raises:
        OutputError: the folder may not be replaced; OSError: a write failed (nothing
            is left half-written).
    """
    with outdir.writing(Path(out), overwrite=overwrite, inputs=inputs) as tmp:
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        timeseries.to_csv(tmp / "timeseries.csv", index=False)
        referral_curve.to_csv(tmp / "referral_curve.csv", index=False)
        (tmp / "scenario.yaml").write_text(scenario_yaml)
        drawn = charts(tmp) if charts is not None else []
        names = sorted(list(RUN_FILES) + [p.name for p in drawn])
        info = {"kind": "run", "scenario": summary.get("scenario"),
                "scenario_file": str(source) if source is not None else None,
                "seed": summary.get("seed"), "steps": summary.get("steps"),
                "engine": summary.get("engine"), "written": now(),
                "fishpond": package_versions().get("fishpond"), "files": names}
        (tmp / "manifest.json").write_text(json.dumps(info, indent=2) + "\n")
    return names


class BatchWriter:
    """Collects finished runs and writes them as one batch file pair at a time.

    Args:
        out: the sweep folder (prepared by :func:`prepare`).
        batch_size: runs per batch file.
        max_seconds: also write a batch when its first run is older than this.
    """

    def __init__(self, out: Path, batch_size: int, max_seconds: float = 60.0) -> None:
        """Write into ``out``, ``batch_size`` runs per batch (see the class docstring)."""
        self.out, self.batch_size, self.max_seconds = Path(out), batch_size, max_seconds
        existing = set(_batches(self.out / RESULTS)) | set(_batches(self.out / TIMESERIES))
        self.next_index = max((k[0] for k in existing), default=0) + 1
        self.tag = secrets.token_hex(4)  # this writer's files never replace another's
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
        name = f"batch-{self.next_index:06d}-{self.tag}.parquet"
        cols = list(TIMESERIES_COLUMNS)
        ts = pd.concat(self.series, ignore_index=True) if self.series else pd.DataFrame(
            {c: pd.Series(dtype="int64") for c in cols})
        _write_pair(self.out, name, ts[cols], pd.DataFrame(self.rows))
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

    Example (not run as a doctest: it needs a finished sweep or minutes)::

        df = read_results("runs/sweeps/compare_strategies")
        df.groupby("scenario").members.median()
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
        raise DataError(f"{out}: run {dup} is recorded twice; resume the sweep (--resume) to "
                        "merge identical copies, else the folder was edited")
    return df.sort_values("run_id", kind="stable").reset_index(drop=True)


def read_timeseries(out: str | os.PathLike, run_ids: list[int] | None = None) -> pd.DataFrame:
    """The daily members by role of a sweep's finished runs, ordered by ``run_id`` and ``day``.

    Columns: run_id, day, members, kols, actives, lurkers, churned (join to
    :func:`read_results` on ``run_id`` for the parameters).

    Example (not run as a doctest: it needs a finished sweep or minutes)::

        ts = read_timeseries("runs/sweeps/compare_strategies", run_ids=[0, 1])
    """
    out = Path(out)
    keep = set(_batches(out / RESULTS))
    filters = [("run_id", "in", list(run_ids))] if run_ids is not None else None
    frames = [f for f in _read_all(out / TIMESERIES, None, keep, filters) if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in TIMESERIES_COLUMNS})
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(["run_id", "day"], kind="stable").reset_index(drop=True)
