"""The package as a user installs it: a wheel in a fresh virtual environment, and ``pip -e``.

The wheel must carry the shipped scenarios (with their edge-list data) and experiments, read
through the installed package, not through the repository next to it. The fresh environment
gets this interpreter's packages (numpy, numba, ...) through a ``.pth`` file, after its own
site-packages, so that ``sim`` comes from the wheel while nothing is downloaded but the build
backend (pip's usual isolated build).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_SCENARIOS = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
SHIPPED_EXPERIMENTS = sorted(p.stem for p in (ROOT / "experiments").glob("*.yaml"))
SMALL = 3000  # persons: above mass_pull's 2,000 pulled persons and the seeds


def _pip_build_options() -> list[str]:
    """Build without isolation when this interpreter has the build backend (offline-safe)."""
    try:
        from importlib.metadata import version

        major = int(version("setuptools").split(".")[0])
        version("wheel")
    except Exception:  # noqa: BLE001 (any missing or odd version: let pip fetch the backend)
        return []
    return ["--no-build-isolation"] if major >= 77 else []


def _fresh_venv(folder: Path) -> tuple[Path, list[str]]:
    """A venv whose sys.path ends with this interpreter's package folders.

    Returns its python and the command that runs pip for it (this interpreter's pip,
    ``--python``: no ensurepip).
    """
    from importlib.metadata import version

    pip_ok = tuple(int(x) for x in version("pip").split(".")[:2]) >= (22, 3)
    venv.EnvBuilder(with_pip=not pip_ok, clear=True).create(folder)
    python = folder / "bin" / "python"
    pip = ([sys.executable, "-m", "pip", "--python", str(python)] if pip_ok
           else [python, "-m", "pip"])
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    ours |= {p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    lines = [p for p in sorted(ours) if Path(p).is_dir() and Path(p).resolve() != ROOT]
    Path(site, "zz_host_packages.pth").write_text("\n".join(lines) + "\n")
    return python, pip


def _env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["NUMBA_CACHE_DIR"] = str(tmp / "numba-cache")
    env["MPLCONFIGDIR"] = str(tmp / "mpl")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(cmd: list, cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          check=False, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


# Runs in the fresh venv, from another folder: every shipped scenario but fish_pond (run by the
# console script before) through the CLI, then every shipped experiment, tiny.
INSTALLED_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import yaml
    import sim
    from sim.cli import main
    from sim.experiments import EXPERIMENTS_DIR, experiment_from_dict, expand, load_experiment
    from sim.experiments import run_sweep
    from sim.scenario_io import SCENARIOS_DIR
    from sim.store import read_results

    small = int(sys.argv[1])
    report = {"sim": sim.__file__, "scenarios": str(SCENARIOS_DIR),
              "experiments": str(EXPERIMENTS_DIR), "runs": {}, "sweeps": {}}
    for file in sorted(SCENARIOS_DIR.glob("*.yaml")):
        if file.stem == "fish_pond":
            continue
        size = [] if file.stem == "facebook" else ["--set", f"population.size={small}"]
        code = main(["run", file.stem, *size, "--steps", "2", "--quiet", "--out",
                     f"runs/{file.stem}"])
        report["runs"][file.stem] = code
    for file in sorted(EXPERIMENTS_DIR.glob("*.yaml")):
        exp = load_experiment(file.stem)  # by its shipped name, with every design point
        runs = len(expand(exp))
        # The same experiment, tiny: one replicate, small populations, two days; a grid keeps
        # the first value of each parameter, a sampled design the fewest samples allowed.
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        data["replicates"] = 1
        data["overrides"] = {**data.get("overrides", {}), "steps": 2,
                             "population": {"size": small}}
        design = data["design"]
        if design["kind"] == "grid":
            design["parameters"] = {k: (v[:1] if isinstance(v, list) else v)
                                    for k, v in design["parameters"].items()}
        elif "samples" in design:
            design["samples"] = 2
        tiny = experiment_from_dict(data, base_dir=EXPERIMENTS_DIR, source=file.name)
        df = read_results(run_sweep(tiny, Path("sweeps") / file.stem, workers=1, progress=False))
        report["sweeps"][file.stem] = {"runs": runs, "tiny_runs": len(df),
                                       "ok": int((df["status"] == "ok").sum())}
    print(json.dumps(report))
""")


def test_wheel_installed_in_a_fresh_venv_runs_every_shipped_scenario_and_experiment(tmp_path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", dist,
          *_pip_build_options()], ROOT, {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    wheel = next(dist.glob("fishpond-*.whl"))
    python, pip = _fresh_venv(tmp_path / "venv")
    env = _env(tmp_path)
    _run([*pip, "install", "--no-deps", "-q", wheel], tmp_path, env)
    elsewhere = tmp_path / "elsewhere"  # no scenarios/ or experiments/ folder here
    elsewhere.mkdir()

    # The README's first command, through the console script (compiles the kernels).
    _run([tmp_path / "venv" / "bin" / "fishpond", "run", "fish_pond", "--set",
          f"population.size={SMALL}", "--steps", "2", "--out", "runs/fish_pond"], elsewhere, env)
    proc = _run([python, "-c", INSTALLED_SCRIPT, SMALL], elsewhere, env)
    report = json.loads(proc.stdout.strip().splitlines()[-1])

    venv_dir = (tmp_path / "venv").resolve()
    for key in ("sim", "scenarios", "experiments"):
        assert Path(report[key]).resolve().is_relative_to(venv_dir), (key, report[key])
    assert sorted(report["runs"]) == [n for n in SHIPPED_SCENARIOS if n != "fish_pond"]
    assert set(report["runs"].values()) == {0}, report["runs"]
    for name in SHIPPED_SCENARIOS:
        summary = json.loads((elsewhere / "runs" / name / "summary.json").read_text())
        expected = 4039 if name == "facebook" else SMALL  # facebook: the edge list's persons
        assert (summary["steps"], summary["population"]) == (2, expected), name
    assert sorted(report["sweeps"]) == SHIPPED_EXPERIMENTS
    for name, got in report["sweeps"].items():
        assert got["runs"] > 1 and got["tiny_runs"] >= 1 and got["ok"] == got["tiny_runs"], (
            name, got
        )
    shipped_files = yaml.safe_load(
        (ROOT / "experiments" / "compare_strategies.yaml").read_text()
    )
    assert report["sweeps"]["compare_strategies"]["tiny_runs"] == len(
        shipped_files["design"]["files"]
    )


def test_editable_install_reads_the_checkout(tmp_path):
    """The README's ``pip install -e .``: shipped names resolve to the checkout's folders."""
    python, pip = _fresh_venv(tmp_path / "venv")
    env = _env(tmp_path)
    _run([*pip, "install", "--no-deps", "-q", "-e", ".", *_pip_build_options()], ROOT, env)
    assert (tmp_path / "venv" / "bin" / "fishpond").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = ("import sim, sim.scenario_io as s, sim.experiments as e, sim.cli; "
              "print(sim.__file__); print(s.resolve_scenario_path('facebook')); "
              "print(e.load_experiment('seed_count').label); "
              "sim.cli.main(['validate', 'facebook'])")
    proc = _run([python, "-c", script], elsewhere, env)
    lines = proc.stdout.splitlines()
    assert lines[0] == str(ROOT / "sim" / "__init__.py")
    assert lines[1] == str(ROOT / "scenarios" / "facebook.yaml")
    assert Path(lines[2]).resolve() == ROOT / "experiments" / "seed_count.yaml"
    assert str(ROOT / "scenarios" / "data" / "facebook_combined.txt") in proc.stdout
