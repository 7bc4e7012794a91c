"""Text from a file or a folder, made safe to print: control characters shown, never obeyed.

A cell or a file name may hold escape sequences that clear the screen or move the cursor
to print a fake "valid"; printed through `printable`, each control character appears as
its escape (`\\x1b`), so the terminal shows exactly what the file holds.
"""

import re

# C0 controls but tab, DEL, and the C1 controls (U+0080-U+009F), which some terminals obey too.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """The text with every control character written as its escape, e.g. ESC as `\\x1b`."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), str(text))
