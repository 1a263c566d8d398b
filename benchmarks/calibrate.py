"""Validation and speed of ``fishpond calibrate`` (issue 12).

Cases (``--case``, default all but speed):

- ``recovery``: ``--draws`` true parameter sets drawn from the priors (fish pond,
  ``rules.invite_rate`` log-uniform on [0.005, 0.05], ``rules.churn_base`` on [0.005, 0.05]);
  each is simulated for 26 weeks and calibrated on weeks 1-12 (members and ever_members):
  the 90% credible intervals must contain the truth in at least 80% of the draws x
  parameters. The first ``--narrow-draws`` draws (3) are also calibrated on weeks 1-4: the
  mean width of each parameter's 90% interval must be larger there (the posterior narrows as
  more weeks are observed).
- ``partial``: the same draws calibrated on weeks 1-8 only; the forecast's 90% band on day
  182 (week 26) must contain the held-out members in at least 80% of the draws.
- ``bass``: Bass (1969), room air conditioners 1949-1961 (``../shared/data``). An independent
  nonlinear least-squares fit of the continuous Bass curve ``N(t) = m (1 - e^{-(p+q)t}) /
  (1 + (q/p) e^{-(p+q)t})`` to the cumulative sales gives p and q per year. The
  ``bass_mean_field`` reduction is calibrated to the same cumulative series with
  ``rules.organic_rate``, ``rules.invite_rate`` and ``population.size`` free; one year is 365
  model days (``--steps-per-year``; ``--quick`` uses 4, quarter years) and one person stands
  for 10,000 units. Then p = 365 x organic_rate and q = 365 x contacts x invite_rate x
  convert_prob per year (hazards per step x steps per year). p and q must be within 25% of
  the least-squares fit, and a calibration on the first 7 years must hold years 8-13 in its
  forecast's 90% band. ``--bass-part 13`` or ``7`` runs one of the two calibrations (two
  processes can share the case).
- ``identifiability``: a Morris screening (SALib, through a ``morris`` sweep and
  :func:`sim.experiments.analyze`) of the recovery case's two parameters over their prior
  ranges, on the members and ever-members of day 84: each must move them by more than twice
  the replicate noise (else the data could not pin it down).
- ``speed``: a 4-parameter calibration of a 20,000-person fish pond to 12 weekly points,
  with 1 and 2 workers and on a Dask ``LocalCluster`` of 2 workers: wall time and runs per
  second (the runs of the ABC generations over their time).

Usage::

    python benchmarks/calibrate.py [--quick] [--case recovery,partial,bass,identifiability,speed]
        [--draws 10] [--particles 100] [--generations 5] [--size 2000] [--workers 1]

``--quick`` (the test's mode) is tiny: 1 draw, 10 particles, 1 generation, 400 persons,
the Bass case with 12 particles; it checks that every case runs and prints its lines, not
the thresholds (those need the full sizes).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import machine  # noqa: E402

from sim.calibrate import calibrate, calibration_from_data  # noqa: E402
from sim.model import GrowthModel  # noqa: E402

BASS_DATA = ROOT.parent / "shared" / "data" / "bass1969_durables.csv"
for _cand in (ROOT / "shared" / "data" / "bass1969_durables.csv",
              ROOT / ".." / ".." / "shared" / "data" / "bass1969_durables.csv",
              Path("/work/shared/data/bass1969_durables.csv")):
    if not BASS_DATA.is_file() and _cand.is_file():
        BASS_DATA = _cand
UNITS_PER_PERSON = 10.0  # thousands of units per person: one person = 10,000 units
RECOVERY_FREE = {"rules.invite_rate": [0.005, 0.05, "log"], "rules.churn_base": [0.005, 0.05]}


def _calibration(folder: Path, table: pd.DataFrame, **data):
    path = folder / f"observed-{time.monotonic_ns()}.csv"
    table.to_csv(path, index=False)
    return calibration_from_data({"observed": str(path), **data}, {}, "benchmark", folder)


def _run(cal, folder: Path, workers: int = 1, cluster=None, cpu: list | None = None):
    out = folder / f"out-{time.monotonic_ns()}"
    start, clock = time.perf_counter(), time.process_time()
    result = calibrate(cal, out, workers=workers, cluster=cluster)
    if cpu is not None:  # this process's CPU time (all of it with 1 worker)
        cpu.append(time.process_time() - clock)
    return result, time.perf_counter() - start


def _truth(i: int, free: dict) -> dict:
    rng = np.random.default_rng(np.random.SeedSequence([2026, i]))
    out = {}
    for key, (low, high, *log) in free.items():
        out[key] = float(10 ** rng.uniform(math.log10(low), math.log10(high)) if log
                         else rng.uniform(low, high))
    return out


def _simulate(truth: dict, size: int, seed: int, days: int) -> pd.DataFrame:
    rules = {k.split(".", 1)[1]: v for k, v in truth.items()}
    m = GrowthModel("fish_pond", rng=seed, steps=days, population={"size": size}, rules=rules)
    m.run()
    return m.timeseries()


def _weeks(ts: pd.DataFrame, weeks: int) -> pd.DataFrame:
    days = [7 * w for w in range(1, weeks + 1)]
    return pd.DataFrame({"day": days, "members": ts["members"].to_numpy()[days],
                         "ever_members": (ts["members"] + ts["churned"]).to_numpy()[days]})


def recovery_and_partial(args, folder: Path, cases: set[str]) -> None:
    """Cases ``recovery`` and ``partial`` (see the module docstring)."""
    settings = {"scenario": "fish_pond", "overrides": {"population": {"size": args.size}},
                "free": RECOVERY_FREE, "particles": args.particles,
                "generations": args.generations, "forecast_draws": args.forecast_draws,
                "min_acceptance": args.min_acceptance}
    covered, cells, held, widths = 0, 0, 0, {}
    for i in range(args.first_draw, args.first_draw + args.draws):
        truth = _truth(i, RECOVERY_FREE)
        ts = _simulate(truth, args.size, seed=1000 + i, days=182)
        if "recovery" in cases:
            cal = _calibration(folder, _weeks(ts, 12), seed=i, horizon=84, **settings)
            result, wall = _run(cal, folder, args.workers)
            s = result.summary.set_index("parameter")
            inside = {k: bool(s.loc[k, "q05"] <= v <= s.loc[k, "q95"]) for k, v in truth.items()}
            covered += sum(inside.values())
            cells += len(inside)
            print(f"recovery draw {i}: " + "; ".join(
                f"{k} true {v:.4g}, median {s.loc[k, 'median']:.4g}, 90% [{s.loc[k, 'q05']:.4g}, "
                f"{s.loc[k, 'q95']:.4g}] {'in' if inside[k] else 'OUT'}" for k, v in truth.items())
                + f" ({int(result.generations['runs'].sum())} runs, {wall:.0f} s)", flush=True)
            if i - args.first_draw < args.narrow_draws:
                short = _calibration(folder, _weeks(ts, 4), seed=i, horizon=84, **settings)
                s4 = _run(short, folder, args.workers)[0].summary.set_index("parameter")
                pairs = {k: (_width(s4, k), _width(s, k)) for k in truth}
                for k, pair in pairs.items():
                    widths.setdefault(k, []).append(pair)
                print(f"recovery narrowing (draw {i}, log10 width of the 90% interval, or width "
                      "on a linear prior): " + "; ".join(
                          f"{k}: weeks 1-4 {a:.3f} -> weeks 1-12 {b:.3f}"
                          for k, (a, b) in pairs.items()), flush=True)
        if "partial" in cases:
            cal = _calibration(folder, _weeks(ts, 8), seed=i, horizon=182, **settings)
            result, wall = _run(cal, folder, args.workers)
            row = result.forecast.iloc[182]
            actual = float(ts["members"].iloc[182])
            ok = row["members_q05"] <= actual <= row["members_q95"]
            held += ok
            print(f"partial draw {i}: week 26 members {actual:.0f}, forecast from weeks 1-8: "
                  f"median {row['members_q50']:.0f}, 90% [{row['members_q05']:.0f}, "
                  f"{row['members_q95']:.0f}] {'in' if ok else 'OUT'} "
                  f"({int(result.generations['runs'].sum())} runs, {wall:.0f} s)", flush=True)
    if "recovery" in cases and cells:
        # narrower: for every parameter, the mean width over the draws checked shrinks
        narrower = bool(widths) and all(np.mean([b for _, b in v]) < np.mean([a for a, _ in v])
                                        for v in widths.values())
        print(f"RESULT recovery: truth inside the 90% interval in {covered} of {cells} "
              f"(draws x parameters; needed >= {math.ceil(0.8 * cells)}): "
              f"{'PASS' if covered >= 0.8 * cells else 'FAIL'}", flush=True)
        print("RESULT narrowing (mean width of the 90% interval over the first "
              f"{args.narrow_draws} draws, weeks 1-4 -> weeks 1-12): " + "; ".join(
                  f"{k} {np.mean([a for a, _ in v]):.3f} -> {np.mean([b for _, b in v]):.3f}"
                  for k, v in widths.items()) + f": {'PASS' if narrower else 'FAIL'}",
              flush=True)
    if "partial" in cases and args.draws:
        print(f"RESULT partial: week 26 inside the 90% band in {held} of {args.draws} "
              f"(needed >= {math.ceil(0.8 * args.draws)}): "
              f"{'PASS' if held >= 0.8 * args.draws else 'FAIL'}", flush=True)


def _width(summary: pd.DataFrame, key: str) -> float:
    lo, hi = summary.loc[key, "q05"], summary.loc[key, "q95"]
    return math.log10(hi) - math.log10(lo) if lo > 0 else hi - lo


def bass_curve(t: np.ndarray, m: float, p: float, q: float) -> np.ndarray:
    """Cumulative adopters of the continuous Bass model at times ``t`` (years)."""
    e = np.exp(-(p + q) * t)
    return m * (1 - e) / (1 + (q / p) * e)


def bass_least_squares(years: np.ndarray, cumulative: np.ndarray) -> tuple[float, float, float]:
    """Independent nonlinear least-squares fit of (m, p, q) to a cumulative series.

    Several starting points; the best fit (smallest squared error) wins.
    """
    from scipy.optimize import least_squares

    best = None
    for p0 in (0.003, 0.01, 0.03):
        for q0 in (0.2, 0.4, 0.8):
            fit = least_squares(lambda x: bass_curve(years, *x) - cumulative,
                                x0=[1.2 * cumulative[-1], p0, q0],
                                bounds=([cumulative[-1], 1e-6, 1e-4], [1e3 * cumulative[-1], 1, 5]))
            if best is None or fit.cost < best.cost:
                best = fit
    m, p, q = best.x
    return float(m), float(p), float(q)


def bass(args, folder: Path) -> None:
    """Case ``bass`` (see the module docstring)."""
    steps = args.steps_per_year
    data = pd.read_csv(BASS_DATA, comment="#")
    rac = data[data["product"] == "room_air_conditioners"].sort_values("year")
    cumulative = rac["sales_thousands"].cumsum().to_numpy(np.float64)
    years = np.arange(1, len(cumulative) + 1, dtype=np.float64)
    m, p_ls, q_ls = bass_least_squares(years, cumulative)
    print(f"bass least squares (room air conditioners 1949-1961): m {m:,.0f} thousand, "
          f"p {p_ls:.4f}, q {q_ls:.4f} per year", flush=True)
    table = pd.DataFrame({"day": (years * steps).astype(int),
                          "ever_members": cumulative / UNITS_PER_PERSON})
    sc_contacts, convert = 10, 0.5  # bass_mean_field: well_mixed contacts 10, convert_prob 0.5
    per_step = 4.0 / steps  # the priors: per quarter-year [0.0005, 0.02] and [0.002, 0.05]
    settings = {"scenario": "bass_mean_field",
                "free": {"rules.organic_rate": [0.0005 * per_step, 0.02 * per_step, "log"],
                         "rules.invite_rate": [0.002 * per_step, 0.05 * per_step, "log"],
                         "population.size": [1000, 4000]},
                "particles": args.bass_particles, "generations": args.generations + 1,
                "forecast_draws": args.forecast_draws, "period_days": steps,
                "max_minutes": args.bass_max_minutes}
    horizon = int(years[-1]) * steps
    if args.bass_part in ("both", "13"):
        cal = _calibration(folder, table, seed=0, horizon=horizon, **settings)
        result, wall = _run(cal, folder, args.workers)
        s = result.summary.set_index("parameter")
        p = steps * -math.log1p(-s.loc["rules.organic_rate", "median"])
        q = steps * sc_contacts * convert * s.loc["rules.invite_rate", "median"]
        size = s.loc["population.size", "median"]
        dp, dq = p / p_ls - 1, q / q_ls - 1
        gens = result.generations
        print(f"bass calibrated ({steps} steps a year, 13 years, {len(gens)} generations, "
              f"{int(gens['runs'].sum())} runs, {wall:.0f} s): p {p:.4f} ({100 * dp:+.0f}%), "
              f"q {q:.4f} ({100 * dq:+.0f}%), market {size * UNITS_PER_PERSON:,.0f} thousand",
              flush=True)
        ok = abs(dp) <= 0.25 and abs(dq) <= 0.25
        print(f"RESULT bass p, q within 25% of least squares: {'PASS' if ok else 'FAIL'}",
              flush=True)
    if args.bass_part in ("both", "7"):
        cal7 = _calibration(folder, table.iloc[:7], seed=0, horizon=horizon, **settings)
        result7, wall = _run(cal7, folder, args.workers)
        forecast = result7.forecast.set_index("day")
        gens = result7.generations
        print(f"bass calibrated on years 1-7 ({steps} steps a year, {len(gens)} generations, "
              f"{int(gens['runs'].sum())} runs, {wall:.0f} s)", flush=True)
        inside = []
        for year in range(8, 14):
            row = forecast.loc[year * steps]
            actual = cumulative[year - 1] / UNITS_PER_PERSON
            inside.append(row["ever_members_q05"] <= actual <= row["ever_members_q95"])
            print(f"bass forecast year {year} ({1948 + year}): actual {actual:,.0f}, 90% band "
                  f"[{row['ever_members_q05']:,.0f}, {row['ever_members_q95']:,.0f}] "
                  f"{'in' if inside[-1] else 'OUT'}", flush=True)
        print(f"RESULT bass forecast from 7 years holds years 8-13 in its 90% band: "
              f"{sum(inside)} of 6: {'PASS' if all(inside) else 'FAIL'}", flush=True)


def identifiable(args, folder: Path) -> None:
    """Case ``identifiability``: can the recovery case's data pin down its two parameters?

    A Morris screening with the project's SALib tools (a ``morris`` sweep over the recovery
    priors' ranges, analysed by :func:`sim.experiments.analyze`) of the statistics the
    calibration sees last: members and ever-members on day 84. A parameter is identifiable
    from them when its mean absolute elementary effect (``mu_star``) is well above the
    replicate noise (the standard deviation of the statistic between replicate runs of one
    design point): here, more than twice.
    """
    from sim.experiments import analyze, experiment_from_dict, run_sweep
    from sim.store import read_results

    outputs = ["members", "ever_members"]
    exp = experiment_from_dict({
        "name": "identifiability", "scenario": "fish_pond", "replicates": args.morris_replicates,
        "seed": 5, "overrides": {"population": {"size": args.size}, "steps": 84},
        "outputs": outputs,
        "design": {"kind": "morris", "samples": args.morris_trajectories,
                   "parameters": {k: [lo, hi] for k, (lo, hi, *_) in RECOVERY_FREE.items()}}})
    out = run_sweep(exp, folder / f"morris-{time.monotonic_ns()}", workers=args.workers,
                    progress=False)
    results = read_results(out)
    ok = results[results["status"] == "ok"]
    table = analyze(results, exp)
    verdicts = []
    for metric in outputs:
        noise = float(ok.groupby("point")[metric].std().mean())
        for row in table[table["output"] == metric].itertuples(index=False):
            good = row.mu_star > 2 * noise
            verdicts.append(good)
            print(f"identifiability {row.parameter} on {metric} (day 84): mu_star "
                  f"{row.mu_star:,.1f} +- {row.mu_star_conf:,.1f}, sigma {row.sigma:,.1f}; "
                  f"replicate noise {noise:,.1f}: {'identifiable' if good else 'NOT identifiable'}",
                  flush=True)
    print(f"RESULT identifiability ({len(ok)} runs, Morris with SALib): every parameter moves "
          f"the statistics beyond the noise: {'PASS' if all(verdicts) else 'FAIL'}", flush=True)


def speed(args, folder: Path) -> None:
    """Case ``speed``: 4 free parameters, 20,000 persons, 12 weekly points."""
    truth = {"rules.invite_rate": 0.021, "rules.churn_base": 0.025}
    ts = _simulate(truth, 20_000, seed=7, days=84)
    free = dict(RECOVERY_FREE, **{"rules.convert_prob": [0.2, 0.7],
                                  "rules.decay": [0.01, 0.06]})
    settings = {"scenario": "fish_pond", "free": free, "particles": args.particles,
                "generations": args.generations, "forecast_draws": args.forecast_draws}
    setups = {"1": ("1 worker", 1, None), "2": ("2 workers", 2, None),
              "dask": ("Dask LocalCluster 2 workers", 1, "local")}
    for label, workers, cluster in (setups[name] for name in args.speed_setups.split(",")):
        cal = _calibration(folder, _weeks(ts, 12), seed=0, horizon=84, **settings)
        client = None
        if cluster == "local":
            from distributed import Client, LocalCluster

            client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
        cpu: list[float] = []
        try:
            result, wall = _run(cal, folder, workers, client, cpu)
        finally:
            if client is not None:
                client.cluster.close()
                client.close()
        runs = int(result.generations["runs"].sum())
        print(f"speed {label}: {wall:.0f} s in all, {runs} ABC runs, "
              f"{runs / wall:.2f} runs/s (wall including the forecast)"
              + (f"; CPU time of this process {cpu[0]:.0f} s" if workers == 1 and
                 cluster is None else ""), flush=True)


def main() -> int:
    """Parse the options and run the cases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--case", default="recovery,partial,bass,identifiability")
    parser.add_argument("--morris-trajectories", type=int, default=10)
    parser.add_argument("--morris-replicates", type=int, default=3)
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--particles", type=int, default=100)
    parser.add_argument("--bass-particles", type=int, default=100)
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--forecast-draws", type=int, default=100)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--speed-setups", default="1,2,dask",
                        help="speed: which of 1 worker (1), 2 workers (2) and a Dask "
                        "LocalCluster of 2 workers (dask) to time")
    parser.add_argument("--narrow-draws", type=int, default=3,
                        help="draws also calibrated on weeks 1-4 (the narrowing check)")
    parser.add_argument("--first-draw", type=int, default=0,
                        help="recovery/partial: run draws FIRST .. FIRST + DRAWS - 1 (so that "
                        "several processes can share the draws)")
    parser.add_argument("--min-acceptance", type=float, default=0.0,
                        help="recovery/partial: stop each calibration after a generation "
                        "accepting less than this share of its runs (with --generations as "
                        "the most)")
    parser.add_argument("--steps-per-year", type=int, default=365,
                        help="bass: model days per year (365: one step is a day)")
    parser.add_argument("--bass-part", choices=("both", "13", "7"), default="both",
                        help="bass: the 13-year calibration, the 7-year forecast, or both")
    parser.add_argument("--bass-max-minutes", type=float, default=None,
                        help="bass: stop starting generations after this many minutes")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.draws, args.particles, args.bass_particles = 1, 10, 12
        args.generations, args.forecast_draws, args.size = 1, 10, 400
        args.narrow_draws, args.steps_per_year = 1, 4
        args.morris_trajectories, args.morris_replicates = 3, 2
    cases = set(args.case.split(","))
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if cases & {"recovery", "partial"}:
            recovery_and_partial(args, folder, cases)
        if "bass" in cases:
            bass(args, folder)
        if "identifiability" in cases:
            identifiable(args, folder)
        if "speed" in cases:
            speed(args, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
