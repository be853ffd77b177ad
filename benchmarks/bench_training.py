"""Training throughput, measured in one process against baselines run in the same process.

    make bench            (or: python benchmarks/bench_training.py [--steps 60] [--reps 5])

Methods (one MLP autoencoder 784-128-64-8 / 8-64-128-784, batch 128, BCE, Adam 5e-4):
  naive    the tutorial loop: torchvision MNIST + ToTensor through a DataLoader, one nn.Module
  tensor   one nn.Module on the training set held as one tensor, randperm batches
  batched  aebottleneck's stacked trainer step (train.loss_terms) for K models at once,
           seeds spread over 3 values and half the runs penalised, as in the paper's grid;
           workers = 1 in one process, and workers = 2 (--workers): two processes with
           half the threads each, each stepping its own stack of K = 6 at the same time
           (as the workers of the local Dask cluster of cache.get_runs with workers=2 do),
           timed by the wall clock of both
  trainer  a whole stack of K = 6 (DASK_EPOCHS epochs of DASK_TRAIN images, its evaluation
           and the saving of its runs included) trained here by cache.train_and_save
  dask     the same stack as the task of a one-worker local Dask cluster with the same
           threads (cache.train_on_cluster), the cluster started and warmed up beforehand:
           dask / trainer - 1 is what Dask costs (--dask-reps of each, taking turns)
Each time is the median of --reps repetitions of --steps steps (trainer and dask: of
--dask-reps whole trainings), scaled to one epoch of 50k images per model; the repetitions of the methods in one process take turns (time_interleaved),
so that a slow spell of a shared machine slows them alike. GFLOP/s counts forward + backward
matmul FLOPs; peak is the GFLOP/s of the fastest 2048x2048 fp32 matmul on this machine, two
timed after each round of repetitions (10 with the default --reps). Output: a table, ratios, and
results/bench.csv (method, k, workers, seconds_per_model_epoch, gflops, peak_fraction).

Memory allocator: on the CPU the trainer sets glibc's malloc to reuse freed memory
(train.reuse_freed_memory), which cannot be undone in a process. So first, on the CPU whatever
--device, the tensor loop and the batched K=6 step are timed with glibc's defaults, then the
setting is made and every row above (and the matmul peak) is timed with it; the baselines gain
from it too. The two timings of each, with the page faults per step, go to
results/bench_allocator.csv (method, k, reuse_freed_memory, seconds_per_model_epoch,
page_faults_per_step); reuse_freed_memory says whether the setting was in effect.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
from unittest.mock import patch

import pandas as pd
import torch
from torch import nn

from aebottleneck import cache
from aebottleneck.chapters import speed
from aebottleneck.files import save_csv
from aebottleneck.config import RunConfig, results_dir
from aebottleneck.data import TRAIN_SIZE, load_splits
from aebottleneck.model import StackedAutoencoder, layer_widths
from aebottleneck.train import gather_batch, loss_terms, pick_device, reuse_freed_memory

CFG = RunConfig(bottleneck=8)
STEPS_PER_EPOCH = -(-TRAIN_SIZE // CFG.batch_size)
WORKER_K = 6  # the stack of each process in the `workers` row, and of the trainer and dask rows
DASK_EPOCHS, DASK_TRAIN = 2, 2048   # the trainer and dask rows: whole epochs of this many images


def flops_per_image(cfg: RunConfig) -> float:
    """Matmul FLOPs of one image, forward + backward (no input gradient for the first layer)."""
    widths = layer_widths(cfg)
    shapes = list(zip(widths[:-1], widths[1:]))
    shapes += [(b, a) for a, b in reversed(shapes)]
    macs = sum(a * b for a, b in shapes)
    return 2 * (3 * macs - shapes[0][0] * shapes[0][1])


def matmul_peak(device, size=2048, reps=10) -> float:
    """GFLOP/s of the fastest of `reps` fp32 matmuls: on a shared machine other work only ever
    slows a product down, so the fastest is the best estimate of what the hardware can do (a
    median taken in a slow spell would flatter every peak fraction)."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    times = []
    for _ in range(reps + 1):
        sync(device)
        start = time.perf_counter()
        a @ b
        sync(device)
        times.append(time.perf_counter() - start)
    return 2 * size**3 / min(times[1:]) / 1e9


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_model() -> nn.Module:
    widths = layer_widths(CFG)
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU()]
    back = widths[::-1]
    for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
        layers += [nn.Linear(a, b), nn.Sigmoid() if i == len(back) - 2 else nn.LeakyReLU()]
    return nn.Sequential(*layers)


def minor_page_faults() -> float:
    """Page faults of this process so far that found the page in memory (NaN where unknown)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return float("nan")
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_interleaved(steps_of: dict, steps: int, reps: int, device, peak_reps: int = 0):
    """Median seconds per step and page faults per step (minor: memory faulted in again) of each
    step function in `steps_of` (key -> step), and the matmul peak (GFLOP/s, or NaN when
    peak_reps = 0). Round-robin: repetition r of every step function (and peak_reps matmuls) runs
    before repetition r + 1 of any, so a slow spell of a shared machine hits all of them alike
    and the ratios between them hold; the peak is the fastest matmul of the whole run."""
    for step in steps_of.values():
        for _ in range(3):
            step()
    times, peaks = {key: [] for key in steps_of}, []
    faults = dict.fromkeys(steps_of, 0.0)
    for _ in range(reps):
        for key, step in steps_of.items():
            sync(device)
            before, start = minor_page_faults(), time.perf_counter()
            for _ in range(steps):
                step()
            sync(device)
            times[key].append((time.perf_counter() - start) / steps)
            faults[key] += (minor_page_faults() - before) / (steps * reps)
        if peak_reps:
            peaks.append(matmul_peak(device, reps=peak_reps))
    return {key: (statistics.median(times[key]), faults[key]) for key in steps_of}, max(peaks, default=float("nan"))


def naive_step(device):
    """One step of the tutorial loop: torchvision MNIST + ToTensor through a DataLoader."""
    import torchvision
    from torchvision.transforms import ToTensor

    from aebottleneck.config import data_dir

    dataset = torchvision.datasets.MNIST(str(data_dir()), train=True, transform=ToTensor())
    subset = torch.utils.data.Subset(dataset, range(TRAIN_SIZE))
    loader = torch.utils.data.DataLoader(subset, batch_size=CFG.batch_size, shuffle=True)
    model = plain_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=CFG.lr)
    loss_fn = nn.BCELoss()
    batches = iter(loader)

    def step():
        nonlocal batches
        try:
            images, _ = next(batches)
        except StopIteration:
            batches = iter(loader)
            images, _ = next(batches)
        x = images.view(len(images), -1).to(device)
        loss = loss_fn(model(x), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def tensor_step(images, device):
    """One training step of one nn.Sequential on batches of the in-memory training set."""
    model = plain_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=CFG.lr)
    loss_fn = nn.BCELoss()
    order = torch.randperm(len(images), device=device)
    position = 0

    def step():
        nonlocal position
        x = images[order[position:position + CFG.batch_size]]
        position = (position + CFG.batch_size) % (len(images) - CFG.batch_size)
        loss = loss_fn(model(x), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def bench_allocator(images, steps, reps) -> pd.DataFrame:
    """The tensor loop and a stack of WORKER_K on the CPU, timed with the platform's malloc
    defaults and then after train.reuse_freed_memory() (which stays in effect: call this before
    any other timing). Column reuse_freed_memory: whether the setting was in effect (False for
    both timings where the call does nothing, off glibc)."""
    cpu = torch.device("cpu")
    steps_of = {("tensor", 1): tensor_step(images, cpu), ("batched", WORKER_K): batched_step(images, WORKER_K, cpu)}
    rows = []
    for reuse in (False, True):
        in_effect = reuse and reuse_freed_memory()
        timed, _ = time_interleaved(steps_of, steps, reps, cpu)
        rows += [{"method": method, "k": k, "reuse_freed_memory": in_effect,
                  "seconds_per_model_epoch": seconds * STEPS_PER_EPOCH / k, "page_faults_per_step": faults}
                 for (method, k), (seconds, faults) in timed.items()]
    return pd.DataFrame(rows)


def batched_step(images, k, device):
    """One training step of K stacked models: seeds k % 3, every other run penalised."""
    configs = [RunConfig(bottleneck=8, seed=i % 3, penalty="signed" if i % 2 else "none",
                         alpha=0.005 if i % 2 else 0.0) for i in range(k)]
    model = StackedAutoencoder(CFG, [c.seed for c in configs]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=CFG.lr, fused=True)
    alpha = torch.tensor([c.alpha for c in configs], device=device)
    masks = {"signed": torch.tensor([c.penalty == "signed" for c in configs], device=device)}
    seeds = sorted({c.seed for c in configs})
    seed_of_run = torch.tensor([seeds.index(c.seed) for c in configs], device=device)
    order = torch.stack([torch.randperm(len(images)) for _ in seeds]).to(device)
    position = 0

    def step():
        nonlocal position
        index = order[:, position:position + CFG.batch_size]
        position = (position + CFG.batch_size) % (len(images) - CFG.batch_size)
        x = gather_batch(images, index, seed_of_run)
        terms = loss_terms(model, x, masks, alpha)
        optimizer.zero_grad(set_to_none=True)
        terms.total.sum().backward()
        optimizer.step()

    return step


def _worker(k, steps, reps, device, threads, go, done):
    """One of the processes of bench_workers: steps a stack of K models whenever told to."""
    torch.set_num_threads(threads)
    reuse_freed_memory()  # as the trainer's worker processes do (train.train_runs)
    step = batched_step(load_splits("mnist").train.images.to(device), k, device)
    for _ in range(3):
        step()
    done.put("ready")
    for _ in range(reps):
        go.get()
        for _ in range(steps):
            step()
        sync(device)
        done.put("done")


def bench_workers(k, workers, steps, reps, device) -> float:
    """Seconds per step of `workers` processes, each with its share of the threads, each stepping
    its own stack of K models at once (as a local Dask cluster's workers do): the wall time of
    one step of all of them, the median of `reps`."""
    context = multiprocessing.get_context("spawn")
    threads = cache.worker_threads(workers)
    go, done = [context.Queue() for _ in range(workers)], context.Queue()
    processes = [context.Process(target=_worker, args=(k, steps, reps, device, threads, queue, done))
                 for queue in go]
    for process in processes:
        process.start()
    for _ in processes:
        done.get()                      # every worker ready (data loaded, warmed up)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        for queue in go:
            queue.put("go")
        for _ in processes:
            done.get()
        times.append((time.perf_counter() - start) / steps)
    for process in processes:
        process.join()
    return statistics.median(times)


def dask_stack() -> list[RunConfig]:
    """The stack of the trainer and dask rows: WORKER_K runs, seeds k % 3, every other one penalised."""
    return [RunConfig(bottleneck=8, seed=i % 3, penalty="signed" if i % 2 else "none", alpha=0.005 if i % 2 else 0.0,
                      epochs=DASK_EPOCHS, train_size=DASK_TRAIN) for i in range(WORKER_K)]


def bench_dask(reps, device) -> tuple[float, float, float]:
    """Median seconds of training and saving dask_stack() here (cache.train_and_save) and as the
    task of a one-worker local Dask cluster with the same threads (cache.train_on_cluster), taking
    turns after one untimed round of each; and the seconds the cluster took to start. The runs go
    to a temporary results folder."""
    stack, threads = dask_stack(), cache.worker_threads(1)
    with tempfile.TemporaryDirectory() as folder, patch.dict(os.environ, AEB_RESULTS_DIR=folder):
        started = time.perf_counter()
        with cache.connect(None, 1, device.type) as client:
            startup = time.perf_counter() - started
            trainings = {"trainer": lambda: cache.train_and_save(stack, device, progress=False),
                         "dask": lambda: cache.train_on_cluster([stack], client, device.type, threads, progress=False)}
            times = {method: [] for method in trainings}
            for _ in range(reps + 1):
                for method, train in trainings.items():
                    started = time.perf_counter()
                    train()
                    times[method].append(time.perf_counter() - started)
    return statistics.median(times["trainer"][1:]), statistics.median(times["dask"][1:]), startup


def dask_rows(reps, device) -> pd.DataFrame:
    """The trainer and dask rows (bench_dask), scaled to one epoch of 50k images per model."""
    trainer, dask, startup = bench_dask(reps, device)
    print(f"local Dask cluster of one worker: started in {startup:.1f} s")
    scale = TRAIN_SIZE / (DASK_TRAIN * DASK_EPOCHS * WORKER_K)
    return pd.DataFrame([{"method": method, "k": WORKER_K, "workers": 1, "seconds_per_model_epoch": seconds * scale}
                         for method, seconds in (("trainer", trainer), ("dask", dask))])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 6, 24])
    parser.add_argument("--workers", type=int, default=2,
                        help="also time this many processes, each with a stack of K=6 (1: skip)")
    parser.add_argument("--dask-reps", type=int, default=3,
                        help="whole trainings of the trainer and dask rows (0: skip them)")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    device = pick_device(args.device)
    torch.manual_seed(0)
    images = load_splits("mnist").train.images.to(device)
    allocator = bench_allocator(images.cpu(), args.steps, args.reps)  # on the CPU whatever --device
    print(allocator.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"wrote {save_csv(allocator, results_dir() / 'bench_allocator.csv')}")
    flops = flops_per_image(CFG)
    steps_of = {("naive", 1): naive_step(device), ("tensor", 1): tensor_step(images, device)}
    steps_of.update({("batched", k): batched_step(images, k, device) for k in args.ks})
    timed, peak = time_interleaved(steps_of, args.steps, args.reps, device, peak_reps=2)
    print(f"device {device}, {torch.get_num_threads()} threads; matmul peak {peak:.1f} GFLOP/s; "
          f"{flops / 1e6:.2f} MFLOP per image (forward + backward)")
    rows = [(method, k, 1, seconds) for (method, k), (seconds, _) in timed.items()]
    if args.workers > 1:
        rows.append(("batched", WORKER_K, args.workers,
                     bench_workers(WORKER_K, args.workers, args.steps, args.reps, device)))
    table = pd.DataFrame([{"method": m, "k": k, "workers": w, "seconds_per_model_epoch": s * STEPS_PER_EPOCH / (k * w)}
                          for m, k, w, s in rows])
    if args.dask_reps:
        table = pd.concat([table, dask_rows(args.dask_reps, device)], ignore_index=True)
    table["gflops"] = TRAIN_SIZE * flops / table.seconds_per_model_epoch / 1e9
    table["peak_fraction"] = table.gflops / peak
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    naive, tensor = table.seconds_per_model_epoch.iloc[0], table.seconds_per_model_epoch.iloc[1]
    for row in table[table.method == "batched"].itertuples():
        print(f"batched K={row.k} x {row.workers} process(es): {naive / row.seconds_per_model_epoch:.1f}x naive, "
              f"{tensor / row.seconds_per_model_epoch:.1f}x tensor, {row.peak_fraction:.0%} of peak")
    if args.dask_reps:
        print(f"a stack as the task of a local Dask cluster: {speed.dask_overhead(table):+.1%} over training it here")
    path = save_csv(table, results_dir() / "bench.csv")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
