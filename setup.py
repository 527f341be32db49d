"""Build meshsim: the metadata is in pyproject.toml; this file adds the
modules compiled to C with mypyc (listed in meshsim/native.py).

With MESHSIM_PURE=1 nothing is compiled and meshsim runs from source.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sysconfig
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent


@functools.cache
def _native() -> Any:
    """meshsim/native.py, loaded from its file: meshsim is not built yet."""
    path = HERE / "meshsim" / "native.py"
    spec = importlib.util.spec_from_file_location("_meshsim_native", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pure() -> bool:
    return os.environ.get(_native().PURE_ENV, "") not in ("", "0")


class _BuildExt(build_ext):
    """Build the extensions and record what was compiled from which
    source, where the built package reads it; built in place, first
    remove every compiled module of an earlier build."""

    def run(self) -> None:
        native = _native()
        package = HERE / "meshsim" if self.inplace else None
        if package is not None:
            suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
            for path in package.rglob(f"*{suffix}"):
                path.unlink()
            (package / native.RECORD).unlink(missing_ok=True)
        sources = {
            module: native.digest(native.source(module, HERE / "meshsim"))
            for module in native.COMPILED
        }
        super().run()
        built = sources if self.extensions else {}
        target = package or Path(self.build_lib) / "meshsim"
        target.mkdir(parents=True, exist_ok=True)
        (target / native.RECORD).write_text(native.record(built))


def _compiled_extensions() -> list[Any]:
    """The extensions mypyc makes of the listed modules (none with
    MESHSIM_PURE=1)."""
    if _pure():
        return []
    native = _native()

    from mypyc.build import mypycify

    # pip builds in an environment of its own, without meshsim's
    # dependencies or their type stubs: what mypyc cannot find it takes as
    # Any (calls into those libraries are Python calls either way), with
    # mypy's default checks rather than the project's strict ones, and no
    # error reported of modules it only reads. `make typecheck` is where
    # types are checked.
    options = [
        "--config-file=",
        "--ignore-missing-imports",
        "--follow-imports=silent",
    ]
    # One shared library inside the package (not at the top level, where
    # an editable install would not find it).
    return mypycify(
        options
        + [str(native.source(m, Path("meshsim"))) for m in native.COMPILED],
        group_name="meshsim._native",
    )


setup(ext_modules=_compiled_extensions(), cmdclass={"build_ext": _BuildExt})
