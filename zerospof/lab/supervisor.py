"""The lab supervisor: one detached process owning every lab daemon as a direct child.

Run as ``python -m zerospof.lab.supervisor --state-dir DIR [--daemonize]``. It reads
``DIR/spec.json`` (``{"components": {name: {"namespace", "argv", "user", "env", "cwd"}}}``),
starts nothing by itself, and obeys one-line JSON requests on the unix socket
``DIR/supervisor.sock`` (see :mod:`zerospof.lab.control`):

- ``{"op": "ping"}``
- ``{"op": "start", "names": [...]}``: start the named components that are not running
- ``{"op": "kill", "names": [...]}``: SIGKILL the named components' main processes
- ``{"op": "terminate", "names": [...], "timeout_s": 5}``: SIGTERM them (a clean stop: e.g. a
  leader releases its lease), SIGKILL those still running after ``timeout_s``
- ``{"op": "kill_namespaces", "namespaces": [...]}``: SIGKILL every process in those namespaces
  (a power loss: daemons and the processes they spawned, e.g. PostgreSQL under Patroni)
- ``{"op": "status"}``: per component ``running``, ``pid``, ``exit_code``, ``starts``
- ``{"op": "shutdown"}``: SIGKILL everything in the lab's namespaces and exit

A component whose spec names a ``preload`` module (the lab's own Python daemons) is not exec'd:
the supervisor imports those modules once at start and a forked child calls ``module.main(args)``
directly, so the interpreter and the imported code are shared copy-on-write (about 5 MiB less
per daemon; ``/proc/PID/comm`` is the component's name). Any other component is fork + exec.

Each component logs to ``DIR/logs/<name>.log``. The supervisor is a child subreaper, so
processes orphaned by a killed daemon are reaped here too. A killed component stays down until someone
asks ``start`` (faults decide, not the supervisor). The one automatic restart: a component whose spec says
``"restart": "on-failure"`` and that exits by itself with a non-zero code (not by a signal) is started again
after ``RESTART_DELAY_S`` (doubling for each further failure within a minute, at most ``RESTART_MAX_DELAY_S``),
as systemd's ``Restart=on-failure`` or the kubelet would: kube-scheduler and kube-controller-manager exit by
design when they lose their Lease. ``kill``, ``terminate``, ``kill_namespaces`` and ``start`` cancel a pending
restart.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib
import json
import os
import pwd
import selectors
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

__all__ = ["Supervisor", "forked_daemons", "main", "SOCKET_NAME", "PID_NAME", "SPEC_NAME"]

SOCKET_NAME = "supervisor.sock"
PID_NAME = "supervisor.pid"
SPEC_NAME = "spec.json"
RESTART_DELAY_S, RESTART_MAX_DELAY_S = 1.0, 10.0
NETNS_DIR = "/run/netns"
_CLONE_NEWNET = 0x40000000
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NAME = 15
_libc = ctypes.CDLL(None, use_errno=True)


def _namespace_pids(namespaces: list[str]) -> list[int]:
    targets = set()
    for name in namespaces:
        try:
            found = os.stat(os.path.join(NETNS_DIR, name))
        except FileNotFoundError:
            continue
        targets.add((found.st_dev, found.st_ino))
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                found = os.stat(f"/proc/{entry}/ns/net")
            except OSError:
                continue
            if (found.st_dev, found.st_ino) in targets:
                pids.append(int(entry))
    return pids


def forked_daemons(state_dir: str | Path | None) -> dict[str, str]:
    """``{comm: module}`` of the components forked without exec (their command line is the supervisor's)."""
    try:
        spec = json.loads((Path(state_dir) / SPEC_NAME).read_text())["components"] if state_dir else {}
    except (OSError, ValueError, KeyError):
        return {}
    return {name[:15]: component["preload"] for name, component in spec.items() if component.get("preload")}


def _preload(modules: set[str]) -> set[str]:
    """Import ``modules`` (the zygote's share); return those that imported. A failure is reported, not fatal:
    that component is then exec'd like any other."""
    loaded = set()
    for module in sorted(modules):
        try:
            importlib.import_module(module)
            loaded.add(module)
        except Exception as exc:  # noqa: BLE001 - the exec path still works
            print(f"supervisor: cannot preload {module}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    gc.freeze()  # what is imported now stays out of the collector's reach: its pages stay shared
    return loaded


def _run_preloaded(name: str, spec: dict[str, Any], env: dict[str, str]) -> None:
    """In a forked child: become ``python -m MODULE ARGS`` without exec, then exit. Never returns.

    The supervisor's own objects (socket, selector, any garbage not yet collected) are never
    finalised here: they are frozen out of the collector's reach and the child leaves with
    ``os._exit``, so their closed descriptors cannot be closed again under the daemon's feet.
    """
    gc.freeze()
    module = spec["preload"]
    argv = spec["argv"]
    args = argv[argv.index(module) + 1:]
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [f"python -m {module}", *args]
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own stdio, for its lifetime
    sys.stdout = open(1, "w", buffering=1, closefd=False, encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False, encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
    _libc.prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    code: Any = 1
    try:
        code = importlib.import_module(module).main(args)
    except SystemExit as exc:
        code = exc.code
    except BaseException:  # noqa: BLE001 - like an interpreter dying of an exception: print it, exit 1
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


class Supervisor:
    """Start, kill and report the components described by the spec file."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.spec: dict[str, dict[str, Any]] = json.loads((state_dir / SPEC_NAME).read_text())["components"]
        self.pids: dict[str, int] = {}
        self.exit_codes: dict[str, int | None] = {name: None for name in self.spec}
        self.starts: dict[str, int] = {name: 0 for name in self.spec}
        self.started_at: dict[str, float] = {}  # CLOCK_MONOTONIC: the same clock in every process
        self.logs = state_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.stopping = False
        self.restart_at: dict[str, float] = {}  # component -> CLOCK_MONOTONIC when to start it again
        self.stop_requested: set[str] = set()  # asked to die (kill, terminate, kill_namespaces): never restarted
        self.failures: dict[str, list[float]] = {name: [] for name in self.spec}
        self.preloaded = _preload({spec["preload"] for spec in self.spec.values() if spec.get("preload")})

    # -- children --------------------------------------------------------------------
    def _spawn(self, name: str) -> int:
        spec = self.spec[name]
        log_fd = os.open(self.logs / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        user = pwd.getpwnam(spec.get("user") or "root")
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": user.pw_dir,
               "USER": user.pw_name, "LANG": "C.UTF-8", **spec.get("env", {})}
        netns_fd = os.open(os.path.join(NETNS_DIR, spec["namespace"]), os.O_RDONLY)
        for stream in (sys.stdout, sys.stderr):  # or the child would write the supervisor's pending output
            stream.flush()
        pid = os.fork()
        if pid == 0:  # child: never return into the supervisor's code
            try:
                if _libc.setns(netns_fd, _CLONE_NEWNET) != 0:
                    os._exit(126)
                os.setsid()
                null = os.open("/dev/null", os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(log_fd, 1)
                os.dup2(log_fd, 2)
                os.chdir(spec.get("cwd") or "/")
                if user.pw_uid != 0:
                    os.initgroups(user.pw_name, user.pw_gid)
                    os.setgid(user.pw_gid)
                    os.setuid(user.pw_uid)
                os.closerange(3, 65536)
                if spec.get("preload") in self.preloaded:
                    _run_preloaded(name, spec, env)
                os.execvpe(spec["argv"][0], spec["argv"], env)
            except BaseException:  # noqa: BLE001 - report and leave the child, whatever happened
                os.write(2, f"supervisor: cannot exec {spec['argv']}: {sys.exc_info()[1]}\n".encode())
            os._exit(127)
        os.close(log_fd)
        os.close(netns_fd)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        with open(self.logs / f"{name}.log", "a") as handle:
            handle.write(f"--- supervisor: started pid {pid} at {stamp}\n")
        self.pids[name] = pid
        self.stop_requested.discard(name)
        self.exit_codes[name] = None
        self.starts[name] += 1
        self.started_at[name] = time.monotonic()
        return pid

    def reap(self) -> None:
        """Collect every exited child (components and orphans alike)."""
        by_pid = {pid: name for name, pid in self.pids.items()}
        for _ in range(10_000):
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            name = by_pid.get(pid)
            if name is not None:
                self.pids.pop(name, None)
                self.exit_codes[name] = os.waitstatus_to_exitcode(status)
                if (self.exit_codes[name] > 0 and self.spec[name].get("restart") == "on-failure"
                        and name not in self.stop_requested):
                    self._schedule_restart(name)

    def _schedule_restart(self, name: str) -> None:
        now = time.monotonic()
        recent = [at for at in self.failures[name] if now - at < 60.0] + [now]
        self.failures[name] = recent
        delay = min(RESTART_DELAY_S * 2 ** (len(recent) - 1), RESTART_MAX_DELAY_S)
        self.restart_at[name] = now + delay
        with open(self.logs / f"{name}.log", "a") as handle:
            handle.write(f"--- supervisor: exited with code {self.exit_codes[name]}; restarting in {delay:.0f}s\n")

    def restart_due(self) -> None:
        """Start the components whose on-failure restart is due."""
        now = time.monotonic()
        for name, at in list(self.restart_at.items()):
            if at <= now:
                del self.restart_at[name]
                if name not in self.pids and not self.stopping:
                    self._spawn(name)

    def start(self, names: list[str]) -> dict[str, Any]:
        unknown = [name for name in names if name not in self.spec]
        if unknown:
            return {"ok": False, "error": f"unknown components: {unknown}"}
        self.reap()
        started = {}
        for name in names:
            self.restart_at.pop(name, None)
            if name not in self.pids:
                started[name] = self._spawn(name)
        return {"ok": True, "started": started}

    def kill(self, names: list[str]) -> dict[str, Any]:
        killed = {}
        for name in names:
            self.restart_at.pop(name, None)
            self.stop_requested.add(name)
            pid = self.pids.get(name)
            if pid is not None:
                with_errors_ignored(os.kill, pid, signal.SIGKILL)
                killed[name] = pid
        self._wait_gone(list(killed.values()))
        return {"ok": True, "killed": killed}

    def terminate(self, names: list[str], timeout_s: float = 5.0) -> dict[str, Any]:
        stopped = {}
        for name in names:
            self.restart_at.pop(name, None)
            self.stop_requested.add(name)
            pid = self.pids.get(name)
            if pid is not None:
                with_errors_ignored(os.kill, pid, signal.SIGTERM)
                stopped[name] = pid
        self._wait_gone(list(stopped.values()), timeout_s=min(max(timeout_s, 0.0), 30.0))
        forced = {name: pid for name, pid in stopped.items() if _alive(pid)}
        if forced:
            self.kill(list(forced))
        return {"ok": True, "terminated": stopped, "killed_after_timeout": forced}

    def kill_namespaces(self, namespaces: list[str]) -> dict[str, Any]:
        killed: list[int] = []
        for name, spec in self.spec.items():
            if spec["namespace"] in namespaces:
                self.restart_at.pop(name, None)
                self.stop_requested.add(name)
        for _ in range(20):  # bounded: processes may fork while we kill
            pids = [pid for pid in _namespace_pids(namespaces) if pid != os.getpid()]
            if not pids:
                break
            for pid in pids:
                with_errors_ignored(os.kill, pid, signal.SIGKILL)
            killed += pids
            self._wait_gone(pids)
        return {"ok": True, "killed": sorted(set(killed))}

    def _wait_gone(self, pids: list[int], timeout_s: float = 3.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.reap()
            if not any(_alive(pid) for pid in pids):
                return
            time.sleep(0.01)

    def status(self) -> dict[str, Any]:
        self.reap()
        return {
            "ok": True,
            "pid": os.getpid(),
            "components": {
                name: {
                    "running": name in self.pids,
                    "restart_pending": name in self.restart_at,  # exited on failure, started again shortly
                    "pid": self.pids.get(name),
                    "exit_code": self.exit_codes[name],
                    "starts": self.starts[name],
                    "uptime_s": (round(time.monotonic() - self.started_at[name], 3)
                                 if name in self.pids else None),
                    "namespace": spec["namespace"],
                }
                for name, spec in self.spec.items()
            },
        }

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "start":
            return self.start(list(request.get("names", [])))
        if op == "kill":
            return self.kill(list(request.get("names", [])))
        if op == "terminate":
            return self.terminate(list(request.get("names", [])), float(request.get("timeout_s", 5.0)))
        if op == "kill_namespaces":
            return self.kill_namespaces(list(request.get("namespaces", [])))
        if op == "status":
            return self.status()
        if op == "shutdown":
            namespaces = sorted({spec["namespace"] for spec in self.spec.values()})
            result = self.kill_namespaces(namespaces)
            self.stopping = True
            return result
        return {"ok": False, "error": f"unknown op {op!r}"}

    # -- serving ---------------------------------------------------------------------
    def serve(self, ready_fd: int | None = None) -> None:
        path = self.state_dir / SOCKET_NAME
        if path.exists():
            path.unlink()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        os.chmod(path, 0o600)
        server.listen(16)
        server.setblocking(False)
        (self.state_dir / PID_NAME).write_text(f"{os.getpid()}\n")
        if ready_fd is not None:
            os.write(ready_fd, b"ok")
            os.close(ready_fd)
        selector = selectors.DefaultSelector()
        selector.register(server, selectors.EVENT_READ)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: setattr(self, "stopping", True))
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # wake the selector
        while not self.stopping:
            for _key, _mask in selector.select(timeout=0.2):
                try:
                    connection, _ = server.accept()
                except BlockingIOError:
                    continue
                with connection:
                    self._answer(connection)
            self.reap()
            self.restart_due()
        namespaces = sorted({spec["namespace"] for spec in self.spec.values()})
        self.kill_namespaces(namespaces)
        server.close()
        with_errors_ignored(path.unlink)
        with_errors_ignored((self.state_dir / PID_NAME).unlink)

    def _answer(self, connection: socket.socket) -> None:
        connection.settimeout(5.0)
        data = b""
        try:
            while not data.endswith(b"\n") and len(data) < 1_000_000:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                data += chunk
            try:
                reply = self.handle(json.loads(data))
            except Exception as exc:  # noqa: BLE001 - the supervisor must outlive a bad request
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            connection.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def with_errors_ignored(function: Any, *args: Any) -> None:
    try:
        function(*args)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zerospof.lab.supervisor")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--daemonize", action="store_true",
                        help="fork into the background; return once the control socket is ready")
    args = parser.parse_args(argv)
    state_dir = args.state_dir.resolve()
    supervisor = Supervisor(state_dir)
    if not args.daemonize:
        _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        supervisor.serve()
        return 0
    read_fd, write_fd = os.pipe()
    if os.fork() > 0:
        os.close(write_fd)
        ready = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not ready:
            ready = os.read(read_fd, 2)  # blocks until the child writes or exits
            if not ready:
                break
        return 0 if ready == b"ok" else 1
    os.close(read_fd)
    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    log = os.open(state_dir / "logs" / "supervisor.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    supervisor.serve(ready_fd=write_fd)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
