"""A minimal ctypes binding to libpq for the lab's app replicas.

psycopg costs ~15 MiB of memory per process on import; six app replicas would spend ~90 MiB
on it. The app needs only: connect with a conninfo string, run one parameterised statement,
read text values, close. libpq5 comes with the postgresql-15 package.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

__all__ = ["Connection", "PQError", "connect"]

_CONNECTION_OK = 0
_PGRES_COMMAND_OK = 1
_PGRES_TUPLES_OK = 2



def _load() -> ctypes.CDLL:
    try:
        return ctypes.CDLL("libpq.so.5")  # the dynamic linker finds it; ctypes.util costs ~1 MiB per app
    except OSError:
        from ctypes.util import find_library

        return ctypes.CDLL(find_library("pq") or "libpq.so.5")


_lib = _load()
_lib.PQconnectdb.restype = ctypes.c_void_p
_lib.PQconnectdb.argtypes = [ctypes.c_char_p]
_lib.PQstatus.argtypes = [ctypes.c_void_p]
_lib.PQerrorMessage.restype = ctypes.c_char_p
_lib.PQerrorMessage.argtypes = [ctypes.c_void_p]
_lib.PQfinish.argtypes = [ctypes.c_void_p]
_lib.PQexecParams.restype = ctypes.c_void_p
_lib.PQexecParams.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p,
                              ctypes.POINTER(ctypes.c_char_p), ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
_lib.PQresultStatus.argtypes = [ctypes.c_void_p]
_lib.PQresultErrorMessage.restype = ctypes.c_char_p
_lib.PQresultErrorMessage.argtypes = [ctypes.c_void_p]
_lib.PQntuples.argtypes = [ctypes.c_void_p]
_lib.PQnfields.argtypes = [ctypes.c_void_p]
_lib.PQgetisnull.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_lib.PQgetvalue.restype = ctypes.c_char_p
_lib.PQgetvalue.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_lib.PQclear.argtypes = [ctypes.c_void_p]


class PQError(Exception):
    """libpq reported a connection or statement error."""


class Connection:
    """One libpq connection; use as a context manager so it is always closed."""

    def __init__(self, handle: int) -> None:
        self._handle: int | None = handle

    def execute(self, sql: str, params: Sequence[str | None] = ()) -> list[tuple[str | None, ...]]:
        """Run ``sql`` with ``$1``-style text parameters; return all rows as text tuples."""
        if self._handle is None:
            raise PQError("connection is closed")
        values = (ctypes.c_char_p * max(1, len(params)))(
            *[None if p is None else str(p).encode() for p in params]
        )
        result = _lib.PQexecParams(self._handle, sql.encode(), len(params), None, values, None, None, 0)
        if not result:
            raise PQError((_lib.PQerrorMessage(self._handle) or b"out of memory").decode(errors="replace").strip())
        try:
            status = _lib.PQresultStatus(result)
            if status not in (_PGRES_COMMAND_OK, _PGRES_TUPLES_OK):
                raise PQError((_lib.PQresultErrorMessage(result) or b"").decode(errors="replace").strip())
            rows = []
            for row in range(_lib.PQntuples(result)):
                rows.append(tuple(
                    None if _lib.PQgetisnull(result, row, col) else _lib.PQgetvalue(result, row, col).decode()
                    for col in range(_lib.PQnfields(result))
                ))
            return rows
        finally:
            _lib.PQclear(result)

    def close(self) -> None:
        if self._handle is not None:
            _lib.PQfinish(self._handle)
            self._handle = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(conninfo: str) -> Connection:
    """Open a connection from a libpq conninfo string; raise PQError when it fails."""
    handle = _lib.PQconnectdb(conninfo.encode())
    if not handle:
        raise PQError("out of memory")
    if _lib.PQstatus(handle) != _CONNECTION_OK:
        message = (_lib.PQerrorMessage(handle) or b"").decode(errors="replace").strip()
        _lib.PQfinish(handle)
        raise PQError(message)
    return Connection(handle)
