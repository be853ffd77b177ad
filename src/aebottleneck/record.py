"""The record: what the book needs of each trained run, committed under record/, one file per run.

A run's record holds everything a page reads of it that does not need its weights: config and
key, code version, device, dates, training time, metrics, per-epoch history, code statistics (the
run's row of runtable.runs_frame) and small arrays (the code correlation matrix of a code up to
64 units, ten test digits reconstructed, the test codes of a 2-d code). It is made right after the
run trains, while its weights are at hand, so the weights (local run cache) are never needed again.
Evaluations of a run that need its weights go beside it, one file per (run, evaluation), keyed by
the evaluation's version and a digest of its settings, so a changed evaluation is never read as the old one.

Each file is JSON written atomically and carries a digest of its own content: a truncated,
edited or foreign file is refused by name (RecordError) and never reaches a table. Records made
on two machines merge without conflict: a file's name is its run's key.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import json
import math
import zlib
from pathlib import Path

import numpy as np
import torch

from .config import CODE_VERSION, RunConfig, project_root
from .files import save_text

FORMAT = 1                  # bump when the layout of a record file changes
RECONSTRUCTED = 10          # test digits reconstructed per run: the first test image of each class
CODES_UP_TO = 2             # a code this small keeps its whole test codes (Figure 1); larger codes keep statistics
CORRELATION_UP_TO = 64      # a code this small keeps its n x n correlation; no page reads a wider one's (1024: 5 MB a run)
RUN_FIELDS = ("format", "key", "code_version", "config", "device", "trained_at", "recorded_at", "train_seconds",
              "metrics", "history", "row", "arrays", "environment")


class RecordError(ValueError):
    """A record file is unreadable, incomplete, edited or not this project's; the message names it."""


def environment() -> str:
    """The installed packages, one `name==version` line each, sorted: what `make lock` commits."""
    from importlib import metadata

    names = {(d.metadata["Name"] or "").lower(): d.version for d in metadata.distributions()}
    return "".join(f"{name}=={version}\n" for name, version in sorted(names.items())
                   if name and name != "aebottleneck")


def environment_digest(text: str | None = None) -> str:
    """A short digest of an environment listing (default: this one); each record names its own."""
    return hashlib.sha256((environment() if text is None else text).encode()).hexdigest()[:12]


def save_environment(root: Path | None = None) -> str:
    """Write this environment's listing to record/environments/<digest>.txt (once); its digest."""
    text = environment()
    path = (root or record_dir()) / "environments" / f"{environment_digest(text)}.txt"
    if not path.is_file():
        save_text(text, path)
    return environment_digest(text)


def record_dir() -> Path:
    """The committed record: $AEB_RECORD_DIR (tests), else <project>/record."""
    import os

    env = os.environ.get("AEB_RECORD_DIR")
    return Path(env).expanduser().resolve() if env else project_root() / "record"


# ------------------------------------------------------------------------------- arrays as text
def encode_array(array, dtype: str) -> dict:
    """An array as JSON: dtype, shape and its little-endian bytes, zlib-compressed, in base64."""
    array = np.ascontiguousarray(np.asarray(array, dtype=np.dtype(dtype).newbyteorder("<")))
    return {"dtype": dtype, "shape": list(array.shape),
            "zlib": base64.b64encode(zlib.compress(array.tobytes(), 9)).decode()}


def encode_images(images) -> dict:
    """Images (..., 784) in [0, 1] as 8-bit grey levels (NaN as 0): what a page shows of them."""
    return encode_array(np.clip(np.nan_to_num(np.asarray(images, dtype=np.float32)), 0, 1) * 255 + 0.5, "uint8")


def decode_images(blob: dict) -> torch.Tensor:
    """encode_images' images back, float32 in [0, 1]."""
    return torch.from_numpy(decode_array(blob).astype(np.float32) / 255)


def decode_array(blob: dict) -> np.ndarray:
    data = zlib.decompress(base64.b64decode(blob["zlib"]))
    return np.frombuffer(data, dtype=np.dtype(blob["dtype"]).newbyteorder("<")).reshape(blob["shape"])


def _json_ready(value):
    """Numbers and containers as JSON takes them: numpy scalars as Python ones, NaN and inf as strings."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (np.generic, torch.Tensor)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)                       # 'nan', 'inf', '-inf': json.loads(float(...)) restores them
    return value


def digest(content: dict) -> str:
    """sha256 of a record's content without its own digest, in canonical JSON."""
    body = {k: v for k, v in content.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# ------------------------------------------------------------------------------- making a record
def run_records(runs: list[dict], test_images: torch.Tensor, test_labels: torch.Tensor,
                environment: str) -> list[dict]:
    """The record of each trained run of one architecture (cache entries, weights included)."""
    from . import runtable
    from .data import first_of_each_class
    from .metrics import correlation_matrix
    from .model import StackedAutoencoder

    digits = test_images[first_of_each_class(test_labels, 1)]                      # (10, 784)
    recon = StackedAutoencoder.from_runs(runs).reconstructions(digits).numpy()     # (K, 10, 784)
    rows = runtable.runs_frame(runs).to_dict("records")
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    records = []
    for run, row, images in zip(runs, rows, recon):
        codes = run["test_codes"].numpy()                                           # (10000, n)
        finite = bool(np.isfinite(codes).all())
        arrays = {"reconstructions": encode_images(images), "code_std": encode_array(run["code_std"].numpy(), "float32")}
        if codes.shape[1] <= CORRELATION_UP_TO:                                     # its row keeps corr_mean either way
            arrays["correlation"] = encode_array(correlation_matrix(codes) if finite else
                                                 np.full((codes.shape[1],) * 2, np.nan), "float32")
        if codes.shape[1] <= CODES_UP_TO:
            arrays["test_codes"] = encode_array(codes, "float16" if finite and np.abs(codes).max() < 6e4 else "float32")
        metrics = run["metrics"]
        content = _json_ready({
            "format": FORMAT, "key": run["key"], "code_version": run["code_version"], "config": run["config"],
            "device": metrics.get("device", "unrecorded"), "trained_at": run.get("trained_at", now),
            "recorded_at": now, "train_seconds": metrics["train_seconds_shared"] / metrics["runs_trained_together"],
            "metrics": metrics, "row": row,
            "history": {name: encode_array(values, "float32") for name, values in run["history"].items()}, "arrays": arrays,
            "environment": environment})
        content["digest"] = digest(content)
        records.append(content)
    return records


def run_path(key: str, root: Path | None = None) -> Path:
    return (root or record_dir()) / "runs" / f"{key}.json"


def write(content: dict, path: Path) -> Path:
    save_text(json.dumps(content, sort_keys=True, indent=1) + "\n", path)
    return path


# ------------------------------------------------------------------------------- reading it back
def _restore(value):
    if isinstance(value, dict):
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    if value in ("nan", "inf", "-inf"):
        return float(value)
    return value


def read(path: Path) -> dict:
    """A run record, checked: readable, complete, its digest, its key the hash of its config."""
    fix = (f"delete {path} and run `make record` to retrain that run, or restore the committed "
           f"file with `git checkout -- {path}`")
    try:
        content = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"record file {path} is unreadable or truncated ({exc}); {fix}") from None
    missing = sorted({*RUN_FIELDS, "digest"} - set(content)) if isinstance(content, dict) else ["every field"]
    if missing:
        raise RecordError(f"record file {path} lacks fields {missing}; {fix}")
    if content["format"] != FORMAT:
        raise RecordError(f"record file {path} has format {content['format']!r}, this code reads {FORMAT}; {fix}")
    if content["digest"] != digest(content):
        raise RecordError(f"record file {path} was edited after it was written (its digest does not match); {fix}")
    try:
        key = RunConfig.from_dict(content["config"]).key() if content["code_version"] == CODE_VERSION else None
    except (TypeError, ValueError) as exc:
        raise RecordError(f"record file {path} holds a config this code refuses ({exc}); {fix}") from None
    if key is not None and (key != content["key"] or path.stem != key):
        raise RecordError(f"record file {path}: its key {content['key']} is not the hash of its config ({key}); {fix}")
    from .runtable import FRAME_COLUMNS

    if key is not None and (not isinstance(content["row"], dict) or sorted(content["row"]) != sorted(FRAME_COLUMNS)):
        raise RecordError(f"record file {path}: its row's fields are not the runs table's (runtable.RunRow); {fix}")
    return _restore(content)


def load(root: Path | None = None, current_only: bool = True) -> dict[str, dict]:
    """Every run record under `root` by key (those of older code versions only if not current_only)."""
    found = {}
    for path in sorted(((root or record_dir()) / "runs").glob("*.json")):
        content = read(path)
        if not current_only or content["code_version"] == CODE_VERSION:
            found[content["key"]] = content
    return found


def as_run(content: dict) -> dict:
    """A run record in the shape of a cached run (train.Run) without its weights: what a page
    reads (config, metrics, history, code_std, the test codes of a small code) plus the stored
    runs_frame `row` (its runaway fields judged again from the history by train.runaway_epoch, so
    a changed rule needs no retraining), the code `correlation` matrix and the ten `reconstructions` (10, 784)."""
    from .train import runaway_epoch

    content = _restore(content)                     # as read: a record made here has NaN as 'nan'
    arrays = {name: decode_array(blob) for name, blob in content["arrays"].items()}
    history = {name: decode_array(blob).tolist() for name, blob in content["history"].items()}   # per epoch, as trained
    epoch = runaway_epoch(history, content["config"]["alpha"])    # the rule of this code, not of the recording
    row = {**content["row"], "runaway_epoch": epoch, "runaway": bool(epoch >= 0 or content["row"]["diverged"])}
    run = {"key": content["key"], "code_version": content["code_version"], "config": content["config"],
           "metrics": content["metrics"], "row": row, "source": "record", "trained_at": content["trained_at"],
           "history": history,
           "code_std": torch.from_numpy(arrays["code_std"].copy()),
           "reconstructions": decode_images(content["arrays"]["reconstructions"]).numpy()}
    if "correlation" in arrays:                                            # codes up to CORRELATION_UP_TO
        run["correlation"] = arrays["correlation"].astype(np.float64)
    if "test_codes" in arrays:
        run["test_codes"] = torch.from_numpy(arrays["test_codes"].astype(np.float32))   # (Ntest, n)
    return run


def find(key: str, root: Path | None = None) -> dict | None:
    """The run with this key as the record holds it (as_run), or None if it is not recorded at
    this code version."""
    path = run_path(key, root)
    if not path.is_file():
        return None
    content = read(path)
    return as_run(content) if content["code_version"] == CODE_VERSION else None


def stale(root: Path | None = None) -> int:
    """How many run records were made by another code version (retrained at this one)."""
    return sum(1 for path in ((root or record_dir()) / "runs").glob("*.json")
               if json.loads(path.read_text()).get("code_version") != CODE_VERSION)


# ------------------------------------------------------------------------------- evaluations
def evaluation_path(key: str, name: str, version: int, settings: dict, root: Path | None = None) -> Path:
    """One evaluation of one run: named by the evaluation, its version and a digest of its settings."""
    tag = hashlib.sha256(json.dumps(_json_ready(settings), sort_keys=True).encode()).hexdigest()[:10]
    return (root or record_dir()) / "evaluations" / name / f"{key}.v{version}.{tag}.json"


def write_evaluation(key: str, name: str, version: int, settings: dict, result: dict,
                     root: Path | None = None) -> Path:
    content = _json_ready({"format": FORMAT, "key": key, "evaluation": name, "version": version,
                           "settings": settings, "result": result})
    content["digest"] = digest(content)
    return write(content, evaluation_path(key, name, version, settings, root))


def read_evaluation(key: str, name: str, version: int, settings: dict, root: Path | None = None) -> dict | None:
    """The stored result of an evaluation of a run at these settings, or None if it was never made."""
    path = evaluation_path(key, name, version, settings, root)
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"evaluation file {path} is unreadable or truncated ({exc}); delete it and "
                          "run `make record` to evaluate again") from None
    if content.get("digest") != digest(content) or content.get("key") != key:
        raise RecordError(f"evaluation file {path} was edited or belongs to another run; delete it and "
                          "run `make record` to evaluate again")
    return _restore(content["result"])
