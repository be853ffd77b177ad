"""Training in worker processes (cache.get_runs with workers > 1): same runs, same numbers.
Bitwise comparisons run both sides with the same thread count (cache.worker_threads)."""
import multiprocessing
import os

import pytest
import torch

from aebottleneck import cache
from aebottleneck.config import ConfigError
from aebottleneck.train import train_runs

from conftest import small_config

two_cores = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="2 worker processes need 2 cores")


def grid(sizes=(4, 2)):
    """Two architectures (code sizes) x two seeds x standard and penalised: 8 small runs."""
    return [small_config(bottleneck=n, seed=s, penalty=p, alpha=a)
            for n in sizes for s in (0, 1) for p, a in (("none", 0.0), ("signed", 0.01))]


@two_cores
def test_runs_from_workers_are_those_of_their_stacks_trained_here(results, tmp_path, monkeypatch):
    configs = grid((4, 3, 2))
    assert len(cache.stacks(configs, 2)) == 6     # 3 architectures do not divide among 2: cut
    runs = cache.get_runs(configs, progress=False, workers=2)
    assert [run["key"] for run in runs] == [c.key() for c in configs]
    assert all(cache.run_path(c).is_file() for c in configs)
    here, threads = {}, torch.get_num_threads()
    torch.set_num_threads(cache.worker_threads(2))  # a worker's thread count: MKL sums by it
    try:
        for part in cache.stacks(configs, 2):    # the same cut stacks, trained in this process
            here.update((c.key(), run) for c, run in zip(part, train_runs(part, progress=False)))
    finally:
        torch.set_num_threads(threads)
    for run in runs:
        twin = here[run["key"]]
        assert all(torch.equal(run["state"][name], twin["state"][name]) for name in twin["state"])
        assert run["metrics"]["test_rmse"] == twin["metrics"]["test_rmse"]
    # Whole stacks (one per architecture), in one process: the same runs up to float round-off.
    monkeypatch.setenv("AEB_RESULTS_DIR", str(tmp_path / "serial"))
    serial = cache.get_runs(configs, progress=False, workers=1)
    for run, alone in zip(runs, serial):
        assert run["metrics"]["test_rmse"] == pytest.approx(alone["metrics"]["test_rmse"], rel=1e-5)


def test_stacks_are_cut_only_when_they_do_not_divide_among_workers():
    configs = grid()
    keys = sorted(c.key() for c in configs)
    by_size = {n: [c for c in configs if c.bottleneck == n] for n in (4, 2)}
    assert cache.stacks(configs, 1) == [by_size[4], by_size[2]]          # as asked, whole
    assert sorted(map(len, cache.stacks(configs, 2))) == [4, 4]            # 2 stacks, 2 processes
    three = cache.stacks(configs, 3)                                        # 2 stacks do not divide
    assert sorted(map(len, three)) == [1, 1, 1, 1, 2, 2]
    for parts in (cache.stacks(configs, 2), three):
        assert sorted(c.key() for part in parts for c in part) == keys     # every run exactly once
        assert all(len({c.architecture for c in part}) == 1 for part in parts)
    one_size = by_size[4]
    halves = cache.stacks(one_size, 2)
    assert [sorted({c.seed for c in part}) for part in halves] == [[0], [1]]  # cut between seeds


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "two", "0", 10**6])
def test_bad_workers_fail_before_any_work(results, workers):
    with pytest.raises(ConfigError, match="workers="):
        cache.get_runs([small_config()], progress=False, workers=workers)
    assert not results.exists()


def test_bad_workers_variable_fails_before_any_work(results, monkeypatch):
    monkeypatch.setenv("AEB_WORKERS", "many")
    with pytest.raises(ConfigError, match=r"workers='many' is not allowed.*AEB_WORKERS"):
        cache.get_runs([small_config()], progress=False)
    assert not results.exists()


def test_workers_default_to_one_or_the_variable(monkeypatch):
    monkeypatch.delenv("AEB_WORKERS", raising=False)
    assert cache.pick_workers() == 1
    monkeypatch.setenv("AEB_WORKERS", "2")
    assert cache.pick_workers() == 2
    assert cache.pick_workers(1) == 1                 # the argument wins
    monkeypatch.setenv("AEB_WORKERS", str(os.cpu_count() + 1))   # more processes than cores
    with pytest.raises(ConfigError, match=rf"workers={os.cpu_count() + 1} is not allowed: an integer from 1 to"):
        cache.pick_workers()


@two_cores
def test_a_failing_worker_is_reported_and_stops_the_others(results):
    results.mkdir()
    (results / "runs").write_text("not a folder")   # every worker fails when it saves its runs
    with pytest.raises(RuntimeError, match=r"(?s)failed in a worker process.*CacheError"):
        cache.get_runs(grid(), progress=False, workers=2)
    assert multiprocessing.active_children() == []


@two_cores
def test_worker_messages_reach_the_parent(results, capsys):
    """What a worker writes (here the warning about an unreadable checkpoint) is printed by the
    parent process: a notebook shows only the parent's output."""
    configs = grid()
    first = cache.stacks(configs, 2)[0]
    cache.checkpoint_path(first).parent.mkdir(parents=True)
    cache.checkpoint_path(first).write_bytes(b"not a checkpoint")
    cache.get_runs(configs, progress=False, workers=2)
    assert f"ignoring unreadable cache entry {cache.checkpoint_path(first)}" in capsys.readouterr().err
    assert not cache.checkpoint_path(first).exists()          # removed once its stack is saved
