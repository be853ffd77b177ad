"""The run cache: a run is a pure function of its RunConfig, stored under results/runs/<key>.pt.

`get_runs(configs)` returns the results of a list of runs, training only the missing ones, all
runs of one architecture together as one stacked model (with workers > 1, stacks train in
several processes at once). Every file is written to a temporary name and renamed, so an
interrupted write never leaves a half-written result; an unreadable or malformed entry is
reported and retrained, never used.
"""
from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import sys
import traceback
import warnings
from collections import defaultdict
from pathlib import Path
from queue import Empty

import torch
from tqdm import tqdm

from .config import CODE_VERSION, ConfigError, RunConfig, results_dir
from .files import CacheError, load_torch, save_chapter_rows, save_csv, save_text, save_torch  # noqa: F401 (the notebooks import these from here)
from . import train

RUN_KEYS = set(train.Run.__annotations__) - {"code_std"}   # required of a run file (code_std never was)


def check_writable(folder: Path) -> None:
    """Fail before any training if results cannot be written to `folder`."""
    probe = folder / f".write-probe-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise CacheError(f"results folder {folder} is not writable ({exc.strerror or exc}); set "
                         "AEB_RESULTS_DIR to a writable folder") from None


def run_path(cfg: RunConfig | str) -> Path:
    """Where a run (a config, or its key) is saved."""
    return results_dir() / "runs" / f"{cfg if isinstance(cfg, str) else cfg.key()}.pt"


def load_run(cfg: RunConfig) -> dict | None:
    path = run_path(cfg)
    if not path.is_file():
        return None
    run = load_torch(path, RUN_KEYS)
    if run is not None and (run["key"] != cfg.key() or run["code_version"] != CODE_VERSION):
        warnings.warn(f"cache entry {path} belongs to another config; it will be recomputed")
        return None
    return run


def group_key(configs: list[RunConfig]) -> str:
    return hashlib.sha256(",".join(c.key() for c in configs).encode()).hexdigest()[:16]


def checkpoint_path(stack: list[RunConfig]) -> Path:
    return results_dir() / "checkpoints" / f"{group_key(stack)}.pt"


def checkpoints() -> dict[Path, tuple[int, list[str]]]:
    """Every readable checkpoint: path -> (epochs done, keys of its runs)."""
    found = {}
    for path in sorted((results_dir() / "checkpoints").glob("*.pt")):
        saved = load_torch(path, {"epoch", "keys"}, quiet=True)  # an unreadable one: its trainer warns
        if saved is not None:
            found[path] = (saved["epoch"], saved["keys"])
    return found


def warn_unused_checkpoints(parts: list[list[RunConfig]]) -> None:
    """Warn of checkpoints that hold runs of `parts` stacked otherwise (an interrupted run made
    with another workers setting): a stack resumes only from its own, so those runs start over."""
    todo, own = {c.key() for part in parts for c in part}, {checkpoint_path(part) for part in parts}
    for path, (epoch, keys) in checkpoints().items():
        shared = todo.intersection(keys)
        if shared and path not in own:
            warnings.warn(f"checkpoint {path} holds {len(shared)} of these runs after {epoch} epochs, "
                          "stacked with other runs (another workers setting?), so they start over; "
                          "to resume from it instead, interrupt and rerun with that setting. It is "
                          "removed once they are saved.", stacklevel=3)


def prune_checkpoints() -> None:
    """Remove every checkpoint that holds a saved run. Stacks are formed of missing runs only,
    so no stack can ever resume from it (a leftover of another workers setting)."""
    for path, (_, keys) in checkpoints().items():
        if any(run_path(key).is_file() for key in keys):
            path.unlink(missing_ok=True)


def pick_workers(workers: int | str | None = None) -> int:
    """How many processes train at once: an integer >= 1; default $AEB_WORKERS, else 1.
    Each process gets its share of the CPU threads (or shares the GPU) and trains its own stacks."""
    workers = os.environ.get("AEB_WORKERS", "1") if workers is None else workers
    if isinstance(workers, str) and workers.isdigit():
        workers = int(workers)
    cores = os.cpu_count() or 1   # more processes than cores only share them (each holds ~0.8 GB)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= cores:
        raise ConfigError(f"workers={workers!r} is not allowed: an integer from 1 to {cores}, the cores of this "
                          "machine (the argument, or $AEB_WORKERS when it is None)")
    return workers


def worker_threads(workers: int) -> int:
    """CPU threads each of `workers` processes trains with: its share of this process's threads.
    MKL sums in another order with another thread count, so a run is bitwise reproducible only
    with the same count (tests/test_parallel.py pins it on both sides)."""
    return max(1, torch.get_num_threads() // workers)


def stacks(missing: list[RunConfig], workers: int) -> list[list[RunConfig]]:
    """The stacked models that train `missing`: one per architecture when one process trains
    them or when they divide evenly among `workers` processes; else each architecture's runs
    are cut into `workers` near-equal parts (sorted by seed, so a part holds few seeds), so
    that no process sits idle at the end. Stacks for several processes come longest first."""
    groups = defaultdict(list)
    for cfg in missing:
        groups[cfg.architecture].append(cfg)
    if workers == 1:
        return list(groups.values())      # in the order the runs were asked for
    if len(groups) % workers == 0:
        parts = list(groups.values())
    else:
        parts = []
        for group in groups.values():
            group, p = sorted(group, key=lambda c: c.seed), min(workers, len(group))
            parts += [group[i * len(group) // p:(i + 1) * len(group) // p] for i in range(p)]
    return sorted(parts, key=lambda part: -sum(c.epochs * c.train_size for c in part))  # longest first


def train_and_save(stack: list[RunConfig], device: torch.device, progress: bool = True,
                   on_epoch=None) -> list[dict]:
    """Train one stack (resuming from its checkpoint), save each run's file, drop the checkpoint."""
    checkpoint = checkpoint_path(stack)
    runs = train.train_runs(stack, device, progress, checkpoint, on_epoch=on_epoch)
    for cfg, run in zip(stack, runs):
        save_torch(run, run_path(cfg))
    checkpoint.unlink(missing_ok=True)
    return runs


class _Messages(io.TextIOBase):
    """A worker's stdout and stderr (warnings, a diverged run), sent line by line to the parent,
    which prints them: a notebook shows the parent's output, not its children's."""

    def __init__(self, reports):
        self.reports, self.pending = reports, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            self.reports.put(("message", -1, line))
        return len(text)


def _worker(tasks, reports, device: str, threads: int) -> None:
    """A worker process: train stacks from `tasks` until None; report epochs, ends and failures."""
    torch.set_num_threads(threads)
    sys.stdout = sys.stderr = _Messages(reports)
    while (task := tasks.get()) is not None:
        index, stack = task
        try:
            train_and_save(stack, torch.device(device), progress=False,
                           on_epoch=lambda done: reports.put(("epoch", index, done)))
        except Exception:
            reports.put(("failed", index, traceback.format_exc()))
            return
        reports.put(("done", index, None))


def train_in_parallel(parts: list[list[RunConfig]], device: torch.device, workers: int,
                      progress: bool = True) -> None:
    """Train the stacks `parts` in `workers` processes (each with its share of the threads) and
    save their runs; one progress bar counts the epochs of all stacks. A failure stops every
    worker and is raised here; finished stacks are saved, the others resume from checkpoints."""
    context = multiprocessing.get_context("spawn")  # fork is unsafe once torch has started threads
    tasks, reports = context.Queue(), context.Queue()
    for task in [*enumerate(parts), *[None] * workers]:
        tasks.put(task)
    processes = [context.Process(target=_worker, args=(tasks, reports, str(device), worker_threads(workers)))
                 for _ in range(workers)]
    epochs, finished = [0] * len(parts), 0
    bar = tqdm(total=sum(part[0].epochs for part in parts), disable=not progress, unit="epoch",
               desc=f"{sum(map(len, parts))} runs in {len(parts)} stacks, {workers} processes")
    try:
        for process in processes:
            process.start()
        while finished < len(parts):
            try:
                kind, index, value = reports.get(timeout=1.0)
            except Empty:
                dead = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(f"a worker process died (exit code {dead[0]}); finished "
                                       "stacks are saved, the others resume from checkpoints") from None
                continue
            if kind == "message":
                tqdm.write(value, file=sys.stderr)
            elif kind == "failed":
                raise RuntimeError(f"stack {index} ({len(parts[index])} runs) failed in a worker "
                                   f"process:\n{value}")
            elif kind == "epoch":
                bar.update(value - epochs[index])
                epochs[index] = value
            else:
                finished += 1
    finally:  # after a failure or an interrupt, stop the other workers too
        bar.close()
        for process in [p for p in processes if p.pid is not None]:  # the started ones
            if process.is_alive() and finished < len(parts):
                process.terminate()
            process.join()


def get_runs(configs: list[RunConfig], device: str | None = None, progress: bool = True,
             workers: int | None = None) -> list[train.Run]:
    """Results for `configs` (in order): cached ones loaded, missing ones trained and saved.

    Missing runs that share an architecture are trained together as one stacked model. With
    `workers` > 1 (default $AEB_WORKERS, else 1) that many processes train stacks at once
    (`stacks` says which), and scripts need the `if __name__ == "__main__":` guard of
    multiprocessing's spawn. A run in another stack can differ by float round-off, which a
    chaotic run (the unbounded signed penalty) amplifies; the default keeps one process.
    A checkpoint under results/checkpoints lets an interrupted stack resume where it stopped
    (run again with the same workers setting: a checkpoint of other stacks is not resumed from;
    it is warned of, and removed once its runs are saved).
    """
    for cfg in configs:
        if not isinstance(cfg, RunConfig):
            raise TypeError(f"get_runs expects RunConfig objects, got {type(cfg).__name__}")
    torch_device = train.pick_device(device)  # an unavailable device fails here, before any work
    found = {cfg.key(): load_run(cfg) for cfg in configs}
    missing = list({cfg.key(): cfg for cfg in configs if found[cfg.key()] is None}.values())
    n_workers = pick_workers(workers)  # a bad value fails here too, before any work
    if missing:
        check_writable(results_dir())
        parts = stacks(missing, n_workers)
        warn_unused_checkpoints(parts)
        if n_workers == 1:
            for part in parts:
                found.update((cfg.key(), run) for cfg, run in zip(part, train_and_save(part, torch_device, progress)))
        else:
            train_in_parallel(parts, torch_device, n_workers, progress)
            for cfg in missing:
                found[cfg.key()] = load_run(cfg)
                if found[cfg.key()] is None:
                    raise CacheError(f"a worker trained {cfg.label()} but {run_path(cfg)} cannot be read")
        prune_checkpoints()
    return [found[cfg.key()] for cfg in configs]
