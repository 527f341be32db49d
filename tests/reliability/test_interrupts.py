"""``meshsim run`` stopped by SIGINT or SIGKILL at assorted moments, as a
real process: the result folder is either absent or complete, Ctrl-C
leaves nothing behind, and a SIGKILL's staging folder is removed by the
next run.

Delays are partly random (printed on failure); whatever the moment, the
guarantees must hold.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, field_serializer

from meshsim.cli import _COMMANDS, main
from meshsim.cli.interrupts import Terminated, catching_interrupts

from .conftest import (
    DEFAULT,
    SLOW,
    SMALL,
    assert_complete,
    meshsim,
    staging_left,
)

# meshsim's command line, after its imports are done (an interrupt during
# them is the last test's)
READY = "ready"
_AFTER_IMPORTS = (
    "import sys\n"
    "import meshsim.cli\n"
    f"print({READY!r}, file=sys.stderr, flush=True)\n"
    "sys.argv[0] = 'meshsim'\n"
    "meshsim.cli.entry()\n"
)

_random = random.Random()


def start(out: Path, *args: str, ready: bool = True) -> subprocess.Popen[str]:
    """``meshsim run`` of the default scenario into ``out``; with
    ``ready``, return once meshsim is imported and about to start."""
    argv = [sys.executable, "-c", _AFTER_IMPORTS, "run", str(DEFAULT)]
    process = subprocess.Popen(
        [*argv, "--out", str(out), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if ready:
        assert process.stderr is not None
        assert process.stderr.readline().strip() == READY
    return process


def when_staging_appears(out: Path, process: subprocess.Popen[str]) -> None:
    """Wait until the run starts writing its folder."""
    deadline = time.monotonic() + 120
    while not staging_left(out) and process.poll() is None:
        assert time.monotonic() < deadline, "the run never wrote anything"
        time.sleep(0.002)


def stop(
    process: subprocess.Popen[str], signum: int, delay: float
) -> tuple[int, str, str]:
    time.sleep(delay)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr.replace(f"{READY}\n", "", 1)


def assert_interrupted_cleanly(
    out: Path, status: int, stdout: str, stderr: str, moment: str
) -> None:
    """After Ctrl-C: nothing at all, or the whole result and its word."""
    assert "Traceback" not in stderr, moment
    assert not staging_left(out), moment
    if status == 130 and stderr == "interrupted; nothing written\n":
        assert not out.exists(), moment
        return
    if status == 130:
        assert stderr == f"interrupted; results written to {out}\n", moment
    elif status == -signal.SIGINT:
        # the signal came as the interpreter was exiting, after the run
        assert f"results: {out}" in stdout, moment
    else:
        assert status == 0, f"{moment}: status {status}: {stderr}"
    assert_complete(out)


@pytest.mark.parametrize("kind", ["early", "random"])
def test_ctrl_c_while_simulating_writes_nothing(
    kind: str, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    delay = 0.05 if kind == "early" else _random.uniform(0.05, 6.0)

    process = start(out, *SLOW)
    status, stdout, stderr = stop(process, signal.SIGINT, delay)

    moment = f"SIGINT {delay:.2f}s after start"
    assert_interrupted_cleanly(out, status, stdout, stderr, moment)
    if kind == "early":
        assert (status, stderr) == (130, "interrupted; nothing written\n")


def test_ctrl_c_while_writing_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "o"
    delay = _random.uniform(0.0, 0.3)

    process = start(out, *SMALL)
    when_staging_appears(out, process)
    status, stdout, stderr = stop(process, signal.SIGINT, delay)

    moment = f"SIGINT {delay:.2f}s after writing began"
    assert_interrupted_cleanly(out, status, stdout, stderr, moment)
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["o"]), moment


def test_ctrl_c_leaves_an_existing_folder_untouched(tmp_path: Path) -> None:
    out = tmp_path / "o"
    first = CliRunner().invoke(
        main, ["run", str(DEFAULT), "--out", str(out), *SMALL]
    )
    assert first.exit_code == 0, first.output
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    delay = _random.uniform(0.05, 3.0)

    process = start(out, "--force", *SLOW)
    status, _, stderr = stop(process, signal.SIGINT, delay)

    assert (status, stderr) == (130, "interrupted; nothing written\n"), delay
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["o"]


def test_sigterm_cleans_up_like_ctrl_c(tmp_path: Path) -> None:
    out = tmp_path / "o"

    process = start(out, *SMALL)
    when_staging_appears(out, process)
    status, _, stderr = stop(process, signal.SIGTERM, 0.0)

    assert not staging_left(out)
    if status == 143:
        assert stderr in (
            "terminated; nothing written\n",
            f"terminated; results written to {out}\n",
        )
    if out.exists():
        assert_complete(out)
    else:
        assert status == 143, f"status {status}: {stderr}"


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
def test_an_interrupt_keeps_its_status_when_stderr_is_gone(
    signum: int, status: int, tmp_path: Path
) -> None:
    # a reader of stderr that went away (a closed pipe) must not turn
    # the interrupt into an error: the status is all that is left to say
    out = tmp_path / "o"
    process = start(out, *SLOW)
    assert process.stderr is not None
    process.stderr.close()

    time.sleep(0.5)
    process.send_signal(signum)
    process.wait(timeout=120)

    assert process.returncode == status
    assert not staging_left(out)
    assert not out.exists()


def test_sigterm_stops_every_command_with_its_line(tmp_path: Path) -> None:
    # validate blocks on a FIFO no one writes to, as on a slow file
    # system; SIGTERM killed such a command without a word (status -15)
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [sys.executable, "-c", _AFTER_IMPORTS, "validate", str(fifo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    assert process.stderr.readline().strip() == READY

    status, _, stderr = stop(process, signal.SIGTERM, 1.0)

    assert status == 143, stderr
    assert stderr in ("terminated\n", "terminated; nothing written\n")


class _Signalling(BaseModel):
    """A model whose serializer receives SIGTERM, as a field serializer
    of the scenario may while a run writes its manifest."""

    field: int = 0

    @field_serializer("field")
    def _signal(self, value: int) -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        return value


def test_a_signal_a_library_wraps_in_its_error_stops_as_that_signal() -> None:
    # pydantic turns the Terminated raised in its callback into its own
    # PydanticSerializationError, which alone would read as a bug
    with pytest.raises(Terminated) as caught, catching_interrupts():
        _Signalling().model_dump()

    assert "PydanticSerializationError" in repr(caught.value.__cause__)


def test_ctrl_c_a_library_swallows_while_a_command_is_imported_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # numpy.random's compiled modules swallow a KeyboardInterrupt raised
    # while they are imported; this command's module does the same
    (tmp_path / "swallowing.py").write_text(
        "import os\n"
        "import signal\n"
        "\n"
        "import click\n"
        "\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "except KeyboardInterrupt:\n"
        "    pass\n"
        "\n"
        "\n"
        "@click.command()\n"
        "def command() -> None:\n"
        "    click.echo('ran')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(_COMMANDS, "swallowing", "swallowing:command")

    result = CliRunner().invoke(main, ["swallowing"])

    assert (result.exit_code, result.output) == (
        130,
        "interrupted; nothing written\n",
    )


class _Watched:
    """An object whose weak reference's callback is signalled in."""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_python_could_only_print_still_stops_the_command(
    capfd: pytest.CaptureFixture[str], signum: int
) -> None:
    # a weak reference's callback (as one matplotlib drops while drawing
    # a report) cannot pass an exception on: Python printed it as
    # "Exception ignored in ..." with a traceback and went on to status 0
    watched = _Watched()
    reference = weakref.ref(watched, lambda _: os.kill(os.getpid(), signum))
    stopped = Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    with pytest.raises(stopped), catching_interrupts():
        del watched
        assert reference() is None  # the callback ran, and went on

    assert "Exception ignored" not in capfd.readouterr().err


def test_an_error_without_a_signal_is_left_alone() -> None:
    with pytest.raises(ValueError, match="no signal"), catching_interrupts():
        raise ValueError("no signal")


def test_sigkill_at_any_moment_leaves_no_partial_folder(
    tmp_path: Path,
) -> None:
    out = tmp_path / "o"
    delay = _random.uniform(0.0, 8.0)

    process = start(out, *SLOW, ready=False)
    status, _, _ = stop(process, signal.SIGKILL, delay)

    moment = f"SIGKILL {delay:.2f}s after start"
    if out.exists():
        assert_complete(out)
    else:
        assert status == -signal.SIGKILL, moment


def test_sigkill_while_writing_is_cleaned_up_by_the_next_run(
    tmp_path: Path,
) -> None:
    out = tmp_path / "o"
    delay = _random.uniform(0.0, 0.3)

    process = start(out, *SMALL)
    when_staging_appears(out, process)
    stop(process, signal.SIGKILL, delay)

    moment = f"SIGKILL {delay:.2f}s after writing began"
    if out.exists():
        assert_complete(out)
    left = staging_left(out)
    for folder in left:
        assert f".partial-{process.pid}@" in folder.name, moment

    again = subprocess.run(
        meshsim("run", str(DEFAULT), "--out", str(out), "--force", *SMALL),
        capture_output=True,
        text=True,
    )

    assert again.returncode == 0, again.stderr
    assert not staging_left(out), moment
    assert_complete(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "--force" in manifest["command"]


# What each import script ends with: meshsim run, started as the command
# starts it.
_THEN_RUN = (
    "builtins.__import__ = signalled\n"
    "from meshsim.launch import main\n"
    "sys.argv[:] = ['meshsim', 'run', 'x.yaml']\n"
    "main()\n"
)


def _load(script: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run an import ``script``, then :data:`_THEN_RUN`, in ``folder``."""
    return subprocess.run(
        [sys.executable, "-c", script + _THEN_RUN],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=60,
    )


# The command line's import, made to meet a signal while it loads.
_SIGNALLED_IMPORT = (
    "import builtins, os, signal, sys, time\n"
    "real = builtins.__import__\n"
    "def signalled(name, *args, **kwargs):\n"
    "    if name == 'meshsim.cli':\n"
    "        os.kill(os.getpid(), signal.{signal})\n"
    "        time.sleep(5)\n"
    "    return real(name, *args, **kwargs)\n"
)


@pytest.mark.parametrize(
    ("name", "status", "said"),
    [
        ("SIGINT", 130, "interrupted; nothing written\n"),
        ("SIGTERM", 143, "terminated; nothing written\n"),
    ],
)
def test_a_signal_while_the_command_line_loads_ends_in_one_line(
    name: str, status: int, said: str, tmp_path: Path
) -> None:
    done = _load(_SIGNALLED_IMPORT.format(signal=name), tmp_path)

    assert (done.returncode, done.stderr, done.stdout) == (status, said, "")
    assert list(tmp_path.iterdir()) == []


# The command line's import, meeting a Ctrl-C that something in it drops
# (an importlib callback, whose errors Python ignores) or wraps (pydantic
# building a schema).
_CAUGHT_IMPORT = (
    "import builtins, os, signal, sys\n"
    "real = builtins.__import__\n"
    "def signalled(name, *args, **kwargs):\n"
    "    if name == 'meshsim.cli':\n"
    "        try:\n"
    "            os.kill(os.getpid(), signal.SIGINT)\n"
    "        except KeyboardInterrupt as stop:\n"
    "            {caught}\n"
    "    return real(name, *args, **kwargs)\n"
)


@pytest.mark.parametrize(
    "caught", ["pass", "raise RuntimeError('while loading') from stop"]
)
def test_a_ctrl_c_dropped_or_wrapped_while_loading_still_stops(
    caught: str, tmp_path: Path
) -> None:
    done = _load(_CAUGHT_IMPORT.format(caught=caught), tmp_path)

    assert (done.returncode, done.stderr, done.stdout) == (
        130,
        "interrupted; nothing written\n",
        "",
    )
    assert list(tmp_path.iterdir()) == []
