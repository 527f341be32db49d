"""Where replications run: local processes or a Dask cluster.

An executor maps a function over tasks and yields the results in the
order they finish. It keeps only a few tasks in flight (twice its
workers), so that an interrupted sweep loses little and a large sweep
does not flood the pool. Results do not depend on the executor: each
task carries its own seed.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from itertools import islice
from multiprocessing import forkserver, resource_tracker
from typing import Any, Protocol, TypeVar

from meshsim.arguments import (
    require_count,
    require_instance,
    require_seconds,
)
from meshsim.experiment.scheduler import (
    SchedulerError,
    identify,
    scheduler_problem,
    unreached,
    with_port,
)
from meshsim.experiment.worker import end_with
from meshsim.signals import (
    ctrl_c_deferred,
    interrupts_raised_after,
    signals_held,
)

__all__ = [
    "CONNECT_TIMEOUT_S",
    "MAX_JOBS",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "SerialExecutor",
    "default_jobs",
]

T = TypeVar("T")
R = TypeVar("R")

MAX_JOBS = 1024
"""The most worker processes a local executor starts (a pool larger than
this on one machine only thrashes)."""

CONNECT_TIMEOUT_S = 10.0
"""How long a Dask executor tries to reach its scheduler."""

# tasks in flight per worker
_QUEUED_PER_WORKER = 2

_WORKER_MODULE = "meshsim.experiment.worker"


class Executor(Protocol):
    """Runs a function over tasks, yielding results as they finish."""

    @property
    def description(self) -> dict[str, Any]:
        """What the manifest records of it (kind, workers, address)."""
        ...

    def map_unordered(
        self, function: Callable[[T], R], tasks: Iterable[T]
    ) -> Iterator[R]:
        """``function(task)`` for every task, in order of completion."""
        ...


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class SerialExecutor:
    """Every task in this process, one after the other: for debugging,
    and for tests that replace part of meshsim in this process."""

    @property
    def description(self) -> dict[str, Any]:
        return {"kind": "serial", "workers": 1}

    def map_unordered(
        self, function: Callable[[T], R], tasks: Iterable[T]
    ) -> Iterator[R]:
        for task in tasks:
            # A signal a library swallowed during the task (the run went
            # on, perhaps with a wrong chain check) stops the sweep before
            # the result is stored.
            with interrupts_raised_after():
                result = function(task)
            yield result


class LocalExecutor:
    """Processes on this machine (``concurrent.futures``).

    Workers start from a fork server, a fresh single-threaded process,
    so no lock held by a thread of the caller (a progress bar) is copied
    into them.
    """

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = _workers(jobs)

    @property
    def description(self) -> dict[str, Any]:
        return {"kind": "local", "workers": self.jobs}

    def at_most(self, tasks: int) -> None:
        """Start no more workers than ``tasks``, the count to be run."""
        self.jobs = _at_most(self.jobs, tasks)

    def map_unordered(
        self, function: Callable[[T], R], tasks: Iterable[T]
    ) -> Iterator[R]:
        context = multiprocessing.get_context("forkserver")
        # the fork server imports meshsim once; every worker forked from
        # it starts with meshsim loaded
        context.set_forkserver_preload([_WORKER_MODULE])
        # Ctrl-C on a terminal reaches the whole process group: the fork
        # server, and the workers forked from it, block it from their
        # start (an import it cut short printed a traceback); this
        # process stops them. The resource tracker, started first here,
        # blocks it itself, and unblocks it in its caller after.
        resource_tracker.ensure_running()
        with ctrl_c_deferred():
            forkserver.ensure_running()
        pool = ProcessPoolExecutor(
            self.jobs,
            mp_context=context,
            initializer=end_with,
            initargs=(os.getpid(),),
        )
        finished = False

        def submit(*args: Any) -> Future[R]:
            # A signal while the pool starts a worker process would leave
            # it half started and unknown to the pool, so it waits.
            with signals_held():
                return pool.submit(*args)

        try:
            yield from _windowed(submit, function, tasks, self.jobs)
            finished = True
        finally:
            if not finished:
                # Stopped early (an interrupt, an error, the caller
                # closed us): what runs now is lost either way, so end
                # the workers rather than wait for their tasks.
                _stop_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Send SIGTERM to every worker process of ``pool``.

    NOTE: concurrent.futures has no public way to stop running tasks, so
    this reads the pool's ``_processes``; it can go when the standard
    library gains one (``terminate_workers`` in Python 3.14).
    """
    processes: dict[int, Any] = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        with contextlib.suppress(OSError, ValueError):
            process.terminate()


def _windowed(
    submit: Callable[..., Future[R]],
    function: Callable[[T], R],
    tasks: Iterable[T],
    workers: int,
) -> Iterator[R]:
    pending_tasks = iter(tasks)
    in_flight: set[Future[R]] = {
        submit(function, task)
        for task in islice(pending_tasks, workers * _QUEUED_PER_WORKER)
    }
    while in_flight:
        done, in_flight = wait_futures(in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            for task in islice(pending_tasks, 1):
                in_flight.add(submit(function, task))
            yield future.result()


def _at_most(jobs: int, tasks: int) -> int:
    """``jobs`` workers, but no more than ``tasks`` and at least one."""
    return max(1, min(jobs, tasks))


def _workers(jobs: int | None) -> int:
    """``jobs`` checked, or every core when None."""
    if jobs is None:
        return default_jobs()
    require_count("jobs", jobs, 1, MAX_JOBS)
    return jobs


class DaskExecutor:
    """A Dask distributed cluster: the scheduler at ``address``, or,
    without one, a cluster of ``jobs`` single-thread worker processes on
    this machine's loopback interface, closed when the sweep ends.

    Used as a context manager, it connects (or starts the local cluster)
    on entering, so that a scheduler that cannot be reached fails before
    anything is written; otherwise each :meth:`map_unordered` connects.
    Workers must have meshsim installed (the same version: the manifest
    records the client's).

    NOTE: the workers' meshsim version is not checked against the
    client's; a check needs a version field in every worker's record.
    """

    def __init__(
        self,
        address: str | None = None,
        jobs: int | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        require_seconds("connect_timeout_s", connect_timeout_s)
        if address is not None:
            require_instance("address", address, str)
            problem = scheduler_problem(address)
            if problem is not None:
                raise ValueError(f"address: {problem} (got {address!r})")
            address = with_port(address)
        self.address = address
        self.jobs = _workers(jobs)
        self.connect_timeout_s = connect_timeout_s
        # distributed's objects carry no annotations: held as Any
        self._client: Any = None
        self._cluster: Any = None
        self._scratch: str | None = None
        self._config: Any = None

    @property
    def description(self) -> dict[str, Any]:
        if self.address is None:
            return {"kind": "dask", "scheduler": "local", "workers": self.jobs}
        return {"kind": "dask", "scheduler": self.address}

    def at_most(self, tasks: int) -> None:
        """Start a local cluster of no more workers than ``tasks``, the
        count to be run, if it is not started yet (a scheduler's workers
        are its own)."""
        if self.address is None and self._cluster is None:
            self.jobs = _at_most(self.jobs, tasks)

    def __enter__(self) -> DaskExecutor:
        self._connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._disconnect()

    def map_unordered(
        self, function: Callable[[T], R], tasks: Iterable[T]
    ) -> Iterator[R]:
        distributed: Any = importlib.import_module("distributed")
        connected_here = self._client is None
        if connected_here:
            self._connect()
        client = self._client
        try:
            workers = max(1, sum(client.nthreads().values()))
            pending_tasks = iter(tasks)
            window = workers * _QUEUED_PER_WORKER
            futures = distributed.as_completed(
                [
                    client.submit(function, task, pure=False)
                    for task in islice(pending_tasks, window)
                ]
            )
            for future in futures:
                for task in islice(pending_tasks, 1):
                    futures.add(client.submit(function, task, pure=False))
                result: R = future.result()
                yield result
        finally:
            if connected_here:
                self._disconnect()

    def _connect(self) -> None:
        """Start the local cluster, or reach the scheduler; raise
        :class:`SchedulerError` if it does not answer as one."""
        distributed: Any = importlib.import_module("distributed")
        if self.address is None:
            # the scheduler's and workers' scratch space goes with the
            # cluster, not into the system's temporary folder
            self._scratch = tempfile.mkdtemp(prefix="meshsim-dask-")
            dask: Any = importlib.import_module("dask")
            self._config = dask.config.set(
                {"temporary-directory": self._scratch}
            )
            try:
                # Ctrl-C on a terminal reaches the whole process group:
                # the cluster's thread, made here, and the worker
                # processes it starts block it (each printed a
                # traceback); this process stops them. The resource
                # tracker would unblock it in the thread that starts it.
                resource_tracker.ensure_running()
                with ctrl_c_deferred():
                    self._cluster = distributed.LocalCluster(
                        n_workers=self.jobs,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address="127.0.0.1:0",
                        # a worker's heartbeat lost as the cluster
                        # closes is logged with a traceback; what goes
                        # wrong in a run comes back through its future
                        silence_logs=logging.CRITICAL,
                    )
                self._client = distributed.Client(self._cluster)
            except BaseException:
                self._disconnect()
                raise
            return
        identify(self.address, self.connect_timeout_s)
        try:
            self._client = distributed.Client(
                self.address, timeout=self.connect_timeout_s
            )
        except OSError as error:
            limit = self.connect_timeout_s
            raise unreached(self.address, error, limit) from None
        except Exception:
            # garbage read as a message: a length of exabytes, a bad frame
            raise SchedulerError(
                f"{self.address} does not answer as a Dask scheduler"
            ) from None

    def _disconnect(self) -> None:
        client, cluster = self._client, self._cluster
        scratch, self._scratch = self._scratch, None
        config, self._config = self._config, None
        self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        if config is not None:
            config.__exit__(None, None, None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
