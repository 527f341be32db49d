"""Commands behave on a terminal as they do with their output redirected.

A terminal is where the progress bars show; the rest of the suite runs
with output captured, where they do not.
"""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path

import pytest

from .conftest import DEFAULT, REPO, SMALL, meshsim

# long enough for a small run or sweep here many times over
_LIMIT_S = 120


def _take_the_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is
    its standard input, as a shell gives a command, so that Ctrl-C typed
    there signals it and its group."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def on_a_terminal(
    *arguments: str,
    ctrl_c_after: float | None = None,
    temporary: Path | None = None,
) -> tuple[int | None, str]:
    """Run ``meshsim ARGUMENTS`` with a terminal of 100 x 24 as its
    standard input, output and error, typing Ctrl-C after
    ``ctrl_c_after`` seconds if given, with ``temporary`` as its
    temporary folder if given; its exit status (None when it had not
    ended within the limit, and was killed) and what it showed."""
    controller, terminal = os.openpty()
    size = struct.pack("HHHH", 24, 100, 0, 0)
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, size)
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS")
    }
    process = subprocess.Popen(
        meshsim(*arguments),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={
            **environment,
            "TERM": "xterm",
            **({"TMPDIR": str(temporary)} if temporary else {}),
        },
        preexec_fn=_take_the_terminal,
    )
    os.close(terminal)
    shown: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's last holder has gone
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if ctrl_c_after is not None:
        time.sleep(ctrl_c_after)
        # the terminal sends SIGINT to its whole foreground group
        os.write(controller, b"\x03")
    try:
        status: int | None = process.wait(_LIMIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        status = None
    reader.join(5)
    os.close(controller)
    return status, b"".join(shown).decode(errors="replace")


def test_a_run_on_a_terminal_shows_its_progress_and_ends(
    tmp_path: Path,
) -> None:
    out = tmp_path / "o"

    status, shown = on_a_terminal(
        "run", str(DEFAULT), *SMALL, "--out", str(out)
    )

    assert status == 0, shown[-2000:]
    assert f"results: {out}" in shown
    assert (out / "summary.json").is_file()


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_a_sweep_on_a_terminal_shows_its_progress_and_ends(
    tmp_path: Path, executor: str
) -> None:
    sweep = REPO / "scenarios" / "sweeps" / "ttl-vs-fanout.yaml"
    out = tmp_path / "o"

    status, shown = on_a_terminal(
        "sweep", str(sweep), "--replications", "1", "--out", str(out),
        "--executor", executor, "--set", "mesh.workloads=40",
    )  # fmt: skip

    assert status == 0, shown[-2000:]
    assert (
        "12 runs (12 points x 1 replication): 12 run now, 0 resumed, 0 failed"
        in shown
    )


@pytest.mark.parametrize("after", [0.8, 1.2, 2.5])
def test_ctrl_c_on_a_terminal_stops_a_local_sweep_cleanly(
    tmp_path: Path, short_tmp: Path, after: float
) -> None:
    # the fork server and its workers are in the terminal's group too:
    # an import cut short printed a traceback, and the pymp-* folder of
    # the fork server was left behind
    sweep = REPO / "scenarios" / "sweeps" / "ttl-vs-fanout.yaml"
    temporary = short_tmp

    status, shown = on_a_terminal(
        "sweep", str(sweep), "--replications", "3", "--jobs", "2",
        "--out", str(tmp_path / "o"), "--set", "mesh.workloads=40",
        ctrl_c_after=after, temporary=temporary,
    )  # fmt: skip

    assert status == 130, shown[-2000:]
    assert "Traceback" not in shown
    assert list(temporary.iterdir()) == []


def test_ctrl_c_on_a_terminal_stops_a_local_dask_sweep_cleanly(
    tmp_path: Path, short_tmp: Path
) -> None:
    # the cluster's worker processes are in the terminal's group too:
    # each printed a KeyboardInterrupt traceback as it was stopped
    pytest.importorskip("distributed")
    sweep = REPO / "scenarios" / "sweeps" / "ttl-vs-fanout.yaml"

    status, shown = on_a_terminal(
        "sweep", str(sweep), "--replications", "10", "--jobs", "2",
        "--executor", "dask", "--out", str(tmp_path / "o"),
        "--set", "mesh.workloads=40",
        ctrl_c_after=8, temporary=short_tmp,
    )  # fmt: skip

    assert status == 130, shown[-2000:]
    assert "Traceback" not in shown, shown[-2000:]
    assert list(short_tmp.iterdir()) == []
