"""The ``fishpond`` command: it parses, calls the API and prints.

Each subcommand is dispatched with ``set_defaults(func=...)`` to one function here; the work
is done by the API (:mod:`sim.scenario_io`, :mod:`sim.store`, :mod:`sim.experiments`,
:mod:`sim.compare`, :mod:`sim.facts`). Bad input (a scenario, an option, a data file, an
output folder) ends with one line on stderr and exit status 2, before anything is written.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from .errors import FishpondError, OutputError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage dumps."""

    def error(self, message: str) -> None:  # noqa: D102
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fishpond", description="Simulate community-driven growth (fish-pond strategy)."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a scenario and write its summary, timeseries and charts")
    run.add_argument("scenario", help="scenario YAML file, or a shipped name such as fish_pond")
    run.add_argument("--seed", type=int, help="run seed (overrides the scenario's)")
    run.add_argument("--steps", type=int, help="days to simulate (overrides the scenario's)")
    run.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
        help="override one parameter, e.g. --set rules.invite_rate=0.01 (repeatable)",
    )
    run.add_argument(
        "--engine", default="numba", choices=("numba", "agents"), metavar="{numba,agents}",
        help="simulation engine: numba (compiled, default) or agents (readable Mesa agents); "
        "same results",
    )
    run.add_argument("--out", type=Path, help="output folder (default: runs/<scenario>-<seed>/)")
    run.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--max-memory", metavar="SIZE", help="refuse a run estimated to need more "
                     "memory, e.g. 8GB (default: the memory available)")
    run.set_defaults(func=_run)

    swp = sub.add_parser(
        "sweep", help="run an experiment (experiments/*.yaml) into a Parquet dataset"
    )
    swp.add_argument(
        "experiment", help="experiment YAML file, or a shipped name such as seed_count"
    )
    swp.add_argument("--out", type=Path, help="output folder (default: runs/sweeps/<experiment>/)")
    swp.add_argument("--workers", type=int, help="local processes (default: one per core)")
    swp.add_argument("--cluster", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786")
    swp.add_argument("--cluster-timeout", type=_seconds, default=10.0, metavar="SECONDS",
                     help="seconds to reach the --cluster scheduler (default 10)")
    swp.add_argument("--resume", action="store_true", help="finish the missing runs of --out")
    swp.add_argument("--repair", action="store_true",
                     help="with --resume: move damaged batch files to damaged/ and rerun their "
                     "runs")
    swp.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    swp.add_argument("--retries", type=int, default=1, help="retries of a failed run (default 1)")
    swp.add_argument("--batch-size", type=int,
                     help="runs per Parquet batch file (default: 1%% of the runs, 10-200)")
    swp.add_argument("--quiet", action="store_true", help="no progress bar")
    _limit_options(swp)
    swp.set_defaults(func=_sweep)

    opt = sub.add_parser("optimize", help="find the levers that best meet a goal "
                         "(experiments/goals/*.yaml) with Optuna")
    opt.add_argument("goal", help="goal YAML file, or a shipped name such as cheapest_inflection")
    opt.add_argument("--trials", type=int,
                     help="complete trials wanted in the study (default: the goal's trials)")
    opt.add_argument("--workers", type=int, help="processes running a candidate's replicates "
                     "(default: one per core)")
    opt.add_argument("--storage", metavar="URL", help="a shared Optuna storage, e.g. "
                     "sqlite:////shared/study.db or postgresql://host/db (default: study.db in "
                     "--out); several processes may work on one study")
    opt.add_argument("--resume", action="store_true", help="continue the study in --out")
    opt.add_argument("--out", type=Path, help="output folder (default: runs/optimize/<goal>/)")
    opt.add_argument("--seed", type=int, help="root seed of the replicate seeds and the sampler "
                     "(default: the goal's seed)")
    opt.add_argument("--format", default="png", help="chart formats, comma-separated: "
                     "png,svg,pdf (default png)")
    opt.add_argument("--quiet", action="store_true", help="no progress bar")
    opt.set_defaults(func=_optimize)
    cal = sub.add_parser("calibrate", help="fit free parameters to a community's observed "
                         "numbers (ABC-SMC) and forecast its milestones")
    cal.add_argument("observed", metavar="OBSERVED",
                     help="CSV with a date or day column and counts (members, ever_members, "
                          "...), or a calibration YAML file (experiments/*.yaml)")
    cal.add_argument("--scenario", help="scenario YAML file or shipped name (default fish_pond)")
    cal.add_argument("--free", action="append", default=[], metavar="KEY=LO:HI[:log]",
                     help="a free parameter and its uniform (or :log, log-uniform) prior, e.g. "
                          "rules.invite_rate=0.001:0.02:log (repeatable)")
    cal.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="KEY.PATH=VALUE", help="fix one parameter (repeatable)")
    cal.add_argument("--period-days", type=float, metavar="D",
                     help="model days per observed period (default: inferred from the dates)")
    cal.add_argument("--horizon", type=int, metavar="DAYS",
                     help="forecast to this day (default: twice the last observed day)")
    cal.add_argument("--seed", type=int, help="root seed (default 0)")
    cal.add_argument("--particles", type=int, help="ABC-SMC population size (default 100)")
    cal.add_argument("--generations", type=int, help="most ABC-SMC generations (default 6)")
    cal.add_argument("--min-epsilon", type=float,
                     help="stop once the acceptance threshold is this low (default 0)")
    cal.add_argument("--min-acceptance", type=float, metavar="RATE",
                     help="stop after a generation that accepts fewer than this share of its "
                          "runs (0-1, default 0: off)")
    cal.add_argument("--max-minutes", type=float, help="stop starting generations after this")
    cal.add_argument("--forecast-draws", type=int,
                     help="posterior draws run to the horizon (default 100)")
    cal.add_argument("--out", type=Path, help="output folder (default: runs/calibrate-<name>/)")
    cal.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
    cal.add_argument("--cluster", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786")
    cal.add_argument("--resume", action="store_true",
                     help="continue the calibration in --out (after Ctrl-C or a crash)")
    cal.add_argument("--overwrite", action="store_true", help="replace a calibration folder")
    cal.add_argument("--quiet", action="store_true", help="no progress lines")
    cal.set_defaults(func=_calibrate)

    facts = sub.add_parser("facts", help="measure the stylized facts 1-11 of MODEL.md §7")
    facts.add_argument("--size", type=int, default=100_000,
                       help="persons per population (default 100000; fact 11: below 50000 "
                            "only facts 2-7 and 9 must hold)")
    facts.add_argument("--replicates", type=int, default=20,
                       help="replicates per scenario (default 20)")
    facts.add_argument("--seed", type=int, default=0,
                       help="root seed of the replicate seeds, shared by every scenario "
                            "(default 0)")
    facts.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="processes (default: cores)")
    facts.add_argument("--quiet", action="store_true", help="no progress bar")
    facts.set_defaults(func=_facts)

    bench = sub.add_parser("bench", help="run the quick versions of the benchmarks in benchmarks/")
    bench.add_argument("--full", action="store_true",
                       help="full sizes instead of the quick versions")
    bench.set_defaults(func=_bench)

    cmp = sub.add_parser("compare", help="run scenarios on common seeds and compare them")
    cmp.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                     help="two or more scenario files or shipped names; the first is the baseline")
    cmp.add_argument("--replicates", type=int, default=20, help="runs per scenario (default 20)")
    cmp.add_argument("--seed", type=int, default=0,
                     help="root seed of the replicate seeds, shared by every scenario (default 0)")
    cmp.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="KEY.PATH=VALUE",
                     help="override one parameter in every scenario (repeatable)")
    cmp.add_argument("--workers", type=int, help="local processes (default: one per core)")
    cmp.add_argument("--out", type=Path, help="output folder (default: runs/compare-<names>/)")
    cmp.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    cmp.add_argument("--format", default="png", help="chart formats, comma-separated: png,svg,pdf")
    cmp.add_argument("--quiet", action="store_true", help="no progress bar")
    _limit_options(cmp)
    cmp.set_defaults(func=_compare)

    chart = sub.add_parser("chart", help="redraw the charts of a run, sweep or compare folder")
    chart.add_argument("results", type=Path, metavar="RESULTS_DIR",
                       help="folder written by run, sweep or compare")
    chart.add_argument("--format", default="png",
                       help="chart formats, comma-separated: png,svg,pdf (default png)")
    chart.set_defaults(func=_chart)

    doc = sub.add_parser("doctor",
                         help="show which Numba cache the kernels use, check it, clear it")
    doc.add_argument("--clear", action="store_true",
                     help="delete the cached kernels (they are compiled again on next use)")
    doc.set_defaults(func=_doctor)

    app = sub.add_parser("app", help="explore a strategy in the browser: levers, live charts, "
                         "A/B on the same seed, save as a scenario")
    app.add_argument("scenario", nargs="?", default="fish_pond",
                     help="scenario to start from: a YAML file or a shipped name (default "
                     "fish_pond)")
    app.add_argument("--set", dest="overrides", action="append", default=[],
                     metavar="KEY.PATH=VALUE", help="override one parameter (repeatable)")
    app.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765)")
    app.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only)")
    app.add_argument("--save-dir", type=Path, default=Path("saved_scenarios"),
                     help="where 'Save scenario' writes (default ./saved_scenarios)")
    app.set_defaults(func=_app)

    val = sub.add_parser("validate", help="check a scenario and print it fully resolved")
    val.add_argument("scenario", help="scenario YAML file, or a shipped name")
    val.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
        help="override one parameter (repeatable)",
    )
    val.set_defaults(func=_validate)
    return parser


def _limit_options(parser: argparse.ArgumentParser) -> None:
    """--max-runs and --max-memory of sweep and compare (see sim.limits)."""
    from .limits import MAX_RUNS

    parser.add_argument("--max-runs", type=int, default=MAX_RUNS, metavar="N",
                        help=f"refuse a design of more runs (default {MAX_RUNS:,})")
    parser.add_argument("--max-memory", metavar="SIZE", help="refuse runs estimated to need "
                        "more memory, workers together, e.g. 8GB (default: the memory available)")


def _max_memory(args) -> int | None:
    from .limits import parse_memory

    return None if args.max_memory is None else parse_memory(args.max_memory)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fishpond`` console script; returns the exit status."""
    args = _parser().parse_args(argv)  # an unknown command is an argparse error (exit 2)
    try:
        return args.func(args)
    except FishpondError as err:
        print(f"fishpond: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("fishpond: interrupted; nothing was written", file=sys.stderr)
        return 130


def _load(args):
    from .scenario_io import load_scenario, resolve_scenario_path

    path = resolve_scenario_path(args.scenario)
    overrides = list(args.overrides)
    if getattr(args, "seed", None) is not None:
        overrides.append(f"seed={args.seed}")
    if getattr(args, "steps", None) is not None:
        overrides.append(f"steps={args.steps}")
    return path, load_scenario(path, overrides)


def _validate(args) -> int:
    from .scenario_io import scenario_to_yaml

    path, sc = _load(args)
    print(f"# {path}: valid", file=sys.stderr)
    print(scenario_to_yaml(sc), end="")
    return 0


def _app(args) -> int:
    from .serve import serve

    path, _ = _load(args)  # a bad scenario is one line, before anything starts
    return serve(path, list(args.overrides), host=args.host, port=args.port,
                 save_dir=args.save_dir)


def _facts(args) -> int:
    from .facts import measure_facts
    from .progress import progress_bar

    _at_least(("--size", args.size, 1000), ("--replicates", args.replicates, 1),
              ("--workers", args.workers, 1), ("--seed", args.seed, 0))
    bar = progress_bar(args.replicates, "facts", unit="replicate", enabled=not args.quiet)
    report = measure_facts(
        size=args.size, replicates=args.replicates, root_seed=args.seed, workers=args.workers,
        progress=lambda done: bar.update(done - bar.n),
    )
    bar.close()
    print(report.table())
    return 0 if report.all_passed else 1


def _sweep(args) -> int:
    from .experiments import default_out, load_experiment, run_sweep
    from .store import read_manifest, read_results, read_timeseries

    _at_least(("--max-runs", args.max_runs, 1))
    max_memory = _max_memory(args)
    exp = load_experiment(args.experiment, max_runs=args.max_runs)
    _at_least(("--workers", args.workers, 1), ("--retries", args.retries, 0),
              ("--batch-size", args.batch_size, 1))
    out = args.out if args.out is not None else default_out(exp)
    if args.repair and not args.resume:
        raise FishpondError("--repair: only with --resume (it repairs a folder being resumed)")
    _recover(out)
    replacing = args.overwrite and not args.resume and _has_content(out)
    try:  # (the compile notice comes once every check has passed: a refusal is one line)
        run_sweep(exp, out, workers=args.workers, cluster=args.cluster,
                  cluster_timeout=args.cluster_timeout, resume=args.resume,
                  overwrite=args.overwrite, retries=args.retries, batch_size=args.batch_size,
                  progress=not args.quiet, repair=args.repair, max_memory=max_memory,
                  on_start=None if args.quiet else _compile_notice)
    except KeyboardInterrupt:
        if replacing:
            print(f"fishpond: interrupted; {out}/ is unchanged (--overwrite replaces it only "
                  "when the new sweep is complete)", file=sys.stderr)
            return 130
        if not (out / "manifest.json").is_file():
            raise  # stopped before the sweep started: nothing was written
        print(f"fishpond: interrupted; finished runs are saved in {out}/; resume with: fishpond "
              f"sweep {args.experiment} --out {out} --resume", file=sys.stderr)
        return 130
    info = read_manifest(out)
    try:
        with _warnings_as_lines():
            charts = _sweep_charts(read_results(out), read_timeseries(out), out, exp=exp)
    except OSError as e:
        raise _write_error(out, e, "the sweep's results are complete; redraw with 'fishpond "
                           "chart'") from None
    tables = "".join(f", {p.name}" for p in charts if p.suffix == ".csv")
    print(f"Wrote {out}/ ({info['runs_done']} of {info['runs']} runs, "
          f"{info['runs_failed']} failed; results/, timeseries/, manifest.json, "
          f"{sum(p.suffix != '.csv' for p in charts)} charts{tables})")
    return 0


def _optimize(args) -> int:
    from .goals import load_goal
    from .optimize import default_out, run_optimize

    formats = _formats(args.format)
    goal = load_goal(args.goal)
    _at_least(("--trials", args.trials, 1), ("--workers", args.workers, 1),
              ("--seed", args.seed, 0))
    out = args.out if args.out is not None else default_out(goal)
    _recover(out)
    if not args.quiet:
        _compile_notice()
    try:
        outcome = run_optimize(goal, out, trials=args.trials,
                               workers=args.workers or os.cpu_count() or 1,
                               storage=args.storage, resume=args.resume, seed=args.seed,
                               progress=not args.quiet, formats=formats)
    except KeyboardInterrupt:
        if not (out / "manifest.json").is_file():
            raise  # stopped before the study started: nothing was written
        print(f"fishpond: interrupted; the finished trials are kept in the study; resume with: "
              f"fishpond optimize {args.goal} --out {out} --resume"
              + (f" --storage {args.storage}" if args.storage else ""), file=sys.stderr)
        return 130
    print(outcome.paragraph)
    print(f"Wrote {out}/ ({', '.join(outcome.files)})")
    return 0


def _calibrate(args) -> int:
    from .calibrate import calibrate, calibration_from_data, load_calibration

    _at_least(("--workers", args.workers, 1))
    options = {"scenario": args.scenario, "period_days": args.period_days,
               "horizon": args.horizon, "seed": args.seed, "particles": args.particles,
               "generations": args.generations, "min_epsilon": args.min_epsilon,
               "min_acceptance": args.min_acceptance, "max_minutes": args.max_minutes,
               "forecast_draws": args.forecast_draws}
    given = Path(args.observed)
    if given.suffix.lower() in (".yaml", ".yml") or (not given.suffix and not given.exists()):
        cal = load_calibration(args.observed, free=args.free, overrides=args.overrides,
                               **options)
    else:
        cal = calibration_from_data({"observed": args.observed},
                                    {("observed",): (args.observed, None),
                                     ("free",): ("--free", None)},
                                    "fishpond calibrate", Path.cwd(), free=args.free,
                                    overrides=args.overrides, **options)
    out = args.out if args.out is not None else Path("runs") / f"calibrate-{cal.name}"
    _recover(out)

    def say(text: str) -> None:
        if not args.quiet:
            print(text, file=sys.stderr, flush=True)

    if not args.quiet:
        _compile_notice()
    try:
        result = calibrate(cal, out, resume=args.resume, overwrite=args.overwrite,
                           workers=args.workers, cluster=args.cluster, progress=say)
    except KeyboardInterrupt:
        if (out / "calibration.db").is_file():
            print(f"fishpond: interrupted; the finished generations are saved in {out}/; "
                  f"continue with the same command and --resume", file=sys.stderr)
        return 130
    from .charts.calibration import write_calibration_charts

    try:
        charts = write_calibration_charts(
            result.particles, result.forecast, {p.key: (p.low, p.high, p.log) for p in cal.priors},
            cal.observed.columns, cal.observed.last_day, out, milestones=result.milestones)
    except OSError as e:
        raise _write_error(out, e, "the calibration's files are complete") from None
    print(f"Calibrated {len(cal.priors)} parameters to {cal.observed.source} "
          f"({len(cal.observed.days)} {cal.observed.period_name()}s up to day "
          f"{cal.observed.last_day}), seed {cal.seed}:")
    print(result.summary.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    for row in result.identifiability.itertuples(index=False):
        if not row.identified:
            print(f"Note: {row.parameter}: {row.note}")
    print("Forecast:")
    for line in result.words:
        print(f"  {line}")
    print(f"Wrote {out}/ ({', '.join(result.files + [p.name for p in charts])})")
    return 0


def _warnings_as_lines():
    """Context in which each FishpondWarning prints as one line: ``fishpond: warning: ...``."""
    import contextlib
    import warnings

    from .errors import FishpondWarning

    @contextlib.contextmanager
    def scope():
        with warnings.catch_warnings():
            shown = warnings.showwarning

            def show(message, category, filename, lineno, file=None, line=None):
                if issubclass(category, FishpondWarning):
                    print(f"fishpond: warning: {message}", file=sys.stderr)
                else:
                    shown(message, category, filename, lineno, file, line)

            warnings.showwarning = show
            warnings.simplefilter("always", FishpondWarning)
            yield

    return scope()


def _bench(args) -> int:
    import subprocess

    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    if not (folder / "__main__.py").is_file():
        raise FishpondError(
            f"benchmarks not found in {folder}: 'fishpond bench' needs a source checkout "
            "(pip install -e .)"
        )
    cmd = [sys.executable, str(folder)] + ([] if args.full else ["--quick"])
    return subprocess.call(cmd, cwd=folder.parent)


def _doctor(args) -> int:
    """Say which cache is in use; with --clear delete it; then check that a model runs."""
    from . import doctor

    folder = doctor.cache_folder()
    print(doctor.describe(folder))
    if args.clear:
        print(f"cleared: {doctor.clear(folder)} cache files deleted")
    print("checking (this compiles the kernels if the cache is empty: a minute or more)...",
          flush=True)
    healthy, verdict = doctor.check()
    print(("ok: " if healthy else "problem: ") + verdict)
    return 0 if healthy else 1


def _at_least(*options: tuple[str, int | None, int]) -> None:
    """Check ``(option, value, lowest allowed)`` triples; an option not given is skipped."""
    for name, value, low in options:
        if value is not None and value < low:
            raise FishpondError(f"{name} {value}: too small; allowed: a whole number >= {low}")


def _seconds(text: str) -> float:
    """Read an option as a finite number of seconds > 0 (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: seconds > 0, e.g. 10 or 2.5")
    return value


def _compile_notice() -> None:
    """Tell the user, on stderr, when the Numba kernels are about to be compiled."""
    from .kernels import cache_present

    if not cache_present():
        print("fishpond: compiling the simulation kernels for first use "
              "(about a minute; cached for later runs)...", file=sys.stderr)


def _check_out(out: Path, overwrite: bool, inputs=(), need_bytes: int = 0) -> None:
    from .outdir import check, has_content

    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder; choose another path")
    if has_content(out) and not overwrite:
        raise OutputError(
            f"--out {out}: folder exists and is not empty; use --overwrite to replace it or "
            "choose another --out"
        )
    check(out, overwrite=overwrite, inputs=inputs, need_bytes=need_bytes)


def _recover(out: Path) -> None:
    """Repair what a killed fishpond left around ``out`` (see sim.outdir), with a note."""
    from .outdir import recover

    for note in recover(out):
        print(f"fishpond: note: {note}", file=sys.stderr)


def _has_content(out: Path) -> bool:
    from .outdir import has_content

    return has_content(out)


def _write_error(out: Path, err: OSError, what: str) -> OutputError:
    from .outdir import write_error

    return write_error(out, err, what)


def _run(args) -> int:
    from .limits import check_run
    from .model import GrowthModel
    from .outdir import run_bytes
    from .progress import progress_bar
    from .scenario_io import scenario_inputs
    from .yamlio import label

    max_memory = _max_memory(args)
    path, sc = _load(args)
    check_run(sc, engine=args.engine, max_memory=max_memory, source=label(path))

    out = args.out if args.out is not None else Path("runs") / f"{path.stem}-{sc.seed}"
    _recover(out)
    inputs = scenario_inputs(path, sc)
    _check_out(out, args.overwrite, inputs, run_bytes(sc))

    if args.engine == "numba" and not args.quiet:
        _compile_notice()
    model = GrowthModel(sc, engine=args.engine, max_memory=max_memory)
    for note in model.graph.notes:
        print(f"fishpond: note: {note}", file=sys.stderr)
    bar = progress_bar(sc.steps, sc.name, unit="day", enabled=not args.quiet)
    model.run(progress=lambda day: bar.update(1))
    bar.close()

    summary = model.summary()
    written = _write_outputs(model, summary, out, args.overwrite, inputs, path)
    print(format_summary(summary, path))
    print(f"Wrote {out}/ ({', '.join(written)})")
    return 0


def _write_outputs(model, summary: dict, out: Path, overwrite: bool, inputs=(),
                   source: Path | None = None) -> list[str]:
    """Hand the run's outputs to the store (it writes the folder, see sim.outdir)."""
    from .charts import write_run_charts
    from .scenario_io import scenario_to_yaml
    from .store import write_run

    ts = model.timeseries()
    curve = model.referral_curve()
    return write_run(out, summary=summary, timeseries=ts, referral_curve=curve,
                     scenario_yaml=scenario_to_yaml(model.scenario), source=source,
                     overwrite=overwrite, inputs=inputs,
                     charts=lambda folder: write_run_charts(ts, summary, curve, folder))


def _n(x) -> str:
    return "n/a" if x is None else f"{x:,}"


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _num(x, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def format_summary(s: dict, path: Path | None = None) -> str:
    """A readable multi-line summary of a run (what ``fishpond run`` prints)."""
    names = ("origin", "inflection", "explosion")
    ms = []
    for i, (level, day) in enumerate(s["milestones"].items()):
        label = f"{names[i]} " if i < len(names) else ""
        ms.append(f"{label}{int(level):,}: " + ("never" if day is None else f"day {day}"))
    src = f" ({path.name})" if path is not None else ""
    ret = s.get("retention_by_source") or {}
    retention = "; ".join(
        f"{name} " + "/".join(f"{_pct(v)}" for v in (ret.get(name) or {}).values())
        for name in ("referral", "organic", "ads")
        if any(v is not None for v in (ret.get(name) or {}).values()))
    p, q = s.get("bass_p"), s.get("bass_q")
    ratio = f"{q / p:.1f}" if p and q is not None else "n/a"
    cur = s.get("currency") or "CNY"

    def money(x, digits: int = 0) -> str:
        return "n/a" if x is None else f"{cur} {x:,.{digits}f}"

    costs = " | ".join(
        f"{int(level):,} members: " + ("never reached" if c is None else
                                      f"day {s['milestones'][level]}, {money(c)} spent")
        for level, c in (s.get("cost_to_milestone") or {}).items())
    return "\n".join(
        [
            f"Scenario     {s['scenario']}{src}, seed {s['seed']}, {s['steps']} days, "
            f"{s['population']:,} persons, engine {s['engine']}",
            f"Milestones   {' | '.join(ms)}",
            f"Members      {_n(s['members'])} (KOLs {_n(s['kols'])}, actives {_n(s['actives'])}, "
            f"lurkers {_n(s['lurkers'])} = {_pct(s.get('lurker_share'))}); "
            f"churned {_n(s['churned'])}; non-users {_n(s['non_users'])}",
            f"Joins        seed {_n(s['joins_seed'])}, mass pull {_n(s['joins_mass_pull'])}, "
            f"referral {_n(s['joins_referral'])}, organic {_n(s['joins_organic'])}, "
            f"ads {_n(s['joins_ads'])}; "
            f"invitations sent {_n(s['invites_sent'])}",
            f"K-factor     {_num(s['k_factor'], 3)} (last 30 days {_num(s['k_factor_30d'], 3)})",
            f"Shares       referral {_pct(s['referral_share'])}, "
            f"contributor {_pct(s['contributor_share'])}, "
            f"commitment {_pct(s['commitment_share'])}, "
            f"self-organised activities {_pct(s['self_org_share'])}",
            f"Top 20%      of members by intimacy were credited with "
            f"{_pct(s['top20_referral_share'])} of referral joins",
            f"Fission      seeds' share of referral joins {_pct(s.get('seed_referral_share'))}; "
            f"top 20% of non-seeds by intimacy: "
            f"{_pct(s.get('nonseed_top20_referral_share'))} of theirs",
            f"Retention    days 1-30 joiners still members on day 30/90/120: "
            f"{retention or 'n/a'}",
            f"Bass fit     p {_num(p, 3)}, q {_num(q, 3)} per year; q/p {ratio}",
            f"Money        revenue {money(s['revenue'])}, cost {money(s['cost'])}, "
            f"CROI {_pct(s['croi'])}, "
            f"cost per retained member {money(s['cost_per_retained_member'], 2)}",
            f"Cost to      {costs or 'n/a'}",
            GLOSSARY,
        ]
    )


GLOSSARY = ("Glossary     K-factor: referral joins per person who ever joined; CROI: (revenue - "
            "cost) / cost; shares of today's members: referral (joined by referral), "
            "contributor (KOL or active), commitment (intimacy >= commit_threshold); "
            "self-organised: members' share of the last 30 days' activities")


# --- compare and chart ------------------------------------------------------------------

CHART_FORMATS = ("png", "svg", "pdf")


def _formats(text: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower().lstrip(".") for f in text.split(",") if f.strip())
    bad = [f for f in formats if f not in CHART_FORMATS]
    if bad or not formats:
        raise FishpondError(f"--format {text}: unknown chart format {bad[0] if bad else text!r}; "
                            f"allowed: {', '.join(CHART_FORMATS)} (comma-separated)")
    return tuple(dict.fromkeys(formats))


def _compare(args) -> int:
    from .analysis import comparison_table
    from .compare import check_scenarios, comparison_experiment, default_out, judge
    from .experiments import run_sweep
    from .store import read_timeseries

    formats = _formats(args.format)
    _at_least(("--replicates", args.replicates, 1), ("--seed", args.seed, 0),
              ("--workers", args.workers, 1), ("--max-runs", args.max_runs, 1))
    max_memory = _max_memory(args)
    paths, overrides = check_scenarios(args.scenarios, args.overrides)
    out = args.out if args.out is not None else default_out(paths)
    _recover(out)
    _check_out(out, args.overwrite, paths)
    replacing = args.overwrite and _has_content(out)
    exp = comparison_experiment(args.scenarios, paths, overrides, replicates=args.replicates,
                                seed=args.seed, max_runs=args.max_runs)
    try:
        run_sweep(exp, out, workers=args.workers, overwrite=args.overwrite,
                  progress=not args.quiet, max_memory=max_memory,
                  on_start=None if args.quiet else _compile_notice)
    except KeyboardInterrupt:
        if replacing:
            print(f"fishpond: interrupted; {out}/ is unchanged (--overwrite replaces it only "
                  "when the new comparison is complete)", file=sys.stderr)
            return 130
        if not (out / "manifest.json").is_file():
            raise  # stopped before the sweep started: nothing was written
        print(f"fishpond: interrupted; the finished runs are in {out}/ (no comparison written); "
              "run again with --overwrite to start over", file=sys.stderr)
        return 130

    found = judge(out)
    results, failed = found.results, found.failed
    if len(failed) == len(results):
        print(f"fishpond: every run failed, e.g.: {failed['error'].iloc[0]}", file=sys.stderr)
        return 1
    try:
        charts = _sweep_charts(results, read_timeseries(out), out, formats, exp)
    except OSError as e:
        raise _write_error(out, e, f"the runs are saved in {out}/results/") from None

    ok = results[results["status"] == "ok"]
    sizes = ", ".join(f"{int(n):,}" for n in sorted(ok["population"].unique()))
    days = ", ".join(str(int(n)) for n in sorted(ok["steps"].unique()))
    print(f"Compared {len(paths)} scenarios x {args.replicates} replicates on common seeds "
          f"(root seed {args.seed}); {sizes} persons, {days} days")
    print(comparison_table(found.summary, found.comparison))
    currencies = sorted(set(ok["currency"].dropna())) if "currency" in ok else []
    print(f"Amounts in {' / '.join(currencies) or 'CNY'} (economics.currency); "
          f"{GLOSSARY.split(maxsplit=1)[1]}")
    if len(failed):
        print(f"fishpond: note: {len(failed)} runs failed and are left out; see the error column "
              f"of {out}/results/", file=sys.stderr)
    names = ["results/", "timeseries/", "manifest.json", "comparison.csv"]
    names += [p.name for p in charts]
    print(f"Wrote {out}/ ({', '.join(names)})")
    return 0


_REWRITE = "the file as a run writes it (run the scenario again to write it anew)"


def _numbers_table(path: Path, needed: tuple[str, ...] = ()):
    """A CSV a run wrote: every cell a finite number (or, outside ``needed``, missing).

    A missing cell is empty or ``nan`` (NaN); ``needed`` are the columns the charts draw.

    Raises:
        DataError: a cell that is not such a number, one line naming the file, its line,
            the column and the value (a file damaged or edited since the run wrote it).
    """
    import numpy as np
    import pandas as pd

    from .errors import DataError
    from .yamlio import label, message

    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in table.columns:
        cells = table[column].str.strip()
        missing = cells.str.lower().isin(["", "nan"]).to_numpy()
        values = pd.to_numeric(cells.where(~missing, "nan"), errors="coerce").astype(float)
        bad = ~np.isfinite(values.to_numpy()) & (~missing | (column in needed))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            if missing[row]:
                what = "missing"
            elif np.isinf(values.iloc[row]):
                what = "not a finite number"
            else:
                what = "not a number"
            raise DataError(message((label(path), row + 2), (column,), table[column].iloc[row],
                                    what, _REWRITE))
        table[column] = values
    return table


def _check_run_summary(summary, path: Path) -> None:
    """Refuse a run summary whose title or milestones the charts could not read."""
    from .errors import DataError
    from .yamlio import label, message

    def refuse(key: tuple, value, what: str):
        raise DataError(message((label(path), None), key, value, what, _REWRITE))

    if not isinstance(summary, dict):
        refuse(("the file",), summary, "not a JSON object")
    if summary.get("scenario") is not None and not isinstance(summary["scenario"], str):
        refuse(("scenario",), summary["scenario"], "not text")
    milestones = summary.get("milestones")
    if milestones is None:
        return
    if not isinstance(milestones, dict):
        refuse(("milestones",), milestones, "not a mapping of member counts to days")
    for level, day in milestones.items():
        if not level.isdigit() or not (day is None or (
                isinstance(day, (int, float)) and not isinstance(day, bool)
                and math.isfinite(day))):
            refuse(("milestones", level), day, "not a member count with a day or null")


def _chart(args) -> int:
    import pandas as pd

    from .charts import FUNNEL_STAGES, write_run_charts
    from .errors import DataError

    # the columns of a run's timeseries.csv that its charts draw
    charted = ("day", "members", "kols", "actives", "lurkers", "churned",
               *(f"funnel_{s}" for s in FUNNEL_STAGES))

    formats = _formats(args.format)
    folder = args.results
    expected = ("expected a run folder (summary.json, timeseries.csv) or a sweep or compare "
                "folder (results/, manifest.json)")
    _recover(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder; {expected}")
    from .outdir import check

    check(folder)  # a real test write: a read-only folder is refused before drawing
    if (folder / "summary.json").is_file() and (folder / "timeseries.csv").is_file():
        try:
            summary = json.loads((folder / "summary.json").read_text())
            ts = _numbers_table(folder / "timeseries.csv", charted)
            curve_file = folder / "referral_curve.csv"
            curve = (_numbers_table(curve_file, ("member_share", "referral_share"))
                     if curve_file.is_file() else
                     pd.DataFrame({"member_share": [0.0, 1.0], "referral_share": [0.0, 0.0]}))
        except (OSError, ValueError) as e:
            text = f"{folder}: cannot read the run's files: {e}".replace("\n", " ")
            raise DataError(text) from None
        _check_run_summary(summary, folder / "summary.json")
        try:
            written = write_run_charts(ts, summary, curve, folder, formats)
        except OSError as e:
            raise _write_error(folder, e, "the charts already there are unchanged") from None
    elif (folder / "results").is_dir():
        from .store import read_results, read_timeseries

        results = read_results(folder)
        if "status" not in results.columns or not (results["status"] == "ok").any():
            raise DataError(f"{folder}: no finished runs to chart; run or resume the sweep first")
        try:
            with _warnings_as_lines():
                written = _sweep_charts(results, read_timeseries(folder), folder, formats,
                                        _experiment_of(folder))
        except OSError as e:
            raise _write_error(folder, e, "the charts already there are unchanged") from None
    else:
        raise DataError(f"{folder}: no results found; {expected}")
    print(f"Wrote {sum(p.suffix != '.csv' for p in written)} charts to {folder}/ "
          f"({', '.join(p.name for p in written)})")
    return 0


def _sweep_charts(results, timeseries, out: Path, formats=("png",), exp=None) -> list[Path]:
    """Draw and save a sweep folder's charts; a Sobol design's indices are computed here."""
    from .charts import write_sweep_charts

    kind = exp.design.kind if exp is not None else None
    indices = None
    if kind == "sobol":
        from .experiments import analyze

        try:
            indices = analyze(results, exp)
        except FishpondError:  # e.g. an output the runs lack: no Sobol chart, the others stand
            pass
    return write_sweep_charts(results, timeseries, out, formats, design_kind=kind,
                              sobol_indices=indices,
                              sobol_samples=exp.design.samples if kind == "sobol" else None)


def _experiment_of(folder: Path):
    """The sweep's experiment, rebuilt from its manifest if a chart needs it (Sobol), else None."""
    from .experiments import experiment_from_dict
    from .store import read_manifest

    info = read_manifest(folder)
    data = info.get("experiment") or {}
    if (data.get("design") or {}).get("kind") != "sobol":
        return None
    label = str(info.get("experiment_file") or "")
    for base in (Path(label).parent, Path.cwd()):
        try:
            return experiment_from_dict(data, base_dir=base, source=label or "manifest")
        except FishpondError:
            continue
    print(f"fishpond: note: cannot rebuild the experiment of {folder}; no Sobol chart",
          file=sys.stderr)
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
