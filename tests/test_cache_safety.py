"""Cache safety: keyed by every field and the code version, atomic, checked on read, and
never retrains a finished run; an unwritable results folder fails before any training."""
import dataclasses
import os

import pytest

from aebottleneck import cache, train
from aebottleneck.config import RunConfig

from conftest import small_config


def test_every_field_changes_the_key():
    base = RunConfig()
    changed = dict(dataset="fashion_mnist", hidden=(256, 64), bottleneck=3, activation="relu",
                   code_activation="linear", output="linear", loss="mse", penalty="signed", alpha=0.5,
                   epochs=7, batch_size=64, lr=1e-3, seed=9, train_size=1000, overcomplete=True, arch="conv",
                   code_topk=1, rho=0.1, noise="gaussian", noise_level=0.2)
    assert set(changed) == {f.name for f in dataclasses.fields(RunConfig)}, "cover every field"
    for name, value in changed.items():
        fields = {name: value}
        if name == "output":
            fields["loss"] = "mse"
        if name == "penalty":
            fields["alpha"] = 0.5
        if name == "alpha":
            fields["penalty"] = "signed"
        if name == "rho":
            fields.update(penalty="kl", alpha=0.5, code_activation="sigmoid")
            base_kl = RunConfig(**{**fields, "rho": RunConfig.rho})   # only rho differs
            assert RunConfig(**fields).key() != base_kl.key(), name
        if name == "noise":
            fields["noise_level"] = 0.2
        if name == "noise_level":
            fields["noise"] = "masking"
            assert RunConfig(**fields).key() != RunConfig(noise="masking", noise_level=0.3).key(), name
        assert RunConfig(**fields).key() != base.key(), name


def test_keys_of_cached_runs_survive_new_options(monkeypatch):
    """The key of the paper's first run at code version 1, as computed before `overcomplete`
    existed: adding an option with a default that changes nothing must not invalidate the cache
    (only a CODE_VERSION bump may)."""
    monkeypatch.setattr("aebottleneck.config.CODE_VERSION", "1")
    assert RunConfig(bottleneck=8, epochs=100, seed=0).key() == "81301b67e5294897"


def test_key_covers_code_version(monkeypatch):
    before = RunConfig().key()
    monkeypatch.setattr("aebottleneck.config.CODE_VERSION", "test")
    assert RunConfig().key() != before


def test_finished_runs_are_not_trained_again(results, monkeypatch):
    configs = [small_config(seed=0), small_config(seed=0, penalty="signed", alpha=0.01)]
    first = cache.get_runs(configs, progress=False)
    assert sorted(p.name for p in (results / "runs").iterdir()) == sorted(f"{c.key()}.pt" for c in configs)

    trained = []
    real = train.train_runs
    monkeypatch.setattr(train, "train_runs", lambda group, *a, **k: trained.append(group) or real(group, *a, **k))
    again = cache.get_runs(configs, progress=False)
    assert trained == []
    assert again[1]["metrics"] == first[1]["metrics"]

    # a new alpha trains exactly one new run
    cache.get_runs([*configs, small_config(seed=0, penalty="signed", alpha=0.02)], progress=False)
    assert [[c.alpha for c in group] for group in trained] == [[0.02]]


def test_corrupt_entry_is_reported_and_recomputed(results):
    cfg = small_config()
    cache.get_runs([cfg], progress=False)
    path = cache.run_path(cfg)
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    with pytest.warns(UserWarning, match="unreadable cache entry"):
        run, = cache.get_runs([cfg], progress=False)
    assert run["key"] == cfg.key()
    assert cache.load_run(cfg) is not None


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "a.pt"
    cache.save_torch({"x": 1}, target)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(cache.CacheError, match="No space left on device"):
        cache.save_torch({"x": 2}, target)
    assert cache.load_torch(target) == {"x": 1}  # the old result is intact
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]  # no temporary left behind


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_read_only_results_folder(results):
    results.mkdir()
    results.chmod(0o500)
    with pytest.raises(cache.CacheError, match="not writable"):
        cache.get_runs([small_config()], progress=False)


def test_read_only_results_folder_is_checked_first(results, monkeypatch):
    """Even as root: an unwritable folder fails before any training starts."""
    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache.Path, "write_bytes", fail)
    monkeypatch.setattr(train, "train_runs", lambda *a, **k: pytest.fail("trained before the check"))
    with pytest.raises(cache.CacheError, match=r"results folder .* is not writable \(Permission denied\)"):
        cache.get_runs([small_config()], progress=False)


def test_a_file_in_the_way_of_the_runs_folder_is_named(results):
    """A file where the runs folder should be: a CacheError that names the path, not an OSError."""
    results.mkdir()
    (results / "runs").write_text("not a folder")
    with pytest.raises(cache.CacheError, match=r"cannot write .*runs/.*\.pt: File exists"):
        cache.get_runs([small_config()], progress=False)
