"""Text from a file or a folder, made safe to print: control characters shown, never obeyed.

A cell or a file name may hold escape sequences that clear the screen or move the cursor
to print a fake "valid"; printed through `printable`, each control character appears as
its escape (`\\x1b`), so the terminal shows exactly what the file holds.
"""

import re

# C0 controls but tab, DEL, the C1 controls (U+0080-U+009F), which some terminals obey too, and
# the invisible marks that reorder or hide text on screen (bidirectional overrides, zero widths, BOM).
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def printable(text: object) -> str:
    """The text with every control character written as its escape, e.g. ESC as `\\x1b`, and the
    bytes of a file name that are not UTF-8 (Python's surrogate escapes) as `\\xff`."""
    text = str(text)
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no file name decoded to
        raw = text.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)
