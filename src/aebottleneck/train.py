"""Training: K runs of one architecture trained together as one stacked model.

Each run keeps its own initialisation (from its seed), data order (from its seed), penalty and
alpha; the loss is the sum of the K per-run losses, whose gradients do not mix, and Adam is
elementwise, so each run follows exactly the trajectory it would follow alone (tested up to
float round-off). Runs with the same seed see the same batches: a standard run and a penalty
run with one seed start from the same weights and differ only by the penalty (a paired
comparison), and their shared batch makes the first layer one wide GEMM. A denoising run's
input noise comes from its own (seed, epoch) stream too, so it also trains as it would alone.
"""
from __future__ import annotations

import ctypes
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypedDict

import numpy as np
import torch
from tqdm import tqdm

from . import files
from .config import CODE_VERSION, IMAGE_SIZE, ConfigError, RunConfig
from .data import Splits, corrupt, load_splits, noise_draws
from .machine import device_name
from .metrics import rmse_from_squared_errors
from .model import StackedAutoencoder, build
from .penalties import PER_RUN_PARAMS, REGISTRY

CHECKPOINT_EVERY = 5  # epochs


def checkpoint_due(done: int, epochs: int) -> bool:
    """Whether a checkpoint is written after `done` of `epochs` epochs (never after the last)."""
    return done % CHECKPOINT_EVERY == 0 and done < epochs
# A run "runs away" when its weighted penalty outweighs the reconstruction loss this many times
# over, or its codes grow this many times their first-epoch scale: it is then optimising the
# penalty, not the reconstruction. Recorded, never used to stop a run (see runaway_epoch).
RUNAWAY_RATIO = 10.0
CODE_GROWTH = 100.0
# Growth is counted from at least this code std: a code that nearly collapses in its first epoch
# (std ~1e-4, the correlation penalty at large alpha) and recovers to an ordinary scale (the
# standard runs' 4-9) is not running away; eq. 3's runaways reach 1e8.
CODE_SCALE_FLOOR = 1.0


def pick_device(name: str | None = None) -> torch.device:
    """'auto' (CUDA when available, else CPU), 'cpu' or 'cuda'; default $AEB_DEVICE or 'auto'."""
    name = name or os.environ.get("AEB_DEVICE", "auto")
    if name not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device={name!r} is not allowed: must be 'auto', 'cpu' or 'cuda'")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' is not available on this machine "
                          "(torch.cuda.is_available() is False); use device='auto' or 'cpu'")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


# glibc's mallopt parameters (malloc.h) and the largest mmap threshold it accepts on 64 bits.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, MAX_MMAP_THRESHOLD = -1, -3, 32 << 20


def reuse_freed_memory() -> bool:
    """Have glibc's malloc keep freed blocks below 32 MiB for reuse, so a warmed-up step stops
    faulting its intermediate tensors in again (benchmarks/README.md); True if the setting took.
    Process-wide and one-way; a no-op returning False without glibc (macOS, Windows, musl)."""
    if platform.libc_ver()[0] != "glibc":  # musl has a mallopt that does nothing
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MAX_MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1


def _generator(*entropy: int) -> torch.Generator:
    state = np.random.SeedSequence(list(entropy)).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The data order of one epoch: a permutation that depends on (seed, epoch) only."""
    return torch.randperm(n, generator=_generator(seed, epoch))


NOISE_STREAM = 1  # the input noise of epoch e comes from SeedSequence([seed, e, NOISE_STREAM])


def noise_generator(seed: int, epoch: int) -> torch.Generator:
    """The input-noise stream of one epoch of a denoising run: depends on (seed, epoch) only."""
    return _generator(seed, epoch, NOISE_STREAM)


def runaway_epoch(history: dict, alpha: float) -> int:
    """First epoch (0-based) in which a run's loss is non-finite, |alpha * penalty| exceeds
    RUNAWAY_RATIO x its reconstruction loss, or its mean validation code std exceeds CODE_GROWTH
    x the first epoch's (at least CODE_SCALE_FLOOR); -1 if none. Works on any cached history
    (val_code_std may be absent)."""
    recon = np.asarray(history["train_recon"], dtype=float)
    weighted = np.abs(alpha * np.asarray(history["train_penalty"], dtype=float))
    bad = ~np.isfinite(np.asarray(history["train_loss"], dtype=float)) | (weighted > RUNAWAY_RATIO * recon)
    if history.get("val_code_std"):
        scale = np.asarray(history["val_code_std"], dtype=float)
        bad |= ~np.isfinite(scale) | (scale > CODE_GROWTH * max(scale[0], CODE_SCALE_FLOOR))
    hits = np.flatnonzero(bad)
    return int(hits[0]) if len(hits) else -1


def gather_batch(images: torch.Tensor, index: torch.Tensor, seed_of_run: torch.Tensor) -> torch.Tensor:
    """Each run's batch from images (N, 784), given each seed's batch indices index (S, b): one
    (b, 784) batch when all runs share a seed (the first layer is then one wide GEMM), else
    (K, b, 784), gathered in one index_select (chained advanced indexing costs 6x as much)."""
    if index.shape[0] == 1:
        return images.index_select(0, index[0])                                   # (b, 784)
    return images.index_select(0, index[seed_of_run].flatten()).view(len(seed_of_run), -1, images.shape[1])


@dataclass
class LossTerms:
    total: torch.Tensor    # (K,) recon + alpha * penalty
    recon: torch.Tensor    # (K,)
    penalty: torch.Tensor  # (K,) unweighted penalty (0 for runs without one)


def loss_terms(model: StackedAutoencoder, x: torch.Tensor, penalty_masks: dict,
               alpha: torch.Tensor, params: dict | None = None,
               inputs: torch.Tensor | None = None) -> LossTerms:
    """x (B, 784) shared or (K, B, 784), the target; inputs: what the models see (a noisy x
    for denoising runs, else x itself); penalty_masks: name -> (K,) bool; alpha (K,); params:
    a penalty's own per-run values by field name (penalties.PER_RUN_PARAMS), each (K,)."""
    codes, logits = model(x if inputs is None else inputs)    # (K, B, n), (K, B, 784)
    recon = model.reconstruction_loss(logits, x)               # (K,)
    penalty = torch.zeros_like(recon)
    for name, mask in penalty_masks.items():
        entry = REGISTRY[name]
        value = entry.function(codes, *(params[p] for p in entry.params))          # (K,)
        penalty = torch.where(mask, value, penalty)
    return LossTerms(recon + alpha * penalty, recon, penalty)


def noisy_inputs(x: torch.Tensor, noise_masks: dict, levels: torch.Tensor,
                 generators: list[torch.Generator], seed_of_run: torch.Tensor) -> torch.Tensor:
    """Each run's corrupted copy of its batch, (K, b, 784), from its seed's noise stream.
    x (b, 784) shared by one seed or (K, b, 784); noise_masks: kind -> (K,) bool; levels (K,)."""
    shape = (x.shape[-2], x.shape[-1])
    draws = [noise_draws(shape, g) for g in generators]                      # per seed
    normal = torch.stack([d[0] for d in draws]).to(x.device)[seed_of_run]   # (K, b, 784)
    uniform = torch.stack([d[1] for d in draws]).to(x.device)[seed_of_run]
    inputs = x.expand(len(levels), *shape)
    level = levels.view(-1, 1, 1)                                            # (K, 1, 1)
    for kind, mask in noise_masks.items():
        inputs = torch.where(mask.view(-1, 1, 1), corrupt(x, kind, level, normal, uniform), inputs)
    return inputs


# Floats in one (K, chunk, 784) intermediate of `evaluate`: 8 MiB, well under the 32 MiB below which
# reuse_freed_memory keeps freed blocks, so evaluating every epoch reuses its memory too (chunks of
# 2000 images at K = 12 faulted 75 MB in per chunk, which made an evaluation take 1.7x as long).
EVAL_FLOATS = 2 << 20
EVAL_ROWS = 16  # chunks are a multiple of this many images (see eval_chunk)


def eval_chunk(k: int) -> int:
    """Images per chunk when `evaluate` runs K models: the largest multiple of EVAL_ROWS with
    K * chunk * 784 <= EVAL_FLOATS (at least EVAL_ROWS); why 16 rows: benchmarks/README.md."""
    return max(EVAL_ROWS, EVAL_FLOATS // (k * IMAGE_SIZE) // EVAL_ROWS * EVAL_ROWS)


@torch.no_grad()
def evaluate(model: StackedAutoencoder, images: torch.Tensor, targets: torch.Tensor | None = None,
             chunk: int | None = None):
    """Per-image MSE (K, N) and codes (K, N, n) of every model given `images` (N, 784), against
    `targets` (N, 784; default the images themselves, e.g. the clean images of noisy inputs),
    `chunk` images at a time (default eval_chunk(K))."""
    targets = images if targets is None else targets
    chunk = eval_chunk(model.k) if chunk is None else chunk
    errors, codes = [], []
    for start in range(0, len(images), chunk):
        x = images[start:start + chunk]                        # (b, 784)
        z, logits = model(x)
        errors.append((model.reconstruct(logits) - targets[start:start + chunk]).square().mean(dim=2))  # (K, b)
        codes.append(z)
    return torch.cat(errors, dim=1), torch.cat(codes, dim=1)


@dataclass
class PerRun:
    """What differs between the K runs of a stack, as tensors on the device (each (K,) unless said)."""

    alpha: torch.Tensor
    params: dict          # a penalty's own per-run values by field name (penalties.PER_RUN_PARAMS)
    levels: torch.Tensor  # input-noise level
    noise_masks: dict     # noise kind -> (K,) bool
    penalty_masks: dict   # penalty name -> (K,) bool
    seeds: list           # the distinct seeds, sorted
    seed_of_run: torch.Tensor  # (K,) index into seeds

    @classmethod
    def of(cls, configs: list[RunConfig], device: torch.device) -> "PerRun":
        def per_run(values, **kw):
            return torch.tensor(values, device=device, **kw)
        seeds = sorted({c.seed for c in configs})
        return cls(alpha=per_run([c.alpha for c in configs]),
                   params={name: per_run([getattr(c, name) for c in configs]) for name in PER_RUN_PARAMS},
                   levels=per_run([c.noise_level for c in configs]),
                   noise_masks={kind: per_run([c.noise == kind for c in configs])
                                for kind in {c.noise for c in configs} - {"none"}},
                   penalty_masks={name: per_run([c.penalty == name for c in configs])
                                  for name in {c.penalty for c in configs} - {"none"}},
                   seeds=seeds, seed_of_run=per_run([seeds.index(c.seed) for c in configs]))


def train_epoch(model: StackedAutoencoder, optimizer, images: torch.Tensor, runs: PerRun, epoch: int,
                batch_size: int) -> torch.Tensor:
    """One epoch over `images` (N, 784) in each seed's order; the per-run sums over samples of
    the total, reconstruction and penalty terms, (3, K)."""
    N, K = len(images), len(runs.seed_of_run)
    order = torch.stack([epoch_order(s, epoch, N) for s in runs.seeds]).to(images.device)  # (S, N)
    generators = [noise_generator(s, epoch) for s in runs.seeds] if runs.noise_masks else []
    sums = torch.zeros(3, K, device=images.device)  # summed over samples: total, recon, penalty
    for start in range(0, N, batch_size):
        index = order[:, start:start + batch_size]                                  # (S, b)
        x = gather_batch(images, index, runs.seed_of_run)                           # (b, 784) | (K, b, 784)
        inputs = noisy_inputs(x, runs.noise_masks, runs.levels, generators, runs.seed_of_run) \
            if runs.noise_masks else None
        terms = loss_terms(model, x, runs.penalty_masks, runs.alpha, runs.params, inputs)
        optimizer.zero_grad(set_to_none=True)
        terms.total.sum().backward()
        optimizer.step()
        with torch.no_grad():
            sums += torch.stack([terms.total, terms.recon, terms.penalty]) * index.shape[1]
    return sums


HISTORY = ("train_loss", "train_recon", "train_penalty", "val_rmse", "val_code_std")


def record_epoch(history: list[dict], sums: torch.Tensor, n: int, val_errors: torch.Tensor,
                 val_codes: torch.Tensor) -> torch.Tensor:
    """Append one epoch to each run's history: mean train terms (sums (3, K) over n samples), the
    validation RMSE and mean code std (from val_errors (K, Nval), val_codes (K, Nval, n)); the
    validation RMSEs (K,)."""
    epoch_means = (sums / n).cpu()                                              # one sync per epoch
    val_rmse = val_errors.mean(dim=1).sqrt().cpu()
    val_code_std = val_codes.std(dim=1).mean(dim=1).cpu()                       # (K,)
    for k, run in enumerate(history):
        for name, value in zip(("train_loss", "train_recon", "train_penalty"), epoch_means[:, k]):
            run[name].append(float(value))
        run["val_rmse"].append(float(val_rmse[k]))
        run["val_code_std"].append(float(val_code_std[k]))
    return val_rmse


def train_runs(configs: list[RunConfig], device: torch.device | None = None,
               progress: bool = True, checkpoint: Path | None = None,
               splits: Splits | None = None, on_epoch: Callable[[int], None] | None = None) -> list[Run]:
    """Train `configs` (one architecture) together; return one result dict per run.
    on_epoch(epochs_done) is called after every epoch (a worker process reports progress so)."""
    cfg = configs[0]
    if any(c.architecture != cfg.architecture for c in configs):
        raise ValueError("train_runs needs runs of one architecture; use cache.get_runs")
    device = device or pick_device()
    if device.type == "cpu":
        reuse_freed_memory()
    splits = splits or load_splits(cfg.dataset)
    K, N = len(configs), cfg.train_size
    images = splits.train.images[:N].to(device)                # (N, 784), whole split on device
    val = splits.val.images.to(device)
    model = build(cfg, [c.seed for c in configs]).to(device)
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {}
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, **fused)
    runs = PerRun.of(configs, device)
    keys = [c.key() for c in configs]
    start_epoch, history = resume(checkpoint, keys, model, optimizer)

    started = time.perf_counter()
    bar = tqdm(range(start_epoch, cfg.epochs), desc=f"n={cfg.bottleneck} x{K} runs", initial=start_epoch,
               total=cfg.epochs, disable=not progress, unit="epoch")
    for epoch in bar:
        sums = train_epoch(model, optimizer, images, runs, epoch, cfg.batch_size)
        val_rmse = record_epoch(history, sums, N, *evaluate(model, val))
        for k in range(K):  # report a run the epoch its loss first turns non-finite
            losses = history[k]["train_loss"]
            if not np.isfinite(losses[-1]) and np.isfinite(losses[:-1]).all():
                tqdm.write(f"run {configs[k].label()} [{keys[k]}]: non-finite loss in epoch {epoch + 1}; "
                           f"marked diverged (diverged_epoch={epoch}), the other {K - 1} runs go on")
        bar.set_postfix(val_rmse=f"{float(val_rmse.min()):.4f}-{float(val_rmse.max()):.4f}")
        if checkpoint is not None and checkpoint_due(epoch + 1, cfg.epochs):
            files.save_torch({"epoch": epoch + 1, "keys": keys, "model": model.state_dict(),
                              "optimizer": optimizer.state_dict(), "history": history}, checkpoint)
        if on_epoch is not None:
            on_epoch(epoch + 1)
    bar.close()
    return results(configs, model, splits, device, history, time.perf_counter() - started)


def resume(checkpoint: Path | None, keys: list[str], model, optimizer) -> tuple[int, list[dict]]:
    """Load `checkpoint` into model and optimizer if it holds exactly these runs: the epoch to
    start from and the runs' histories so far (0 and empty histories without a usable one)."""
    saved = files.load_torch(checkpoint, {"epoch", "keys", "model", "optimizer", "history"}) \
        if checkpoint is not None and checkpoint.is_file() else None
    if saved is None or saved["keys"] != keys or not all(set(HISTORY) <= set(h) for h in saved["history"]):
        return 0, [{name: [] for name in HISTORY} for _ in keys]
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    return saved["epoch"], saved["history"]


class Run(TypedDict):
    """One trained run as the cache stores it (results/runs/<key>.pt) and the chapters read it."""

    key: str                         # RunConfig.key()
    code_version: str
    config: dict                     # RunConfig.to_dict()
    metrics: dict                    # val/test RMSE (pooled and per-image mean), diverged_epoch, timing, device
    history: dict                    # per epoch: train_loss, train_recon, train_penalty, val_rmse, val_code_std
    test_codes: torch.Tensor         # (Ntest, n)
    code_std: torch.Tensor           # (n,) std of each code dimension over the test images
    state: dict                      # the run's own weights (StackedAutoencoder.state_of)


def results(configs: list[RunConfig], model: StackedAutoencoder, splits: Splits, device: torch.device,
            history: list[dict], seconds: float) -> list[Run]:
    """One result dict per run of a trained stack: final validation and test metrics, history,
    test codes and the run's own weights."""
    val_errors, _ = evaluate(model, splits.val.images.to(device))
    test_errors, test_codes = evaluate(model, splits.test.images.to(device))       # (K, N), (K, N, n)
    out = []
    for k, c in enumerate(configs):
        losses = np.array(history[k]["train_loss"])
        bad = np.flatnonzero(~np.isfinite(losses))
        val_metrics = rmse_from_squared_errors(val_errors[k].cpu())
        test_metrics = rmse_from_squared_errors(test_errors[k].cpu())
        codes = test_codes[k].cpu().clone()  # its own storage: a view would save all K runs' codes
        out.append({
            "key": c.key(),
            "code_version": CODE_VERSION,
            "config": c.to_dict(),
            "metrics": {
                "val_rmse": val_metrics["rmse"], "val_rmse_per_image": val_metrics["rmse_per_image"],
                "test_rmse": test_metrics["rmse"], "test_rmse_per_image": test_metrics["rmse_per_image"],
                "diverged_epoch": int(bad[0]) if len(bad) else -1,
                "train_seconds_shared": seconds, "runs_trained_together": len(configs),
                "device": device_name(device),
            },
            "history": history[k],
            "test_codes": codes,                 # (Ntest, n)
            "code_std": codes.std(dim=0),        # (n,)
            "state": model.state_of(k),
        })
    return out
