"""MNIST / Fashion-MNIST as whole tensors: 50k train, last 10k of train as validation, 10k test.

Pixels are float32 in [0, 1], images flattened to 784. The data folder is $AEB_DATA_DIR (or
<project>/data, where torchvision downloads the files on a machine with internet access).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from .config import DATASETS, check_choice, data_dir

TRAIN_SIZE = 50_000  # the rest of the 60k training images is the validation split

# torchvision class name (= folder under the data root) and the four raw IDX files
_TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
DATASET_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}  # as written in the book
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"],
}


class DataError(RuntimeError):
    """The data files are missing or malformed; the message names the file."""


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # (N, 784) float32 in [0, 1]
    labels: torch.Tensor  # (N,) int64

    def __len__(self):
        return len(self.labels)


@dataclass(frozen=True)
class Splits:
    train: Split
    val: Split
    test: Split


def _check_files(dataset: str, root: Path) -> bool:
    """True when all four IDX files are there; False when none are (so we may download)."""
    raw = root / _TORCHVISION[dataset] / "raw"
    present = [(raw / name).is_file() for name in _FILES]
    if all(present):
        return True
    if any(present):
        missing = [str(raw / n) for n, ok in zip(_FILES, present) if not ok]
        raise DataError(f"{dataset}: some IDX files are missing: {', '.join(missing)}. "
                        f"Delete {raw} to download again, or point AEB_DATA_DIR at a complete copy.")
    return False


def _read_idx(path: Path, ndim: int, count: int | None = None) -> torch.Tensor:
    """An IDX file of unsigned bytes (magic 0x0000080N) as a uint8 tensor, with checks."""
    blob = path.read_bytes()
    if len(blob) < 4 + 4 * ndim:
        raise DataError(f"{path}: file too short ({len(blob)} bytes) for an IDX header")
    magic = int.from_bytes(blob[:4], "big")
    if magic != 0x0800 + ndim:
        raise DataError(f"{path}: wrong magic number {magic:#010x}, expected {0x0800 + ndim:#010x}"
                        f" (uint8, {ndim}-d); is this the right file?")
    shape = [int.from_bytes(blob[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    if ndim == 3 and shape[1:] != [28, 28]:
        raise DataError(f"{path}: images are {shape[1]}x{shape[2]}, expected 28x28")
    if count is not None and shape[0] != count:
        raise DataError(f"{path}: holds {shape[0]} items but its partner file holds {count}")
    expected = 4 + 4 * ndim + int(torch.tensor(shape).prod())
    if len(blob) != expected:
        raise DataError(f"{path}: {len(blob)} bytes, header says {expected} (truncated or corrupt)")
    data = torch.frombuffer(bytearray(blob[4 + 4 * ndim:]), dtype=torch.uint8)
    return data.view(*shape)


def _download(dataset: str, root: Path) -> None:
    if os.environ.get("AEB_DOWNLOAD", "1") == "0":
        raise DataError(f"{dataset}: no IDX files under {root / _TORCHVISION[dataset] / 'raw'} and "
                        "downloads are off (AEB_DOWNLOAD=0). Set AEB_DATA_DIR to a folder that "
                        "holds them, or unset AEB_DOWNLOAD to let torchvision fetch them.")
    import torchvision  # only needed here

    cls = getattr(torchvision.datasets, _TORCHVISION[dataset])
    try:
        for train in (True, False):
            cls(root=str(root), train=train, download=True)
    except Exception as exc:  # network errors come in many types
        raise DataError(f"{dataset}: download into {root} failed ({exc}). Without internet, set "
                        "AEB_DATA_DIR to a folder holding <Name>/raw/*-ubyte files.") from exc


def load_splits(dataset: str = "mnist", root: str | None = None) -> Splits:
    """The three splits as whole tensors on the CPU (cached per process and data folder)."""
    check_choice("dataset", dataset, DATASETS)
    folder = Path(root).resolve() if root is not None else data_dir()
    return _load_splits(dataset, folder)


@lru_cache(maxsize=4)
def _load_splits(dataset: str, folder: Path) -> Splits:
    if not _check_files(dataset, folder):
        _download(dataset, folder)
    raw = folder / _TORCHVISION[dataset] / "raw"
    train_images = _read_idx(raw / _FILES[0], 3)
    train_labels = _read_idx(raw / _FILES[1], 1, count=len(train_images))
    test_images = _read_idx(raw / _FILES[2], 3)
    test_labels = _read_idx(raw / _FILES[3], 1, count=len(test_images))

    def split(images, labels):
        return Split(images.reshape(len(images), -1).float().div_(255.0), labels.long())

    return Splits(train=split(train_images[:TRAIN_SIZE], train_labels[:TRAIN_SIZE]),
                  val=split(train_images[TRAIN_SIZE:], train_labels[TRAIN_SIZE:]),
                  test=split(test_images, test_labels))


# ----------------------------------------------------------------- input noise (denoising AE)

def noise_draws(shape: tuple, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The randomness of one corruption: standard normal and uniform [0, 1) values of `shape`.
    Both are drawn always, so a run's noise does not depend on which kinds share its stack."""
    return (torch.randn(shape, generator=generator), torch.rand(shape, generator=generator))


def corrupt(images: torch.Tensor, noise: str, level, normal: torch.Tensor, uniform: torch.Tensor):
    """A noisy copy of images in [0, 1] (the denoising autoencoder's input; its target stays clean).

    gaussian: clip(x + level * normal, 0, 1)          level = the noise std
    masking:  x * (uniform >= level)                  level = the probability a pixel is zeroed
    `level` is a number or a tensor that broadcasts against `images` (one level per model)."""
    if noise == "gaussian":
        return (images + level * normal).clamp(0, 1)
    if noise == "masking":
        return images * (uniform >= level)
    if noise == "none":
        return images
    raise ValueError(f"noise={noise!r} is not allowed: must be 'none', 'gaussian' or 'masking'")
