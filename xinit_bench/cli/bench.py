"""``xinit-bench bench``: throughput against NumPy, the raw generator and the memory-bandwidth limit.

Every ratio it prints is a time ratio, ``xinit time / reference time``: lower
is better, below 1 the xinit-bench call is the faster.  The last line is the
verdict on the speed targets (:meth:`xinit_bench.perf.bench.BenchReport.verdict`);
the exit status is 0 whatever it says, unless ``--strict``, where a missed
target exits 1.

``--schemes`` takes the names a user calls: the named schemes
(``xavier_uniform``, ``he_normal``, ...), the raw samplers (``uniform``,
``normal``, ``truncated_normal``), ``random_bits`` (the raw Philox words) and
``torch_trunc_normal`` (torch's ``trunc_normal_(std=0.02)``, cut at +-100
sigma).  Each is timed through the public call of its kernel
(:data:`CASE_OF`): a named scheme fills with the same kernel as its raw
sampler, so ``he_normal`` and ``xavier_normal`` are the ``normal`` row.

The orthogonal rows (``orthogonal`` in ``--schemes``; in the default run
unless ``--no-orthogonal``) time ``xinit_bench.orthogonal((n, n))`` against
``torch.nn.init.orthogonal_`` and SciPy's QR with the sign fix, each side in
its own process (:mod:`xinit_bench.perf.qr_bench`): float32 at 1024 and 4096
by default, every ``--dtypes`` at 256, 1024 and 4096 with ``--full``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from ..perf import bench, cases, qr_cases
from ..perf.timing import DEFAULT_REPEATS
from ..runtime import threads
from ..schemes import NAMED_SCHEMES
from .common import (
    USAGE,
    UsageError,
    add_json_option,
    check_writable,
    comma_choices,
    console,
    emit_json,
    fail,
    json_target,
    one_line_errors,
    progress,
    to_stdout,
)

PROG = "xinit-bench bench"
#: Exit status of ``--strict`` when a graded target was missed.
MISSED = 1

#: The public call that each measured case times (``xinit_bench.perf.cases`` names them by kernel).
LABELS: dict[cases.Scheme, str] = {
    "symmetric_uniform": "xavier_uniform",
    "uniform": "uniform",
    "normal": "normal",
    "truncated_normal": "truncated_normal",
    "truncated_normal_wide": "torch_trunc_normal",
    "philox_words": "random_bits",
}
_BY_DISTRIBUTION: dict[str, cases.Scheme] = {
    "uniform": "symmetric_uniform",
    "normal": "normal",
    "truncated_normal": "truncated_normal",
}
#: Every name ``--schemes`` accepts -> the case that times its kernel.
CASE_OF: dict[str, cases.Scheme] = {
    **{label: scheme for scheme, label in LABELS.items()},
    **{name: _BY_DISTRIBUTION[spec.distribution] for name, spec in NAMED_SCHEMES.items()},
}
DEFAULT_NAMES: tuple[str, ...] = tuple(LABELS[s] for s in cases.SCHEMES)
FULL_NAMES: tuple[str, ...] = tuple(LABELS[s] for s in cases.ALL_SCHEMES)
#: The ``--schemes`` name of the orthogonal rows (not a fill case: :mod:`xinit_bench.perf.qr_cases`).
ORTHOGONAL = "orthogonal"


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return cases.parse_sizes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _matrix_sizes(text: str) -> tuple[int, ...]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() and int(part) >= 1 for part in parts):
        raise argparse.ArgumentTypeError(f"must be comma-separated ints >= 1 (n of each n x n matrix), got {text!r}")
    return tuple(int(part) for part in parts)


_LABEL_OF: dict[str, str] = {str(scheme): name for scheme, name in LABELS.items()}


def label(scheme: str) -> str:
    """The name a row of ``scheme`` (a case's scheme) is shown under."""
    return _LABEL_OF.get(scheme, scheme)


def setup_arguments(subparsers: Any) -> None:
    """Add ``bench`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "bench",
        help="throughput of every scheme against NumPy, the raw generator and the memory-bandwidth limit",
        description=(
            "Measure M samples/s of xinit-bench, of the library's raw Philox words (the generator's ceiling), "
            "of a parallel constant fill (the memory-bandwidth limit) and, up to 1M elements unless --full, of "
            "NumPy's fastest path, on the same pre-faulted buffer, interleaved, after a warm-up call; each "
            "figure is the median of --repeats runs. Also 1-vs-all-threads scaling at the largest size, a "
            "1K-element call against the NumPy reference call, and the speed targets with a verdict. Every "
            "ratio is a time ratio, xinit time / reference time: lower is better. Exit status 0 whatever the "
            "verdict, unless --strict."
        ),
    )
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="comma-separated element counts, e.g. 1K,1M,64M (default: 1K,1M,64M; --full: 1K,64K,1M,16M,64M)",
    )
    p.add_argument(
        "--schemes",
        type=comma_choices((*CASE_OF, ORTHOGONAL)),
        default=None,
        help=f"comma-separated schemes (default: {','.join(DEFAULT_NAMES)},{ORTHOGONAL}; --full adds "
        f"{','.join(n for n in FULL_NAMES if n not in DEFAULT_NAMES)}; any of {', '.join(CASE_OF)}, {ORTHOGONAL})",
    )
    p.add_argument(
        "--dtypes",
        type=comma_choices(cases.DTYPES),
        default=None,
        help="comma-separated dtypes (default: float32,float64; the orthogonal rows float32 unless --full or given)",
    )
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="interleaved runs per figure (>= 5)")
    p.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    p.add_argument(
        "--full",
        action="store_true",
        help="every size and scheme, and NumPy at every size (the default run times NumPy up to 1M only)",
    )
    p.add_argument("--no-scaling", action="store_true", help="skip the 1-vs-all-threads measurement")
    p.add_argument("--no-small-call", action="store_true", help="skip the 1K-element call measurement")
    p.add_argument("--no-orthogonal", action="store_true", help="skip the orthogonal rows (QR against torch and SciPy)")
    p.add_argument(
        "--orthogonal-sizes",
        type=_matrix_sizes,
        default=None,
        metavar="N,...",
        help="n of the orthogonal (n, n) rows (default: 1024,4096; --full: 256,1024,4096)",
    )
    p.add_argument("--strict", action="store_true", help=f"exit {MISSED} when a graded target is missed")
    add_json_option(p)
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="also write the JSON results to FILE")
    p.set_defaults(func=run)
    one_line_errors(p)


def config_from(args: argparse.Namespace) -> bench.BenchConfig:
    """The :class:`~xinit_bench.perf.bench.BenchConfig` of the parsed options.

    Raises
    ------
    ValueError
        From the config's own checks (fewer than 5 repeats, ...).
    """
    names = args.schemes if args.schemes is not None else (FULL_NAMES if args.full else DEFAULT_NAMES)
    schemes: list[cases.Scheme] = []
    for name in names:
        if name != ORTHOGONAL and CASE_OF[name] not in schemes:
            schemes.append(CASE_OF[name])
    settings: dict[str, Any] = {
        "schemes": tuple(schemes),
        "dtypes": cases.DTYPES if args.dtypes is None else args.dtypes,
        "orthogonal": orthogonal_cases(args),
        "repeats": args.repeats,
        "scaling": not args.no_scaling,
        "small_call_size": None if args.no_small_call else bench.SMALL_CALL_SIZE,
    }
    if args.sizes is not None:
        settings["sizes"] = args.sizes
    if args.full:
        return bench.BenchConfig.full(**settings)
    return bench.BenchConfig(**settings)


def orthogonal_cases(args: argparse.Namespace) -> tuple[qr_cases.QRCase, ...]:
    """The orthogonal rows of the parsed options: none with ``--no-orthogonal`` or a ``--schemes`` without them."""
    asked = ORTHOGONAL in args.schemes if args.schemes is not None else not args.no_orthogonal
    if not asked:
        return ()
    if args.full:
        dtypes, sizes = (cases.DTYPES if args.dtypes is None else args.dtypes), qr_cases.FULL_QR_SIZES
    else:
        dtypes, sizes = (("float32",) if args.dtypes is None else args.dtypes), qr_cases.DEFAULT_QR_SIZES
    if args.orthogonal_sizes is not None:
        sizes = args.orthogonal_sizes
    return tuple(qr_cases.QRCase(n, dtype) for dtype in dtypes for n in sizes)


def run(args: argparse.Namespace) -> int:
    """Handler of ``xinit-bench bench``."""
    try:
        json_to = json_target(args.json)
        if args.output is not None:
            check_writable(args.output, "-o/--output")
        config = config_from(args)
        config.check_memory()
        with threads(args.threads), progress("bench") as bar:
            bar.set_total(config.steps())
            report = bench.run_bench(config, bar.advance)
    except (UsageError, ValueError, TypeError) as exc:
        return fail(PROG, str(exc), USAGE)
    data = report.to_dict()
    if not to_stdout(json_to):
        print_report(report, aliases=_aliases(args.schemes))
    for target in (json_to, args.output):
        if target is not None:
            emit_json(data, target)
    missed = any(t.status == "MISS" for t in report.targets)
    return MISSED if args.strict and missed else 0


def _aliases(names: tuple[str, ...] | None) -> dict[str, list[str]]:
    """Row label -> the other names asked for that it stands for (``normal`` -> ``he_normal``)."""
    out: dict[str, list[str]] = {}
    for name in names or ():
        if name == ORTHOGONAL:
            continue
        row = label(CASE_OF[name])
        if name != row:
            out.setdefault(row, []).append(name)
    return out


def _rate(value: float) -> str:
    """Throughput with three significant digits at most, thousands separated."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 1 else f"{value:.3f}"


def _table(title: str, caption: str | None = None) -> Any:
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        title_justify="left",
        caption=caption,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )


def print_report(
    report: bench.BenchReport, out: TextIO | None = None, aliases: dict[str, list[str]] | None = None
) -> None:
    """Print a :class:`~xinit_bench.perf.bench.BenchReport` as tables of at most 100 columns, then the verdict.

    Every figure is also in the JSON report (``--json``), the CPU-time medians
    and each sample included.
    """
    con = console(sys.stdout if out is None else out)
    env = report.environment
    repeats = report.config["repeats"]
    before, after = report.load
    load = "" if before is None or after is None else f", load {before:.1f} -> {after:.1f}"
    con.print(
        f"[bold]xinit-bench bench[/bold]: {env['cpu_key']}, {env['threads']} threads ({env['threading_layer']}), "
        f"numpy {env['numpy']}, numba {env['numba']}; {report.elapsed:.0f} s{load}",
        highlight=False,
    )
    for row, names in (aliases or {}).items():
        con.print(f"{', '.join(names)}: timed as {row}, the same kernel", highlight=False)
    if report.results:
        _print_results(con, report, repeats)
    _print_scaling(con, report, repeats)
    _print_small_calls(con, report)
    _print_orthogonal(con, report, repeats)
    if report.results or report.scaling or report.small_calls:  # the targets grade the fills only
        _print_targets(con, report)
    con.print(f"[bold]{report.verdict(_LABEL_OF)}[/bold]", highlight=False)


def _print_results(con: Any, report: bench.BenchReport, repeats: int) -> None:
    table = _table(
        f"M samples/s (wall medians of {repeats} interleaved runs, one buffer); time / X: xinit time over "
        "X's, lower is better",
        "words: the raw Philox words of the dtype over the same bytes (the generator's ceiling); fill: a "
        "parallel constant fill (the bandwidth limit); cpu/wall: CPU over wall time of the xinit call "
        "(busy threads); '!': that figure's call got under 90% of its cores (machine busy); "
        "'-': not timed (NumPy up to 1M unless --full)",
    )
    heads = ["scheme", "dtype", "size", "xinit", "numpy", "words", "fill"]
    heads += ["time /\nnumpy", "time /\nwords", "time /\nfill", "cpu/\nwall"]
    for head in heads:
        table.add_column(head, justify="left" if head in ("scheme", "dtype") else "right", no_wrap=True)
    for r in report.results:

        def rate(impl: str, r: bench.CaseResult = r) -> str:
            return _rate(r.msps(impl)) if r.has(impl) else "-"

        def over(impl: str, r: bench.CaseResult = r) -> str:
            return f"{r.time_ratio('xinit', impl):.2f}" if r.has(impl) else "-"

        mark = "!" if r.busy else ""
        table.add_row(
            label(r.case.scheme),
            r.case.dtype,
            cases.size_label(r.case.size),
            rate("xinit") + ("" if r.has("numpy") else mark),
            rate("numpy") + (mark if r.has("numpy") else ""),
            rate("words"),
            rate("fill"),
            over("numpy"),
            over("words"),
            over("fill"),
            f"{r.seconds('xinit', 'cpu') / r.seconds('xinit', 'wall'):.2f}",
        )
    con.print(table)


def _print_scaling(con: Any, report: bench.BenchReport, repeats: int) -> None:
    if not report.scaling:
        return
    first = report.scaling[0]
    table = _table(
        f"thread scaling, {cases.size_label(first.case.size)} float32 (wall medians of {repeats} interleaved runs)",
        "time / ideal: the n-thread time over max(1-thread time / n, fill on n threads), lower is better; "
        "'!': the n-thread call got under 90% of n cores (machine busy)",
    )
    for head in ("scheme", "1 thread\nms", "threads", "n threads\nms", "fill n\nms", "speed-up", "time /\nideal"):
        table.add_column(head, justify="left" if head == "scheme" else "right", no_wrap=True)
    for s in report.scaling:
        table.add_row(
            label(s.case.scheme),
            f"{s.wall_1 * 1e3:.1f}",
            str(s.threads),
            f"{s.wall_n * 1e3:.1f}" + ("!" if s.busy else ""),
            f"{s.fill_n * 1e3:.1f}",
            f"{s.speedup:.2f}",
            f"{s.time_over_ideal:.2f}",
        )
    con.print(table)


def _print_small_calls(con: Any, report: bench.BenchReport) -> None:
    if not report.small_calls:
        return
    size = cases.size_label(report.small_calls[0].case.size)
    table = _table(
        f"one allocating {size}-element call against NumPy's reference call",
        "time / numpy: xinit time over NumPy's, lower is better",
    )
    for head in ("scheme", "dtype", "xinit us", "numpy us", "time /\nnumpy"):
        table.add_column(head, justify="left" if head in ("scheme", "dtype") else "right", no_wrap=True)
    for c in report.small_calls:
        table.add_row(
            label(c.case.scheme),
            c.case.dtype,
            f"{c.xinit_seconds * 1e6:.1f}",
            f"{c.numpy_seconds * 1e6:.1f}",
            f"{c.ratio:.2f}",
        )
    con.print(table)


def _print_orthogonal(con: Any, report: bench.BenchReport, repeats: int) -> None:
    if not report.orthogonal:
        return
    table = _table(
        f"orthogonal (n, n): wall medians of {repeats} calls, each side in its own process, alternating "
        f"({report.orthogonal[0].threads} threads each)",
        "GF/s: (4/3 n^3 for geqrf + 4/3 n^3 for Q) / time; torch: torch.nn.init.orthogonal_; lapack: SciPy's "
        f"QR with the sign fix; / torch: xinit time over torch's, lower is better, bound {qr_cases.TORCH_BOUND:g}x "
        "('!' above it); '-': not timed (the side is not installed)",
    )
    heads = ["n", "dtype", "xinit s", "torch s", "lapack s", "xinit\nGF/s", "torch\nGF/s", "lapack\nGF/s"]
    heads += ["time /\ntorch", "time /\nlapack"]
    for head in heads:
        table.add_column(head, justify="left" if head == "dtype" else "right", no_wrap=True)
    for q in report.orthogonal:

        def cell(side: str, rate: bool, q: Any = q) -> str:
            if side not in q.wall:
                return "-"
            return f"{q.gflops(side):.1f}" if rate else f"{q.wall[side]:.3f}"

        def over(other: str, q: Any = q) -> str:
            ratio = q.over("xinit", other)
            return "-" if ratio is None else f"{ratio:.2f}"

        mark = "!" if q.within_bound is False else ""
        table.add_row(
            str(q.case.n),
            q.case.dtype,
            *(cell(side, False) for side in qr_cases.SIDES),
            *(cell(side, True) for side in qr_cases.SIDES),
            over("torch") + mark,
            over("lapack"),
        )
    con.print(table)
    graded = [q for q in report.orthogonal if q.within_bound is not None]
    met = sum(bool(q.within_bound) for q in graded)
    con.print(
        f"orthogonal: {met} of {len(graded)} rows within {qr_cases.TORCH_BOUND:g}x torch's time "
        f"(load {report.orthogonal[-1].load})",
        highlight=False,
    )


def _print_targets(con: Any, report: bench.BenchReport) -> None:
    table = _table(
        f"speed targets, {bench.isa_level(report.environment['cpu_key'])} bounds: time ratios to a reference "
        "of this run, lower is better"
    )
    for head in ("target", "size", "measured", "bound", "status"):
        table.add_column(head, justify="left" if head in ("target", "status") else "right", no_wrap=True)
    notes: dict[str, list[str]] = {}
    for t in report.targets:
        target = t.target
        name = target.display(_LABEL_OF)
        status = t.status + ("!" if t.busy and t.status == "MISS" else "")
        table.add_row(
            name,
            cases.size_label(target.size),
            "-" if t.value is None else f"{t.value:.2f}",
            f"{target.bound:.2f}",
            status,
            style={"MISS": "bold red", "pass": "green"}.get(t.status),
        )
        if t.note:
            notes.setdefault(t.note, []).append(name)
    con.print(table)
    for note, names in notes.items():
        con.print(f"not graded ({len(names)}): {note}", highlight=False)
    bases = dict.fromkeys(t.target.basis for t in report.targets)
    con.print("bounds: " + "; ".join(bases), highlight=False)
