"""SIGINT and SIGTERM: stop the children, remove the temporary files, exit 130 / 143.

Every command runs inside `handled()`. There SIGINT raises KeyboardInterrupt and SIGTERM (what CI
cancellation, `timeout` and Kubernetes send) raises `Terminated`, in the main thread; both unwind
the stack through the `finally:` blocks that stop child processes and remove temporary
directories, and `handled()` then exits 130 or 143 with one line on standard error: never a
traceback, never 1 (the exit code of findings).

Only the first signal raises. One that arrives while that cleanup runs is noted and ignored, so
the cleanup is never cut short (every wait in it is bounded). Steps that must not stop halfway
(creating a temporary directory and remembering it, swapping an output into place, removing
temporary files) run inside `deferred()`: a signal that arrives there is acted on at its end.

Children started with `popen()` or `run()` are sent their stop signal as soon as evidoc gets a
signal, whichever thread waits for them; worker threads, which signals never reach, find out
with `check()`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
_HANDLED = (signal.SIGINT, signal.SIGTERM)


class Terminated(BaseException):
    """Raised in the main thread when evidoc gets SIGTERM, as KeyboardInterrupt is for SIGINT.

    A BaseException, so that `except Exception` does not swallow it and `finally:` runs."""


_lock = threading.RLock()
_received: int | None = None  # the first signal
_pending = False  # it arrived inside deferred(): raise when that ends
_depth = 0  # nesting of deferred() in the main thread
_noted = False
_active = False  # inside handled()
_children: dict[int, tuple[subprocess.Popen[Any], int]] = {}


def active() -> bool:
    """Whether SIGINT and SIGTERM are handled here (inside `handled()`)."""
    return _active


def received() -> int | None:
    """The signal evidoc was told to stop with, if any."""
    return _received


def _exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def check() -> None:
    """Raise the interrupt here if evidoc has been told to stop: for worker threads."""
    if _received is not None:
        raise _exception(_received)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _handler(signum: int, frame: object) -> None:
    global _received, _pending, _noted
    first = _received is None
    if first:
        _received = signum
    stop_children()
    if not first:
        if not _noted:
            _noted = True
            # os.write: the main thread may be inside a write to sys.stderr right now.
            with contextlib.suppress(OSError):
                os.write(2, b"evidoc: still cleaning up; it ends in a moment\n")
        return
    if _depth:
        _pending = True
        return
    raise _exception(signum)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A step that a signal must not cut in two: a signal that arrives inside raises at its end."""
    global _depth, _pending
    if not _in_main_thread():  # signals only ever interrupt the main thread
        yield
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending:
            _pending = False
            assert _received is not None
            raise _exception(_received)


def install() -> dict[int, Any]:
    """Handle SIGINT and SIGTERM (unless they were ignored when evidoc started, as for a
    background job or under nohup); returns the handlers to put back."""
    previous: dict[int, Any] = {}
    for sig in _HANDLED:
        current = signal.getsignal(sig)
        if current == signal.SIG_IGN:
            continue
        previous[sig] = current
        signal.signal(sig, _handler)
    return previous


def _reset(previous: dict[int, Any]) -> None:
    global _received, _pending, _depth, _noted, _active
    for sig, handler in previous.items():
        signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    _received, _pending, _depth, _noted, _active = None, False, 0, False, False


@contextlib.contextmanager
def handled(echo: Callable[[str], None] | None = None) -> Iterator[None]:
    """Run a command with SIGINT and SIGTERM handled; an interrupt ends it with exit 130 / 143."""
    if not _in_main_thread():
        yield
        return
    global _active
    previous = install()
    _active = True
    try:
        yield
    except (KeyboardInterrupt, Terminated) as exc:
        signum = _received or (
            signal.SIGINT if isinstance(exc, KeyboardInterrupt) else signal.SIGTERM
        )
        name = signal.Signals(signum).name
        line = f"evidoc: stopped by {name}; temporary files removed, earlier outputs unchanged"
        with contextlib.suppress(Exception):
            (echo or (lambda text: print(text, file=sys.stderr)))(line)
        # CPython remembers a KeyboardInterrupt that left code run from a string (the source
        # dataclasses and namedtuple generate at import) even once it is caught, and then ends
        # the process by SIGINT instead of with this exit code; running such code forgets it.
        exec("pass")
        raise SystemExit(EXIT_CODES.get(signum, 128 + signum)) from None
    finally:
        _reset(previous)


# ---------------------------------------------------------------------------------------------
# child processes


def stop_children() -> None:
    """Send every registered live child its stop signal (from the signal handler)."""
    with _lock:
        children = list(_children.values())
    for proc, sig in children:
        with contextlib.suppress(OSError):
            proc.send_signal(sig)  # a no-op for a child that has already been reaped


def register(proc: subprocess.Popen[Any], stop: int = signal.SIGKILL) -> None:
    """Have `proc` sent `stop` as soon as evidoc is interrupted; `stop_process` forgets it."""
    with _lock:
        _children[id(proc)] = (proc, stop)
    if _received is not None:
        stop_children()


def forget(proc: subprocess.Popen[Any]) -> None:
    with _lock:
        _children.pop(id(proc), None)


def stop_process(proc: subprocess.Popen[Any], sig: int = signal.SIGKILL, grace: float = 10) -> None:
    """Stop a child and reap it: `sig`, up to `grace` seconds to exit, then SIGKILL; then close
    its pipes. Safe on a child that has already ended."""
    with deferred():
        try:
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    proc.send_signal(sig)
                try:
                    proc.wait(timeout=grace if sig != signal.SIGKILL else 10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(OSError):
                        proc.kill()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=10)
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError, ValueError):
                        pipe.close()
        finally:
            forget(proc)


_prctl: Any = None


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A `preexec_fn` that has Linux send the child `sig` when evidoc ends, however it ends
    (SIGKILL included); None where that is not available. For children started from the main
    thread only."""
    global _prctl
    if not sys.platform.startswith("linux"):
        return None
    if _prctl is None:
        try:
            import ctypes

            _prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            return None
    prctl, parent = _prctl, os.getpid()

    def preexec() -> None:
        prctl(1, int(sig), 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # evidoc ended before the line above
            os.kill(os.getpid(), sig)

    return preexec


def popen(
    args: Sequence[str], *, stop: int = signal.SIGKILL, **kwargs: Any
) -> subprocess.Popen[Any]:
    """subprocess.Popen, registered: the child is sent `stop` when evidoc is interrupted."""
    with deferred():
        proc: subprocess.Popen[Any] = subprocess.Popen(args, **kwargs)
        register(proc, stop)
    return proc


def run(
    args: Sequence[str],
    *,
    stop: int = signal.SIGKILL,
    grace: float = 10,
    input: Any = None,
    timeout: float | None = None,
    capture_output: bool = False,
    **kwargs: Any,
) -> subprocess.CompletedProcess[Any]:
    """subprocess.run whose child is sent `stop` as soon as evidoc is interrupted, from whatever
    thread runs it, and is reaped (after at most `grace` seconds, then SIGKILL) before the
    interrupt goes on."""
    if capture_output:
        kwargs["stdout"] = kwargs["stderr"] = subprocess.PIPE
    if input is not None:
        kwargs["stdin"] = subprocess.PIPE
    proc = popen(args, stop=stop, **kwargs)
    try:
        stdout, stderr = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        stop_process(proc, signal.SIGKILL)
        raise subprocess.TimeoutExpired(proc.args, exc.timeout) from None
    except BaseException:
        stop_process(proc, stop, grace)
        raise
    forget(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
