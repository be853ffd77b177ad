import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Tests run offline against ../shared/data unless AEB_DATA_DIR says otherwise.
if "AEB_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["AEB_DATA_DIR"] = str(SHARED_DATA)
os.environ.setdefault("AEB_DOWNLOAD", "0")
os.environ.setdefault("AEB_DEVICE", "cpu")


@pytest.fixture
def results(tmp_path, monkeypatch):
    """A fresh, empty results folder for one test."""
    folder = tmp_path / "results"
    monkeypatch.setenv("AEB_RESULTS_DIR", str(folder))
    return folder


def small_config(**fields):
    """A run that trains in about a second (evaluation still covers the full 10k val/test)."""
    from aebottleneck.config import RunConfig

    base = dict(bottleneck=4, epochs=2, train_size=512, batch_size=128)
    return RunConfig(**{**base, **fields})
