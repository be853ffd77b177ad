"""Train a chapter's runs ahead of its notebook, and time them: on a GPU machine, say, whose
run files are then copied into results/runs/ of the machine that executes the notebooks.

    python benchmarks/train_ahead.py penalty_variants --profile paper --bottlenecks 8
    python benchmarks/train_ahead.py decorrelation --profile paper

The configs are the notebooks' own (chapters.decorrelation.decorrelation_grid,
chapters.penalty_variants.variant_runs and linear_code_grid, the latter as `penalty_variants_linear`),
so the notebooks find every run cached. A run's cache key does not name the device: a GPU-trained run differs from a CPU-trained one only by
float round-off (tests/test_cuda.py). Prints the wall time of each code size.
AEB_WORKERS=3 trains each code size's runs on a local Dask cluster of three processes at once
(cache.get_runs), which on a GPU overlaps the launch-bound steps of three stacks (not yet
measured on one). AEB_SCHEDULER=tcp://host:8786 trains them on a running Dask cluster (a GPU
machine's workers, say) while the run files are written here, so none need copying by hand.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from aebottleneck.cache import get_runs
from aebottleneck.files import save_csv
from aebottleneck.config import load_profile
from aebottleneck.chapters.decorrelation import decorrelation_grid
from aebottleneck.chapters.penalty_variants import linear_code_grid, variant_runs
from aebottleneck.train import pick_device

CHAPTERS = ("decorrelation", "penalty_variants", "penalty_variants_linear")


def chapter_runs(chapter: str, settings, n: int, device) -> list[dict]:
    if chapter == "decorrelation":
        return get_runs(decorrelation_grid(settings, n), device=device)
    if chapter == "penalty_variants_linear":   # its linear-code standard runs, apart: they train in parallel
        return get_runs(linear_code_grid(settings, n), device=device)
    selection, table = variant_runs(settings, n, device)
    return selection + table


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapter", choices=CHAPTERS)
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--bottlenecks", type=int, nargs="+", default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--csv", default=None, help="also write the times here: chapter, bottleneck, "
                        "runs, seconds, device (benchmarks/h100/train_times.csv adds processes_on_gpu)")
    args = parser.parse_args()
    settings = load_profile(args.profile, dataset=args.dataset, bottlenecks=args.bottlenecks)
    device = pick_device(args.device).type   # checked here, before any work
    name = torch.cuda.get_device_name() if device == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    total, rows = time.perf_counter(), []
    for n in settings.bottlenecks:
        started = time.perf_counter()
        runs = chapter_runs(args.chapter, settings, n, device)
        rows.append(dict(chapter=args.chapter, bottleneck=n, runs=len({r["key"] for r in runs}),
                         seconds=time.perf_counter() - started, device=name))
        print(f"{args.chapter} n={n}: {rows[-1]['runs']} runs in {rows[-1]['seconds']:.1f} s ({name})", flush=True)
    print(f"{args.chapter}: all code sizes in {time.perf_counter() - total:.1f} s", flush=True)
    if args.csv:
        save_csv(pd.DataFrame(rows), Path(args.csv))


if __name__ == "__main__":
    main()
