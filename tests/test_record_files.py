"""CI's check of the committed record (record/): every run file readable, complete, unedited, its key
the hash of its config, its environment committed beside it. Passes with a partial record: the
record grows session by session (`make record`), and `make test` prints how much is left."""
from aebottleneck import record


def test_every_committed_record_file_is_valid():
    root = record.record_dir()
    contents = record.load(root, current_only=False)        # raises RecordError naming a bad file
    missing = {c["environment"] for c in contents.values()} - {p.stem for p in (root / "environments").glob("*.txt")}
    assert not missing, f"record files name environments not committed under {root / 'environments'}: {sorted(missing)}"
    for name in ("runs", "environments"):
        assert not [p for p in (root / name).glob(".*.tmp")], f"a half-written file is left in {root / name}"
