"""The data page's tables (aebottleneck.chapters.data; first_of_each_class from aebottleneck.data) from tiny hand-made splits."""
import pytest
import torch

from aebottleneck.chapters import data
from aebottleneck.data import Split, Splits, first_of_each_class


def _splits() -> Splits:
    """Train: 4 images of 2 pixels (classes 0, 1, 1, 9); validation: 2 images; test: 1 image."""
    train = Split(torch.tensor([[0.0, 1.0], [0.0, 0.0], [0.5, 0.5], [1.0, 0.0]]), torch.tensor([0, 1, 1, 9]))
    val = Split(torch.tensor([[0.25, 0.75], [0.0, 0.5]]), torch.tensor([3, 3]))
    test = Split(torch.tensor([[0.2, 0.4]]), torch.tensor([9]))
    return Splits(train=train, val=val, test=test)


def test_split_table_and_its_numbers():
    table = data.split_table(_splits(), train_size=3)
    assert table.split.tolist() == ["train", "validation", "test"]
    assert table.images.tolist() == [4, 2, 1] and table.used.tolist() == [3, 2, 1]
    train = table.iloc[0]
    assert (train.pixel_mean, train.zero_fraction, train["min"], train["max"]) == pytest.approx((0.375, 0.5, 0.0, 1.0))
    assert train.pixel_std == pytest.approx((1.375 / 7) ** 0.5)   # the sample std of the 8 pixels
    assert table.zero_fraction.tolist() == pytest.approx([0.5, 0.25, 0.0])
    numbers = data.split_numbers(table)
    assert {k: numbers.pop(k) for k in ("n_train", "n_val", "n_test", "train_size_used")} == \
        {"n_train": "4", "n_val": "2", "n_test": "1", "train_size_used": "3"}
    assert numbers == pytest.approx({"train_pixel_mean": 0.375, "train_zero_fraction": 0.5})
    big = table.assign(images=[50_000, 10_000, 10_000], used=[20_000, 10_000, 10_000])
    assert data.split_numbers(big)["n_train"] == "50,000" and data.split_numbers(big)["train_size_used"] == "20,000"


def test_class_counts_name_the_classes_and_count_every_split():
    counts = data.class_counts(_splits(), "fashion_mnist")
    assert len(counts) == 30 and list(counts.columns) == ["digit", "split", "images"]
    per_split = counts.groupby("split", sort=False).images.sum()
    assert per_split.to_dict() == {"train": 4, "validation": 2, "test": 1}
    train = counts[counts.split == "train"].set_index("digit").images
    assert (train["T-shirt/top"], train["Trouser"], train["Ankle boot"], train["Dress"]) == (1, 2, 1, 0)
    assert data.class_numbers(counts) == pytest.approx({"class_share_min": 0.0, "class_share_max": 1.0})
    nonzero = counts[counts.images > 0]
    assert data.class_numbers(nonzero) == pytest.approx({"class_share_min": 0.25, "class_share_max": 1.0})


def test_first_of_each_class_takes_the_first_images_class_by_class():
    labels = torch.tensor([3, 0, 3, 3, 0, 9, 1])
    assert first_of_each_class(labels, 2).tolist() == [1, 4, 6, 0, 2, 5]
