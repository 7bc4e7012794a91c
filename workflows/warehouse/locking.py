"""One run at a time writes the warehouse: a lock file beside it, waited for up to a limit."""

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path


class WarehouseBusy(Exception):
    """Another run held the warehouse for longer than this run was willing to wait."""


@contextmanager
def warehouse_lock(database: Path, wait_seconds: float, poll_seconds: float = 0.2):
    lock_path = database.with_name(database.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"The warehouse {database} is still in use by another run after {wait_seconds:g} s."
                    ) from None
                time.sleep(poll_seconds)
        yield
    finally:
        os.close(handle)


@contextmanager
def first_use(folder: Path):
    """Serialise the first use of a folder's storage across processes (Dagster's SQLite schema)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder / ".first-use.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)
