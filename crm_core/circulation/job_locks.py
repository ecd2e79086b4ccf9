"""The lock that keeps one run of each job at a time, whether the worker or a "run now"
button starts it.

On PostgreSQL it is an advisory lock held by the run's own connection for the whole run
(through every chunk's commit): it ends with the server session, so a worker killed mid-run
frees it at once (one whose host died, within a minute: see `advisory_lock`). On SQLite it
is a row of `job_lock` naming its holder - host, a key of this machine's kernel boot and pid
namespace, process id, the process's start time and a token of this one take - with a lease:

- A holder on this machine is checked, not waited for: the next taker reads whether that
  process still lives (`/proc`; the start time tells a reused pid from the holder). A dead
  holder's lock is free at once; a live one keeps it (up to `HOLD_LIMIT`, see below).
- A holder elsewhere (another host, another container's pid namespace, or a holder string
  that names no process) cannot be checked: its lock lapses after the short `LEASE`.

The lease is renewed at each commit of the run, not in between, and on SQLite it could not
be: a transaction of the run holds the database's single write lock from its first write to
its commit, so a renewal would wait behind it (or, committed between the run's reads and its
first write, make that write fail). Instead each commit proves the run still holds the lock:
the last statement of each of its transactions rewrites its own lock row, and a run whose
lock was taken over meanwhile (its lease lapsed and another host's worker took it) rolls
that transaction back and records `job.error.lock_lost`. SQLite's single writer makes that
check and the commit one step, so a lock taken over never leads to two runs' work being
committed.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from crm_core.models import JobLock
from crm_core.platform import clock

# A holder this machine cannot check loses its lock after this (longer than a normal run:
# a dispatch tick or a recycle sweep takes seconds; a run that outlives it and is taken over
# commits nothing, see `still_holding`).
LEASE = timedelta(minutes=2)
# Even a live holder on this machine loses its lock after this: a process that lost track
# of its lock (its release failed) or hangs must not hold a job for good.
HOLD_LIMIT = timedelta(minutes=30)


@dataclass(frozen=True)
class LockHolder:
    """Who holds a job's SQLite lock row: enough to tell, on the same machine, whether that
    process is still alive. Stored as `host/machine/pid/started/take` in `job_lock.holder`."""

    host: str  # for people reading the row; `machine` decides
    machine: str  # this kernel boot and pid namespace: where `pid` means this process
    pid: int
    started: str  # the process's start time in clock ticks since boot; "-" if unknown
    take: str  # one take of the lock, so two runs in one process never share it

    def encode(self) -> str:
        return f"{self.host}/{self.machine}/{self.pid}/{self.started}/{self.take}"

    @classmethod
    def parse(cls, text: str | None) -> LockHolder | None:
        """The holder `text` names, or None when it names no process (a free-form holder)."""
        parts = (text or "").split("/")
        if len(parts) != 5 or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], int(parts[2]), parts[3], parts[4])


def _read_proc(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _process_start(pid: int) -> tuple[str, bool] | None:
    """(start time in ticks since boot, is a zombie) of `pid` from /proc, or None if there is
    no such process. ("-", False) where /proc is missing and only the pid can be checked."""
    stat = _read_proc(f"/proc/{pid}/stat")
    if stat is None:
        if Path("/proc/self/stat").exists():
            return None
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # it exists, under another user
        return "-", False
    # The command name (field 2) may hold spaces and brackets: count fields after its ")".
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 20:
        return "-", False  # unreadable: it exists, its start is unknown
    return fields[19], fields[0] in ("Z", "X")


@cache
def _this_machine() -> str:
    """A key of the places where a pid names the same process as here: this boot of this
    kernel and this pid namespace (containers on one host share a kernel, not a namespace)."""
    boot = (_read_proc("/proc/sys/kernel/random/boot_id") or "").strip()
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    seed = f"{boot}|{namespace}" if boot else f"host|{socket.gethostname()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:12]


_active_lock = threading.Lock()
_active_takes: set[str] = set()  # holders of the locks this process holds right now


def default_holder() -> str:
    """A new holder for one take of a job lock by this process."""
    own = _process_start(os.getpid())
    return LockHolder(
        host=socket.gethostname()[:40] or "-",
        machine=_this_machine(),
        pid=os.getpid(),
        started=own[0] if own else "-",
        take=secrets.token_hex(4),
    ).encode()


def holder_is_alive(holder: str) -> bool | None:
    """Whether the process of a lock holder still holds its lock: True or False for a holder
    on this machine, None for one this machine cannot check (elsewhere, or free-form)."""
    parsed = LockHolder.parse(holder)
    if parsed is None or parsed.machine != _this_machine() or os.name != "posix":
        return None  # (on Windows os.kill(pid, 0) would end the process, not ask about it)
    found = _process_start(parsed.pid)
    if found is None:
        return False
    started, zombie = found
    if zombie or (parsed.started != "-" and started != "-" and started != parsed.started):
        return False  # it died (not yet reaped), or its pid now names another process
    if parsed.pid == os.getpid():
        # This very process: it knows which of its takes are still running.
        with _active_lock:
            return holder in _active_takes
    return True


def lock_is_free(holder: str | None, expires_at: datetime | None, now: datetime) -> bool:
    """Whether a job's lock row, held by `holder` until `expires_at`, may be taken at `now`:
    it is free, its holder on this machine is dead or past `HOLD_LIMIT`, or its holder
    cannot be checked and the lease has lapsed."""
    if holder is None:
        return True
    alive = holder_is_alive(holder)
    if alive is False:
        return True
    if expires_at is None:
        return True
    if alive is None:
        return expires_at <= now
    return expires_at - LEASE + HOLD_LIMIT <= now


def job_lock_key(job: str) -> int:
    return zlib.crc32(f"crm-job:{job}".encode()) & 0x7FFFFFFF


@contextmanager
def sqlite_lock_row(engine: Engine, job: str, holder: str) -> Iterator[bool]:
    """Take the job's lock row for `holder` (yields whether it was free) and give it back.

    The row is read first and written only to take it: while a run holds SQLite's write lock,
    a live holder is reported at once instead of after waiting for that lock."""
    now = clock.now()
    with Session(engine) as session:
        if session.get(JobLock, job) is None:
            session.add(JobLock(name=job))
            session.commit()
        row = session.exec(
            select(JobLock.holder, JobLock.expires_at).where(JobLock.name == job)
        ).one()
        taken = 0
        if lock_is_free(row[0], row[1], now):
            # Compare and set on the row as judged: of two takers who both found the old
            # holder gone, one wins. The take is known to this process before the row names
            # it: another thread of this process that reads the row in between must find
            # its holder alive, not lost track of (`holder_is_alive`).
            with _active_lock:
                _active_takes.add(holder)
            seen = [
                col(column).is_(None) if value is None else column == value
                for column, value in ((JobLock.holder, row[0]), (JobLock.expires_at, row[1]))
            ]
            try:
                taken = session.exec(
                    update(JobLock)
                    .where(JobLock.name == job, *seen)
                    .values(holder=holder, expires_at=now + LEASE)
                ).rowcount
                session.commit()
            finally:
                if taken != 1:
                    with _active_lock:
                        _active_takes.discard(holder)
    try:
        yield taken == 1
    finally:
        if taken == 1:
            with _active_lock:
                _active_takes.discard(holder)
            with Session(engine) as session:
                session.exec(
                    update(JobLock)
                    .where(JobLock.name == job, JobLock.holder == holder)
                    .values(holder=None, expires_at=None)
                )
                session.commit()


def still_holding(session: Session, job: str, holder: str) -> bool:
    """In the run's own transaction, just before its commit: whether `holder` still holds the
    job's lock row. The UPDATE takes SQLite's write lock (if the run had not yet), so nobody
    can take the lock between this check and the commit; it renews the lease on the way."""
    return (
        session.exec(
            update(JobLock)
            .where(JobLock.name == job, JobLock.holder == holder)
            .values(expires_at=clock.now() + LEASE)
        ).rowcount
        == 1
    )


# The server probes a silent connection after 30 s and drops it a minute after it went quiet
# (Linux's default would wait more than two hours before the first probe).
_KEEPALIVES = {"tcp_keepalives_idle": 30, "tcp_keepalives_interval": 10, "tcp_keepalives_count": 3}


@contextmanager
def advisory_lock(engine: Engine, job: str) -> Iterator[Connection | None]:
    """Try the job's PostgreSQL advisory lock on a connection of its own, held until the
    block ends; yields that connection (the run works on it) or None when another run
    holds the lock.

    A session-level lock, not a transaction's: a run in chunks commits many times and
    keeps the lock through all of them. It ends with the server session, which ends when
    the connection closes - also when the worker is killed. So that a worker whose host
    dies (no connection closed) cannot keep it for long, the connection is probed by the
    server (`_KEEPALIVES`)."""
    connection = engine.connect()
    held = False
    try:
        for name, value in _KEEPALIVES.items():
            connection.execute(text(f"SET {name} = {int(value)}"))
        held = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:key)").bindparams(key=job_lock_key(job))
            ).scalar()
        )
        connection.commit()
        yield connection if held else None
    finally:
        try:
            connection.rollback()
            if held:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)").bindparams(key=job_lock_key(job))
                )
            for name in _KEEPALIVES:
                connection.execute(text(f"RESET {name}"))
            connection.commit()
        except Exception:  # noqa: BLE001 - a connection that cannot say so must not go back
            # to the pool still holding the lock: closing it ends the server session.
            connection.invalidate()
        connection.close()
