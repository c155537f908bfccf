"""A reference commit's library, installed once into a cache folder.

The A/B gate (:mod:`.ab`) compares the working tree's library with the one of
a git revision ``REF``.  :func:`prepare` resolves ``REF`` to a commit,
extracts that commit's tree with ``git archive`` and installs it with
``pip install --no-deps --target`` into

    <cache>/refs/<commit>/site      the REF's ``xinit_bench`` package
    <cache>/refs/<commit>/numba     ``NUMBA_CACHE_DIR`` of the REF's processes

where ``<cache>`` is ``$XINIT_BENCH_CACHE``, else
``$XDG_CACHE_HOME/xinit-bench``, else ``~/.cache/xinit-bench``.  A commit
never changes, so both folders are reused by every later gate against it: only
the first run pays the wheel build and Numba's cold compile of the REF's
kernels.  ``--no-deps``: the REF runs with this environment's NumPy, Numba and
SciPy, so that the comparison is about the code alone.

Errors are :class:`~.errors.GateError`: ``BAD_INPUT`` when ``REF`` names no
commit, ``ENVIRONMENT`` when git is missing, the folder is not a repository, or
the REF cannot be built.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ExitCode, GateError

__all__ = ["CACHE_ENV", "RefEnv", "cache_root", "prepare", "resolve"]

#: Environment variable naming the cache folder.
CACHE_ENV = "XINIT_BENCH_CACHE"
#: Marker written once an installation is complete.
_COMPLETE = ".complete"


@dataclass(frozen=True)
class RefEnv:
    """An installed reference library."""

    ref: str
    commit: str
    site: Path
    numba_cache: Path


def cache_root() -> Path:
    """The cache folder (see the module docstring)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "xinit-bench"


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False, timeout=120)
    except FileNotFoundError:
        raise GateError(ExitCode.ENVIRONMENT, "git is not installed; --against needs it") from None
    except subprocess.TimeoutExpired:
        raise GateError(ExitCode.ENVIRONMENT, f"git {' '.join(args[:1])} in {repo} took over 120 s") from None


def _last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def resolve(repo: Path, ref: str) -> str:
    """The full commit id that ``ref`` (a branch, tag, commit or ``HEAD~1``) names in ``repo``.

    Raises
    ------
    GateError
        ``ENVIRONMENT`` if ``repo`` is not a git repository; ``BAD_INPUT`` if
        ``ref`` names no commit there.
    """
    if not ref or ref.startswith("-"):
        raise GateError(ExitCode.BAD_INPUT, f"--against {ref!r}: not a git revision")
    if not repo.is_dir():
        raise GateError(ExitCode.ENVIRONMENT, f"--repo {repo}: no such directory")
    inside = _git(repo, "rev-parse", "--git-dir")
    if inside.returncode != 0:
        raise GateError(ExitCode.ENVIRONMENT, f"{repo} is not a git repository ({_last_line(inside.stderr)})")
    found = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise GateError(ExitCode.BAD_INPUT, f"--against {ref!r}: no such commit in {repo}")
    return found.stdout.decode().strip()


def prepare(repo: Path, ref: str, *, python: str = sys.executable) -> RefEnv:
    """Resolve ``ref`` and install its library into the cache, unless it is already there.

    Raises
    ------
    GateError
        As :func:`resolve`; ``ENVIRONMENT`` if the cache cannot be written or
        the commit cannot be extracted or built.
    """
    commit = resolve(repo, ref)
    home = cache_root() / "refs" / commit
    site, numba_cache = home / "site", home / "numba"
    if not (site / _COMPLETE).is_file():
        try:
            home.mkdir(parents=True, exist_ok=True)
            numba_cache.mkdir(exist_ok=True)
            _install(repo, ref, commit, home, python)
        except OSError as exc:
            raise GateError(
                ExitCode.ENVIRONMENT,
                f"cannot write the reference cache {home} ({exc.strerror or exc}); "
                f"set {CACHE_ENV} to a writable folder",
            ) from None
    return RefEnv(ref, commit, site, numba_cache)


def _install(repo: Path, ref: str, commit: str, home: Path, python: str) -> None:
    """Extract ``commit`` and ``pip install`` it into ``home/site`` (atomically: a temporary folder, renamed)."""
    with tempfile.TemporaryDirectory(prefix="build-", dir=home) as work:
        archive, source, target = Path(work) / "src.tar", Path(work) / "src", Path(work) / "site"
        with open(archive, "wb") as stream:
            try:
                done = subprocess.run(
                    ["git", "-C", str(repo), "archive", "--format=tar", commit],
                    stdout=stream,
                    stderr=subprocess.PIPE,
                    check=False,
                    timeout=300,
                )
            except subprocess.TimeoutExpired:
                raise GateError(ExitCode.ENVIRONMENT, f"git archive {commit[:12]} took over 300 s") from None
        if done.returncode != 0:
            raise GateError(ExitCode.ENVIRONMENT, f"cannot extract {ref} ({commit[:12]}): {_last_line(done.stderr)}")
        with tarfile.open(archive) as tar:
            if sys.version_info >= (3, 12):
                tar.extractall(source, filter="data")
            else:
                tar.extractall(source)  # git archive of one of our own commits: trusted content
        if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
            raise GateError(
                ExitCode.ENVIRONMENT, f"{ref} ({commit[:12]}) cannot be built: it has no pyproject.toml or setup.py"
            )
        command = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile"]
        command += ["--disable-pip-version-check", "--target", str(target), str(source)]
        try:
            built = subprocess.run(command, capture_output=True, check=False, timeout=900)
        except subprocess.TimeoutExpired:
            raise GateError(ExitCode.ENVIRONMENT, f"building {ref} ({commit[:12]}) took over 900 s") from None
        if built.returncode != 0:
            raise GateError(
                ExitCode.ENVIRONMENT,
                f"{ref} ({commit[:12]}) cannot be built: pip install failed ({_last_line(built.stderr)})",
            )
        if not (target / "xinit_bench" / "__init__.py").is_file():
            raise GateError(
                ExitCode.ENVIRONMENT, f"{ref} ({commit[:12]}) is too old: its build installs no xinit_bench package"
            )
        (target / _COMPLETE).write_text(commit + "\n")
        final = home / "site"
        if final.exists():  # an earlier, unfinished install, or a concurrent gate that won the race
            if (final / _COMPLETE).is_file():
                return
            shutil.rmtree(final, ignore_errors=True)
        try:
            target.rename(final)
        except OSError:
            if not (final / _COMPLETE).is_file():
                raise
