"""`cleantech-survey ui`: the Dagster UI behind the project's gateway, with its daemon.

This process serves the UI itself: Dagster's webserver app, built here and wrapped in
`workflows.ui_gateway.UIGateway` (no cross-origin or in-address operations, no partition key
that is not a wave id, no run config naming resources), served by uvicorn. Beside it run, as
its children, one code server (Dagster's own, shared by the UI and the daemon as `dagster dev`
shares it) that loads `workflows.definitions`, and the daemon (`dagster-daemon run`), which
runs the sensor, the schedule and the run queue.

Ctrl-C, SIGTERM or SIGHUP stops everything within a few seconds, with or without a terminal:
the daemon and any run in progress are sent SIGTERM (a run then records itself as failed and
frees the warehouse pool), the server closes, the code server is shut down, and what is still
alive after that is killed and reaped. (`dagster dev`, started without a terminal, ignored
SIGTERM and left its children running.)
"""

import contextlib
import ctypes
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

from workflows import paths, settings

MODULE = "workflows.definitions"
# A stop ends within this: a run has until then to record its end, then whatever is left is killed.
STOP_SECONDS = 3.0
GRACEFUL_HTTP_SECONDS = 1
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
# Runs `python <arguments>` in this process, after asking Linux for SIGTERM when the parent dies:
# killed outright (SIGKILL, the OOM killer), the UI leaves no daemon behind to launch runs on its own.
# (Code servers end by themselves when the UI's heartbeats stop.)
ENDS_WITH_PARENT = """\
import os, sys
try:
    import ctypes, signal
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
except Exception:
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit(0)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


def code_location_name() -> str:
    """The code location's name: the one Dagster's component loader derives for this project.

    The loader takes `code_location_name` under `[tool.dg.project]` in pyproject.toml, else the
    project folder's name, and warns at every load (dozens of times) when the location is
    registered under another name; so the UI uses the same rule. Sensor cursors and schedule
    states are kept per location name: `code_location_name` in pyproject.toml keeps it fixed
    wherever the project is checked out.
    """
    try:
        with open(paths.PROJECT_ROOT / "pyproject.toml", "rb") as handle:
            project = tomllib.load(handle).get("tool", {}).get("dg", {}).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        project = {}
    return project.get("code_location_name") or paths.PROJECT_ROOT.name


def serve(host: str, port: int) -> int:
    """Serve until asked to stop; 0 after a requested stop, 1 if the daemon died on its own."""
    stopper = _Stopper()
    stopper.install()  # first: a signal during the (slow) start is a stop too
    try:
        settings.apply_defaults()
        listeners = _listen(host, port)
        try:
            print(f"Dagster UI on http://{_url_host(host)}:{port} (Dagster home {os.environ['DAGSTER_HOME']}); "
                  "Ctrl-C stops it.", flush=True)
            stopper.arm()
            _serve(host, port, listeners, stopper)
        finally:
            for listener in listeners:
                listener.close()
    except BaseException:
        # Asked to stop while starting: the interrupt may surface as another error (raised
        # while a class was being built, say); what was asked for is a stop, not a fault.
        if not stopper.stopping():
            raise
    finally:
        stopper.finish()
    return stopper.exit_status


def _serve(host: str, port: int, listeners: list[socket.socket], stopper: "_Stopper") -> None:
    # Dagster is imported only now, once the signal handlers are in place.
    import uvicorn
    from dagster import DagsterInstance
    from dagster._cli.proxy_server_manager import ProxyServerManager
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget, WorkspaceFileTarget
    from dagster._utils.log import configure_loggers
    from dagster_webserver.app import create_app_from_workspace_process_context
    from dagster_webserver.version import __version__ as webserver_version

    from workflows.ui_gateway import UIGateway

    class Server(uvicorn.Server):
        """uvicorn's server, with the signals left to `_Stopper` (uvicorn re-raises them on exit)."""

        @contextlib.contextmanager
        def capture_signals(self):
            yield

    configure_loggers(log_level="WARNING")
    with contextlib.ExitStack() as stack:
        instance = stack.enter_context(DagsterInstance.get())
        instance.optimize_for_webserver(statement_timeout=15000, pool_recycle=3600, max_overflow=20)
        code_server = stack.enter_context(ProxyServerManager(
            instance=instance, code_server_log_level="WARNING",
            workspace_load_target=ModuleTarget(module_name=MODULE, attribute=None,
                                               working_directory=str(paths.PROJECT_ROOT),
                                               location_name=code_location_name())))
        stopper.on_stop(lambda: _stop_restarting(code_server))
        workspace = _workspace_file(stack, code_server.get_code_server_specs())

        daemon = subprocess.Popen(
            [sys.executable, "-c", ENDS_WITH_PARENT, str(os.getpid()), "-m", "dagster._daemon", "run",
             "--workspace", str(workspace), "--log-level", "warning", "--code-server-log-level", "warning"],
            cwd=paths.PROJECT_ROOT, stdin=subprocess.DEVNULL)
        stack.callback(_wait_or_kill, daemon)
        threading.Thread(target=_watch_daemon, args=(daemon, stopper), name="daemon-watch", daemon=True).start()

        context = stack.enter_context(WorkspaceProcessContext(
            instance, WorkspaceFileTarget(paths=[str(workspace)]), version=webserver_version))
        app = UIGateway(create_app_from_workspace_process_context(context), host, port)
        server = Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=GRACEFUL_HTTP_SECONDS))
        stopper.serving(server)
        server.run(sockets=listeners)


class _Stopper:
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


def _listen(host: str, port: int) -> list[socket.socket]:
    """The listening sockets, bound before anything starts: a port in use is a sentence, at once;
    a browser that connects while Dagster loads waits instead of being refused."""
    from workflows.cli import UsageError

    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise UsageError(f"cannot listen on {host!r}: {error.strerror}.") from None
    listeners, tried, failure = [], set(), None
    for family, kind, proto, _name, address in addresses:
        if address[:2] in tried:
            continue
        tried.add(address[:2])
        listener = socket.socket(family, kind, proto)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            listener.bind(address)
            listener.listen(128)
        except OSError as error:
            listener.close()
            # A name may resolve to an address family this machine lacks (::1 without IPv6).
            if error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                failure = failure or error
                continue
            failure = error
            break
        listeners.append(listener)
    if not listeners or (failure and failure.errno not in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)):
        for listener in listeners:
            listener.close()
        reason = failure.strerror if failure else "no address"
        raise UsageError(f"cannot listen on {host}:{port} ({reason}); is the UI already running? "
                         "Choose another port with --port.")
    return listeners


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _workspace_file(stack: contextlib.ExitStack, specs) -> Path:
    """A workspace file naming the running code server, for the UI and the daemon alike."""
    import yaml

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cleantech-ui-")))
    workspace = folder / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": list(specs)}), encoding="utf-8")
    return workspace


def _stop_restarting(code_server) -> None:
    # ProxyServerManager restarts a code server that died (Ctrl-C in a terminal reaches it too)
    # until its own exit, last of all, sets this event: set it as soon as the stop begins.
    event = getattr(code_server, "_ProxyServerManager__shutdown_event", None)
    if event is not None:
        event.set()


def _watch_daemon(daemon: subprocess.Popen, stopper: _Stopper) -> None:
    status = daemon.wait()
    if not stopper.stopping():
        logging.getLogger("dagster").error(
            f"The Dagster daemon stopped on its own (exit status {status}); the UI stops too.")
        stopper.request_stop(exit_status=1)


def _wait_or_kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS - 1)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
