"""Named points where the integrity tests kill a run, as a power cut or `kill -9` would.

Inert unless `CLEANTECH_FAULT_AT` names the point the run reaches: then the process kills
itself with SIGKILL, with no chance to clean up (or, for `<point>:raise`, the step fails
with an exception, as a full disk or a bug would make it fail). The points are the
boundaries after each step (`after:<step>`, from a hook on the wave job) and the moments
of publication (`publication:before_commit`, `publication:after_commit`).
"""

import os
import signal

FAULT_VARIABLE = "CLEANTECH_FAULT_AT"


class InjectedFault(Exception):
    """The fault a test asked for at this point."""


def reach(point: str) -> None:
    wanted = os.environ.get(FAULT_VARIABLE)
    if wanted == point:
        os.kill(os.getpid(), signal.SIGKILL)
    if wanted == f"{point}:raise":
        raise InjectedFault(f"a fault was injected at {point} ({FAULT_VARIABLE})")
