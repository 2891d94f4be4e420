"""Write a file all at once or not at all: model files, predictions, logs, figures.

:func:`atomic_write` hands out a temporary file in the target's folder; when the
block ends without an error the file is flushed to disk and renamed over the
target (``os.replace`` is atomic on one file system), and on any failure (a full
disk, Ctrl-C, an exception of the caller's) the temporary file is removed and the
target is left exactly as it was. A reader therefore sees the old file or the new
one, never half of one.

A save killed outright (``kill -9``, a power cut) leaves its temporary file
behind; the next save to the same path removes it. A temporary file is told from
one still being written by the lock its writer holds on it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows: stale temporaries are then left alone
    fcntl = None  # type: ignore[assignment]

def _prefix(path: Path) -> str:
    return f".{path.name}."


def _suffix(path: Path) -> str:
    # the target's extension last, for libraries that pick a format by it (PIL)
    return f".tmp{path.suffix}"


def _lock(descriptor: int, blocking: bool) -> bool:
    """Take the exclusive lock on an open file; False if another process holds it."""
    if fcntl is None:
        return not blocking
    flags = fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
    try:
        fcntl.flock(descriptor, flags)
    except OSError:
        return False
    return True


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files that killed saves to ``path`` left behind.

    A temporary file whose writer is still running (it holds a lock on it) is
    kept. Returns the files removed.
    """
    path = Path(path)
    removed = []
    if fcntl is None or not path.parent.is_dir():
        return removed
    for candidate in path.parent.glob(f"{_prefix(path)}*{_suffix(path)}"):
        try:
            with open(candidate, "rb") as handle:
                if not _lock(handle.fileno(), blocking=False):
                    continue  # another process is writing it right now
                candidate.unlink()
        except OSError:
            continue  # gone already, or not ours to remove
        removed.append(candidate)
    return removed


def check_writable(path: str | os.PathLike[str], what: str) -> Path:
    """Refuse, before any work is done, a path that a later save could not write.

    Parameters
    ----------
    path : str or PathLike
        Where a file will be written.
    what : str
        How the error names the path (e.g. ``"--out"``).

    Returns
    -------
    pathlib.Path
        The path.

    Raises
    ------
    ValueError
        If the folder is missing, is not a folder, cannot be written, or the
        path is a folder; the message names the path and what to do.
    """
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise ValueError(f"{what} {path}: is a folder; give a file name")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{what} {path}: {folder} is a file, not a folder")
    if not folder.is_dir():
        raise ValueError(
            f"{what} {path}: the folder {folder} does not exist; create it first"
        )
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(
            f"{what} {path}: cannot write in {folder} ({error.strerror or error}); "
            "choose a folder you can write to"
        ) from None
    return path


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    mode: str = "wb",
    *,
    encoding: str | None = None,
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or PathLike
        The file to write. Its folder must exist.
    mode : {"wb", "w"}
        Binary or text.
    encoding, newline : str, optional
        As for :func:`open`, in text mode.

    Yields
    ------
    file object
        Write the whole content to it (or to ``handle.name``, its path, for a
        library that writes to a file name itself).

    Raises
    ------
    OSError
        What writing raised (a full disk, a folder without write permission);
        ``path`` is unchanged and the temporary file removed.

    Example
    -------
    >>> with atomic_write("predictions.csv", "w", newline="") as handle:  # doctest: +SKIP
    ...     handle.write("label\\n")
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', received: {mode!r}")
    path = Path(path)
    remove_stale_temporaries(path)
    umask = os.umask(0)
    os.umask(umask)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=_prefix(path), suffix=_suffix(path)
    )
    try:
        # held until the rename: a cleaner must not take the file for stale
        _lock(descriptor, blocking=True)
        # opened by name, so that ``handle.name`` is a path a library can write to
        with open(temporary, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file 0600; give it an ordinary new file's mode
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    finally:
        os.close(descriptor)
    # make the rename itself durable (not possible on every platform)
    with contextlib.suppress(OSError):
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
