"""Training on Dask (cache.get_runs with workers > 1 or $AEB_SCHEDULER): same runs, same numbers,
and faults handled. Bitwise comparisons run both sides with the same thread count
(cache.worker_threads): MKL sums in another order with another thread count."""
import os
import signal
import threading
import time

import psutil
import pytest
import torch

from aebottleneck import cache
from aebottleneck.config import ConfigError
from aebottleneck.train import train_runs

from conftest import small_config

two_cores = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="2 worker processes need 2 cores")


def grid(sizes=(4, 2), **fields):
    """Two architectures (code sizes) x two seeds x standard and penalised: 8 small runs."""
    return [small_config(bottleneck=n, seed=s, penalty=p, alpha=a, **fields)
            for n in sizes for s in (0, 1) for p, a in (("none", 0.0), ("signed", 0.01))]


def trained_here(configs, workers=2) -> dict:
    """The stacks that `workers` Dask workers train, trained in this process with a worker's
    thread count: key -> run."""
    here, threads = {}, torch.get_num_threads()
    torch.set_num_threads(cache.worker_threads(workers))
    try:
        for part in cache.stacks(configs, workers):
            here.update((c.key(), run) for c, run in zip(part, train_runs(part, progress=False)))
    finally:
        torch.set_num_threads(threads)
    return here


def assert_bitwise(runs, here):
    for run in runs:
        twin = here[run["key"]]
        assert all(torch.equal(run["state"][name], twin["state"][name]) for name in twin["state"])
        assert run["metrics"]["test_rmse"] == twin["metrics"]["test_rmse"]


def workers_left() -> list:
    """The processes this one started that still run (a local cluster's nannies and workers),
    but for multiprocessing's resource tracker, which lives as long as this process."""
    return [p for p in psutil.Process().children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline())]


def children_gone(timeout=30.0) -> bool:
    """Whether every worker process this one started has ended within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while workers_left() and time.monotonic() < deadline:
        time.sleep(0.2)
    return not workers_left()


@two_cores
def test_runs_from_workers_are_those_of_their_stacks_trained_here(results, tmp_path, monkeypatch):
    configs = grid((4, 3, 2))
    assert len(cache.stacks(configs, 2)) == 6     # 3 architectures do not divide among 2: cut
    runs = cache.get_runs(configs, progress=False, workers=2)
    assert [run["key"] for run in runs] == [c.key() for c in configs]
    assert all(cache.run_path(c).is_file() for c in configs)
    assert not list((results / "checkpoints").glob("*.pt"))
    assert_bitwise(runs, trained_here(configs))
    # Whole stacks (one per architecture), in one process: the same runs up to float round-off.
    monkeypatch.setenv("AEB_RESULTS_DIR", str(tmp_path / "serial"))
    serial = cache.get_runs(configs, progress=False, workers=1)
    for run, alone in zip(runs, serial):
        assert run["metrics"]["test_rmse"] == pytest.approx(alone["metrics"]["test_rmse"], rel=1e-5)
    assert children_gone()


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


@pytest.mark.parametrize("address, message", [
    ("localhost:8786", r"not a Dask scheduler address such as tcp://host:8786.*AEB_SCHEDULER"),
    ("tcp://127.0.0.1:9", r"no Dask scheduler answers at tcp://127.0.0.1:9 within 1 s.*AEB_SCHEDULER"),
])
def test_a_bad_scheduler_address_fails_before_any_work(results, monkeypatch, address, message):
    monkeypatch.setenv("AEB_SCHEDULER", address)
    monkeypatch.setattr(cache, "CONNECT_SECONDS", 1)
    started = time.monotonic()
    with pytest.raises(ConfigError, match=message):
        cache.get_runs([small_config()], progress=False)
    assert not results.exists()
    assert time.monotonic() - started < 30


@two_cores
def test_a_failing_stack_names_its_runs_and_stops_the_others(results, tmp_path, monkeypatch):
    monkeypatch.setenv("AEB_DATA_DIR", str(tmp_path / "no-data"))   # the workers inherit it: no data there
    configs = grid()
    with pytest.raises(RuntimeError, match=r"(?s)failed on a Dask worker; its 4 runs: n=\d.*\[[0-9a-f]{16}\]"):
        cache.get_runs(configs, progress=False, workers=2)
    assert children_gone()
    assert not (results / "runs").exists()


@two_cores
def test_worker_messages_reach_the_driver(results, capsys):
    """What a worker prints (here a diverged run) is printed by the driver: a notebook shows
    only the driver's output."""
    diverging = small_config(lr=1e12, penalty="signed", alpha=1e6)
    runs = cache.get_runs([diverging, small_config(bottleneck=2)], progress=False, workers=2)
    assert runs[0]["metrics"]["diverged_epoch"] == 0
    assert f"run {diverging.label()} [{diverging.key()}]: non-finite loss in epoch 1" in capsys.readouterr().err


def test_an_unreadable_checkpoint_is_named_and_not_sent(results):
    stack = grid()[:4]
    cache.checkpoint_path(stack).parent.mkdir(parents=True)
    cache.checkpoint_path(stack).write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match=f"ignoring unreadable cache entry {cache.checkpoint_path(stack)}"):
        assert cache.read_checkpoint(stack) is None


def watch(results, action, errors=None):
    """Run action(checkpoint path) in a thread once the driver has saved the first checkpoint;
    an exception it raises is appended to `errors`, so that the test can report it."""
    def wait_then_act():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            saved = list((results / "checkpoints").glob("*.pt"))
            if saved:
                try:
                    return action(saved[0])
                except Exception as exc:          # noqa: BLE001 (reported by the test)
                    return (errors if errors is not None else []).append(exc)
            time.sleep(0.05)
    thread = threading.Thread(target=wait_then_act, daemon=True)
    thread.start()
    return thread


@two_cores
def test_a_worker_killed_mid_stack_costs_only_its_unsaved_epochs(results, monkeypatch, capsys):
    clients, connect = [], cache.connect
    monkeypatch.setattr(cache, "connect", lambda *args: clients.append(connect(*args)) or clients[-1])

    def kill_its_worker(checkpoint):   # the worker training the stack of that checkpoint
        (address,) = [w for w, keys in clients[0].processing().items()
                      if any(str(k).startswith(f"train-{checkpoint.stem}") for k in keys)]
        os.kill(clients[0].run(os.getpid, workers=[address])[address], signal.SIGKILL)

    configs, errors = grid(epochs=30, train_size=1024), []   # 25 epochs left after the first checkpoint
    watch(results, kill_its_worker, errors)
    runs = cache.get_runs(configs, progress=False, workers=2)
    assert not errors, f"the worker could not be killed: {errors!r}"
    assert "lost its worker after" in capsys.readouterr().err
    assert all(cache.run_path(c).is_file() for c in configs)
    assert_bitwise(runs, trained_here(configs))   # resumed from the checkpoint: nothing lost
    assert children_gone()


@two_cores
def test_interrupting_the_driver_leaves_no_orphan_work(results):
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        watch(results, lambda _: os.kill(os.getpid(), signal.SIGINT))
        with pytest.raises(KeyboardInterrupt):
            cache.get_runs(grid(epochs=30, train_size=1024), progress=False, workers=2)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert children_gone()
    assert list((results / "checkpoints").glob("*.pt"))   # what was saved resumes next time


@two_cores
def test_a_running_cluster_is_used_by_its_address(results, monkeypatch):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        monkeypatch.setenv("AEB_SCHEDULER", cluster.scheduler_address)
        configs = grid()[:2]
        runs = cache.get_runs(configs, progress=False)
        assert [run["key"] for run in runs] == [c.key() for c in configs]
        assert all(cache.run_path(c).is_file() for c in configs)
