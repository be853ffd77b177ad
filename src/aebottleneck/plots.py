"""Every figure of the book that more than one notebook could want. Functions draw on an Axes
(or return a Figure) and never save; notebooks call them and show the result."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from torchvision.utils import make_grid

DIGIT_PALETTE = "tab10"


def image_grid(ax, images: torch.Tensor, nrow: int = 10, title: str | None = None):
    """images (N, 784) in [0, 1] as one grid image."""
    grid = make_grid(images.reshape(-1, 1, 28, 28).clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0)
    ax.imshow(grid[0].numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def image_rows(ax, rows: list[torch.Tensor], title: str | None = None):
    """Rows of images, each (N, 784), one column per image (e.g. noisy / reconstructed /
    original). Values outside [0, 1] (a ReLU or linear output) are clipped for display only."""
    image_grid(ax, torch.cat(rows), nrow=len(rows[0]), title=title)


def reconstruction_grid(ax, originals: torch.Tensor, recon: torch.Tensor, title: str | None = None):
    """Originals (N, 784) above their reconstructions (N, 784)."""
    image_rows(ax, [originals, recon], title=title)


def code_heatmap(ax, codes: np.ndarray | torch.Tensor, title: str = ""):
    """Codes (N, n) of a few images as an N x n picture, each row scaled by its largest |entry|
    (so models of any code scale compare): white = 0, dark = large."""
    codes = np.abs(np.asarray(codes, dtype=float))
    scaled = codes / np.maximum(codes.max(axis=1, keepdims=True), 1e-12)
    ax.imshow(scaled, cmap="Greys", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set(title=title, xlabel="code unit", ylabel="image")
    ax.set_yticks([])


def scatter_codes(ax, points: np.ndarray, labels: np.ndarray, title: str = "", class_names=None,
                  legend: bool = True):
    """2-D points (N, 2) coloured by class, as in the paper's Figure 1."""
    names = class_names or [str(c) for c in range(10)]
    colours = sns.color_palette(DIGIT_PALETTE, len(names))
    for c, name in enumerate(names):
        mask = labels == c
        ax.scatter(points[mask, 0], points[mask, 1], s=2, alpha=0.6, color=colours[c], label=name,
                   rasterized=True)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    if legend:
        ax.legend(markerscale=5, fontsize=7, loc="best", frameon=False, ncol=2)


def correlation_heatmap(ax, corr: np.ndarray, title: str = ""):
    """An (n, n) correlation matrix on a fixed [-1, 1] colour scale."""
    sns.heatmap(corr, ax=ax, vmin=-1, vmax=1, cmap="RdBu_r", square=True, annot=corr.shape[0] <= 8,
                fmt=".2f", annot_kws={"size": 7}, cbar=False)
    ax.set_title(title)


def training_curves(ax, histories: dict[str, list[dict]], key: str = "val_rmse",
                    ylabel: str = "validation RMSE"):
    """Mean over seeds (line) and min..max (band) of a per-epoch history entry, per label."""
    for label, runs in histories.items():
        values = np.array([run[key] for run in runs], dtype=float)  # (seeds, epochs)
        epochs = np.arange(1, values.shape[1] + 1)
        line, = ax.plot(epochs, values.mean(axis=0), label=label)
        if len(runs) > 1:
            ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), alpha=0.2,
                            color=line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False)


def figure(ncols: int = 1, nrows: int = 1, width: float = 4.0, height: float = 3.5, **kwargs):
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             constrained_layout=True, **kwargs)
    return fig, axes


def by_code_size(ax, table, column: str, methods: list[str], ylabel: str | None = None):
    """One line per method of `column` against code size (log x), from a table with columns
    method, bottleneck and `column`."""
    for method in methods:
        part = table[table.method == method].sort_values("bottleneck")
        ax.plot(part.bottleneck, part[column], "o-", label=method)
    sizes = sorted(set(table.bottleneck))
    ax.set(xscale="log", xlabel="code size n", ylabel=ylabel or column.replace("_", " "))
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.legend(frameon=False, fontsize=8)


def rate_distortion(ax, table, column: str, methods: list[str]):
    """`column` (rmse or psnr) against bits per image: one colour per method, one line per code
    size, from a table with columns method, bottleneck, bits_per_image and `column`."""
    colours = dict(zip(methods, sns.color_palette("tab10", len(methods))))
    for method in methods:
        for i, (n, part) in enumerate(table[table.method == method].groupby("bottleneck")):
            part = part.sort_values("bits_per_image")
            ax.plot(part.bits_per_image, part[column], ".-", color=colours[method], alpha=0.85,
                    label=method if i == 0 else None)
    ax.set(xscale="log", xlabel="bits per image (n x b)", ylabel="PSNR (dB)" if column == "psnr" else "test RMSE")
    ax.legend(frameon=False, fontsize=8)


def throughput(ax, bench, peak: float, title: str = ""):
    """A benchmark table (report.read_bench): GFLOP/s of the batched trainer against the number
    of models trained at once, in one process (a line) and in several (one marker per row,
    at K x workers), the naive and tensor loops and the matmul peak as horizontal lines."""
    batched = bench[(bench.method == "batched") & (bench.workers == 1)]
    ax.plot(batched.k, batched.gflops, "o-", label="batched trainer, one process")
    parallel = bench[(bench.method == "batched") & (bench.workers > 1)]
    for row in parallel.itertuples():
        ax.plot(row.k * row.workers, row.gflops, "s", label=f"{row.workers} processes x K = {row.k}")
    for method, style in (("naive", ":"), ("tensor", "--")):
        ax.axhline(bench[bench.method == method].gflops.item(), linestyle=style, color="grey", label=method)
    ax.axhline(peak, color="black", label="2048x2048 matmul peak")
    ax.set(xscale="log", xlabel="models trained at once", ylabel="GFLOP/s", ylim=(0, None), title=title)
    ticks = sorted({*batched.k, *(parallel.k * parallel.workers)})
    ax.set_xticks(ticks, [str(k) for k in ticks])
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside the axes
