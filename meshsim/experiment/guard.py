"""A sweep folder's guard, ``sweep.json``: which sweep the folder holds.

The guard names the sweep and its file, holds the hashes of the file
and of the plan (every point's resolved scenario, the seeds, the
warmup), the overrides and the counts of points and replications. A
folder whose guard is another sweep's is refused, and the refusal says
what differs: the file, the overrides, the replications, or else the
base scenario.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from meshsim.experiment.plan import Sweep
from meshsim.experiment.sweep_file import MAX_REPLICATIONS
from meshsim.files import read_json
from meshsim.shown import counted, cut, cut_value

__all__ = [
    "GUARD",
    "new_guard",
    "positive",
    "read_guard",
    "refusal",
    "same_sweep",
]

GUARD: Final = "sweep.json"
"""The file that says which sweep a folder holds."""

_GUARD_HASHES: Final = ("sweep_sha256", "plan_sha256")
# how much of a value read from the folder a refusal shows
_SHOWN: Final = 60
_SHA256_HEX: Final = 64


def new_guard(sweep: Sweep) -> dict[str, Any]:
    """The guard of ``sweep``: its name, file and hashes, its overrides
    and counts, and when it is written."""
    spec = sweep.spec
    return {
        "sweep": spec.name,
        "sweep_file": spec.source,
        "sweep_sha256": spec.text_sha256,
        "plan_sha256": sweep.plan_sha256(),
        "overrides": list(sweep.overrides),
        "points": len(sweep.points),
        "replications": sweep.replications,
        "created_at": datetime.now(UTC).isoformat(),
    }


def read_guard(folder: Path) -> dict[str, Any] | None:
    """``folder``'s guard, if it is one meshsim wrote: an object with
    the sweep's name and hashes."""
    try:
        guard = read_json(folder / GUARD)
    except (OSError, ValueError):
        return None
    if not isinstance(guard, dict):
        return None
    hashes = (guard.get(key) for key in _GUARD_HASHES)
    if not isinstance(guard.get("sweep"), str) or not all(
        isinstance(h, str) and len(h) == _SHA256_HEX for h in hashes
    ):
        return None
    return guard


def refusal(
    folder: Path, existing: dict[str, Any] | None, guard: dict[str, Any]
) -> str:
    """Why the sweep of ``guard`` may not go on in ``folder``, whose
    guard is ``existing`` (None: no sweep's): each input that differs."""
    where = f"--out: {str(folder)!r}"
    if existing is None:
        return (
            f"{where} exists and holds no sweep ({_unread(folder)}); "
            "give a new or empty folder (--force replaces only a "
            "sweep's folder)"
        )
    if existing.get("sweep_sha256") != guard["sweep_sha256"]:
        what = (
            "holds a different sweep file "
            f"({cut_value(existing.get('sweep_file'), _SHOWN)}, sha256 "
            f"{existing['sweep_sha256'][:12]}…; this one is "
            f"{guard['sweep_sha256'][:12]}…)"
        )
        return f"{where} {what}; pass --force to start it over"

    # The same file: say each input that differs, as far as known.
    differences = []
    stored = existing.get("overrides")
    if not isinstance(stored, list) or sorted(map(str, stored)) != sorted(
        guard["overrides"]
    ):
        differences.append(
            f"other overrides ({_changed(stored, guard['overrides'])})"
        )
    replications = existing.get("replications")
    if replications not in (None, guard["replications"]):
        count = positive(replications, MAX_REPLICATIONS)
        earlier = (
            counted(count, "replication")
            if count is not None
            else f"replications {cut_value(replications, _SHOWN)}"
        )
        differences.append(f"{earlier} (now {guard['replications']})")
    if not differences:
        unknown = "" if replications is not None else "replications or "
        differences.append(
            f"another {unknown}base scenario (plan sha256 "
            f"{str(existing.get('plan_sha256'))[:12]}…, now "
            f"{guard['plan_sha256'][:12]}…)"
        )
    what = " and ".join(differences)
    return (
        f"{where} holds this sweep file run with {what}; pass --force "
        "to start it over"
    )


def _unread(folder: Path) -> str:
    """Why the folder's guard is none meshsim wrote: ``no sweep.json``
    or what is wrong with it."""
    path = folder / GUARD
    if not path.exists():
        return f"no {GUARD}"
    try:
        read_json(path)
    except (OSError, ValueError) as error:
        said = str(error).removeprefix(f"{GUARD}: ")
        return f"{GUARD}: {cut_value(said, _SHOWN)}"
    return f"{GUARD} without the sweep's name and hashes"


def _listed(overrides: Any) -> str:
    """Overrides as a user typed them, or ``none``."""
    if not isinstance(overrides, list):
        return "none" if overrides is None else cut_value(overrides, _SHOWN)
    return cut(" ".join(map(str, overrides)), _SHOWN) if overrides else "none"


def _changed(stored: Any, now: list[str]) -> str:
    """How the overrides given now differ from those ``stored``: ``then
    also a=1; now also b=2`` (each cut), or both lists in full when the
    stored ones are no list or differ only in how often one is given."""
    if isinstance(stored, list):
        then = [str(override) for override in stored]
        parts = [
            f"{when} also {cut(' '.join(only), _SHOWN)}"
            for when, only in (
                ("then", [o for o in then if o not in now]),
                ("now", [o for o in now if o not in then]),
            )
            if only
        ]
        if parts:
            return "; ".join(parts)
    return f"{_listed(stored)}; now {_listed(now)}"


def same_sweep(existing: dict[str, Any], guard: dict[str, Any]) -> bool:
    """Whether two guards are of one sweep file and plan."""
    return all(
        existing.get(key) == guard[key]
        for key in ("sweep_sha256", "plan_sha256")
    )


def positive(value: object, most: int) -> int | None:
    """``value`` if a whole number from 1 to ``most``, else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= most else None
