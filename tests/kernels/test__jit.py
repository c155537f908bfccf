"""``kernels/_jit.py``: the cache decision, what the cache holds, and the one compile notice.

The library without a writable Numba cache: one warning, uncached kernels, the same bits.

Two reproductions, each in a fresh interpreter (the decision is made once, at import):

* ``test_read_only_install`` is the real situation: a copy of the installed
  package in a folder nobody may write, ``HOME`` read-only, ``NUMBA_CACHE_DIR``
  unset.  The copy is imported first through ``PYTHONPATH`` (the child checks
  it did).  Root ignores file modes, so as root the child runs without the
  capabilities that let it (``setpriv --bounding-set=-dac_override,...``);
  the child checks that it really cannot write the package folder.
* ``test_no_locator_available`` runs on the working tree, wherever Numba has
  the ``NUMBA_CACHE_LOCATOR_CLASSES`` setting (0.59 has not): Numba's own
  locator search is narrowed to ``NUMBA_CACHE_DIR``, which points below a
  regular file.  That
  exercises the same decision and the uncached kernels, with the package folder
  itself still writable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import numba
import pytest

import xinit_bench
from xinit_bench import runtime
from xinit_bench.kernels import _jit

TIMEOUT = 600

#: Numba releases before the ``NUMBA_CACHE_LOCATOR_CLASSES`` setting (0.59 lacks it)
#: ignore the variable, so the search cannot be narrowed there.
_NARROWABLE = hasattr(numba.config, "CACHE_LOCATOR_CLASSES")
_NEEDS_LOCATOR_SETTING = pytest.mark.skipif(
    not _NARROWABLE, reason="this Numba has no NUMBA_CACHE_LOCATOR_CLASSES setting to narrow its cache search"
)

_CHILD = r"""
import hashlib, json, os, sys, warnings
import numpy as np
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import xinit_bench
    from xinit_bench import runtime
    from xinit_bench.kernels import _jit
    big = xinit_bench.normal(1 << 20, seed=7)           # parallel entry point
    small = xinit_bench.uniform(1000, -2.0, 3.0, seed=7)  # serial entry point
kernels = os.path.dirname(_jit.__file__)
try:
    import tempfile
    tempfile.TemporaryFile(dir=kernels).close()  # removes itself: leaves nothing in a writable tree
    writable = True
except OSError:
    writable = False
print(json.dumps({
    "file": xinit_bench.__file__,
    "kernels_writable": writable,
    "cache_enabled": _jit.CACHE_ENABLED,
    "cache_warnings": sum(issubclass(w.category, runtime.CacheUnavailableWarning) for w in caught),
    "other_warnings": [str(w.message)[:200] for w in caught
                       if not issubclass(w.category, runtime.CacheUnavailableWarning)],
    "digest": hashlib.sha256(big.tobytes() + small.tobytes()).hexdigest(),
}))
"""


def cached_digest() -> str:
    """The same fills as the child's, in this process, whose kernels use the on-disk cache."""
    big = xinit_bench.normal(1 << 20, seed=7)
    small = xinit_bench.uniform(1000, -2.0, 3.0, seed=7)
    return hashlib.sha256(big.tobytes() + small.tobytes()).hexdigest()


def run(
    env: dict[str, str], prefix: list[str] | None = None, cwd: Path | None = None, code: str = _CHILD
) -> dict[str, Any]:
    """Run ``code`` (default: the fills of ``_CHILD``) in a fresh interpreter; the JSON of its last line."""
    proc = subprocess.run(
        [*(prefix or []), sys.executable, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CACHE", "XDG_CACHE", "PYTHONPATH"))}


def check_uncached(result: dict[str, Any]) -> None:
    assert result["cache_enabled"] is False
    assert result["cache_warnings"] == 1
    assert result["other_warnings"] == []
    assert result["digest"] == cached_digest()


def test_this_process_caches() -> None:
    """The test environment itself has a cache location, so no warning was issued at its import."""
    assert _jit.CACHE_ENABLED is True
    assert runtime.CacheUnavailableWarning is _jit.CacheUnavailableWarning
    assert issubclass(runtime.CacheUnavailableWarning, UserWarning)


def _copy_installed(dst: Path) -> Path:
    """Copy the installed package (kernels/ as xinit_bench/kernels) under ``dst``; the folder to put on the path."""
    site = dst / "site"
    pkg = Path(xinit_bench.__file__).parent
    ignore = shutil.ignore_patterns("__pycache__", "kernels")
    shutil.copytree(pkg, site / "xinit_bench", ignore=ignore)
    shutil.copytree(
        Path(_jit.__file__).parent, site / "xinit_bench" / "kernels", ignore=shutil.ignore_patterns("__pycache__")
    )
    return site


def _make_read_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@pytest.mark.slow
def test_read_only_install(tmp_path: Path) -> None:
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make file modes bind")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner,-linux_immutable"]
    site = _copy_installed(tmp_path / "ro")
    home = tmp_path / "ro" / "home"
    home.mkdir()
    _make_read_only(tmp_path / "ro")
    try:
        env = base_env() | {"HOME": str(home), "PYTHONPATH": str(site)}
        result = run(env, prefix, cwd=home)
    finally:
        for path in [tmp_path / "ro", *(tmp_path / "ro").rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)  # let pytest clean up
    assert result["file"] == str(site / "xinit_bench" / "__init__.py")
    assert result["kernels_writable"] is False
    check_uncached(result)


@pytest.mark.slow
@_NEEDS_LOCATOR_SETTING
def test_no_locator_available(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = base_env() | {
        "NUMBA_CACHE_DIR": str(blocker / "numba"),  # makedirs fails below a regular file, for root too
        "NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator",
    }
    result = run(env, cwd=tmp_path)
    check_uncached(result)


@pytest.mark.slow
@_NEEDS_LOCATOR_SETTING
def test_writable_cache_dir_is_used(tmp_path: Path) -> None:
    """A writable ``NUMBA_CACHE_DIR`` alone is enough: no warning, cached kernels."""
    env = base_env() | {
        "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
        "NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator",
    }
    result = run(env, cwd=tmp_path)
    assert result["cache_enabled"] is True
    assert result["cache_warnings"] == 0
    assert result["digest"] == cached_digest()
    assert any((tmp_path / "cache").rglob("*.nbi"))


# --- what the cache holds, and the one compile notice per process ------------------------


def test_cache_state_reads_numbas_index_without_compiling() -> None:
    import numpy as np

    from xinit_bench.kernels import fill

    kernel = fill.SERIAL_FILLS["uniform"]
    key = (np.uint32(0), np.uint32(0), np.uint32(0))
    params = (np.float32(0.0), np.float32(1.0), np.float32(1.0))
    _jit.compile_quietly(kernel, np.empty(4, np.float32), key, 0, params)
    assert _jit.cache_state(kernel, np.empty(4, np.float32), key, 0, params) == "in memory"
    # A 2-d output is a signature the library never compiles: looked up, not compiled.
    before = len(kernel.signatures)
    assert _jit.cache_state(kernel, np.empty((2, 2), np.float32), key, 0, params) == "cold"
    assert len(kernel.signatures) == before
    assert _jit.cache_folder(kernel) is not None and Path(_jit.cache_folder(kernel) or "").is_dir()


def _fresh_signatures(monkeypatch: pytest.MonkeyPatch, state: str) -> None:
    """Two compile_quietly calls in a process that has given no notice yet, every signature reading ``state``."""
    import numpy as np

    from xinit_bench.kernels import fill

    monkeypatch.setattr(_jit, "_COMPILED", set())
    monkeypatch.setattr(_jit, "_NOTICE_GIVEN", False)
    monkeypatch.setattr(_jit, "_state", lambda kernel, sig: state)
    key = (np.uint32(0), np.uint32(0), np.uint32(0))
    for kind, n_params in (("uniform", 3), ("normal", 2)):  # signatures the library compiles (see warmup.py)
        params = tuple(np.float32(0.5) for _ in range(n_params))
        _jit.compile_quietly(fill.SERIAL_FILLS[kind], np.empty(4, np.float32), key, 0, params)


def test_a_cold_cache_is_announced_once_per_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="xinit_bench"):
        _fresh_signatures(monkeypatch, "cold")
    notices = [r for r in caplog.records if r.name == "xinit_bench.kernels"]
    assert len(notices) == 1  # two cold signatures, one notice
    message = notices[0].getMessage()
    assert "xinit-bench compile" in message and "not in Numba's on-disk cache" in message
    assert "serial_uniform" in message


@pytest.mark.parametrize("state", ["on disk", "in memory", "uncached", "unknown"])
def test_no_notice_when_nothing_must_compile(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, state: str
) -> None:
    # uncached: CacheUnavailableWarning has said it, and `xinit-bench compile` could not help there
    with caplog.at_level(logging.DEBUG, logger="xinit_bench"):
        _fresh_signatures(monkeypatch, state)
    assert [r for r in caplog.records if r.name == "xinit_bench.kernels"] == []


def test_the_warm_up_itself_gives_no_notice(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import numpy as np

    from xinit_bench.kernels import fill

    monkeypatch.setattr(_jit, "_COMPILED", set())
    monkeypatch.setattr(_jit, "_NOTICE_GIVEN", False)
    monkeypatch.setattr(_jit, "_state", lambda kernel, sig: "cold")
    key = (np.uint32(0), np.uint32(0), np.uint32(0))
    params = tuple(np.float32(0.5) for _ in range(3))
    with caplog.at_level(logging.DEBUG, logger="xinit_bench"):
        _jit.compile_quietly(fill.SERIAL_FILLS["uniform"], np.empty(4, np.float32), key, 0, params, announce=False)
    assert caplog.records == []


_NOTICE_CHILD = r"""
import xinit_bench
xinit_bench.uniform(1000, -1.0, 1.0, seed=1)  # the serial uniform kernel
xinit_bench.normal(1000, seed=1)              # the serial normal kernel
print("done")
"""


@pytest.mark.slow
@_NEEDS_LOCATOR_SETTING
def test_a_process_on_a_cold_cache_says_so_once_and_a_warm_one_says_nothing(tmp_path: Path) -> None:
    """Two real compiles in a fresh cache folder: one line on stderr, under -W error; then none."""
    env = base_env() | {
        "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
        "NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator",
    }

    def child() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-W", "error", "-c", _NOTICE_CHILD],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    cold = child()
    assert cold.returncode == 0 and cold.stdout.strip() == "done", cold.stderr[-3000:]
    lines = [line for line in cold.stderr.splitlines() if "xinit-bench compile" in line]
    assert len(lines) == 1, cold.stderr
    assert str(tmp_path / "cache") in lines[0]
    warm = child()
    assert warm.returncode == 0 and warm.stdout.strip() == "done", warm.stderr[-3000:]
    assert "xinit-bench compile" not in warm.stderr and warm.stderr == ""


# --- a kernel compiled from other sources is not served from the cache -----------------

_FRESHNESS_CHILD = r"""
import hashlib, json
import xinit_bench
from xinit_bench.kernels import _jit
small = xinit_bench.uniform(1000, -2.0, 3.0, seed=7)  # the serial uniform kernel: Philox rounds inlined from philox.py
print(json.dumps({
    "file": xinit_bench.__file__,
    "digest": hashlib.sha256(small.tobytes()).hexdigest(),
    "sources": _jit.source_digest(),
    "folder": str(_jit._CACHE_PATH),
}))
"""


@pytest.mark.slow
@_NEEDS_LOCATOR_SETTING
def test_an_edit_of_a_module_the_kernels_inline_is_not_served_from_the_cache(tmp_path: Path) -> None:
    """Numba checks only ``fill.py``; the stamp of every kernel source catches an edit of ``philox.py``.

    A copy of the package is run in fresh interpreters on one ``NUMBA_CACHE_DIR``:
    compiled once, then with ``philox.py`` edited (nine rounds instead of ten), the
    kernel must give the edited code's bits, those of a run on an empty cache.  The
    control shows what the stamp guards against: with the sources restored and a
    stamp that already names them (as if the check had passed), Numba by itself
    serves the entry compiled from the edited file.
    """
    site = _copy_installed(tmp_path / "pkg")
    philox = site / "xinit_bench" / "kernels" / "philox.py"
    original = philox.read_text()
    assert original.count("ROUNDS = 10\n") == 1

    def child(cache: str) -> dict[str, Any]:
        env = base_env() | {
            "PYTHONPATH": str(site),
            "NUMBA_CACHE_DIR": str(tmp_path / cache),
            "NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator",
        }
        return run(env, cwd=tmp_path, code=_FRESHNESS_CHILD)

    first = child("cache")
    assert first["file"] == str(site / "xinit_bench" / "__init__.py")
    assert first["sources"] == _jit.source_digest()  # the copy is this tree's kernels
    assert first["digest"] == hashlib.sha256(xinit_bench.uniform(1000, -2.0, 3.0, seed=7).tobytes()).hexdigest()
    stamp = Path(first["folder"]) / _jit.STAMP_NAME
    assert stamp.read_text().strip() == first["sources"]
    assert any(Path(first["folder"]).glob("*.nbi"))

    philox.write_text(original.replace("ROUNDS = 10\n", "ROUNDS = 9\n"))
    edited = child("cache")
    assert edited["sources"] != first["sources"]
    assert edited["digest"] != first["digest"]
    assert edited["digest"] == child("empty-cache")["digest"]
    assert stamp.read_text().strip() == edited["sources"]

    philox.write_text(original)
    stamp.write_text(first["sources"] + "\n")  # a stamp that already names the restored sources
    assert child("cache")["digest"] == edited["digest"]  # Numba alone: the stale entry, nine rounds
    stamp.unlink()
    assert child("cache")["digest"] == first["digest"]
