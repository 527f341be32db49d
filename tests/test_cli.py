"""The command line as a user runs it: files written, errors, exit codes."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

import meshsim.cli as cli
from meshsim import launch
from meshsim.cli import SUMMARIES, common, main
from meshsim.cli.common import EXIT_INTERRUPTED, EXIT_TERMINATED
from meshsim.cli.interrupts import Terminated

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

SMALL = (
    "--set",
    "mesh.workloads=40",
    "--set",
    "mesh.nodes=6",
    "--set",
    "duration=36h",
)


@pytest.fixture(scope="module")
def default_invocation(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, str]:
    """The default scenario, reduced in size, run once through the CLI:
    its folder and what it printed."""
    out = tmp_path_factory.mktemp("runs") / "istio-sidecar"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(SCENARIOS / "istio-sidecar.yaml"),
            "--out",
            str(out),
            *SMALL,
        ],
    )
    assert result.exit_code == 0, result.output
    return out, result.stdout


@pytest.fixture(scope="module")
def default_run(default_invocation: tuple[Path, str]) -> Path:
    """The folder of the default scenario run through the CLI."""
    return default_invocation[0]


def test_run_prints_the_simulated_time_as_a_duration(
    default_invocation: tuple[Path, str],
) -> None:
    _, printed = default_invocation

    assert re.search(r"│ simulated\s+│\s+36h │", printed), printed


@pytest.mark.parametrize(
    ("sign_time", "duration", "shown"),
    [
        # 4 first CSRs of 3 s on one worker: in 20 s, busy 12 s, 60%; in
        # 10 s, three take 9 s and the fourth is signed from 9 s to the
        # end: busy all 10 s, 100%
        ("3s", "20s", "60%"),
        ("3s", "10s", "100%"),
        # 4 of 1 ms in an hour: 4 ms busy, 1.1e-4 %
        ("1ms", "1h", "under 0.01%"),
    ],
)
def test_run_prints_ca_utilisation_in_per_cent(
    tmp_path: Path, sign_time: str, duration: str, shown: str
) -> None:
    scenario = tmp_path / "u.yaml"
    scenario.write_text(
        f"name: u\nduration: {duration}\n"
        "mesh: {nodes: 2, workloads: 4, service_accounts: 2, namespaces: 1,"
        " calls_per_service: 1}\n"
        f"ca: {{sign_time: {sign_time}}}\npki: {{crypto: modeled}}\n"
        "traffic: {rate: 0}\n"
    )

    result = CliRunner().invoke(
        main, ["run", str(scenario), "--out", str(tmp_path / "out")]
    )

    assert result.exit_code == 0, result.output
    assert re.search(rf"│ CA utilisation\s+│\s+{shown} │", result.stdout)


def test_run_writes_every_promised_file(default_run: Path) -> None:
    expected = {
        "summary.json",
        "manifest.json",
        "scenario.yaml",
        "tables/handshakes.parquet",
        "tables/csrs.parquet",
        "tables/rotations.parquet",
        "tables/thefts.parquet",
        "tables/attack_windows.parquet",
        "plots/ca_load.png",
        "plots/attack_windows.png",
        "plots/handshakes.png",
        "certs/root.pem",
        "certs/leaf-1.pem",
    }
    written = {
        str(p.relative_to(default_run))
        for p in default_run.rglob("*")
        if p.is_file()
    }
    assert expected <= written
    assert not [
        p for p in default_run.parent.iterdir() if ".partial-" in p.name
    ]


def test_summary_holds_the_documented_keys(default_run: Path) -> None:
    summary = json.loads((default_run / "summary.json").read_text())

    assert summary["seed"] == 1
    for key in ("csr_total", "csr_rate_per_s", "wait_p50_s", "wait_p99_s"):
        assert key in summary["ca"]
    assert summary["ca"]["csr_rate_per_s"] == pytest.approx(
        summary["ca"]["csr_total"] / (36 * 3600)
    )
    assert set(summary["rotation"]) >= {"count", "crypto_cpu_s", "bytes"}
    handshakes = pd.read_parquet(default_run / "tables/handshakes.parquet")
    assert summary["handshakes"]["total"] == handshakes["count"].sum()
    assert set(summary["attack"]) >= {
        "windows",
        "window_mean_s",
        "identities_exposed",
    }


def test_written_files_hold_no_private_key(default_run: Path) -> None:
    for path in default_run.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_openssl_reads_the_leaf_the_summary_reports(default_run: Path) -> None:
    summary = json.loads((default_run / "summary.json").read_text())
    cert = summary["certs"][0]
    leaf = default_run / "certs" / cert["file"]

    text = subprocess.run(
        ["openssl", "x509", "-in", str(leaf), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"URI:{cert['spiffe_id']}" in text
    assert "CA:FALSE" in text
    not_after = datetime.fromisoformat(cert["not_after"])
    assert not_after.strftime("%b %e %H:%M:%S %Y GMT") in text

    inside = int(datetime.fromisoformat(cert["not_before"]).timestamp()) + 60
    verified = subprocess.run(
        [
            "openssl",
            "verify",
            "-attime",
            str(inside),
            "-CAfile",
            str(default_run / "certs" / "root.pem"),
            str(leaf),
        ],
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip().endswith(": OK")


def test_existing_output_is_kept_without_force(default_run: Path) -> None:
    before = (default_run / "summary.json").read_bytes()

    result = CliRunner().invoke(
        main,
        [
            "run",
            str(SCENARIOS / "istio-sidecar.yaml"),
            "--out",
            str(default_run),
        ],
    )

    assert result.exit_code == 2
    assert "--force" in result.output
    assert (default_run / "summary.json").read_bytes() == before


def test_validate_accepts_every_shipped_scenario() -> None:
    for path in sorted(SCENARIOS.glob("*.yaml")):
        result = CliRunner().invoke(main, ["validate", str(path)])
        assert result.exit_code == 0, result.output


def test_bad_scenario_exits_2_with_one_line_per_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nduration: 0s\nmesh:\n  nodes: -1\n  agnet: per-node\n"
    )

    done = subprocess.run(
        [sys.executable, "-m", "meshsim", "validate", str(bad)],
        capture_output=True,
        text=True,
    )

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{bad}:") for line in lines)
    assert "Traceback" not in done.stderr
    assert any("duration" in line and "0s" in line for line in lines)
    assert any("mesh.nodes" in line and "-1" in line for line in lines)
    assert any("mesh.agnet" in line and "agent" in line for line in lines)


def test_force_never_replaces_a_folder_meshsim_did_not_write(
    tmp_path: Path,
) -> None:
    # A manifest.json of another tool does not make a folder a result.
    other = tmp_path / "webapp"
    other.mkdir()
    (other / "manifest.json").write_text("{}")
    (other / "index.html").write_text("x")

    result = CliRunner().invoke(
        main,
        [
            "run",
            str(SCENARIOS / "ca-outage.yaml"),
            "--out",
            str(other),
            "--force",
        ],
    )

    assert result.exit_code == 2
    assert "not a meshsim result folder" in result.output
    assert (other / "index.html").read_text() == "x"


def test_results_line_keeps_a_long_path_whole(tmp_path: Path) -> None:
    # Scripts read the folder from this line, so it must not wrap.
    out = tmp_path / ("a-folder-name-long-enough-to-pass-eighty-columns" * 2)
    argv = ["run", str(SCENARIOS / "istio-sidecar.yaml"), "--out", str(out)]

    result = CliRunner().invoke(main, [*argv, *SMALL])

    assert result.exit_code == 0, result.output
    assert f"results: {out}\n" in result.output


def test_help_lists_each_command_by_its_own_first_line() -> None:
    # meshsim --help shows SUMMARIES so as to import no command; they
    # must say what each command's own help says.
    context = click.Context(main)
    for name, summary in SUMMARIES.items():
        command = main.get_command(context, name)
        assert command is not None
        assert command.get_short_help_str(limit=1000) == summary, name
    assert list(SUMMARIES) == main.list_commands(context)


# Sends a second SIGINT to itself as the launcher writes its line, as a
# double Ctrl-C, or `timeout` signalling the process and then its group,
# does.
_SIGNALLED_WHILE_STOPPING = """
import os, signal, sys
from meshsim import launch

class Stderr:
    def write(self, text):
        os.kill(os.getpid(), signal.SIGINT)
        sys.__stderr__.write(text)
    def flush(self):
        sys.__stderr__.flush()

sys.stderr = Stderr()
launch._stop("interrupted; nothing written", launch.EXIT_INTERRUPTED)
"""


def test_a_second_signal_while_the_launcher_stops_changes_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SIGNALLED_WHILE_STOPPING],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == EXIT_INTERRUPTED
    assert done.stderr == "interrupted; nothing written\n"


def test_a_second_signal_while_a_command_says_it_stopped_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said = []

    def say(message: str) -> None:
        signal.raise_signal(signal.SIGINT)  # ignored while saying
        said.append(message)

    monkeypatch.setattr(common, "say", say)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(SystemExit) as stopped:
        common.interrupted(KeyboardInterrupt(), "interrupted")

    assert stopped.value.code == EXIT_INTERRUPTED
    assert said == ["interrupted"]
    assert signal.getsignal(signal.SIGINT) is before


def test_the_launcher_exits_with_the_command_line_statuses() -> None:
    assert (launch.EXIT_INTERRUPTED, launch.EXIT_TERMINATED) == (
        EXIT_INTERRUPTED,
        EXIT_TERMINATED,
    )


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--bogus"], "error: No such option '--bogus'. (see meshsim --help)"),
        (["bogus"], "error: No such command 'bogus'. (see meshsim --help)"),
    ],
)
def test_an_unknown_option_or_command_is_one_line(
    argv: list[str], said: str
) -> None:
    result = CliRunner().invoke(main, argv, prog_name="meshsim")

    assert result.exit_code == 2
    assert result.output == said + "\n"


@pytest.mark.parametrize(
    ("stop", "status", "line"),
    [
        (KeyboardInterrupt, EXIT_INTERRUPTED, "interrupted; nothing written"),
        (Terminated, EXIT_TERMINATED, "terminated; nothing written"),
    ],
)
def test_an_interrupt_before_the_command_begins_has_its_status_and_line(
    monkeypatch: pytest.MonkeyPatch,
    stop: type[KeyboardInterrupt],
    status: int,
    line: str,
) -> None:
    # a signal while click runs the group's callback, before the
    # command's own guard: click would say "Aborted!" and exit 1
    def stopped() -> None:
        raise stop

    monkeypatch.setattr(cli, "require_current", stopped)

    scenario = str(SCENARIOS / "istio-sidecar.yaml")
    result = CliRunner().invoke(main, ["validate", scenario])

    assert result.exit_code == status
    assert result.output == f"{line}\n"


def test_run_summary_gives_the_mean_window_of_each_kind_of_attack() -> None:
    from meshsim.cli.run import _window_means

    windows = [
        {"kind": "token-theft", "duration_s": 3600.0},
        {"kind": "mitm", "duration_s": 21600.0},
        {"kind": "token-theft", "duration_s": 10800.0},
    ]

    # token thefts of 1h and 3h: 2h; one on-path window of 6h
    assert _window_means(windows) == {"token-theft": 7200.0, "mitm": 21600.0}
