"""The speed page's tables and the numbers its text quotes, from the files of
benchmarks/bench_training.py (`make bench`), the recorded H100 run and runs.csv.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import TRAIN_SIZE


# What a reader sees for the columns of the page's tables, and how their values are printed.
BENCH_COLUMNS = {"method": "method", "k": "K", "workers": "processes", "seconds_per_model_epoch": "s per model-epoch",
                 "gflops": "GFLOP/s", "peak_fraction": "of peak"}
BENCH_FORMATS = {"seconds_per_model_epoch": "{:.3f}", "gflops": "{:.1f}", "peak_fraction": "{:.1%}"}   # as the ratio tables print it
RATIO_COLUMNS = {"k": "K", "workers": "processes", "seconds_per_model_epoch": "s per model-epoch",
                 "vs_naive": "vs tutorial loop", "vs_tensor": "vs tensor loop", "peak_fraction": "of peak"}
RATIO_FORMATS = {"seconds_per_model_epoch": "{:.3f}", "vs_naive": "{:.1f}x", "vs_tensor": "{:.1f}x",
                 "peak_fraction": "{:.1%}", "gflops": "{:.0f}"}
H100_COLUMNS = ({key: RATIO_COLUMNS[key] for key in ("k", "seconds_per_model_epoch", "vs_naive", "vs_tensor")}
                | {"gflops": "GFLOP/s", "peak_fraction": "of peak"})
ALLOCATOR_COLUMNS = {"method": "method", "k": "K", "reuse_freed_memory": "freed memory reused",
                     "seconds_per_model_epoch": "s per model-epoch", "page_faults_per_step": "page faults per step"}
ALLOCATOR_FORMATS = {"seconds_per_model_epoch": "{:.3f}", "page_faults_per_step": "{:.1f}"}
BUDGET_COLUMNS = {"chapter": "chapter", "runs": "runs", "epochs": "model-epochs", "minutes": "training minutes",
                  "devices": "trained on"}
BUDGET_FORMATS = {"minutes": "{:,.1f}"}   # minutes read at both scales: a quick chapter's 0.6, the record's 4,000


def read_bench(path) -> pd.DataFrame:
    """A benchmark table (benchmarks/bench_training.py's CSV). Files from before the `workers`
    column (every row one process) get workers = 1."""
    bench = pd.read_csv(path)
    if "workers" not in bench:
        bench.insert(2, "workers", 1)
    return bench


def read_measurements(bench_path, allocator_path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """This machine's benchmark and allocator tables (`make bench`); a missing file, or a benchmark
    from before the rows the page quotes, is refused with a message naming the file and what to run."""
    bench_path, allocator_path = Path(bench_path), Path(allocator_path)
    if not bench_path.is_file():
        raise FileNotFoundError(f"{bench_path} is missing: run `make bench` first (make book and make test do)")
    bench = read_bench(bench_path)
    if not allocator_path.is_file():
        raise FileNotFoundError(f"{allocator_path} is missing (written by `make bench` on the CPU): run `make bench`")
    allocator = pd.read_csv(allocator_path)  # per method: glibc's defaults, then reuse_freed_memory()
    if not (bench.workers > 1).any():
        raise ValueError(f"{bench_path} has no row with workers > 1 (measured before the benchmark timed "
                         "several processes, or with --workers 1): run `make bench`")
    if not {"trainer", "dask"} <= set(bench.method):
        raise ValueError(f"{bench_path} has no `trainer` and `dask` rows (measured before the benchmark timed "
                         "a local Dask cluster, or with --dask-reps 0): run `make bench`")
    return bench, allocator


def bench_ratios(bench: pd.DataFrame) -> pd.DataFrame:
    """The batched rows of a benchmark table with their speed-ups over the naive and tensor
    loops (same process), and the matmul peak they imply (gflops / peak_fraction) as `peak`."""
    seconds = bench.set_index("method").seconds_per_model_epoch
    batched = bench[bench.method == "batched"].copy()
    batched["vs_naive"] = seconds["naive"] / batched.seconds_per_model_epoch
    batched["vs_tensor"] = seconds["tensor"] / batched.seconds_per_model_epoch
    batched["peak"] = batched.gflops / batched.peak_fraction
    return batched.reset_index(drop=True)


def protocol_runs(profile) -> int:
    """How many runs a profile's Table 1 protocol trains: the decorrelation grid of every code size."""
    from .decorrelation import decorrelation_grid  # imports torch and the trainer: only the page needs it

    return sum(len(decorrelation_grid(profile, n)) for n in profile.bottlenecks)


def bench_numbers(bench: pd.DataFrame, settings, paper) -> dict:
    """The numbers the page quotes from this machine's benchmark (glued as `bench_<key>`): the fastest
    one-process stack against the baselines and the peak, the protocols of `settings` and of the
    paper profile `paper` in time, and the gains of several processes and of a Dask task."""
    batched = bench_ratios(bench)
    one_process = batched[batched.workers == 1]
    best = one_process.loc[one_process.seconds_per_model_epoch.idxmin()]
    tensor = bench[bench.method == "tensor"]
    tensor_fraction = float(tensor.peak_fraction.item())
    tensor_seconds = tensor.seconds_per_model_epoch.item()
    runs, paper_runs = protocol_runs(settings), protocol_runs(paper)
    parallel = batched[batched.workers > 1].iloc[0]  # each process trains its own stack of K
    single = one_process[one_process.k == parallel.k].iloc[0]
    return {
        "peak": float(best.peak), "best_k": int(best.k), "best_gflops": float(best.gflops),
        "best_peak_fraction": float(best.peak_fraction),
        "vs_naive": float(best.vs_naive), "vs_tensor": float(best.vs_tensor),
        "tensor_peak_fraction": tensor_fraction, "three_tensor_fraction": float(3 * tensor_fraction),
        "tensor_bound": float(1 / tensor_fraction),  # no stack can beat the tensor loop by more
        "grid_runs": runs,
        "grid_minutes": float(best.seconds_per_model_epoch * runs * settings.epochs * settings.train_size / TRAIN_SIZE / 60),
        "paper_runs": paper_runs, "paper_epochs": paper.epochs,
        "paper_tensor_hours": tensor_seconds * paper_runs * paper.epochs / 3600,
        "tensor_vs_naive": bench[bench.method == "naive"].seconds_per_model_epoch.item() / tensor_seconds,
        "workers": int(parallel.workers), "workers_k": int(parallel.k),
        "workers_peak_fraction": float(parallel.peak_fraction),
        "workers_gain": float(single.seconds_per_model_epoch / parallel.seconds_per_model_epoch),
        "dask_overhead": dask_overhead(bench),
    }


def dask_overhead(bench: pd.DataFrame) -> float:
    """What training a stack as the task of a local Dask cluster (row `dask`) costs over training
    it in this process (row `trainer`, same stack, epochs and threads), as a fraction (0.05: 5%)."""
    seconds = bench.set_index("method").seconds_per_model_epoch
    return float(seconds["dask"] / seconds["trainer"] - 1)


def allocator_gains(allocator: pd.DataFrame) -> pd.DataFrame:
    """Per method of results/bench_allocator.csv (its first row glibc's defaults, its second
    after train.reuse_freed_memory): k, the speed-up `gain` and the page faults per step of each."""
    rows = {}
    for method, timings in allocator.groupby("method", sort=False):
        default, reused = timings.iloc[0], timings.iloc[1]
        rows[method] = {"k": int(default.k),
                        "gain": default.seconds_per_model_epoch / reused.seconds_per_model_epoch,
                        "faults_default": default.page_faults_per_step,
                        "faults_reused": reused.page_faults_per_step}
    return pd.DataFrame.from_dict(rows, orient="index")


def allocator_numbers(allocator: pd.DataFrame) -> dict:
    """The numbers the page quotes from the allocator table (glued as `alloc_<key>`): each method's
    gain and page faults (`batched_gain`, ...) and the K of the stack timed."""
    gains = allocator_gains(allocator)
    numbers = {f"{method}_{name}": float(row[name])
               for method, row in gains.iterrows() for name in ("gain", "faults_default", "faults_reused")}
    return numbers | {"k": int(gains.loc["batched"].k)}


def h100_numbers(bench: pd.DataFrame, times: pd.DataFrame, paper) -> dict:
    """The numbers the page quotes from the recorded H100 run (glued as `h100_<key>`): its benchmark
    `bench` and the chapters' wall times `times` (train_times.csv, trained with the profile `paper`)."""
    ratios = bench_ratios(bench)
    best = ratios.loc[ratios.seconds_per_model_epoch.idxmin()]
    table1 = times[times.chapter == "decorrelation"]
    variants = times[times.chapter.str.startswith("penalty_variants")]
    epoch_seconds = table1.seconds.mean() / paper.epochs  # s per epoch of one stack (K = 12)
    steps = -(-paper.train_size // paper.batch_size)
    return {
        "peak": float(best.peak), "best_k": int(best.k), "best_gflops": float(best.gflops),
        "best_peak_fraction": float(best.peak_fraction), "best_vs_tensor": float(best.vs_tensor),
        "k1_vs_tensor": float(ratios[ratios.k == 1].vs_tensor.item()),
        "table1_seconds": float(table1.seconds.sum()), "table1_runs": int(table1.runs.sum()),
        "epoch_seconds": float(epoch_seconds), "step_ms": float(epoch_seconds / steps * 1000),
        "variant_runs": int(variants.runs.sum()), "variant_minutes": float(variants.seconds.max() / 60),
    }


def compute_budget(runs: pd.DataFrame) -> pd.DataFrame:
    """Each chapter's runs and the training time they took (runs.csv: train_seconds is a run's
    share of its stack), and a last row for the whole book that counts a run shared by two
    chapters once; minutes as measured on the devices named, not projected."""
    per_chapter = (runs.drop_duplicates(["chapter", "key"]).groupby("chapter", sort=False)
                   .agg(runs=("key", "size"), epochs=("epochs", "sum"), seconds=("train_seconds", "sum"),
                        devices=("device", lambda d: ", ".join(sorted(set(d))))).reset_index())
    unique = runs.drop_duplicates("key")
    total = {"chapter": "the whole book (each run once)", "runs": len(unique), "epochs": int(unique.epochs.sum()),
             "seconds": unique.train_seconds.sum(), "devices": ", ".join(sorted(set(unique.device)))}
    table = pd.concat([per_chapter, pd.DataFrame([total])], ignore_index=True)
    return table.assign(minutes=table.seconds / 60).drop(columns="seconds")   # one unit: hours are derived where quoted


def compute_numbers(budget: pd.DataFrame) -> dict:
    """The whole book's runs and training time (the last row of `compute_budget`), glued as `compute_<key>`."""
    minutes = float(budget.minutes.iloc[-1])
    return {"hours": minutes / 60, "minutes": minutes, "runs": int(budget.runs.iloc[-1])}
