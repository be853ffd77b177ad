"""Files are replaced only by complete ones: written to a temporary name beside, then renamed."""
from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

import torch


class CacheError(RuntimeError):
    """The results folder cannot be written; the message says which and why."""


def write_atomic(data: bytes, path: Path) -> None:
    """Write `data` to `path` so that a reader sees the old file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # nothing to remove when the folder itself failed
            tmp.unlink()
        raise CacheError(f"cannot write {path}: {exc.strerror or exc}. Free some space or set "
                         "AEB_RESULTS_DIR to a writable folder; finished results are untouched.") from exc


def save_torch(obj, path: Path) -> None:
    """A torch object (a run, a checkpoint), written atomically."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_atomic(buffer.getvalue(), path)


def save_text(text: str, path: Path) -> None:
    """Text, written atomically."""
    write_atomic(text.encode(), path)


def save_csv(frame, path: Path) -> Path:
    """A pandas DataFrame as CSV, written atomically."""
    save_text(frame.to_csv(index=False), path)
    return path


def save_chapter_rows(frame, path: Path) -> Path:
    """Replace the rows of one chapter in the CSV at `path` by `frame` (whose `chapter` column
    names it), keeping every other chapter's rows; written atomically, in `frame`'s columns (a
    column the code added is empty in older rows, one it dropped goes)."""
    import pandas as pd

    (chapter,) = frame.chapter.unique()
    if path.is_file():
        kept = pd.read_csv(path)
        frame = pd.concat([kept[kept.chapter != chapter], frame], ignore_index=True)[list(frame.columns)]
    return save_csv(frame, path)


def load_torch(path: Path, required: set[str] = frozenset(), quiet: bool = False):
    """The object stored at `path`, or None (with a warning unless `quiet`) if it is unreadable
    or incomplete."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
        missing = required - set(obj) if isinstance(obj, dict) else required or {"<dict>"}
        if missing:
            raise ValueError(f"missing fields {sorted(missing)}")
    except Exception as exc:
        if quiet:
            return None
        warnings.warn(f"ignoring unreadable cache entry {path} ({type(exc).__name__}: {exc}); "
                      "it will be recomputed", stacklevel=2)
        return None
    return obj
