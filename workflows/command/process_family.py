"""Stopping the UI's family of processes: every one, within a bounded time, with or without a terminal.

The UI starts a code server and the daemon, which start run workers; a stop must end them all
and leave no zombie. This process becomes a subreaper so that orphans come back to it, and it
finds its descendants in /proc, telling a reused pid by its start time.
"""

import contextlib
import ctypes
import os
import signal
import threading
import time

# A stop ends within this: a run has until then to record its end, then whatever is left is killed.
STOP_SECONDS = 3.0
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


class Stopper:
    """Turns Ctrl-C, SIGTERM, SIGHUP or a dead daemon into one orderly stop, bounded in time."""

    def __init__(self):
        self.pid = os.getpid()
        self.exit_status = 0
        self._server = None
        self._callbacks = []
        self._stop_time: float | None = None
        self._armed = False
        self._seen: dict[int, str] = {}
        self._lock = threading.RLock()
        self._handlers = {}

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._handlers[signum] = signal.signal(signum, self._on_signal)

    def arm(self) -> None:
        """From here on this process has children: a stop ends them all, within a bounded time."""
        _become_subreaper()
        self._armed = True

    def on_stop(self, callback) -> None:
        self._callbacks.append(callback)
        if self.stopping():
            callback()

    def serving(self, server) -> None:
        self._server = server
        if self.stopping():
            server.should_exit = True

    def stopping(self) -> bool:
        return self._stop_time is not None

    def _on_signal(self, _signum, _frame) -> None:
        if self.stopping() and self._armed:  # asked twice: no more waiting
            if self._server is not None:
                self._server.force_exit = True
            self._kill_all(signal.SIGKILL)
            return
        self.request_stop()
        if self._server is None:
            raise KeyboardInterrupt

    def request_stop(self, exit_status: int = 0) -> None:
        with self._lock:
            if self.stopping():
                return
            self._stop_time = time.monotonic()
            self.exit_status = exit_status
        # The daemon and any run worker are told now. Code servers are shut down in order once
        # the UI has served; while it starts, an orderly shutdown interrupts their loading of the
        # code with a traceback, and they have nothing to finish: they go at once.
        self._kill_all(signal.SIGTERM, code_servers=False)
        if self._server is None:
            self._kill_all(signal.SIGKILL, others=False)
        for callback in self._callbacks:
            with contextlib.suppress(Exception):
                callback()
        if self._server is not None:
            self._server.should_exit = True
        if self._armed:
            threading.Thread(target=self._watchdog, name="stop-watchdog", daemon=True).start()

    def _watchdog(self) -> None:
        time.sleep(STOP_SECONDS + 0.5)
        self._kill_all(signal.SIGKILL)
        time.sleep(0.5)
        os._exit(self.exit_status)  # the orderly stop hung: end it here

    def finish(self) -> None:
        """Last step of every stop: nothing started by this process outlives it, not even as a zombie."""
        if not self._armed:  # nothing was started: only give the signals back
            for signum, handler in self._handlers.items():
                signal.signal(signum, handler)
            return
        self.request_stop(self.exit_status)
        deadline = self._stop_time + STOP_SECONDS
        # A run worker may still be recording its end; a code server has nothing left to do.
        while time.monotonic() < deadline and any(_may_be_finishing(pid) for pid in self._alive()):
            _reap_children()
            time.sleep(0.05)
        self._kill_all(signal.SIGKILL)
        deadline = time.monotonic() + 1.0
        while self._alive() and time.monotonic() < deadline:
            _reap_children()
            time.sleep(0.02)
        _reap_children()

    def _alive(self) -> dict[int, str]:
        family = _family(self.pid)
        with self._lock:
            self._seen.update(family)
            return {pid: start for pid, start in self._seen.items() if _start_time(pid) == start}

    def _kill_all(self, signum: int, code_servers: bool = True, others: bool = True) -> None:
        for pid in self._alive():
            if code_servers if _is_code_server(pid) else others:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signum)


def _family(root: int) -> dict[int, str]:
    """Every process descended from `root` (orphans are reparented to it, a subreaper):
    pid -> start time, to tell a reused pid."""
    table = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat:
                table[int(entry)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _start) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, pending = set(), list(children.get(root, []))
    while pending:
        pid = pending.pop()
        if pid not in found:
            found.add(pid)
            pending.extend(children.get(pid, []))
    return {pid: table[pid][1] for pid in found}


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) from /proc, or None once the process is reaped.

    A zombie still counts: `kill(pid, 0)` finds it, and the threads of a process killed while
    busy may still be ending."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[19]


def _start_time(pid: int) -> str | None:
    stat = _stat(pid)
    return stat[1] if stat else None


def _command_line(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ")
    except OSError:
        return b""


def _is_code_server(pid: int) -> bool:
    line = _command_line(pid)
    return b" dagster code-server start " in line or b" dagster api grpc " in line


def _may_be_finishing(pid: int) -> bool:
    """Worth waiting for: not a code server, not multiprocessing's resource tracker (which ignores
    SIGTERM and ends with its parent), not a zombie."""
    if _is_code_server(pid) or b"multiprocessing.resource_tracker" in _command_line(pid):
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return False
    return text[text.rindex(")") + 2:].split()[0] != "Z"


def _become_subreaper() -> None:
    """Orphans of our children (a run worker whose code server died) become ours to end and reap."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _reap_children() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
