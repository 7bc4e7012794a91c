"""Open a file the project was told to read, without blocking and without following it anywhere odd.

A name ending in `.csv` may be a directory, a FIFO that blocks the first read forever, or a
device such as `/dev/zero` that never ends. Only regular files are read; anything else is
refused with the reason, before a single byte is read.
"""

import hashlib
import os
import re
import stat
from pathlib import Path

from schemas.codebook import IDENTIFIER
from workflows.intake.formats import SUFFIXES

# A wave's file in the raw folder: `<wave id>.<type>`.
WAVE_FILE = re.compile(rf"({IDENTIFIER})(\.[A-Za-z]+)")


class NotARegularFile(Exception):
    """The path exists but is not a regular file: the message says what it is instead."""


KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def kind_of(mode: int) -> str:
    return KINDS.get(stat.S_IFMT(mode), "not a regular file")


def open_regular(path: Path) -> int:
    """A read-only descriptor of the regular file at `path`; NotARegularFile for anything else.

    Opening with O_NONBLOCK keeps a FIFO without a writer from blocking the open; the check
    is made on the opened descriptor, so the file cannot be swapped between check and read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(f"{path} is {kind_of(mode)}, not a regular file.")
        os.set_blocking(fd, True)
        return fd
    except BaseException:
        os.close(fd)
        raise


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """The sha256 of a regular file's bytes; NotARegularFile (or OSError) for anything else."""
    digest = hashlib.sha256()
    with os.fdopen(open_regular(path), "rb", buffering=0) as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def files_of_wave(folder: Path, wave: str) -> list[Path]:
    """The entries of the raw folder named `<wave>.<type>` for a type the project reads (any case), by name."""
    try:
        with os.scandir(folder) as entries:
            names = sorted(entry.name for entry in entries
                           if (match := WAVE_FILE.fullmatch(entry.name)) and match.group(1) == wave
                           and match.group(2).lower() in SUFFIXES)
    except OSError:
        return []
    return [Path(folder) / name for name in names]


def two_files(wave: str, names: list[str]) -> str:
    """Why none of a wave's files is read when it has more than one: never guessed between."""
    return (f"wave {wave} has {len(names)} files ({', '.join(sorted(names))}) and none is read until only one is "
            "left: remove or rename the others.")
