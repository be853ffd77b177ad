"""The run cache: a run is a pure function of its RunConfig, stored under results/runs/<key>.pt.

`get_runs(configs)` returns the results of a list of runs, training only the missing ones, all
runs of one architecture together as one stacked model. Every file is written to a temporary
name and renamed, so an interrupted write never leaves a half-written result; an unreadable
or malformed entry is reported and retrained, never used.
"""
from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections import defaultdict
from pathlib import Path

import torch

from .config import CODE_VERSION, RunConfig, results_dir

RUN_KEYS = {"key", "code_version", "config", "metrics", "history", "test_codes", "state"}


class CacheError(RuntimeError):
    """The results folder cannot be written; the message says which and why."""


def _write_atomic(data: bytes, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CacheError(f"cannot write {path}: {exc.strerror or exc}. Free some space or set "
                         "AEB_RESULTS_DIR to a writable folder; finished results are untouched.") from exc


def save_torch(obj, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    _write_atomic(buffer.getvalue(), path)


def save_text(text: str, path: Path) -> None:
    _write_atomic(text.encode(), path)


def save_csv(frame, path: Path) -> Path:
    """A pandas DataFrame as CSV, written atomically."""
    save_text(frame.to_csv(index=False), path)
    return path


def load_torch(path: Path, required: set[str] = frozenset()):
    """The object stored at `path`, or None (with a warning) if it is unreadable or incomplete."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
        missing = required - set(obj) if isinstance(obj, dict) else required or {"<dict>"}
        if missing:
            raise ValueError(f"missing fields {sorted(missing)}")
    except Exception as exc:
        warnings.warn(f"ignoring unreadable cache entry {path} ({type(exc).__name__}: {exc}); "
                      "it will be recomputed", stacklevel=2)
        return None
    return obj


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


def run_path(cfg: RunConfig) -> Path:
    return results_dir() / "runs" / f"{cfg.key()}.pt"


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


def get_runs(configs: list[RunConfig], device: str | None = None, progress: bool = True) -> list[dict]:
    """Results for `configs` (in order): cached ones loaded, missing ones trained and saved.

    Missing runs that share an architecture are trained together as one stacked model; a
    checkpoint under results/checkpoints lets an interrupted group resume where it stopped.
    """
    from .train import pick_device, train_runs  # train imports this module for its files

    for cfg in configs:
        if not isinstance(cfg, RunConfig):
            raise TypeError(f"get_runs expects RunConfig objects, got {type(cfg).__name__}")
    torch_device = pick_device(device)  # an unavailable device fails here, before any work
    found = {cfg.key(): load_run(cfg) for cfg in configs}
    missing = list({cfg.key(): cfg for cfg in configs if found[cfg.key()] is None}.values())
    if missing:
        check_writable(results_dir())
        groups = defaultdict(list)
        for cfg in missing:
            groups[cfg.architecture].append(cfg)
        for group in groups.values():
            checkpoint = results_dir() / "checkpoints" / f"{group_key(group)}.pt"
            for cfg, run in zip(group, train_runs(group, torch_device, progress, checkpoint)):
                save_torch(run, run_path(cfg))
                found[cfg.key()] = run
            checkpoint.unlink(missing_ok=True)
    return [found[cfg.key()] for cfg in configs]
