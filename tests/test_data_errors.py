import shutil

import pytest
import torch

from aebottleneck.data import DataError, _load_splits, load_splits


def test_splits():
    splits = load_splits("mnist")
    assert (len(splits.train), len(splits.val), len(splits.test)) == (50_000, 10_000, 10_000)
    assert splits.train.images.shape == (50_000, 784) and splits.train.images.dtype == torch.float32
    assert splits.train.images.min() == 0 and splits.train.images.max() == 1
    # the known MNIST training-set statistics (all 60k images): mean 0.1307, std 0.3081
    everything = torch.cat([splits.train.images, splits.val.images])
    assert abs(everything.mean().item() - 0.1307) < 1e-4 and abs(everything.std().item() - 0.3081) < 1e-4


@pytest.fixture
def data_copy(tmp_path):
    from aebottleneck.config import data_dir

    raw = tmp_path / "MNIST" / "raw"
    shutil.copytree(data_dir() / "MNIST" / "raw", raw)
    _load_splits.cache_clear()
    yield tmp_path, raw
    _load_splits.cache_clear()


def test_missing_file(data_copy):
    root, raw = data_copy
    (raw / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match=r"some IDX files are missing: .*t10k-labels-idx1-ubyte"):
        load_splits("mnist", str(root))


def test_no_files_and_no_download(tmp_path, monkeypatch):
    monkeypatch.setenv("AEB_DOWNLOAD", "0")
    with pytest.raises(DataError, match=r"mnist: no IDX files under .*MNIST/raw and downloads are off"):
        load_splits("mnist", str(tmp_path))


def test_truncated_file(data_copy):
    root, raw = data_copy
    path = raw / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: 7839916 bytes, but the published MNIST file "
                                        r"t10k-images-idx3-ubyte has 7840016 \(truncated"):
        load_splits("mnist", str(root))


def test_wrong_magic(data_copy):
    root, raw = data_copy
    shutil.copy(raw / "train-labels-idx1-ubyte", raw / "train-images-idx3-ubyte")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: 60008 bytes, but the published MNIST file"):
        load_splits("mnist", str(root))


def test_label_count_mismatch(data_copy):
    root, raw = data_copy
    path = raw / "t10k-labels-idx1-ubyte"
    blob = bytearray(path.read_bytes())
    blob[4:8] = (9999).to_bytes(4, "big")
    path.write_bytes(bytes(blob[:-1]))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: 10007 bytes"):
        load_splits("mnist", str(root))


def test_another_data_set_behind_the_mnist_path_is_named(data_copy):
    from aebottleneck.config import data_dir

    root, raw = data_copy
    shutil.copy(data_dir() / "FashionMNIST" / "raw" / "train-images-idx3-ubyte", raw / "train-images-idx3-ubyte")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: md5 f4a8712d.*published MNIST file "
                                        r"train-images-idx3-ubyte has md5 6bbc9ace.*it is Fashion-MNIST's"):
        load_splits("mnist", str(root))


def test_a_consistent_smaller_train_file_is_refused(data_copy):
    """55,000 images with a matching header: a valid IDX file, but not MNIST's (the validation
    split would silently shrink to 5,000)."""
    root, raw = data_copy
    for name, item in (("train-images-idx3-ubyte", 784), ("train-labels-idx1-ubyte", 1)):
        path = raw / name
        header = 16 if item == 784 else 8
        blob = bytearray(path.read_bytes()[:header + 55_000 * item])
        blob[4:8] = (55_000).to_bytes(4, "big")
        path.write_bytes(bytes(blob))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: 43120016 bytes, but the published MNIST file"):
        load_splits("mnist", str(root))


def test_one_changed_pixel_is_refused(data_copy):
    root, raw = data_copy
    path = raw / "t10k-images-idx3-ubyte"
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: md5 .* has md5 2646ac64.*corrupt or another data set"):
        load_splits("mnist", str(root))
