"""The run cache: a run is a pure function of its RunConfig, stored under results/runs/<key>.pt.

`get_runs(configs)` returns the results of a list of runs, training only the missing ones, all
runs of one architecture together as one stacked model (with workers > 1 or a scheduler, stacks
train at once as tasks of a Dask cluster, local or running, whose results come back here). Every
file is written to a temporary name and renamed, so an interrupted write never leaves a
half-written result; an unreadable or malformed entry is reported and retrained, never used.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
import tempfile
import time
import traceback
import uuid
import warnings
from collections import defaultdict
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import torch
from tqdm import tqdm

from .config import CODE_VERSION, ConfigError, RunConfig, results_dir
from .files import CacheError, load_torch, save_torch, write_atomic
from . import record, train

RUN_KEYS = set(train.Run.__annotations__) - {"code_std"}   # required of a run file (code_std never was)
CONNECT_SECONDS = 10   # how long a scheduler named by $AEB_SCHEDULER has to answer
RESUBMITS = 3          # how many times a stack whose worker was lost is sent again
POLL_SECONDS = 0.2     # how often the driver looks for finished stacks and reports of the others


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
    """How many processes train at once: an integer >= 1; default $AEB_WORKERS, else 1. More
    than 1 starts a local Dask cluster of that many worker processes, each with its share of the
    CPU threads (or sharing the GPU), each training its own stacks."""
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


def save_stack(stack: list[RunConfig], runs: list[train.Run]) -> None:
    """Save each trained run of a stack to its file, then drop the stack's checkpoint."""
    for cfg, run in zip(stack, runs):
        save_torch(run, run_path(cfg))
    checkpoint_path(stack).unlink(missing_ok=True)


def train_and_save(stack: list[RunConfig], device: torch.device, progress: bool = True) -> list[train.Run]:
    """Train one stack in this process (resuming from its checkpoint) and save it (save_stack)."""
    runs = train.train_runs(stack, device, progress, checkpoint_path(stack))
    save_stack(stack, runs)
    return runs


class _Messages(io.TextIOBase):
    """A task's stdout and stderr (warnings, a diverged run), sent line by line to the driver,
    which prints them: a notebook shows the driver's output, not its workers'."""

    def __init__(self, send):
        self.send, self.pending = send, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            self.send(("message", line))
        return len(text)


def _train_stack(stack: list[RunConfig], device: str, threads: int | dict, channel: str, index: int,
                 checkpoint: bytes | None) -> list[train.Run]:
    """A Dask task: train one stack on this worker with `threads` CPU threads (or its entry by worker
    address), from `checkpoint` (bytes) if given, checkpointing to a temporary file of its own. Every
    epoch, the line printed and the checkpoint's bytes go to the driver over the queue `channel`;
    the task stops at the next epoch once the driver sets the event `channel` (no orphan work)."""
    from distributed import Event, Queue, get_worker

    reports, stop = Queue(channel), Event(channel)
    if isinstance(threads, dict):   # a worker that joined after the count: one thread, no oversubscription
        threads = threads.get(get_worker().address, 1)
    torch.set_num_threads(threads)

    def on_epoch(done: int) -> None:
        if stop.is_set():
            raise RuntimeError("the driver stopped the grid")
        saved = train.checkpoint_due(done, stack[0].epochs)      # train_runs has just written one
        reports.put((index, "epoch", (done, path.read_bytes() if saved else None)))

    messages = _Messages(lambda message: reports.put((index, *message)))
    with tempfile.TemporaryDirectory() as folder, redirect_stdout(messages), redirect_stderr(messages):
        path = Path(folder) / "checkpoint.pt"
        if checkpoint is not None:
            path.write_bytes(checkpoint)
        return train.train_runs(stack, train.pick_device(device), False, path, on_epoch=on_epoch)


def read_checkpoint(stack: list[RunConfig]) -> bytes | None:
    """The bytes of the stack's checkpoint, sent with its task; None without a readable one (an
    unreadable one is warned of here, where its path means something, and starts over)."""
    path = checkpoint_path(stack)
    if not path.is_file() or load_torch(path, {"epoch", "keys", "model", "optimizer", "history"}) is None:
        return None
    return path.read_bytes()


def pick_scheduler(address: str | None = None) -> str | None:
    """The address of a running Dask scheduler to train on: the argument, else $AEB_SCHEDULER,
    else None (train in this process, or on a local cluster of `workers` processes)."""
    from distributed.comm import parse_address

    address = (os.environ.get("AEB_SCHEDULER") or None) if address is None else address
    if address is not None:
        try:
            parse_address(address, strict=True)
        except (TypeError, ValueError):
            raise ConfigError(f"scheduler={address!r} is not a Dask scheduler address such as "
                              "tcp://host:8786 (the argument, or $AEB_SCHEDULER when it is None)") from None
    return address


def connect(address: str | None, workers: int, device: str):
    """A Dask client: of the scheduler at `address`, which must answer within CONNECT_SECONDS,
    else of a new local cluster of `workers` one-thread processes (each with a GPU resource when
    training on CUDA), whose scheduler reports a lost worker at once so that the driver resends
    its stack from the latest checkpoint (train_on_cluster)."""
    import dask
    from distributed import Client

    if address is None:
        resources = {"GPU": 1} if device == "cuda" else None
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            return Client(n_workers=workers, threads_per_worker=1, processes=True, resources=resources,
                          dashboard_address=None)
    try:
        return Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"no Dask scheduler answers at {address} within {CONNECT_SECONDS} s "
                          f"({type(exc).__name__}: {exc}); start one (README, Settings) or unset "
                          "AEB_SCHEDULER (the address given, or $AEB_SCHEDULER)") from None


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cluster_threads(client, device: str) -> dict[str, int]:
    """CPU threads per task on each worker of a running cluster (by address): its host's cores
    shared among every task slot on that host, so that workers do not oversubscribe the cores.
    Fails when training on CUDA and no worker offers a GPU resource (the tasks would wait forever)."""
    info = client.scheduler_info()["workers"]
    if device == "cuda" and info and not any(w.get("resources", {}).get("GPU") for w in info.values()):
        raise ConfigError(f"device='cuda' but no worker of the scheduler at {client.scheduler.address} "
                          "has a GPU resource: start GPU workers with `--resources GPU=1`")
    slots, cores = defaultdict(int), client.run(_cores)
    for worker in info.values():
        slots[worker["host"]] += worker["nthreads"]
    return {address: max(1, cores[address] // slots[w["host"]]) for address, w in info.items() if address in cores}


def _submit(client, stack: list[RunConfig], index: int, device: str, threads, channel: str):
    """The task of one stack (a fresh key each time: a resent stack is a new task), from its
    latest checkpoint, asking for a GPU resource when it trains on CUDA."""
    import dask

    # The checkpoint (about 2.6 MB a run) travels with its task on purpose: workers share no disk.
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "2GB"}):
        return client.submit(_train_stack, stack, device, threads, channel, index, read_checkpoint(stack),
                             key=f"train-{group_key(stack)}-{uuid.uuid4().hex[:8]}",
                             resources={"GPU": 1} if device == "cuda" else None)


def _report(reports, parts, epochs: list[int], saved: list[int], bar) -> None:
    """Apply what the tasks sent since the last call: epochs done (the bar), checkpoints (saved
    here, where an interrupted grid resumes from them), printed lines."""
    for index, kind, value in reports.get(batch=True):
        if kind == "message":
            tqdm.write(value, file=sys.stderr)
            continue
        done, checkpoint = value
        if checkpoint is not None:
            write_atomic(checkpoint, checkpoint_path(parts[index]))
            saved[index] = done
        bar.update(done - epochs[index])
        epochs[index] = done


def _failure(future, stack: list[RunConfig], index: int) -> RuntimeError:
    exc = future.exception()
    where = "".join(traceback.format_exception(type(exc), exc, future.traceback()))
    return RuntimeError(f"stack {index} failed on a Dask worker; its {len(stack)} runs: "
                        f"{', '.join(f'{c.label()} [{c.key()}]' for c in stack)}\n{where}")


def train_on_cluster(parts: list[list[RunConfig]], client, device: str, threads,
                     progress: bool = True) -> dict[str, train.Run]:
    """Train the stacks `parts` as tasks of the Dask `client`, save each run they return (key ->
    run) and their checkpoints here; one bar counts the epochs of all workers. A stack whose
    worker is lost is sent again from its checkpoint (up to RESUBMITS times); a failing stack is
    raised with its runs. On any exit the stacks still out are cancelled and told to stop."""
    from distributed import Event, KilledWorker, Queue, as_completed

    channel = f"aebottleneck-{uuid.uuid4().hex}"
    reports, stop = Queue(channel, client=client), Event(channel, client=client)
    futures = {_submit(client, part, i, device, threads, channel): i for i, part in enumerate(parts)}
    pending, epochs, saved, resent, runs = as_completed(futures), [0] * len(parts), [0] * len(parts), [0] * len(parts), {}
    bar = tqdm(total=sum(part[0].epochs for part in parts), disable=not progress, unit="epoch",
               desc=f"{sum(map(len, parts))} runs in {len(parts)} stacks on Dask")
    try:
        while not pending.is_empty():
            finished = pending.next_batch(block=False)   # before the reports: theirs are all in
            _report(reports, parts, epochs, saved, bar)
            for future in finished:
                i = futures.pop(future)
                if future.status == "finished":
                    save_stack(parts[i], future.result())
                    runs.update((cfg.key(), run) for cfg, run in zip(parts[i], future.result()))
                elif isinstance(future.exception(), KilledWorker) and resent[i] < RESUBMITS:
                    resent[i] += 1
                    tqdm.write(f"stack {i} lost its worker after {epochs[i]} epochs; sent again from "
                               f"its checkpoint of epoch {saved[i]}", file=sys.stderr)
                    bar.update(saved[i] - epochs[i])
                    epochs[i] = saved[i]
                    futures[new := _submit(client, parts[i], i, device, threads, channel)] = i
                    pending.add(new)
                else:
                    raise _failure(future, parts[i], i)
            if not finished:
                time.sleep(POLL_SECONDS)
    finally:
        bar.close()
        with contextlib.suppress(Exception):   # the scheduler may be gone: nothing left to stop
            stop.set()
            client.cancel(list(futures), force=True)
    return runs


def pick_device_name(device: str | None, remote: bool) -> str:
    """The device stacks train on, checked here before any work; on a running cluster, 'cuda' is
    the workers' (this machine may have none) and 'auto' is each worker's own choice."""
    name = device or os.environ.get("AEB_DEVICE", "auto")
    return name if remote and name in ("auto", "cuda") else train.pick_device(device).type


def train_missing(missing: list[RunConfig], device: str, workers: int, scheduler: str | None,
                  progress: bool) -> dict[str, train.Run]:
    """Train and save `missing` (key -> run): in this process with one worker and no scheduler,
    else on Dask (a local cluster of `workers` processes, or the cluster at `scheduler`)."""
    if scheduler is None and workers == 1:
        check_writable(results_dir())
        parts, runs = stacks(missing, 1), {}
        warn_unused_checkpoints(parts)
        for part in parts:
            runs.update((cfg.key(), run) for cfg, run in zip(part, train_and_save(part, torch.device(device), progress)))
        return runs
    with connect(scheduler, workers, device) as client:
        check_writable(results_dir())   # after the scheduler answered: a bad address fails before any work
        threads = worker_threads(workers) if scheduler is None else cluster_threads(client, device)
        parts = stacks(missing, workers if scheduler is None else max(1, len(threads)))
        warn_unused_checkpoints(parts)
        return train_on_cluster(parts, client, device, threads, progress)


def record_only() -> bool:
    """True under AEB_FROM_RECORD=1: runs come from the committed record alone and nothing trains
    (the paper pages rebuilt from the record, rebuild.py); the local cache is not read."""
    value = os.environ.get("AEB_FROM_RECORD", "0")
    if value not in ("0", "1"):
        raise CacheError(f"AEB_FROM_RECORD={value!r} is not allowed: 0 (the default: cache, record, else train) "
                         "or 1 (the committed record only, never train)")
    return value == "1"


def find_run(cfg: RunConfig, recorded: bool, only_record: bool = False) -> dict | None:
    """A finished run: the local cache's (weights and all; skipped when `only_record`), else,
    where the caller takes a `recorded` run, the record's (record.as_run: no weights, codes of n <= 2)."""
    cached = None if only_record else load_run(cfg)
    return cached or (record.find(cfg.key()) if recorded else None)


def get_runs(configs: list[RunConfig], device: str | None = None, progress: bool = True,
             workers: int | None = None, recorded: bool = False) -> list[train.Run]:
    """Results for `configs` (in order): finished ones loaded (from the local cache, else, with
    `recorded`, from the committed record), missing ones trained and saved. A page that reads no
    weights passes recorded=True; under AEB_FROM_RECORD=1 only the record is read and a run it
    lacks is an error, never trained.

    Missing runs that share an architecture are trained together as one stacked model, in this
    process by default. With `workers` > 1 (default $AEB_WORKERS, else 1) stacks train at once on
    a local Dask cluster of that many processes, and with $AEB_SCHEDULER on the Dask cluster it
    names (`stacks` cuts them for its workers); trained runs come back here and are saved here.
    A script that starts a local cluster needs the `if __name__ == "__main__":` guard (its
    workers are spawned processes). A run in another stack can differ by float round-off, which
    a chaotic run (the unbounded signed penalty) amplifies; the default keeps one process.
    A checkpoint under results/checkpoints lets an interrupted stack resume where it stopped
    (run again with the same workers setting: a checkpoint of other stacks is not resumed from;
    it is warned of, and removed once its runs are saved).
    """
    for cfg in configs:
        if not isinstance(cfg, RunConfig):
            raise TypeError(f"get_runs expects RunConfig objects, got {type(cfg).__name__}")
    scheduler = pick_scheduler()
    device_name = pick_device_name(device, scheduler is not None)  # an unavailable device fails here, before any work
    only_record = record_only()
    found = {cfg.key(): find_run(cfg, recorded, only_record) for cfg in configs}
    missing = list({cfg.key(): cfg for cfg in configs if found[cfg.key()] is None}.values())
    n_workers = pick_workers(workers)  # a bad value fails here too, before any work
    if missing and only_record:
        raise CacheError(f"{len(missing)} of {len(configs)} runs cannot come from the record under AEB_FROM_RECORD=1 "
                         + ("(this page reads the runs' weights, which the record does not keep)" if not recorded else
                            f"(not recorded: {', '.join(c.label() for c in missing[:3])}{', ...' if len(missing) > 3 else ''}; "
                            "`make record` adds them)"))
    if missing:
        found.update(train_missing(missing, device_name, n_workers, scheduler, progress))
        prune_checkpoints()
    return [found[cfg.key()] for cfg in configs]
