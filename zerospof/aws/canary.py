"""The RPO write canary of an AWS target: sequenced inserts into the PostgreSQL/Aurora primary, read back after recovery."""

from __future__ import annotations

import threading
import time
from typing import Any

from zerospof.errors import TargetError

__all__ = ["PostgresCanary"]

# libpq gives up on a blackholed primary within seconds instead of hanging for minutes
_CONNECTION_OPTIONS: dict[str, Any] = {
    "connect_timeout": 2, "keepalives": 1, "keepalives_idle": 1, "keepalives_interval": 1, "keepalives_count": 2,
    "tcp_user_timeout": 2000, "options": "-c statement_timeout=2000", "autocommit": True,
}


class PostgresCanary:
    """Write ``(run_id, seq, written_at)`` rows to ``table`` through ``dsn`` (the primary's writer endpoint).

    :meth:`write` inserts the next sequence number and returns ``{"seq": n}`` once the server
    acknowledged the commit; it raises on any failure (the write is then not acknowledged).
    The table is created if missing. ``written_at`` is the server's clock at the insert, for
    correlation only: RPO is measured from the runner's own (monotonic) acknowledgement times.
    """

    def __init__(self, dsn: str, table: str, run_id: str) -> None:
        self.dsn = dsn
        self.table = table
        self.run_id = run_id
        self._next_seq = 0
        self._lock = threading.Lock()
        self._connection: Any = None

    def _connect(self) -> Any:
        import psycopg
        from psycopg import sql

        try:
            connection = psycopg.connect(self.dsn, **_CONNECTION_OPTIONS)
            connection.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (run_id text NOT NULL, seq bigint NOT NULL, "
                "written_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (run_id, seq))"
            ).format(sql.Identifier(self.table)))
        except psycopg.Error as exc:
            raise TargetError(f"canary database: {exc}") from exc
        return connection

    def write(self) -> dict[str, Any]:
        """Insert the next sequence number; return ``{"seq": n}`` once acknowledged."""
        import psycopg
        from psycopg import sql

        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
            try:
                if self._connection is None:
                    self._connection = self._connect()
                self._connection.execute(sql.SQL("INSERT INTO {} (run_id, seq) VALUES (%s, %s)").format(
                    sql.Identifier(self.table)), (self.run_id, seq))
            except psycopg.Error as exc:
                self.close()  # reconnect on the next write: the primary may have moved
                raise TargetError(f"canary write {seq}: {exc}") from exc
            return {"seq": seq, "acked_mono": time.monotonic()}

    def read_back(self) -> list[int]:
        """Return this run's sequence numbers present on the database now (a fresh connection)."""
        import psycopg
        from psycopg import sql

        try:
            with psycopg.connect(self.dsn, **_CONNECTION_OPTIONS) as connection:
                rows = connection.execute(sql.SQL("SELECT seq FROM {} WHERE run_id = %s ORDER BY seq").format(
                    sql.Identifier(self.table)), (self.run_id,)).fetchall()
        except psycopg.Error as exc:
            raise TargetError(f"canary read-back: {exc}") from exc
        return [int(seq) for (seq,) in rows]

    def close(self) -> None:
        """Close the writing connection (idempotent)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()  # psycopg does not raise when closing a broken connection
