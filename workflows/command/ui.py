"""`cleantech-survey ui`: the Dagster UI behind the project's gateway, with its daemon.

This process serves the UI itself: Dagster's webserver app, built here and wrapped in
`workflows.command.ui_gateway.UIGateway` (no cross-origin or in-address operations, no partition key
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
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import tomllib
from pathlib import Path

from workflows import paths, settings
from workflows.command.process_family import STOP_SECONDS, Stopper

MODULE = "workflows.definitions"
GRACEFUL_HTTP_SECONDS = 1
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
    stopper = Stopper()
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


def _serve(host: str, port: int, listeners: list[socket.socket], stopper: Stopper) -> None:
    # Dagster is imported only now, once the signal handlers are in place.
    import uvicorn
    from dagster import DagsterInstance
    from dagster._cli.proxy_server_manager import ProxyServerManager
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget, WorkspaceFileTarget
    from dagster._utils.log import configure_loggers
    from dagster_webserver.app import create_app_from_workspace_process_context
    from dagster_webserver.version import __version__ as webserver_version

    from workflows.command.ui_gateway import UIGateway

    class Server(uvicorn.Server):
        """uvicorn's server, with the signals left to `Stopper` (uvicorn re-raises them on exit)."""

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


def _listen(host: str, port: int) -> list[socket.socket]:
    """The listening sockets, bound before anything starts: a port in use is a sentence, at once;
    a browser that connects while Dagster loads waits instead of being refused."""
    from workflows.command.cli import UsageError

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


def _watch_daemon(daemon: subprocess.Popen, stopper: Stopper) -> None:
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
