"""How far the quick profile's checked numbers move with the machine: the tolerances of
tests/test_quick_numbers.py are set from what this prints.

    python benchmarks/portability.py                 # every setting not yet measured, then the summary
    python benchmarks/portability.py --summary-only  # the summary of what is measured

Each setting executes the notebooks whose tables CI checks (quick profile, MNIST, and the
decorrelation notebook on Fashion-MNIST) in a fresh process tree with its own results folder
(results/portability/<setting>/), so nothing is shared through the run cache. The settings change
what another CPU would change: the thread count (MKL sums in another order) and ATen's kernels
(ATEN_CPU_CAPABILITY: default, avx2, or the machine's own). A setting already measured is kept
(resumable). The summary, benchmarks/portability/spread.csv, gives each checked number's range
over the settings (machines.txt: the machine and setting of each); run_spread.csv each run's
range and whether it ran away.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "results" / "portability"        # each setting's runs and tables (not committed)
SUMMARY = ROOT / "benchmarks" / "portability"   # the measured spread (committed)
NOTEBOOKS = ["decorrelation", "penalty_variants", "pca_vs_ae", "regularizers", "activations_losses"]
# the notebooks whose runs can run away (and activations_losses, cheap): what every setting runs at least
CORE = ["decorrelation", "penalty_variants", "activations_losses"]
# name -> environment: each one a way another machine could sum differently
SETTINGS = {
    "native-2threads": {"OMP_NUM_THREADS": "2"},
    "native-1thread": {"OMP_NUM_THREADS": "1"},
    "avx2-2threads": {"OMP_NUM_THREADS": "2", "ATEN_CPU_CAPABILITY": "avx2"},
    "default-1thread": {"OMP_NUM_THREADS": "1", "ATEN_CPU_CAPABILITY": "default"},
}
# MKL's conditional numerical reproducibility (the same code path on any AVX2 CPU), measured on
# Table 1 only: do its runs equal those of another CPU (tests/test_quick_numbers.py's values)?
CBWR = {"cbwr-avx2-2threads": {"OMP_NUM_THREADS": "2", "ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}}
# table -> the columns that identify a row; every other numeric column is a checked number
TABLES = {
    "table1": ["bottleneck", "method"],
    "penalty_variants": ["bottleneck", "variant", "activation"],
    "pca_vs_ae": ["method", "bottleneck"],
    "regularizers": ["model"],
    "activations_losses": ["model", "output", "loss"],
    "fashion_table1": ["bottleneck", "method"],
}


def execute(name: str, env: dict, notebooks: list[str], fashion: bool = True) -> None:
    folder = BASE / name
    environment = {**os.environ, **env, "AEB_RESULTS_DIR": str(folder), "AEB_WORKERS": "1"}
    run = [sys.executable, "-m", "aebottleneck.execute", "--profile", "quick", "--output-dir",
           str(folder / "executed")]
    subprocess.run([*run, *notebooks], env=environment, check=True)
    if fashion:
        subprocess.run([*run, "-p", "dataset", "fashion_mnist", "decorrelation"], env=environment, check=True)


def machine(env: dict) -> str:
    """The CPU, thread count and ATen capability a setting runs with (aebottleneck.machine, in
    a process with the setting's environment)."""
    probe = "from aebottleneck.machine import describe; d = describe(); print(d['threads'], d['cpu_capability'], d['cpu'])"
    threads, capability, cpu = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **env},
                                              capture_output=True, text=True, check=True).stdout.strip().split(" ", 2)
    return f"{cpu}; {threads} threads; ATen {capability}"


def read(name: str) -> pd.DataFrame:
    """Every checked number of one setting, long form: table, row, column, value."""
    quick = BASE / name / "quick"
    frames = []
    for table, index in TABLES.items():
        path = quick.with_name("quick-fashion_mnist") / "table1.csv" if table == "fashion_table1" \
            else quick / f"{table}.csv"
        if not path.is_file():          # a setting measured with --core
            continue
        frame = pd.read_csv(path)
        long = frame.melt(id_vars=index, value_vars=[c for c in frame.select_dtypes("number") if c not in index])
        long["row"] = long[index].astype(str).agg(" / ".join, axis=1)
        frames.append(long.assign(table=table)[["table", "row", "variable", "value"]])
    return pd.concat(frames).assign(setting=name)


def summary(names: list[str]) -> pd.DataFrame:
    """Per checked number: its value in each setting, and max - min over the settings."""
    wide = pd.concat(read(n) for n in names).set_index(["table", "row", "variable", "setting"]).value.unstack()
    wide = wide[names]
    values = wide.copy()
    wide["n_settings"] = values.notna().sum(axis=1)
    wide["spread"] = values.max(axis=1) - values.min(axis=1)
    return wide.reset_index()


def runs(name: str) -> pd.DataFrame:
    """Every run one setting trained: key, test RMSE, runaway flag and code scale (runtable.runs_frame)."""
    from aebottleneck.cache import load_torch
    from aebottleneck.runtable import runs_frame

    frame = runs_frame([load_torch(path) for path in sorted((BASE / name / "runs").glob("*.pt"))])
    return frame[["key", "bottleneck", "penalty", "alpha", "seed", "test_rmse", "runaway", "code_std_mean"]]


def run_spread(names: list[str]) -> pd.DataFrame:
    """Per run: max - min of its test RMSE over the settings, whether it ran away in any, and its
    smallest code scale; runs trained in at least two settings."""
    every = pd.concat(runs(n).assign(setting=n) for n in names)
    per_run = every.groupby("key").agg(
        penalty=("penalty", "first"), alpha=("alpha", "first"), n_settings=("setting", "nunique"),
        rmse_min=("test_rmse", "min"), rmse_max=("test_rmse", "max"), runaway_any=("runaway", "any"),
        runaway_all=("runaway", "all"), code_std_min=("code_std_mean", "min"))
    per_run = per_run[per_run.n_settings >= 2]
    per_run["rmse_spread"] = per_run.rmse_max - per_run.rmse_min
    return per_run.reset_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--core", action="store_true", help=f"only {', '.join(CORE)} (and Fashion-MNIST's Table 1)")
    parser.add_argument("--notebooks", nargs="+", default=None, help="only these (and Fashion-MNIST's Table 1)")
    parser.add_argument("settings", nargs="*", default=[*SETTINGS, *CBWR])
    args = parser.parse_args()
    for name in args.settings:
        done, env = BASE / name / "machine.txt", {**SETTINGS, **CBWR}[name]
        if not args.summary_only and not done.is_file():
            notebooks = (args.notebooks or (CORE if args.core else NOTEBOOKS)) if name in SETTINGS else ["decorrelation"]
            execute(name, env, notebooks, fashion=name in SETTINGS)
            done.write_text(machine(env) + "\n")
    measured = [n for n in SETTINGS if (BASE / n / "machine.txt").is_file()]
    table = summary(measured)
    SUMMARY.mkdir(exist_ok=True)
    table.to_csv(SUMMARY / "spread.csv", index=False)
    (SUMMARY / "machines.txt").write_text("".join(f"{n}: {(BASE / n / 'machine.txt').read_text()}"
                                                  for n in [*SETTINGS, *CBWR] if (BASE / n / "machine.txt").is_file()))
    for name in measured:
        print(f"{name}: {(BASE / name / 'machine.txt').read_text().strip()}")
    for name in [n for n in CBWR if (BASE / n / "machine.txt").is_file()]:
        print(f"{name} ({(BASE / name / 'machine.txt').read_text().strip()}), Table 1:")
        print(pd.read_csv(BASE / name / "quick" / "table1.csv").to_string(index=False))
    per_run = run_spread(measured)
    per_run.to_csv(SUMMARY / "run_spread.csv", index=False)
    with pd.option_context("display.width", 250, "display.max_rows", 500, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.5g}"))
        print(per_run.groupby(["runaway_any", "penalty"]).agg(
            runs=("key", "size"), rmse_spread_max=("rmse_spread", "max"), rmse_min=("rmse_min", "min"),
            code_std_min=("code_std_min", "min"), runaway_all=("runaway_all", "all")).to_string())


if __name__ == "__main__":
    main()
