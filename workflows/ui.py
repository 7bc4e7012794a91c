"""`cleantech-survey ui`: the Dagster UI and its daemon, with the embedded defaults.

`dagster dev` started without a terminal does not stop on SIGTERM, and its children
(webserver, daemon, code server) outlive it; so it runs in a process group of its own,
and Ctrl-C or SIGTERM here ends the whole group.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from workflows import paths, settings


def serve(host: str, port: int) -> int:
    settings.apply_defaults()
    command = [
        str(Path(sys.executable).with_name("dagster")), "dev",
        "-m", "workflows.definitions", "--host", host, "--port", str(port),
    ]
    print(f"Dagster UI on http://{host}:{port} (Dagster home {os.environ['DAGSTER_HOME']}); Ctrl-C stops it.")
    process = subprocess.Popen(command, cwd=paths.PROJECT_ROOT, start_new_session=True)

    def stop(signum, _frame):
        _stop_group(process)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return process.wait()
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen, grace_seconds: float = 10) -> None:
    if process.poll() is not None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace_seconds)
            return
        except subprocess.TimeoutExpired:
            continue
