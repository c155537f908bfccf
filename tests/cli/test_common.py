"""``xinit_bench/cli/common.py``: library messages in the CLI's names, and the table width."""

from __future__ import annotations

import pytest

from xinit_bench.cli import build_parser
from xinit_bench.cli.common import WIDTH, cli_message, flag_names


def subparser(command: str):  # type: ignore[no-untyped-def]
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return sub.choices[command]


def test_the_mapping_comes_from_the_subcommands_own_parser() -> None:
    names, switches = flag_names(subparser("to-zarr"))
    assert names["shape"] == "--shape" and names["chunks"] == "--chunks" and names["store"] == "OUT.zarr"
    assert names["dry_run"] == "--dry-run" and {"overwrite", "resume", "dry_run"} <= switches
    bench_names, _ = flag_names(subparser("bench"))
    assert bench_names["dtype"] == bench_names["dtypes"] == "--dtypes"  # the library says dtype
    assert bench_names["size"] == "--sizes"


@pytest.mark.parametrize(
    "library,cli",
    [
        (
            "shape must be an int or a sequence of ints, got 'x'",
            "--shape must be an int or a sequence of ints, got 'x'",
        ),
        ("shape[1] must be an int >= 0, got -4", "--shape[1] must be an int >= 0, got -4"),
        ("store must not exist unless overwrite=True", "OUT.zarr must not exist unless --overwrite"),
        ("pass either overwrite=True or resume=True, not both", "pass either --overwrite or --resume, not both"),
        ("resumed with resume=False", "resumed with no --resume"),
        ("offset must leave room, got offset=12", "--offset must leave room, got offset=12"),  # a value echoed
        ("pass either seed= or generator=, not both", "pass either --seed or generator=, not both"),
        (
            "cannot resume: chunks must be the store's own (7, 8)",
            "cannot resume: --chunks must be the store's own (7, 8)",
        ),
        # prose is left alone: a name that is not the subject of a clause or a keyword
        ("5 chunks of (7, 8) in the store", "5 chunks of (7, 8) in the store"),
        ("the shape and the chunks must agree", "the shape and the chunks must agree"),
        # a flag already in the CLI's form is not prefixed twice
        ("--shape must be given", "--shape must be given"),
    ],
)
def test_library_names_become_flags(library: str, cli: str) -> None:
    names = {"shape": "--shape", "store": "OUT.zarr", "overwrite": "--overwrite", "resume": "--resume"}
    names |= {"offset": "--offset", "chunks": "--chunks", "seed": "--seed"}
    assert cli_message(library, names, {"overwrite", "resume"}) == cli


def test_a_scheme_keyword_names_the_param_option() -> None:
    names = {"mode": "--param mode"}
    assert (
        cli_message("mode must be one of 'fan_in', got 'x'", names) == "--param mode must be one of 'fan_in', got 'x'"
    )


def test_tables_are_100_columns() -> None:
    assert WIDTH == 100
