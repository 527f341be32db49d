"""Build meshsim: the metadata is in pyproject.toml; this file adds the
modules compiled to C with mypyc (listed in meshsim/native.py).

With MESHSIM_PURE=1 nothing is compiled and meshsim runs from source.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent


def _native() -> Any:
    """meshsim/native.py, loaded from its file: meshsim is not built yet."""
    path = HERE / "meshsim" / "native.py"
    spec = importlib.util.spec_from_file_location("_meshsim_native", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _BuildExt(build_ext):
    """Build the extensions, then record the digest of each source
    compiled, where the built package will read it."""

    def run(self) -> None:
        native = _native()
        package = Path(self.build_lib) / "meshsim"
        if self.inplace:
            package = HERE / "meshsim"
        digests = package / native.DIGESTS
        digests.unlink(missing_ok=True)
        recorded = {
            module: native.digest(native.source(module, HERE / "meshsim"))
            for module in native.COMPILED
        }
        super().run()
        if self.extensions:
            package.mkdir(parents=True, exist_ok=True)
            text = json.dumps(recorded, indent=1, sort_keys=True)
            digests.write_text(text + "\n")


def _compiled_extensions() -> list[Any]:
    """The extensions mypyc makes of the listed modules (none with
    MESHSIM_PURE=1)."""
    native = _native()
    if os.environ.get(native.PURE_ENV, "") not in ("", "0"):
        return []

    from mypyc.build import mypycify

    # One shared library inside the package (not at the top level, where
    # an editable install would not find it).
    return mypycify(
        [str(native.source(m, Path("meshsim"))) for m in native.COMPILED],
        group_name="meshsim._native",
    )


setup(ext_modules=_compiled_extensions(), cmdclass={"build_ext": _BuildExt})
