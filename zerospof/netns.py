"""Run the current thread inside a named network namespace (``ip netns`` names)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Iterator

__all__ = ["enter_namespace", "in_namespace", "NETNS_DIR"]

NETNS_DIR = "/run/netns"
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns failed: {os.strerror(errno)}")


def enter_namespace(name: str) -> None:
    """Move the calling thread (only it) into network namespace ``name`` for good.

    Sockets the thread opens afterwards live in that namespace. Meant for a monitor thread
    that runs its whole life in the lab's client namespace.
    """
    fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
    try:
        _setns(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def in_namespace(name: str | None) -> Iterator[None]:
    """Run the block in namespace ``name`` (None: stay), then return the thread to where it was."""
    if name is None:
        yield
        return
    original = os.open(f"/proc/self/task/{_gettid()}/ns/net", os.O_RDONLY)
    try:
        enter_namespace(name)
        try:
            yield
        finally:
            _setns(original)
    finally:
        os.close(original)


def _gettid() -> int:
    return threading.get_native_id()


