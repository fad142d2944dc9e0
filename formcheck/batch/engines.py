"""Where session tasks run: a local process pool (default) or a Ray cluster.

Both engines run the same :func:`formcheck.batch.tasks.run_session_task` and
hand every :class:`TaskResult` to ``on_result`` in the driver process as soon
as it arrives; the driver alone writes the database. A worker that dies
(a crash in native code, the OOM killer) costs only the sessions it was
running: they are retried once and then recorded as failed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Literal

from formcheck.batch.tasks import ENGINE_CRASH, SessionTask, TaskResult, failed_result
from formcheck.errors import FormcheckError
from formcheck.parallel import available_cores

EngineName = Literal["local", "ray"]
ResultFn = Callable[[TaskResult], None]
MAX_ATTEMPTS = 2
"""A session whose worker dies is tried this many times in all."""
RAY_OBJECT_STORE_BYTES = 256 * 1024**2
"""Object store of a local Ray instance (results are small reports)."""


class EngineError(FormcheckError):
    """The engine cannot start (no Ray installed, cluster unreachable ...)."""


@dataclass(frozen=True)
class EngineOptions:
    """How to run the tasks.

    Attributes
    ----------
    engine : {"local", "ray"}
        A local process pool, or Ray.
    workers : int or None
        Parallel tasks; all cores when None. For Ray without an address, the
        number of CPUs of the local instance.
    address : str or None
        Ray cluster address (``HOST:6379`` or ``auto``); a new local Ray
        instance when None.
    """

    engine: EngineName = "local"
    workers: int | None = None
    address: str | None = None


def default_workers() -> int:
    """Number of cores this process may use.

    Returns
    -------
    int
        At least 1.
    """
    return available_cores()


def _worker_init(one_opencv_thread: bool) -> None:
    """Set up a pool worker.

    Ctrl-C is left to the driver: it stops the workers itself (no tracebacks
    from them). When several workers share the machine, each keeps OpenCV
    to one thread: the cores are already busy with the workers' inference,
    and OpenCV's own threads (decoding's scaling, the report's drawing)
    would only compete with it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if one_opencv_thread:
        import cv2

        cv2.setNumThreads(1)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel queued tasks and stop the workers now (Ctrl-C, a fatal error)."""
    # Python 3.11 has no public way to stop running workers (3.14 adds
    # terminate_workers); without this, interpreter exit would wait for them.
    # shutdown() forgets the processes, so take them first.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


def _run_pool(
    tasks: Sequence[SessionTask], workers: int, on_result: ResultFn
) -> list[SessionTask]:
    """Run tasks in one pool; return those whose worker died."""
    ctx = multiprocessing.get_context("spawn")
    n = min(workers, len(tasks))
    pool = ProcessPoolExecutor(
        max_workers=n, mp_context=ctx, initializer=_worker_init, initargs=(n > 1,)
    )
    from formcheck.batch.tasks import run_session_task

    crashed: list[SessionTask] = []
    try:
        futures: dict[Future[TaskResult], SessionTask] = {
            pool.submit(run_session_task, t): t for t in tasks
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when="FIRST_COMPLETED")
            for fut in done:
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    crashed.append(futures[fut])
                    continue
                on_result(result)
    except BaseException:
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    return crashed


def run_local(tasks: Sequence[SessionTask], workers: int | None, on_result: ResultFn) -> None:
    """Run tasks in a process pool of ``workers`` processes.

    Parameters
    ----------
    tasks : sequence of SessionTask
        The sessions to analyse.
    workers : int or None
        Pool size; all cores when None.
    on_result : callable
        Called in this process with each result as it arrives.
    """
    n = workers or default_workers()
    remaining = list(tasks)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if not remaining:
            return
        crashed = _run_pool(remaining, n, on_result)
        if attempt == MAX_ATTEMPTS:
            for task in crashed:
                on_result(failed_result(task, ENGINE_CRASH))
        remaining, n = crashed, 1  # retry alone: the crash of one worker breaks the whole pool


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast when a ``HOST:PORT`` cluster address does not answer.

    ``ray.init`` retries an unreachable address for minutes and then exits
    the process; a plain TCP connection tells the user at once.

    Parameters
    ----------
    address : str
        ``HOST:PORT`` or ``ray://HOST:PORT``; other forms (``auto``) are not
        checked.
    timeout_s : float
        Connection timeout.

    Raises
    ------
    EngineError
        If nothing listens at the address.
    """
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise EngineError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}). Start it with "
            "'ray start --head' on the head machine and pass the address it prints"
        ) from exc


def _ray_init(ray: object, options: EngineOptions) -> bool:
    """Connect to (or start) Ray; True when this call started it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # never phone home
    if ray.is_initialized():  # type: ignore[attr-defined]
        return False
    kwargs: dict[str, object] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
    }
    if options.address:
        check_reachable(options.address)
        kwargs["address"] = options.address
    else:  # "local": a private instance even when a cluster runs on this machine
        kwargs["address"] = "local"
        kwargs["num_cpus"] = options.workers or default_workers()
        kwargs["object_store_memory"] = RAY_OBJECT_STORE_BYTES
    try:
        ray.init(**kwargs)  # type: ignore[attr-defined]
    except (ConnectionError, RuntimeError, ValueError, SystemExit) as exc:
        where = f"the Ray cluster at {options.address}" if options.address else "a local Ray"
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        hint = (
            " Check 'ray status' on the head machine and the --address; when the cluster uses "
            "token authentication, set RAY_AUTH_MODE=token and give this machine the "
            "cluster's token (docs/batch.md)."
            if options.address
            else ""
        )
        raise EngineError(f"cannot start or reach {where}: {detail}.{hint}") from exc
    return True


def run_ray(tasks: Sequence[SessionTask], options: EngineOptions, on_result: ResultFn) -> None:
    """Run tasks on a Ray cluster (a new local instance when no address is given).

    Every task asks for one CPU, so a cluster runs as many sessions at once
    as it has CPUs. The clips and the output folder must have the same paths
    on every machine (shared storage).

    Parameters
    ----------
    tasks : sequence of SessionTask
        The sessions to analyse.
    options : EngineOptions
        Address and, for a local instance, the number of CPUs.
    on_result : callable
        Called in this process with each result as it arrives.

    Raises
    ------
    EngineError
        If Ray is not installed or the cluster cannot be reached.
    """
    try:
        import ray
        from ray.exceptions import RayError
    except ImportError as exc:
        raise EngineError(
            "the Ray engine needs Ray: pip install 'formcheck[ray]' (or use --engine local)"
        ) from exc
    from formcheck.batch.tasks import run_session_task

    started = _ray_init(ray, options)
    refs: dict[object, SessionTask] = {}
    try:
        remote = ray.remote(num_cpus=1, max_retries=MAX_ATTEMPTS - 1)(run_session_task)
        refs = {remote.remote(t): t for t in tasks}
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            for ref in done:
                task = refs.pop(ref)
                try:
                    result = ray.get(ref)
                except RayError as exc:
                    result = failed_result(task, f"{ENGINE_CRASH} ({type(exc).__name__})")
                on_result(result)
    except BaseException:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()


def longest_first(tasks: Sequence[SessionTask]) -> list[SessionTask]:
    """Order tasks so the longest sessions start first.

    Workers take tasks in order. Started last, a long session would run
    alone while the other workers sit idle; longest-first (the LPT rule)
    keeps the tail of the batch short. Equal lengths keep their order.

    Parameters
    ----------
    tasks : sequence of SessionTask
        The tasks.

    Returns
    -------
    list of SessionTask
        The same tasks, by seconds of video, longest first.
    """
    return sorted(tasks, key=lambda t: t.video_seconds, reverse=True)


def run_tasks(tasks: Sequence[SessionTask], options: EngineOptions, on_result: ResultFn) -> None:
    """Run tasks on the chosen engine.

    Parameters
    ----------
    tasks : sequence of SessionTask
        The sessions to analyse.
    options : EngineOptions
        Engine, workers, address.
    on_result : callable
        Called in this process with each result as it arrives.
    """
    if not tasks:
        return
    tasks = longest_first(tasks)
    if options.engine == "ray":
        run_ray(tasks, options, on_result)
    else:
        run_local(tasks, options.workers, on_result)


__all__ = [
    "EngineError",
    "EngineName",
    "EngineOptions",
    "check_reachable",
    "default_workers",
    "longest_first",
    "run_local",
    "run_ray",
    "run_tasks",
]
