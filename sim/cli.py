"""The ``fishpond`` command: run and validate scenarios.

Bad input (a scenario, an option, a data file, an output folder) ends with one line on
stderr and exit status 2, before anything is written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .errors import FishpondError, OutputError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage dumps."""

    def error(self, message: str) -> None:  # noqa: D102
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fishpond", description="Simulate community-driven growth (fish-pond strategy).")
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
        help="simulation engine: numba (compiled, default) or agents (readable Mesa agents); same results",
    )
    run.add_argument("--out", type=Path, help="output folder (default: runs/<scenario>-<seed>/)")
    run.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    facts = sub.add_parser("facts", help="measure the six stylized facts of MODEL.md §7")
    facts.add_argument("--size", type=int, default=100_000, help="persons per population (default 100000)")
    facts.add_argument("--replicates", type=int, default=20, help="replicates per scenario (default 20)")
    facts.add_argument("--seed", type=int, default=0, help="first replicate seed (default 0)")
    facts.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: cores)")
    facts.add_argument("--quiet", action="store_true", help="no progress bar")

    bench = sub.add_parser("bench", help="run the quick versions of the benchmarks in benchmarks/")
    bench.add_argument("--full", action="store_true", help="full sizes instead of the quick versions")

    val = sub.add_parser("validate", help="check a scenario and print it fully resolved")
    val.add_argument("scenario", help="scenario YAML file, or a shipped name")
    val.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
        help="override one parameter (repeatable)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fishpond`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "facts":
            return _facts(args)
        if args.command == "bench":
            return _bench(args)
        return _validate(args)
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


def _facts(args) -> int:
    from tqdm import tqdm

    from .facts import measure_facts

    for name, value, low in (("--size", args.size, 1000), ("--replicates", args.replicates, 1),
                             ("--workers", args.workers, 1), ("--seed", args.seed, 0)):
        if value < low:
            raise FishpondError(f"{name} {value}: too small; allowed: a whole number >= {low}")
    bar = tqdm(total=args.replicates, desc="replicates", disable=True if args.quiet else None)
    report = measure_facts(
        size=args.size, replicates=args.replicates, root_seed=args.seed, workers=args.workers,
        progress=lambda done: bar.update(done - bar.n),
    )
    bar.close()
    print(report.table())
    return 0 if report.all_passed else 1


def _bench(args) -> int:
    import subprocess

    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    if not (folder / "__main__.py").is_file():
        raise FishpondError(
            f"benchmarks not found in {folder}: 'fishpond bench' needs a source checkout (pip install -e .)"
        )
    cmd = [sys.executable, str(folder)] + ([] if args.full else ["--quick"])
    return subprocess.call(cmd, cwd=folder.parent)


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder; choose another path")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputError(
            f"--out {out}: folder exists and is not empty; use --overwrite to replace it or choose another --out"
        )


def _run(args) -> int:
    from tqdm import tqdm

    from .model import GrowthModel

    path, sc = _load(args)
    out = args.out if args.out is not None else Path("runs") / f"{path.stem}-{sc.seed}"
    _check_out(out, args.overwrite)

    if args.engine == "numba":
        from .kernels import cache_present

        if not cache_present():
            print("fishpond: compiling the simulation kernels for first use "
                  "(about a minute; cached for later runs)...", file=sys.stderr)
    model = GrowthModel(sc, engine=args.engine)
    for note in model.graph.notes:
        print(f"fishpond: note: {note}", file=sys.stderr)
    bar = tqdm(total=sc.steps, desc=f"{sc.name}", unit="day", disable=True if args.quiet else None)
    model.run(progress=lambda day: bar.update(1))
    bar.close()

    summary = model.summary()
    written = _write_outputs(model, summary, out, args.overwrite)
    print(format_summary(summary, path))
    print(f"Wrote {out}/ ({', '.join(written)})")
    return 0


def _write_outputs(model, summary: dict, out: Path, overwrite: bool) -> list[str]:
    """Write every output into a fresh temporary folder, then move it into place."""
    from .charts import write_run_charts
    from .scenario_io import scenario_to_yaml

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        ts = model.timeseries()
        curve = model.referral_curve()
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        ts.to_csv(tmp / "timeseries.csv", index=False)
        curve.to_csv(tmp / "referral_curve.csv", index=False)
        (tmp / "scenario.yaml").write_text(scenario_to_yaml(model.scenario))
        charts = write_run_charts(ts, summary, curve, tmp)
        if out.exists():
            if not overwrite and any(out.iterdir()):
                raise OutputError(f"--out {out}: folder appeared while running; nothing was written")
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            out.rename(old / "x")
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sorted(["summary.json", "timeseries.csv", "referral_curve.csv", "scenario.yaml"] + [p.name for p in charts])


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
    return "\n".join(
        [
            f"Scenario     {s['scenario']}{src}, seed {s['seed']}, {s['steps']} days, "
            f"{s['population']:,} persons, engine {s['engine']}",
            f"Milestones   {' | '.join(ms)}",
            f"Members      {_n(s['members'])} (KOLs {_n(s['kols'])}, actives {_n(s['actives'])}, "
            f"lurkers {_n(s['lurkers'])}); churned {_n(s['churned'])}; non-users {_n(s['non_users'])}",
            f"Joins        seed {_n(s['joins_seed'])}, mass pull {_n(s['joins_mass_pull'])}, "
            f"referral {_n(s['joins_referral'])}, organic {_n(s['joins_organic'])}, ads {_n(s['joins_ads'])}; "
            f"invitations sent {_n(s['invites_sent'])}",
            f"K-factor     {_num(s['k_factor'], 3)} (last 30 days {_num(s['k_factor_30d'], 3)})",
            f"Shares       referral {_pct(s['referral_share'])}, contributor {_pct(s['contributor_share'])}, "
            f"commitment {_pct(s['commitment_share'])}, self-organised activities {_pct(s['self_org_share'])}",
            f"Top 20%      of members by intimacy were credited with {_pct(s['top20_referral_share'])} of referral joins",
            f"Money        revenue {_num(s['revenue'], 0)}, cost {_num(s['cost'], 0)}, CROI {_pct(s['croi'])}, "
            f"cost per retained member {_num(s['cost_per_retained_member'])}",
        ]
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
