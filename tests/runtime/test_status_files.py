"""Atomic runtime JSON files: round trip, no half file ever visible, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from lib.errors import FundingError
from lib.runtime.files import (
    BACKFILL_STATUS_FILE,
    METRICS_FILE,
    StatusFileError,
    read_json,
    runtime_path,
    write_json_atomic,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from config import settings

    directory = tmp_path / "nested" / "run"
    monkeypatch.setenv("RUNTIME_DIR", str(directory))
    settings.get_settings.cache_clear()
    yield directory
    settings.get_settings.cache_clear()


def test_round_trip_and_no_temp_files_left(tmp_path: Path) -> None:
    path = tmp_path / METRICS_FILE
    data = {"batch_id": 7, "exchanges": {"binance": {"success": True, "record_count": 512}}}
    write_json_atomic(path, data)
    assert read_json(path) == data
    write_json_atomic(path, {"batch_id": 8})
    assert read_json(path) == {"batch_id": 8}
    assert sorted(p.name for p in tmp_path.iterdir()) == [METRICS_FILE]


def test_missing_file_reads_as_none(tmp_path: Path) -> None:
    assert read_json(tmp_path / "absent.json") is None


@pytest.mark.parametrize(("content", "reason"), [
    ('{"batch_id": 7, "exch', "is not valid JSON (truncated or corrupt)"),
    ("", "is not valid JSON (truncated or corrupt)"),
    (b"\xff\xfe{}", "is not valid JSON (truncated or corrupt)"),
    ("[1, 2]", "holds a JSON list, expected an object"),
])
def test_half_or_invalid_file_names_the_path(
    tmp_path: Path, content: str | bytes, reason: str
) -> None:
    path = tmp_path / BACKFILL_STATUS_FILE
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(StatusFileError) as info:
        read_json(path)
    message = str(info.value)
    assert message.startswith(f"{path} {reason}") and "\n" not in message
    assert isinstance(info.value, FundingError) and info.value.exit_code == 2


def test_unwritable_directory_is_one_line_naming_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    path = blocker / METRICS_FILE
    with pytest.raises(StatusFileError) as info:
        write_json_atomic(path, {"a": 1})
    assert str(info.value) == f"cannot write {path}: Not a directory"


def test_failed_replace_keeps_old_file_and_cleans_temp(tmp_path: Path) -> None:
    target = tmp_path / "status"
    target.mkdir()  # os.replace of a file over a directory fails
    (target / "keep").write_text("x")
    with pytest.raises(StatusFileError, match=rf"^cannot write {target}: Is a directory$"):
        write_json_atomic(target, {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status"]
    assert (target / "keep").read_text() == "x"


def test_unserialisable_data_is_a_status_error(tmp_path: Path) -> None:
    with pytest.raises(StatusFileError, match="is not JSON-serialisable"):
        write_json_atomic(tmp_path / "x.json", {"n": float("nan")})
    assert list(tmp_path.iterdir()) == []


def test_runtime_path_creates_directory(run_dir: Path) -> None:
    assert not run_dir.exists()
    path = runtime_path(METRICS_FILE)
    assert path == run_dir / METRICS_FILE and run_dir.is_dir()


def test_reader_process_never_sees_a_partial_file(tmp_path: Path) -> None:
    """A real reader process polls while this process rewrites a ~200 KB file 300 times."""
    path = tmp_path / METRICS_FILE
    big = {"rows": ["x" * 100] * 2000}
    write_json_atomic(path, {**big, "i": -1})
    reader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from pathlib import Path
            from lib.runtime.files import read_json
            seen = set()
            while True:
                data = read_json(Path({str(path)!r}))
                assert len(data["rows"]) == 2000
                seen.add(data["i"])
                if data["i"] == 299:
                    break
            print(len(seen))
        """)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    for i in range(300):
        write_json_atomic(path, {**big, "i": i})
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert int(out) >= 2  # it really read while writes were going on
    assert json.loads(path.read_text())["i"] == 299
