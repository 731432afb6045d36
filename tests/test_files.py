"""core/files.py: every file backlint writes is replaced atomically (or written in place when it is a device)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backlint.core.files import StaleFileError, atomic_write


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_a_new_file_is_written_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    target = tmp_path / "report.sarif"
    atomic_write(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert _leftovers(tmp_path) == []


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "app.py"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_a_file_changed_since_it_was_read_is_not_written(tmp_path: Path) -> None:
    target = tmp_path / "app.py"
    target.write_bytes(b"edited meanwhile")
    with pytest.raises(StaleFileError):
        atomic_write(target, b"fixed", expected=b"as linted")
    assert target.read_bytes() == b"edited meanwhile"
    assert _leftovers(tmp_path) == []


def test_a_symlink_keeps_pointing_at_its_target_which_is_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_bytes(b"old")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    atomic_write(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"


def test_a_failed_write_leaves_the_target_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "baseline.json"
    target.write_bytes(b"old")

    def fail(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
def test_a_device_is_written_to_not_replaced() -> None:
    atomic_write(Path("/dev/null"), b"discarded")
    assert Path("/dev/null").exists() and not Path("/dev/null").is_file()
