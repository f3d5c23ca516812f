"""Worker processes that run one job per input under a hard deadline and a memory limit.

A hostile file can hang the code that reads it where no signal reaches (HDF5's C library, a
read from a FIFO) or make it allocate gigabytes. So each input is read and checked in a worker
process: the parent waits for its answer until the deadline, then kills the worker with SIGKILL,
reports that input as given up, and carries on with a fresh worker. Workers are long-lived
(one job after another over a pipe), so when every input is fast the isolation costs a fork.

Workers start by ``fork`` on Linux when the parent runs no other Python thread (the command line,
a script, ``python -c``), else as ``python -m bncheck.isolation`` (Jupyter, macOS, Windows),
which imports nothing from the caller's ``__main__``. What crosses the pipe is pickled plain
data: the job's argument one way, its return value (or what went wrong) the other.

The parent waits for forked workers' pipes with :mod:`selectors` (Linux only, no descriptor-number
limit) and for spawned workers through one reader thread per worker that queues its replies: an
anonymous pipe cannot be waited on with ``select`` on Windows, a queue works everywhere. The
deadline holds on every system (the parent kills the worker). A worker dies with its parent where
the system lets it know: ``prctl(PR_SET_PDEATHSIG)`` on Linux, a thread watching the parent process
elsewhere (its parent id on macOS and other POSIX systems, the parent's process handle on Windows).

Each worker limits its own address space (``RLIMIT_AS``) to what it had at start plus
``memory_mb``: an allocation beyond it raises ``MemoryError`` in the worker, reported as such.
This needs ``/proc`` (Linux); elsewhere there is no memory limit, only the deadline.
"""
from __future__ import annotations

import importlib
import os
import pickle
import queue
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from typing import IO, Any, Callable, Sequence

DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 4096
STARTUP_TIMEOUT = 120.0  # a spawned worker imports bncheck first; a cold disk can be slow

_HEADER = struct.Struct("<Q")


@dataclass(frozen=True)
class Outcome:
    """What became of one job.

    ``status``: ``ok`` (``value`` is the job's return value), ``timeout`` (killed at the deadline),
    ``memory`` (``MemoryError`` under the worker's limit), ``error`` (the job raised: ``detail``
    names the exception) or ``died`` (the worker process ended: ``detail`` names the signal).
    """

    status: str
    value: Any = None
    detail: str = ""
    seconds: float = 0.0


class WorkersUnavailable(RuntimeError):
    """No worker process could be started (no ``fork``, no usable ``sys.executable``)."""


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Fork is safe and cheap here: Linux, and no Python thread besides this one."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1


# ---------------------------------------------------------------------------------------------
# the pipe protocol: 8-byte little-endian length, then a pickle


def _send(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _recv(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


# ---------------------------------------------------------------------------------------------
# the worker side


def _resolve(ref: str) -> Callable[..., Any]:
    module, _, name = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    function: Callable[..., Any] = obj
    return function


def _address_space() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _limit_memory(memory_mb: int | None) -> None:
    if not memory_mb:
        return
    try:
        import resource
    except ImportError:  # Windows
        return
    base = _address_space()
    if base is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = base + memory_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    except (ValueError, OSError):
        pass


def _quiet_stdio() -> None:
    """Nothing a worker (or a C library in it, like HDF5's diagnostics) prints reaches the user."""
    import faulthandler

    faulthandler.disable()  # a host's faulthandler (pytest's) writes to a copy of its stderr
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        try:
            os.dup2(devnull, fd)
        except OSError:
            pass
    os.close(devnull)


def _die_with_parent(parent: int) -> None:
    """A worker hung in C code must not outlive a parent killed by a CI timeout."""
    if sys.platform == "win32":
        _watch_parent_handle(parent)
        return
    if not sys.platform.startswith("linux"):
        _watch_parent_id(parent)
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        _watch_parent_id(parent)
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(0)


def _watch_parent_id(parent: int, interval: float = 0.5) -> None:
    """POSIX without ``prctl``: a daemon thread ends the process once it is re-parented. It runs
    while the main thread is in C code that holds no GIL (a blocking read, HDF5's I/O)."""
    if os.getppid() != parent:
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="bncheck-parent-watch", daemon=True).start()


def _watch_parent_handle(parent: int) -> None:  # pragma: no cover - Windows
    """Windows: a daemon thread waits on the parent's process handle and ends the process."""
    try:
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x00100000, False, parent)  # SYNCHRONIZE
    except (OSError, AttributeError):
        return
    if not handle:
        os._exit(0)  # the parent is already gone

    def watch() -> None:
        kernel32.WaitForSingleObject(handle, 0xFFFFFFFF)  # INFINITE
        os._exit(0)

    threading.Thread(target=watch, name="bncheck-parent-watch", daemon=True).start()


def serve(requests: IO[bytes], replies: IO[bytes], memory_mb: int | None, parent: int | None = None) -> None:
    """The worker loop: answer ``(function reference, arguments)`` requests until end of input, one
    reply per argument (a batch), each sent when it is done."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends a worker silently
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if parent is not None:
        _die_with_parent(parent)
    _limit_memory(memory_mb)
    _send(replies, ("ready", os.getpid()))
    while True:
        try:
            ref, arguments = _recv(requests)
        except EOFError:
            return
        for argument in arguments:  # a batch: one reply per argument, as soon as it is done
            try:
                reply: tuple[str, Any] = ("ok", _resolve(ref)(argument))
                data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
            except MemoryError:
                data = pickle.dumps(("memory", ""))
            except BaseException as exc:  # noqa: BLE001 - every failure is an answer, never a dead pipe
                try:
                    data = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
                except MemoryError:
                    data = pickle.dumps(("memory", ""))
            replies.write(_HEADER.pack(len(data)) + data)
            replies.flush()


def _spawned_main() -> None:
    memory_mb = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else None
    parent = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else None
    warm = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    if sys.platform == "win32":  # pragma: no cover - the pipes carry bytes, never CRLF translation
        import msvcrt

        for fd in (0, 1):
            msvcrt.setmode(fd, os.O_BINARY)  # type: ignore[attr-defined]
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    _quiet_stdio()
    try:
        if warm:
            _warm(warm)
        serve(requests, replies, memory_mb, parent)
    except (BrokenPipeError, KeyboardInterrupt):
        pass


def _warm(ref: str) -> None:
    """Import what the jobs need before the memory limit is set: an import must not count
    against the limit of the input being checked (numpy alone maps tens of MiB)."""
    try:
        _resolve(ref)()
    except Exception:  # noqa: BLE001 - each job imports what it needs again, and reports why not
        pass


# ---------------------------------------------------------------------------------------------
# the parent side


class _Worker:
    def __init__(self, pid: int, requests: IO[bytes], replies: IO[bytes],
                 popen: subprocess.Popen[bytes] | None) -> None:
        self.pid = pid
        self.requests = requests
        self.replies = replies
        self.popen = popen
        self.ready = False
        self.started = time.monotonic()
        self.batch: list[int] = []  # the jobs sent and not answered yet, in order: the first one runs
        self.deadline: float | None = None
        self.since = 0.0
        self.status: int | None = None
        self.reader: threading.Thread | None = None  # spawned workers: the thread that reads replies
        self.received = bytearray()  # forked workers: reply bytes read, not yet a whole message

    @property
    def job(self) -> int | None:
        """The job running now (the first of its batch not answered yet), or None."""
        return self.batch[0] if self.batch else None

    def fileno(self) -> int:
        return self.replies.fileno()

    def arrived(self) -> list[Any]:
        """The whole replies on the pipe once ``select`` says it is readable (read without blocking:
        a batch's replies can arrive back to back, and a buffered read would keep the second one
        where ``select`` cannot see it); end of the pipe, or a reply that cannot be read, is an
        ``EOFError`` last."""
        try:
            data = os.read(self.replies.fileno(), 1 << 16)
        except OSError as exc:
            return [EOFError(str(exc))]
        self.received += data
        out: list[Any] = []
        while len(self.received) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self.received)
            if len(self.received) < _HEADER.size + size:
                break
            body = bytes(self.received[_HEADER.size:_HEADER.size + size])
            del self.received[:_HEADER.size + size]
            try:
                out.append(pickle.loads(body))
            except Exception as exc:  # noqa: BLE001 - a reply that cannot be read ends the worker
                return out + [EOFError(str(exc))]
        if not data:
            out.append(EOFError("end of the reply pipe"))
        return out

    def read_into(self, inbox: "queue.Queue[tuple[_Worker, Any]]") -> None:
        """Read replies in a daemon thread and queue them; end of the pipe is queued as ``EOFError``.
        The thread owns the reply pipe and closes it."""
        def read() -> None:
            try:
                while True:
                    inbox.put((self, _recv(self.replies)))
            except (EOFError, OSError, ValueError, pickle.UnpicklingError):
                inbox.put((self, EOFError()))
            finally:
                try:
                    self.replies.close()
                except OSError:
                    pass

        self.reader = threading.Thread(target=read, name=f"bncheck-worker-{self.pid}", daemon=True)
        self.reader.start()

    def kill(self) -> None:
        if self.status is None:  # never signal a reaped pid: it may belong to another process now
            try:
                if self.popen is not None:
                    self.popen.kill()  # SIGKILL, or TerminateProcess on Windows
                else:
                    os.kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, OSError):
                pass
        self.reap()

    def reap(self) -> None:
        # a reader thread blocked on the reply pipe holds its lock: it closes the pipe itself at EOF
        streams = (self.requests,) if self.reader is not None else (self.requests, self.replies)
        for stream in streams:
            try:
                stream.close()
            except OSError:
                pass
        if self.status is not None:
            return
        if self.popen is not None:
            self.status = self.popen.wait()
            return
        try:
            _, status = os.waitpid(self.pid, 0)
            self.status = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        except ChildProcessError:
            self.status = 0

    def how_it_ended(self) -> str:
        """Why the reply pipe closed: the exit status or signal (killed if still alive after 2 s)."""
        limit = time.monotonic() + 2.0
        while self.status is None and time.monotonic() < limit:
            if self.popen is not None:
                self.status = self.popen.poll()
            else:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.status = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            if self.status is None:
                time.sleep(0.01)
        if self.status is None:
            self.kill()
        if self.status is not None and self.status < 0:
            try:
                return f"killed by {signal.Signals(-self.status).name}"
            except ValueError:
                return f"killed by signal {-self.status}"
        return f"exit status {self.status}"


def _fork(child: Callable[[IO[bytes], IO[bytes]], None]) -> _Worker:
    """Fork a worker that runs ``child(requests, replies)`` and never returns into the caller's code.

    :class:`WorkersUnavailable` when the system has no process or pipe to spare."""
    fds: list[int] = []
    try:
        fds += os.pipe()
        fds += os.pipe()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: "process is multi-threaded"
            pid = os.fork()
    except OSError as exc:
        for fd in fds:
            os.close(fd)
        raise WorkersUnavailable(f"cannot start a worker process ({exc.strerror or exc})") from None
    to_child_r, to_child_w, from_child_r, from_child_w = fds
    if pid == 0:
        code = 0
        try:
            os.close(to_child_w)
            os.close(from_child_r)
            child(os.fdopen(to_child_r, "rb"), os.fdopen(from_child_w, "wb"))
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            os._exit(code)
    os.close(to_child_r)
    os.close(from_child_w)
    return _Worker(pid, os.fdopen(to_child_w, "wb"), os.fdopen(from_child_r, "rb"), None)


def _fork_worker(memory_mb: int | None, inherited: Sequence[_Worker]) -> _Worker:
    parent = os.getpid()

    def child(requests: IO[bytes], replies: IO[bytes]) -> None:
        for other in inherited:
            for stream in (other.requests, other.replies):
                try:
                    os.close(stream.fileno())
                except (OSError, ValueError):
                    pass
        _quiet_stdio()
        serve(requests, replies, memory_mb, parent)

    return _fork(child)


def _spawn_worker(memory_mb: int | None, warm: str | None = None) -> _Worker:
    executable = sys.executable
    if not executable:
        raise WorkersUnavailable("no Python executable to start workers with")
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = [here] + [p for p in sys.path if p and os.path.isdir(p)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    args = [executable, "-m", "bncheck.isolation", str(memory_mb or 0), str(os.getpid()), warm or ""]
    try:
        popen = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env=env, close_fds=True)
    except OSError as exc:
        raise WorkersUnavailable(f"cannot start {executable}: {exc.strerror or exc}") from None
    assert popen.stdin is not None and popen.stdout is not None
    return _Worker(popen.pid, popen.stdin, popen.stdout, popen)


# ---------------------------------------------------------------------------------------------
# a worker started with the command, before the parent has imported its command line

_prestarted: _Worker | None = None


def prestart(warm: str) -> None:
    """Fork a worker now that imports ``warm`` (``"module:function"``, called once) while this
    process goes on importing the command line and reading its arguments: on a small input the
    two run side by side. The first :class:`Pool` that forks workers takes it (its memory limit
    is sent then); unused, it ends with this process (end of input on its pipe, or the
    parent-death signal)."""
    global _prestarted
    if _prestarted is not None or not can_fork():
        return
    parent = os.getpid()

    def child(requests: IO[bytes], replies: IO[bytes]) -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it silently, even while importing
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _quiet_stdio()
        _die_with_parent(parent)
        _warm(warm)
        try:
            (memory_mb,) = _recv(requests)
        except EOFError:  # the command needed no worker
            return
        serve(requests, replies, memory_mb)

    try:
        _prestarted = _fork(child)
    except WorkersUnavailable:  # the pool tries again when a job needs a worker, or checks in-process
        return


def discard_prestarted() -> None:
    """Kill the pre-started worker: it was forked before state the jobs need (remote mounts)."""
    global _prestarted
    if _prestarted is not None:
        _prestarted.kill()
        _prestarted = None


def _take_prestarted(memory_mb: int | None) -> _Worker | None:
    global _prestarted
    worker, _prestarted = _prestarted, None
    if worker is None:
        return None
    try:
        _send(worker.requests, (memory_mb,))
    except (BrokenPipeError, OSError):  # it ended: start a fresh one instead
        worker.kill()
        return None
    worker.started = time.monotonic()
    return worker


class Pool:
    """Up to ``jobs`` workers; :meth:`map` runs a function on each argument under ``timeout``.

    ``warm`` (``"module:function"``) imports what the jobs need before a worker's memory limit
    is set: in this process, once, before the first worker is forked (a pre-started worker did it
    itself), or in each spawned worker."""

    def __init__(self, jobs: int | None = None, timeout: float | None = DEFAULT_TIMEOUT,
                 memory_mb: int | None = DEFAULT_MEMORY_MB, start: str | None = None,
                 warm: str | None = None) -> None:
        self.jobs = max(1, jobs or default_jobs())
        self.warm = warm
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.start = start or ("fork" if can_fork() else "spawn")
        if self.start not in ("fork", "spawn"):
            raise ValueError(f"start must be 'fork' or 'spawn', not {self.start!r}")
        self.workers: list[_Worker] = []
        self.started_any = False
        self.failed_starts = 0
        self.inbox: queue.Queue[tuple[_Worker, Any]] = queue.Queue()  # spawned workers' replies

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill every worker (they hold no state worth a goodbye)."""
        for worker in self.workers:
            worker.kill()
        self.workers = []

    def _new_worker(self) -> _Worker:
        if self.start == "fork":
            worker = _take_prestarted(self.memory_mb)
            if worker is None:
                if self.warm:
                    _warm(self.warm)
                    self.warm = None
                worker = _fork_worker(self.memory_mb, self.workers)
        else:
            worker = _spawn_worker(self.memory_mb, self.warm)
            worker.read_into(self.inbox)
        self.workers.append(worker)
        return worker

    def _drop(self, worker: _Worker) -> None:
        worker.kill()
        self.workers.remove(worker)

    def map(self, ref: str, arguments: Sequence[Any], batches: Sequence[Sequence[int]] | None = None) -> list[Outcome]:
        """``ref`` (``"module:function"``) applied to each argument, outcomes in argument order.

        ``batches`` (indices into ``arguments``; default: each alone) are sent to a worker together,
        to save round trips on many small jobs. Each job of a batch still has the whole ``timeout``
        from when the one before it was answered, and its own outcome; when one is killed (deadline,
        death), the jobs after it go to another worker."""
        outcomes: list[Outcome | None] = [None] * len(arguments)
        queue = [list(b) for b in (batches if batches is not None else [[i] for i in range(len(arguments))]) if b][::-1]
        while queue or self._busy():
            while queue and len(self.workers) < min(self.jobs, len(queue) + self._busy()):
                self._new_worker()
            for worker in self.workers:
                if queue and worker.ready and worker.job is None:
                    self._dispatch(worker, queue.pop(), ref, arguments)
            deadlines = [w.deadline for w in self.workers if w.job is not None and w.deadline is not None]
            deadlines += [w.started + STARTUP_TIMEOUT for w in self.workers if not w.ready]
            wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            for worker, message in self._replies(wait):
                self._answer(worker, outcomes, message, queue)
            now = time.monotonic()
            for worker in list(self.workers):
                if worker.job is not None and worker.deadline is not None and now >= worker.deadline:
                    outcomes[worker.batch[0]] = Outcome("timeout", seconds=now - worker.since)
                    _requeue_rest(worker, queue)
                    self._drop(worker)
                elif not worker.ready and now >= worker.started + STARTUP_TIMEOUT:
                    self._drop(worker)
                    self.failed_starts += 1
            if self.failed_starts and not self.started_any:
                raise WorkersUnavailable("the worker process did not start")
            if self.failed_starts > 3 * self.jobs + len(arguments):
                raise WorkersUnavailable("worker processes keep failing to start")
        return [o if o is not None else Outcome("died", detail="never run") for o in outcomes]

    def _replies(self, wait: float | None) -> list[tuple[_Worker, Any]]:
        """(worker, message or ``EOFError``) for the replies that arrive within ``wait`` seconds."""
        if self.start == "spawn":
            try:
                got = [self.inbox.get(timeout=wait)]
            except queue.Empty:
                return []
            while True:
                try:
                    got.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            return [(w, m) for w, m in got if w in self.workers]  # a dropped worker's last words: ignored
        if not self.workers:
            return []
        with selectors.DefaultSelector() as selector:  # no FD_SETSIZE limit, unlike select.select
            for worker in self.workers:
                selector.register(worker.replies, selectors.EVENT_READ, worker)
            ready = [key.data for key, _ in selector.select(wait)]
        out = []
        for worker in ready:
            out += [(worker, message) for message in worker.arrived()]
        return out

    def _busy(self) -> int:
        return sum(1 for w in self.workers if w.job is not None)

    def _dispatch(self, worker: _Worker, batch: list[int], ref: str, arguments: Sequence[Any]) -> None:
        worker.batch = batch
        worker.since = time.monotonic()
        worker.deadline = worker.since + self.timeout if self.timeout else None
        try:
            _send(worker.requests, (ref, [arguments[job] for job in batch]))
        except (BrokenPipeError, OSError):
            pass  # the worker is gone: its reply pipe reads EOF and _answer reports how it ended

    def _answer(self, worker: _Worker, outcomes: list[Outcome | None], message: Any,
                queue: list[list[int]]) -> None:
        if isinstance(message, EOFError):
            job = worker.job
            how = worker.how_it_ended()
            self._drop(worker)
            if not worker.ready:
                self.failed_starts += 1
            elif job is not None:
                outcomes[job] = Outcome("died", detail=how, seconds=time.monotonic() - worker.since)
                _requeue_rest(worker, queue)
            return
        if not worker.ready:
            worker.ready = True
            self.started_any = True
            return
        status, value = message
        job = worker.job
        if job is None:
            return
        now = time.monotonic()
        seconds = now - worker.since
        worker.batch = worker.batch[1:]
        worker.since = now  # the next job of the batch starts now, with the whole timeout
        worker.deadline = now + self.timeout if self.timeout and worker.batch else None
        if status == "ok":
            outcomes[job] = Outcome("ok", value=value, seconds=seconds)
        else:
            outcomes[job] = Outcome(status, detail=value, seconds=seconds)


def _requeue_rest(worker: _Worker, queue: list[list[int]]) -> None:
    """The jobs of a killed or dead worker's batch after the one it was running: next, in a fresh worker."""
    if worker.batch[1:]:
        queue.append(worker.batch[1:])


def run_isolated(ref: str, arguments: Sequence[Any], *, jobs: int | None = None,
                 timeout: float | None = DEFAULT_TIMEOUT, memory_mb: int | None = DEFAULT_MEMORY_MB,
                 start: str | None = None, warm: str | None = None,
                 batches: Sequence[Sequence[int]] | None = None) -> list[Outcome]:
    """Apply ``ref`` to each argument in worker processes; see :class:`Pool` (``batches``: :meth:`Pool.map`)."""
    if not arguments:
        return []
    with Pool(jobs, timeout, memory_mb, start, warm) as pool:
        return pool.map(ref, arguments, batches)


def run_in_process(function: Callable[[Any], Any], arguments: Sequence[Any]) -> list[Outcome]:
    """The same outcomes without workers (no deadline, no memory limit): the fallback."""
    outcomes = []
    for argument in arguments:
        since = time.monotonic()
        try:
            outcomes.append(Outcome("ok", value=function(argument), seconds=time.monotonic() - since))
        except MemoryError:
            outcomes.append(Outcome("memory", seconds=time.monotonic() - since))
        except Exception as exc:  # noqa: BLE001
            outcomes.append(Outcome("error", detail=f"{type(exc).__name__}: {exc}"))
    return outcomes


if __name__ == "__main__":
    _spawned_main()
