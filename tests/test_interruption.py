"""Interruption: Ctrl-C or kill mid-training leaves no half-written result, keeps finished runs,
and a rerun continues from the last checkpoint to the numbers of an uninterrupted run."""
import os
import signal
import subprocess
import sys
import time

import pytest

from aebottleneck import cache, files, train

from conftest import small_config

# Two architectures: the n=2 group finishes first, then the n=4 group is stopped mid-way.
# The script restores Python's Ctrl-C handler: a shell that starts the tests in the background
# (no job control) hands its children SIGINT ignored, and Python then keeps ignoring it.
SCRIPT = """
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)
from aebottleneck.cache import get_runs
from aebottleneck.config import RunConfig
common = dict(epochs={epochs}, train_size=4096)
get_runs([RunConfig(bottleneck=2, epochs=1, train_size=512), RunConfig(bottleneck=4, **common),
          RunConfig(bottleneck=4, penalty="signed", alpha=0.01, **common)], progress=False)
"""
EPOCHS = train.CHECKPOINT_EVERY + 3


def leftovers(folder):
    return [p for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_stopped_process_keeps_finished_runs_and_resumes(results, sig):
    process = subprocess.Popen([sys.executable, "-c", SCRIPT.format(epochs=EPOCHS)], env=os.environ.copy(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoints = results / "checkpoints"
    deadline = time.monotonic() + 120
    while not (checkpoints.is_dir() and any(checkpoints.glob("*.pt"))):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint after 120 s"
        time.sleep(0.05)
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0
    if sig == signal.SIGINT:
        assert "KeyboardInterrupt" in err

    finished = small_config(bottleneck=2, epochs=1, train_size=512)
    assert cache.load_run(finished) is not None                      # the first group was kept
    stopped = [small_config(epochs=EPOCHS, train_size=4096),
               small_config(epochs=EPOCHS, train_size=4096, penalty="signed", alpha=0.01)]
    assert all(cache.load_run(cfg) is None for cfg in stopped)       # nothing half-written
    assert leftovers(results) == []

    resumed = cache.get_runs(stopped, progress=False)
    reference = train.train_runs(stopped, progress=False)              # no checkpoint, in one go
    for a, b in zip(resumed, reference):
        assert a["history"] == b["history"]
        assert a["metrics"]["test_rmse"] == b["metrics"]["test_rmse"]
    assert not any(checkpoints.iterdir())                               # removed once saved


def stop_after_first_checkpoint(configs, monkeypatch) -> None:
    """get_runs(configs), stopped by an exception right after its first checkpoint is written."""

    class Stop(Exception):
        pass

    def interrupt(obj, path):
        real_save(obj, path)
        raise Stop

    real_save = files.save_torch
    monkeypatch.setattr(files, "save_torch", interrupt)       # the trainer saves its checkpoints with it
    with pytest.raises(Stop):
        cache.get_runs(configs, progress=False)
    monkeypatch.setattr(files, "save_torch", real_save)


def test_exception_after_checkpoint_resumes_exactly(results, monkeypatch):
    cfg = small_config(epochs=train.CHECKPOINT_EVERY + 2)
    reference, = train.train_runs([cfg], progress=False)
    stop_after_first_checkpoint([cfg], monkeypatch)
    assert not (results / "runs").exists() or not any((results / "runs").iterdir())
    assert len(list((results / "checkpoints").iterdir())) == 1
    run, = cache.get_runs([cfg], progress=False)
    assert run["history"]["train_loss"] == reference["history"]["train_loss"]
    assert not any((results / "checkpoints").iterdir())


def test_checkpoint_of_other_runs_is_not_used(results):
    """A checkpoint whose run keys differ (e.g. another alpha) is ignored, not loaded."""
    cfg = small_config(epochs=train.CHECKPOINT_EVERY + 1)
    other = small_config(epochs=train.CHECKPOINT_EVERY + 1, penalty="signed", alpha=0.5)
    path = results / "checkpoint.pt"
    cache.save_torch({"epoch": 5, "keys": [other.key()], "model": {}, "optimizer": {}, "history": []}, path)
    run, = train.train_runs([cfg], progress=False, checkpoint=path)
    alone, = train.train_runs([cfg], progress=False)
    assert run["history"] == alone["history"]


def test_checkpoint_of_another_stacking_is_warned_of_and_removed(results, monkeypatch):
    """A stack resumes only from its own checkpoint. One left by other stacks (another workers
    setting) is named in a warning, and removed once a run it holds is saved: no stack of
    missing runs can ever resume from it."""
    configs = [small_config(seed=s, epochs=train.CHECKPOINT_EVERY + 1) for s in (0, 1)]
    stop_after_first_checkpoint(configs, monkeypatch)          # a checkpoint of the 2-run stack
    stale, = (results / "checkpoints").iterdir()
    with pytest.warns(UserWarning, match=rf"checkpoint .*{stale.name} holds 1 of these runs after "
                                         rf"{train.CHECKPOINT_EVERY} epochs.*start over"):
        run, = cache.get_runs(configs[:1], progress=False)     # another stack: run 0 alone
    alone, = train.train_runs(configs[:1], progress=False)
    assert run["history"] == alone["history"]                  # trained from the start
    assert not any((results / "checkpoints").iterdir())        # the leftover is gone
