"""MNIST / Fashion-MNIST as whole tensors: 50k train, last 10k of train as validation, 10k test.

Pixels are float32 in [0, 1], images flattened to 784. The data folder is $AEB_DATA_DIR (or
<project>/data, where torchvision downloads the files on a machine with internet access).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from .config import DATASETS, TRAIN_SIZE, check_choice, data_dir, env_flag


# torchvision class name (= folder under the data root) and the four raw IDX files
_TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
# The published files, uncompressed: (bytes, md5). A data folder is checked against these before
# any use, so a run cached as `mnist` was trained on MNIST itself (its cache key need not say so).
_SIZES = (47_040_016, 60_008, 7_840_016, 10_008)
PUBLISHED = {
    "mnist": dict(zip(_FILES, zip(_SIZES, ("6bbc9ace898e44ae57da46a324031adb", "a25bea736e30d166cdddb491f175f624",
                                           "2646ac647ad5339dbf082846283269ea", "27ae3e4e09519cfbb04c329615203637")))),
    "fashion_mnist": dict(zip(_FILES, zip(_SIZES, ("f4a8712d7a061bf5bd6d2ca38dc4d50a", "9018921c3c673c538a1fc5bad174d6f9",
                                                   "8181f5470baa50b63fa0f6fddb340f0a", "15d484375f8d13e6eb1aabb0c3f46965")))),
}
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


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def check_identity(dataset: str, raw: Path) -> None:
    """Each IDX file is the published one (size, then md5); the error names the file, what was
    expected and, when the file is another published one, which."""
    known = {md5: (other, name) for other, files in PUBLISHED.items() for name, (_, md5) in files.items()}
    for name, (size, md5) in PUBLISHED[dataset].items():
        path = raw / name
        if path.stat().st_size != size:
            raise DataError(f"{path}: {path.stat().st_size} bytes, but the published {DATASET_NAMES[dataset]} "
                            f"file {name} has {size} (truncated, cut, or another file)")
        found = _md5(path)
        if found != md5:
            other = known.get(found)
            hint = f"it is {DATASET_NAMES[other[0]]}'s {other[1]}" if other else "corrupt or another data set"
            raise DataError(f"{path}: md5 {found}, but the published {DATASET_NAMES[dataset]} file {name} "
                            f"has md5 {md5} ({hint}); point AEB_DATA_DIR at the published files")


def _read_idx(path: Path, ndim: int) -> torch.Tensor:
    """An IDX file of unsigned bytes as a uint8 tensor (its identity is checked beforehand)."""
    blob = path.read_bytes()
    shape = [int.from_bytes(blob[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]  # after the magic
    return torch.frombuffer(bytearray(blob[4 + 4 * ndim:]), dtype=torch.uint8).view(*shape)


def _download(dataset: str, root: Path) -> None:
    if not env_flag("AEB_DOWNLOAD", default=True):
        raise DataError(f"{dataset}: no IDX files under {root / _TORCHVISION[dataset] / 'raw'} and "
                        f"downloads are off (AEB_DOWNLOAD={os.environ['AEB_DOWNLOAD']}). Set AEB_DATA_DIR to a folder that "
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
    check_identity(dataset, raw)
    train_images = _read_idx(raw / _FILES[0], 3)
    train_labels = _read_idx(raw / _FILES[1], 1)
    test_images = _read_idx(raw / _FILES[2], 3)
    test_labels = _read_idx(raw / _FILES[3], 1)

    def split(images, labels):
        return Split(images.reshape(len(images), -1).float().div_(255.0), labels.long())

    return Splits(train=split(train_images[:TRAIN_SIZE], train_labels[:TRAIN_SIZE]),
                  val=split(train_images[TRAIN_SIZE:], train_labels[TRAIN_SIZE:]),
                  test=split(test_images, test_labels))


def first_of_each_class(labels: torch.Tensor, count: int = 10) -> torch.Tensor:
    """The indices of the first `count` images of each of the 10 classes, class by class."""
    return torch.cat([torch.nonzero(labels == c)[:count, 0] for c in range(10)])


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
