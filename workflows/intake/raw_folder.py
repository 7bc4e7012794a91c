"""The raw folder: which of its entries are wave files, and why each other `.csv` entry is skipped.

A wave file is `<wave id>.csv` (the wave-id rule of the input contract) that is a regular
file once links are followed, and that can be opened. Anything else named `*.csv` (a
folder, a FIFO that would block the first read, a device such as `/dev/zero` that never
ends, a broken link, a file that cannot be read, a name that is no wave id) is skipped with
a one-sentence reason, before a single byte is read. The sensor, the schedule and
`cleantech-survey waves` all see the folder through `scan_raw_folder`, and hash a wave file
through `files.file_sha256`, which opens regular files only and never blocks on the open.
"""

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from schemas.codebook import IDENTIFIER
from workflows.intake.files import NotARegularFile, kind_of, open_regular

SUFFIX = ".csv"
WAVE_FILE = re.compile(rf"({IDENTIFIER})\.csv")

NOT_A_WAVE_ID = ("its name is not a wave id followed by .csv (a wave id is 1-32 letters, digits, "
                 "'_' or '-', starting with a letter or digit).")


@dataclass(frozen=True)
class RawFolder:
    """What a scan of the raw folder found."""

    folder: Path
    # The usable wave files, by wave id, in the order of their names.
    waves: dict[str, Path] = field(default_factory=dict)
    # Every other entry whose name ends in `.csv`: its name and why it is not read.
    skipped: dict[str, str] = field(default_factory=dict)
    # Why the folder itself cannot be listed (None when it can, or when it does not exist yet).
    problem: str | None = None


def scan_raw_folder(folder: Path) -> RawFolder:
    """The folder's wave files by wave id, and its other `*.csv` entries with the reason each is skipped.

    Nothing is read: entries are listed, examined with `stat` (links followed) and the regular
    ones opened without blocking and closed again, so that a file that cannot be read is
    skipped here rather than failing a run later.
    """
    folder = Path(folder)
    try:
        with os.scandir(folder) as entries:
            names = sorted(entry.name for entry in entries if entry.name.endswith(SUFFIX))
    except FileNotFoundError:
        return RawFolder(folder)
    except NotADirectoryError:
        return RawFolder(folder, problem=f"{folder} is not a folder.")
    except OSError as error:
        return RawFolder(folder, problem=f"{folder} cannot be listed ({error.strerror}).")
    waves, skipped = {}, {}
    for name in names:
        match = WAVE_FILE.fullmatch(name)
        if not match:
            skipped[name] = NOT_A_WAVE_ID
            continue
        reason = _unusable(folder / name)
        if reason == "":
            continue  # removed since the folder was listed: nothing to say
        if reason:
            skipped[name] = reason
        else:
            waves[match.group(1)] = folder / name
    return RawFolder(folder, waves, skipped)


def _unusable(path: Path) -> str | None:
    """Why `path` cannot be read as a wave file; None when it can; "" when it no longer exists."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        try:
            return f"it is a link to {os.readlink(path)}, which does not exist."
        except OSError:
            return ""  # not a link: removed since the folder was listed
    except OSError as error:
        return f"it cannot be examined ({error.strerror})."
    if not stat.S_ISREG(mode):
        what = "a folder, not a file" if stat.S_ISDIR(mode) else f"{kind_of(mode)}, not a regular file"
        if os.path.islink(path):
            return f"it is a link to {os.path.realpath(path)}, which is {what}."
        return f"it is {what}."
    try:
        os.close(open_regular(path))
    except FileNotFoundError:
        return ""
    except NotARegularFile:
        return "it was replaced by something that is not a regular file while it was examined."
    except OSError as error:
        return f"it cannot be read ({error.strerror})."
    return None
