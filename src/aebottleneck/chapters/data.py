"""The data page: the splits the book trains and tests on (split_table, class_counts) and the
numbers its text quotes from them (split_numbers, class_numbers)."""
from __future__ import annotations

import torch

from ..data import CLASS_NAMES, Split, Splits


# What a reader sees for the columns of the split table, and how their values are printed.
SPLIT_COLUMNS = {"split": "split", "images": "images", "used": "used in this profile", "pixel_mean": "pixel mean",
                 "pixel_std": "pixel std", "zero_fraction": "pixels exactly 0", "min": "min", "max": "max"}
SPLIT_FORMATS = {"images": "{:,}", "used": "{:,}", "pixel_mean": "{:.4f}", "pixel_std": "{:.4f}",
                 "zero_fraction": "{:.1%}", "min": "{:g}", "max": "{:g}"}


def named_splits(splits: Splits) -> list[tuple[str, Split]]:
    """The three splits under the names the book gives them, in the book's order."""
    return [("train", splits.train), ("validation", splits.val), ("test", splits.test)]


def split_table(splits: Splits, train_size: int):
    """Per split: its images, how many a profile training on `train_size` images uses, and its pixel
    statistics (mean, std, the fraction exactly 0, min, max). The statistics are numpy's float64
    (pairwise sums, one thread), which do not depend on the thread count as torch's reductions do."""
    import numpy as np
    import pandas as pd

    rows = []
    for name, split in named_splits(splits):
        pixels = split.images.numpy().astype(np.float64).ravel()                    # (N * 784,)
        rows.append({"split": name, "images": len(split), "used": train_size if name == "train" else len(split),
                     "pixel_mean": float(pixels.mean()), "pixel_std": float(pixels.std(ddof=1)),
                     "zero_fraction": float((pixels == 0).mean()), "min": float(pixels.min()), "max": float(pixels.max())})
    return pd.DataFrame(rows)


def split_numbers(table) -> dict:
    """The numbers the page quotes from `split_table`: the split sizes and the training images used
    (as text with thousands separators), the training pixels' mean and fraction exactly 0."""
    rows = table.set_index("split")
    train = rows.loc["train"]
    return {"n_train": f"{int(train.images):,}", "n_val": f"{int(rows.loc['validation'].images):,}",
            "n_test": f"{int(rows.loc['test'].images):,}", "train_size_used": f"{int(train.used):,}",
            "train_pixel_mean": float(train.pixel_mean), "train_zero_fraction": float(train.zero_fraction)}


def class_counts(splits: Splits, dataset: str):
    """Images per class and split (columns digit, split, images), the classes named as in the book."""
    import pandas as pd

    return pd.concat([pd.DataFrame({"digit": CLASS_NAMES[dataset], "split": name,
                                    "images": torch.bincount(split.labels, minlength=10).numpy()})
                      for name, split in named_splits(splits)])


def class_numbers(counts) -> dict:
    """The smallest and largest share a class has of the images of its split (`class_counts`)."""
    shares = counts.images / counts.groupby("split").images.transform("sum")
    return {"class_share_min": float(shares.min()), "class_share_max": float(shares.max())}
