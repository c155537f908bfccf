"""``xinit-bench checkpoint``, driven in-process through the real CLI parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xinit_bench.cli import main

pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
safetensors_torch = pytest.importorskip("safetensors.torch")


def exit_code(argv: list[str]) -> int:
    """What the shell sees: main()'s return value, or the status argparse exits with."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    cfg = transformers.LlamaConfig(
        num_hidden_layers=2, hidden_size=64, intermediate_size=160, num_attention_heads=4, num_key_value_heads=2,
        vocab_size=512, max_position_embeddings=64, bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    path = tmp_path / "config.json"
    cfg.to_json_file(path)
    return path


def test_dry_run_prints_the_plan_and_writes_nothing(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ck"
    argv = [
        "checkpoint",
        str(config),
        str(out),
        "--preset",
        "llama",
        "--dtype",
        "bfloat16",
        "--max-shard-size",
        "100KB",
    ]
    assert main([*argv, "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "shards of at most" in text and "free" in text and "memory: about" in text and "nothing was written" in text
    assert not out.exists()


def test_writes_a_checkpoint_that_loads_and_resumes(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from xinit_bench.torch import checkpoint as ck

    out = tmp_path / "ck"
    argv = ["checkpoint", str(config), str(out), "--preset", "llama", "--seed", "3", "--max-shard-size", "200KB"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "wrote" in text and "GB/s" in text
    index = json.loads((out / ck.INDEX).read_text())
    files = sorted(set(index["weight_map"].values()))
    assert len(files) > 1
    library = tmp_path / "lib"
    ck.save_checkpoint(config, "llama", 3, library, max_shard_size="200KB")
    for file in [*files, ck.INDEX, "config.json"]:  # the CLI writes what the library writes
        assert (out / file).read_bytes() == (library / file).read_bytes(), file
    assert main([*argv, "--resume", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["shards_to_write"] == 0 and data["result"]["shards_skipped"] == len(files)


@pytest.mark.refusal
@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--max-shard-size", "lots"], "error: --max-shard-size must be a positive number of bytes"),
        (["--workers", "0"], "error: --workers must be an int"),
        (["--preset", "nope"], "error: --preset must be one of"),
        (["--dtype", "int8"], "invalid choice"),
    ],
)
def test_bad_options_are_one_line_errors(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str], extra: list[str], words: str
) -> None:
    out = tmp_path / "ck"
    argv = ["checkpoint", str(config), str(out), "--preset", "llama", *extra]
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.refusal
def test_an_existing_folder_names_the_flags(tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ck"
    out.mkdir()
    assert main(["checkpoint", str(config), str(out), "--preset", "llama"]) == 2
    assert "OUT_DIR must not exist unless --overwrite or --resume" in capsys.readouterr().err
