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
from pathlib import Path

import pytest

from .conftest import DEFAULT, REPO, SMALL, meshsim

# long enough for a small run or sweep here many times over
_LIMIT_S = 120


def on_a_terminal(*arguments: str) -> tuple[int | None, str]:
    """Run ``meshsim ARGUMENTS`` with a terminal of 100 x 24 as its
    standard input, output and error; its exit status (None when it had
    not ended within the limit, and was killed) and what it showed."""
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
        env={**environment, "TERM": "xterm"},
        start_new_session=True,
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
    assert "12 replications: 12 run now, 0 resumed, 0 failed" in shown
