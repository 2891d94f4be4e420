"""deepgrad.atomic: a file is written whole or not at all, whatever fails midway."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from deepgrad.atomic import atomic_write, check_writable, remove_stale_temporaries


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_finished_write_replaces_the_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    with atomic_write(path, "w") as handle:
        handle.write("new\n")
    assert path.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "disk full"), KeyboardInterrupt()])
def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path, failure):
    path = tmp_path / "model.bin"
    path.write_bytes(b"the previous model")
    with pytest.raises(type(failure)), atomic_write(path) as handle:
        handle.write(b"half of a new ")
        raise failure
    assert path.read_bytes() == b"the previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]


def test_a_full_disk_during_the_flush_leaves_the_old_file(tmp_path, monkeypatch):
    # the data reach the disk only at fsync: a full disk can surface there
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss\n0,1.0\n")
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"), atomic_write(path, "w") as handle:
        handle.write("epoch,loss\n0,1.0\n1,0.5\n")
    assert path.read_text() == "epoch,loss\n0,1.0\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


def test_a_new_file_gets_the_mode_of_an_ordinary_file(tmp_path):
    umask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.txt", "w") as handle:
            handle.write("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_the_next_save_removes_what_a_killed_save_left_behind(tmp_path):
    path = tmp_path / "model.dg"
    # a save killed with SIGKILL halfway: its temporary file stays behind
    code = (
        "import os, sys, time\n"
        "from deepgrad.atomic import atomic_write\n"
        f"with atomic_write({str(path)!r}) as handle:\n"
        "    handle.write(b'half'); handle.flush(); print('writing', flush=True)\n"
        "    time.sleep(60)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert writer.stdout.readline() == b"writing\n"
    (leftover,) = tmp_path.glob(".model.dg.*.tmp.dg")
    # while its writer lives, the temporary file is not stale
    assert remove_stale_temporaries(path) == []
    writer.kill()
    writer.wait()
    assert leftover.exists()

    with atomic_write(path) as handle:
        handle.write(b"whole")

    assert path.read_bytes() == b"whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.dg"]


def test_check_writable_names_the_option_and_what_to_do(tmp_path):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(ValueError, match=r"--out .*missing.*does not exist; create it"):
        check_writable(tmp_path / "missing" / "m.dg", "--out")
    with pytest.raises(ValueError, match=r"--plot .*is a folder"):
        check_writable(tmp_path, "--plot")
    with pytest.raises(ValueError, match=r"--out .*a_file is a file, not a folder"):
        check_writable(tmp_path / "a_file" / "m.dg", "--out")
    assert check_writable(tmp_path / "m.dg", "--out") == tmp_path / "m.dg"


def test_check_writable_refuses_a_folder_it_cannot_write_in(tmp_path, monkeypatch):
    # what a read-only folder does to a non-root user (root writes anywhere, so
    # the refusal is provoked by the probe file's creation failing)
    import tempfile

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    with pytest.raises(ValueError, match=r"--out .*cannot write in .*Permission denied"):
        check_writable(tmp_path / "m.dg", "--out")


def test_atomic_write_refuses_modes_that_are_not_a_whole_write(tmp_path):
    with pytest.raises(ValueError, match="mode must be"), atomic_write(tmp_path / "x", "a"):
        pass
    assert list(tmp_path.iterdir()) == []
