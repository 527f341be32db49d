"""Reaching a Dask scheduler: what an address may be, and asking the
server there who it is before a client connects.

Nothing here is contacted until :func:`identify`; :func:`scheduler_problem`
reads the address alone.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import re
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = [
    "SchedulerError",
    "identify",
    "scheduler_problem",
    "unreached",
    "with_port",
]

T = TypeVar("T")


class SchedulerError(ConnectionError):
    """The Dask scheduler could not be reached, or did not answer as
    one."""


_SCHEMES = ("tcp", "tls", "ws", "wss")
"""The ways to reach a scheduler on another machine (Dask's ``inproc``
reaches one in this process only; ``ucx`` needs hardware meshsim does
not ask for)."""

_ENCRYPTED = ("tls", "wss")

# how long a reached server may take to say who it is
_ANSWER_S = 5.0

# where distributed looks when an address names no port
_DEFAULT_PORT = 8786

# a host name or an IPv4 address; an IPv6 one (in brackets in the
# address) is hex digits and colons
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")
_IPV6_HOST = re.compile(r"[0-9A-Fa-f:.]+")
_PORT_TEXT = re.compile(r"[0-9]{1,5}")
_PORT_RULE = "port must be a whole number from 1 to 65535"


def scheduler_problem(address: str) -> str | None:
    """Why ``address`` cannot name a Dask scheduler meshsim can reach (an
    unknown scheme, no host or one no name can be, a port out of range,
    TLS without Dask's TLS settings), or None; nothing is contacted."""
    if not address.strip():
        return "is empty"
    if _scheme_without_slashes(address):
        return "a scheme is followed by '://', as tcp://host:8786"
    # distributed's functions carry no annotations: held as Any
    addressing: Any = importlib.import_module("distributed.comm.addressing")
    registry: Any = importlib.import_module("distributed.comm.registry")
    try:
        scheme, location = addressing.parse_address(address)
    except ValueError as error:
        return str(error)
    if scheme not in _SCHEMES:
        # distributed's own refusal lists schemes meshsim cannot use
        known = ", ".join(f"{s}://" for s in _SCHEMES)
        return f"must be reached by one of {known}, not {scheme}://"
    try:
        registry.get_backend(scheme)
    except ValueError as error:
        return str(error)
    if "@" in location:
        return "host must be a name or an IP address, with no user"
    if location.count(":") > 1 and not location.startswith("["):
        ipv6 = _ipv6(location) or _ipv6(location.rpartition(":")[0])
        if not ipv6 and _HOST_NAME.fullmatch(location.partition(":")[0]):
            return "only one port may follow the host"
        return "an IPv6 host goes in brackets, as tcp://[::1]:8786"
    if location.startswith("["):
        inside, closed, after = location[1:].partition("]")
        if not closed:
            return "an IPv6 host's bracket is not closed"
        if after and not after.startswith(":"):
            return "only a port may follow an IPv6 host's bracket, after ':'"
        if not _ipv6(inside):
            return "brackets hold an IPv6 address, as tcp://[::1]:8786"
    if any(mark in location for mark in "/?#"):
        return "must end at the host or its port, with no path after them"
    port = _port_text(location)
    if port is not None and not _PORT_TEXT.fullmatch(port):
        return _PORT_RULE
    try:
        host, number = addressing.parse_host_port(location, _DEFAULT_PORT)
    except ValueError:
        return _PORT_RULE
    if not 1 <= number <= 65535:
        return _PORT_RULE
    if not host:
        return "names no host"
    named = _HOST_NAME.fullmatch(host) or (
        ":" in host and _IPV6_HOST.fullmatch(host)
    )
    if not named:
        return "host must be a name or an IP address"
    if scheme in _ENCRYPTED and _connection_args()["ssl_context"] is None:
        return (
            f"{scheme}:// needs Dask's TLS settings "
            "(distributed.comm.tls in its configuration), and none are set"
        )
    return None


def _ipv6(text: str) -> bool:
    """Whether ``text`` is an IPv6 address."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _scheme_without_slashes(address: str) -> bool:
    """Whether ``address`` starts with a scheme and ':' but not '://'
    (distributed would read ``tcp:/host`` as a host named so)."""
    if "://" in address:
        return False
    scheme, colon, rest = address.partition(":")
    return bool(colon) and (scheme in _SCHEMES or rest.startswith("/"))


def _port_text(location: str) -> str | None:
    """The port as written after the host, or None when there is none."""
    if location.startswith("["):
        _, _, after = location.partition("]")
        return after[1:] if after.startswith(":") else None
    if ":" not in location:
        return None
    return location.rpartition(":")[2]


def with_port(address: str) -> str:
    """``address`` (which :func:`scheduler_problem` passes) with Dask's
    default port when it names none."""
    addressing: Any = importlib.import_module("distributed.comm.addressing")
    scheme, location = addressing.parse_address(address)
    host, port = addressing.parse_host_port(location, _DEFAULT_PORT)
    whole: str = addressing.unparse_host_port(host, port)
    return f"{scheme}://{whole}"


def unreached(address: str, error: OSError, limit: float) -> SchedulerError:
    """What went wrong reaching the scheduler, in a line of its own
    words: distributed's errors can be empty or name its internals."""
    core: Any = importlib.import_module("distributed.comm.core")
    if isinstance(error, core.CommClosedError):
        return SchedulerError(f"{address} closed the connection")
    if isinstance(error, TimeoutError) and not str(error):
        return SchedulerError(f"{address} did not answer within {limit:g} s")
    return SchedulerError(str(error) or f"{address}: {type(error).__name__}")


def _connection_args() -> dict[str, Any]:
    """How a client connects, from Dask's configuration (TLS settings)."""
    security: Any = importlib.import_module("distributed.security")
    args: dict[str, Any] = security.Security().get_connection_args("client")
    return args


def identify(address: str, limit: float) -> None:
    """Ask the server at ``address`` who it is, within ``limit`` seconds
    to reach it and a few more to hear the answer; raise
    :class:`SchedulerError` unless it says a Dask scheduler.

    distributed's own timeout covers reaching the server, not its
    answer: a server that accepts and never answers would keep a client
    waiting for ever.
    """
    # reaching it ends by the limit (an OSError naming it); past that,
    # the server took the connection and keeps silent
    bound = limit + _ANSWER_S
    try:
        answer = _in_own_loop(_identity(address, limit), bound)
    except TimeoutError:
        raise SchedulerError(
            f"{address} took the connection but did not answer as a "
            f"Dask scheduler within {bound:g} s"
        ) from None
    except OSError as error:
        # distributed says which address and how long it tried
        raise unreached(address, error, limit) from None
    except Exception:
        # garbage read as a message: a length of exabytes, a bad frame
        answer = None
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise SchedulerError(f"{address} does not answer as a Dask scheduler")


async def _identity(address: str, limit: float) -> object:
    """What the server at ``address`` says it is."""
    comm: Any = importlib.import_module("distributed.comm")
    channel = await comm.connect(address, timeout=limit, **_connection_args())
    try:
        await channel.write({"op": "identity", "reply": True})
        answer: object = await channel.read()
        return answer
    finally:
        await channel.close()


def _in_own_loop(work: Coroutine[Any, Any, T], limit: float) -> T:
    """``work`` run to its end, or ``TimeoutError`` after ``limit``
    seconds, in an event loop of its own on a thread of its own.

    The caller may be inside a running loop (a notebook's), where no
    other loop can run; the thread is a daemon, so that Ctrl-C while it
    waits is not held up.
    """
    ended: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            ended.append(asyncio.run(asyncio.wait_for(work, limit)))
        except BaseException as error:  # handed to the caller
            failed.append(error)

    worker = threading.Thread(target=run, name="meshsim-identify", daemon=True)
    worker.start()
    worker.join()
    if failed:
        raise failed[0]
    return ended[0]
