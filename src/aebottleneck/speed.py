"""The speed page's tables, from the files of benchmarks/bench_training.py (`make bench`)."""
from __future__ import annotations

import pandas as pd


def read_bench(path) -> pd.DataFrame:
    """A benchmark table (benchmarks/bench_training.py's CSV). Files from before the `workers`
    column (every row one process) get workers = 1."""
    bench = pd.read_csv(path)
    if "workers" not in bench:
        bench.insert(2, "workers", 1)
    return bench


def bench_ratios(bench: pd.DataFrame) -> pd.DataFrame:
    """The batched rows of a benchmark table with their speed-ups over the naive and tensor
    loops (same process), and the matmul peak they imply (gflops / peak_fraction) as `peak`."""
    seconds = bench.set_index("method").seconds_per_model_epoch
    batched = bench[bench.method == "batched"].copy()
    batched["vs_naive"] = seconds["naive"] / batched.seconds_per_model_epoch
    batched["vs_tensor"] = seconds["tensor"] / batched.seconds_per_model_epoch
    batched["peak"] = batched.gflops / batched.peak_fraction
    return batched.reset_index(drop=True)


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


def compute_budget(runs: pd.DataFrame) -> pd.DataFrame:
    """Each chapter's runs and the training time they took (runs.csv: train_seconds is a run's
    share of its stack), and a last row for the whole book that counts a run shared by two
    chapters once; hours as measured on the devices named, not projected."""
    per_chapter = (runs.drop_duplicates(["chapter", "key"]).groupby("chapter", sort=False)
                   .agg(runs=("key", "size"), epochs=("epochs", "sum"), hours=("train_seconds", "sum"),
                        devices=("device", lambda d: ", ".join(sorted(set(d))))).reset_index())
    unique = runs.drop_duplicates("key")
    total = {"chapter": "the whole book (each run once)", "runs": len(unique), "epochs": int(unique.epochs.sum()),
             "hours": unique.train_seconds.sum(), "devices": ", ".join(sorted(set(unique.device)))}
    table = pd.concat([per_chapter, pd.DataFrame([total])], ignore_index=True)
    return table.assign(hours=table.hours / 3600)
