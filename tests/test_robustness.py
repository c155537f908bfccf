"""Refusals of parameter sets that used to give wrong values or the wrong exception, one test per case.

Each test names the value that used to slip through: a width, a std or a
gain that overflows the output dtype, a huge int, a refused call that moved a
generator, a generator that could not be pickled.
"""

from __future__ import annotations

import copy
import pickle
import re

import numpy as np
import pytest

import xinit_bench as xb
from xinit_bench import propagation as prop


def _refused(exc: type[Exception], what: str, call, *args, **kwargs) -> str:
    """Call ``call``; check it raises ``exc`` with a message that starts with ``"<what> must "``."""
    param = what
    with pytest.raises(exc) as info:
        call(*args, **kwargs)
    assert type(info.value) is exc or issubclass(type(info.value), exc)
    assert re.match(rf"{re.escape(param)} must ", str(info.value)), str(info.value)
    return str(info.value)


# --- derived quantities that overflow the dtype -------------------------------------------
def test_uniform_width_overflowing_float64_is_refused() -> None:
    msg = _refused(ValueError, "high - low", xb.uniform, 1000, -1e308, 1e308, dtype=np.float64, seed=0)
    assert "float64" in msg and "high=1e+308" in msg and "low=-1e+308" in msg and "overflows" in msg


def test_uniform_width_overflowing_float32_is_refused() -> None:
    _refused(ValueError, "high - low", xb.uniform, 1000, -2e38, 2e38, seed=0)
    assert np.isfinite(xb.uniform(1000, -2e38, 2e38, seed=0, dtype=np.float64)).all()  # fine in float64


def test_uniform_bound_beyond_float32_is_refused() -> None:
    _refused(ValueError, "low", xb.uniform, 10, -1e39, 0.0, seed=0)


def test_uniform_subnormal_width_is_refused() -> None:
    _refused(ValueError, "high - low", xb.uniform, 10, 0.0, 1e-40, seed=0)


@pytest.mark.parametrize("call", [xb.normal, xb.truncated_normal])
def test_std_overflowing_float32_is_refused(call) -> None:
    msg = _refused(ValueError, "std", call, 10, std=1e39, seed=0)
    assert "float32" in msg
    assert np.isfinite(call(10, std=1e39, seed=0, dtype=np.float64)).all()


def test_normal_whose_extreme_samples_overflow_is_refused() -> None:
    _refused(ValueError, "|mean| + 5.8 std", xb.normal, 10, mean=3e38, std=1e37, seed=0)


@pytest.mark.parametrize("std", [1e-40, 1e-50])
def test_nonzero_std_that_underflows_is_refused(std: float) -> None:
    _refused(ValueError, "std", xb.normal, 10, std=std, seed=0)
    assert (xb.normal(10, std=0.0, seed=0) == 0).all()  # std = 0 stays legal


def test_variance_scaling_scale_overflowing_float32_names_scale() -> None:
    msg = _refused(
        ValueError, "scale", xb.variance_scaling, (3, 4), scale=1e308, distribution="truncated_normal", seed=0
    )
    assert "float32" in msg


def test_variance_scaling_scale_underflowing_to_zero_names_scale() -> None:
    _refused(ValueError, "scale", xb.variance_scaling, (3, 4), scale=5e-324, seed=0)
    assert (xb.variance_scaling((3, 4), scale=0.0, seed=0) == 0).all()  # scale = 0 stays legal


@pytest.mark.parametrize(
    "init", [xb.xavier_uniform, xb.xavier_normal, xb.lecun_truncated_normal, xb.lecun_uniform, xb.glorot_normal]
)
def test_gain_1e308_is_a_value_error_naming_gain(init) -> None:
    _refused(ValueError, "gain", init, (3, 4), gain=1e308, seed=0)


def test_gain_whose_weights_overflow_float32_names_gain() -> None:
    _refused(ValueError, "gain", xb.xavier_uniform, (3, 4), gain=1e100, seed=0)
    assert np.isfinite(xb.xavier_uniform((3, 4), gain=1e100, seed=0, dtype=np.float64)).all()


@pytest.mark.parametrize("init", [xb.he_uniform, xb.he_normal, xb.he_truncated_normal])
def test_he_slope_1e308_is_a_value_error_naming_a(init) -> None:
    _refused(ValueError, "a", init, (3, 4), a=1e308, seed=0)


# --- huge ints ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("param", "call", "kwargs"),
    [
        ("std", xb.normal, {"std": 2**1100}),
        ("high", xb.uniform, {"high": 2**1100}),
        ("mean", xb.truncated_normal, {"mean": -(2**1100)}),
        ("scale", xb.variance_scaling, {"scale": 2**1100}),
        ("gain", xb.xavier_normal, {"gain": 2**1100}),
        ("a", xb.he_normal, {"a": 2**1100}),
    ],
)
def test_huge_int_real_is_a_value_error_naming_it(param, call, kwargs) -> None:
    msg = _refused(ValueError, param, call, (3, 4), seed=0, **kwargs)
    assert "2**1100" in msg and len(msg) < 300


def test_huge_int_fans_are_a_value_error() -> None:
    msg = _refused(ValueError, "fans[0]", xb.variance_scaling, (3, 4), fans=(2**1100, 1), seed=0)
    assert "2**1100" in msg and len(msg) < 300


def test_shape_numpy_cannot_hold_is_a_value_error_naming_shape() -> None:
    _refused(ValueError, "shape", xb.normal, (2**62, 2**62), seed=0)


# --- gains ----------------------------------------------------------------------------------
def test_elu_gain_for_huge_alpha_is_the_true_value() -> None:
    # g = 1 / sqrt(1/2 + alpha^2 c), c = E[(e^z - 1)^2; z < 0]: for alpha = 1e300, g = 1 / (alpha sqrt(c)).
    g1 = xb.calculate_gain("elu", 1.0)
    c = 1.0 / g1**2 - 0.5
    assert xb.calculate_gain("elu", 1e300) == pytest.approx(1.0 / (1e300 * np.sqrt(c)), rel=1e-12)
    assert xb.calculate_gain("elu", 1e300) > 2e-300


def test_leaky_relu_gain_for_huge_slope_is_the_true_value() -> None:
    assert xb.calculate_gain("leaky_relu", 1e200) == pytest.approx(np.sqrt(2.0) * 1e-200, rel=1e-15)
    assert xb.calculate_gain("leaky_relu", -1e200) == pytest.approx(np.sqrt(2.0) * 1e-200, rel=1e-15)
    _refused(ValueError, "param", xb.calculate_gain, "leaky_relu", 1.7e308)  # gain subnormal


def test_critical_gain_huge_leaky_slope_is_refused_not_zero() -> None:
    _refused(ValueError, "param", prop.critical_gain, "leaky_relu", "forward", param=1e200)


def test_critical_gain_huge_q_is_a_value_error() -> None:
    _refused(ValueError, "q", prop.critical_gain, "tanh", "forward", q=1e308)
    _refused(ValueError, "q", prop.critical_gain, "tanh", "backward", q=1e308)


def test_calculate_gain_takes_a_numpy_float32_slope() -> None:
    assert xb.calculate_gain("leaky_relu", np.float32(0.25)) == pytest.approx(np.sqrt(2 / (1 + 0.0625)))
    assert xb.he_normal((3, 4), a=np.float32(0.25), seed=0).shape == (3, 4)


# --- containers -----------------------------------------------------------------------------
def test_numpy_matrix_out_is_a_type_error() -> None:
    with pytest.warns(PendingDeprecationWarning):
        m = np.matrix(np.zeros((2, 2), np.float32))
    _refused(TypeError, "out", xb.uniform, (2, 2), seed=0, out=m)
    assert (m == 0).all()


@pytest.mark.parametrize("shape", [{4, 3}, {4: 1, 3: 2}, frozenset({2}), (d for d in (2, 3))])
def test_unordered_or_one_shot_shapes_are_type_errors(shape) -> None:
    _refused(TypeError, "shape", xb.uniform, shape, seed=0)


def test_float_fans_are_a_type_error() -> None:
    _refused(TypeError, "fans[0]", xb.variance_scaling, (3, 4), fans=(3.0, 4), seed=0)


def test_numpy_int_axes_are_accepted() -> None:
    assert xb.compute_fans((3, 4, 5), in_axis=np.int64(2), out_axis=np.int32(0)) == (20, 12)
    assert xb.compute_fans((3, 4, 5), batch_axis=(np.int64(2),)) == (4, 3)


def test_batch_axis_none_names_batch_axis() -> None:
    _refused(TypeError, "batch_axis", xb.variance_scaling, (3, 4), batch_axis=None, seed=0)


# --- state after a refused call -------------------------------------------------------------
def test_memory_error_leaves_the_generator_where_it_was(monkeypatch) -> None:
    from xinit_bench import validation

    g = xb.Generator(5)

    def no_memory(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr(validation.np, "empty", no_memory)
    with pytest.raises(MemoryError):
        xb.normal(8, generator=g)
    with pytest.raises(MemoryError):
        xb.random_bits(8, generator=g)
    monkeypatch.undo()
    assert g.stream == 0
    assert (xb.normal(8, generator=g) == xb.normal(8, seed=5)).all()


@pytest.mark.parametrize("clone", [lambda g: pickle.loads(pickle.dumps(g)), copy.deepcopy, copy.copy])
def test_generator_copies_replay_the_same_streams(clone) -> None:
    g = xb.Generator(11)
    xb.normal(3, generator=g)
    h = clone(g)
    assert h.stream == g.stream == 1 and h.key == g.key
    assert (xb.normal(16, generator=g) == xb.normal(16, generator=h)).all()
    assert h.stream == 2
    xb.normal(4, generator=h)  # the copy has its own working lock


def test_spawned_children_follow_seedsequence_spawn() -> None:
    g = xb.Generator(42)
    children = g.spawn(3)
    for k, child in enumerate(children):
        expected = np.random.SeedSequence(42).spawn(3)[k].generate_state(2, np.uint32)
        assert tuple(int(w) for w in child.key) == tuple(int(w) for w in expected)
    assert [c._spawn_key for c in g.spawn(2)] == [(3,), (4,)]  # successive calls give new children
    assert g.stream == 0


def test_spawned_children_streams_are_disjoint_from_parent_and_siblings() -> None:
    g = xb.Generator(0)
    family = [g, *g.spawn(4), *g.spawn(1)[0].spawn(3)]
    assert len({gen.key for gen in family}) == len(family)
    words = [xb.random_bits(4096, generator=gen) for gen in family]
    for i in range(len(words)):
        for j in range(i):
            # 2 x 4096 independent 32-bit words share a value with probability ~ 4096**2 / 2**32 = 0.4%;
            # equal leading blocks would mean a shared stream.
            assert not (words[i][:4] == words[j][:4]).all()
            assert len(np.intersect1d(words[i], words[j])) <= 3


def test_spawn_validates_n() -> None:
    _refused(TypeError, "n", xb.Generator(0).spawn, 2.0)
    _refused(ValueError, "n", xb.Generator(0).spawn, -1)


# --- the propagation study ------------------------------------------------------------------
def test_simulate_huge_gain_names_gain_before_allocating(monkeypatch) -> None:
    from xinit_bench.propagation import engine

    def no_engine(*args, **kwargs):
        raise AssertionError("the engine allocated its buffers before the gain was refused")

    monkeypatch.setattr("xinit_bench.propagation.montecarlo.Engine", no_engine)
    assert engine.Engine is not no_engine
    for gain in (1e200, 1e30):
        with pytest.raises(ValueError, match=r"^gain\b"):
            prop.simulate("relu", depth=2, width=4, batch=2, repeats=1, gain=gain)


def test_predict_huge_gain_names_gain() -> None:
    _refused(ValueError, "gain", prop.predict, "relu", depth=2, width=4, gain=1e200)
    with pytest.raises(ValueError, match=r"^gain\b.*q\^2 overflows"):
        prop.predict("relu", depth=5, width=4, gain=1e100)


def test_simulate_max_memory_str_names_it() -> None:
    _refused(TypeError, "max_memory", prop.simulate, "relu", depth=1, width=4, batch=2, repeats=1, max_memory="x")


def test_estimate_memory_counts_the_results_of_every_repeat() -> None:
    one = prop.estimate_memory((4, 4, 4), 2)
    assert prop.estimate_memory((4, 4, 4), 2, repeats=10**12) - one >= 2 * (10**12 - 1) * 6 * 2 * 8
    with pytest.raises(ValueError, match="repeats=1000000000000"):
        prop.simulate("relu", depth=2, width=4, batch=2, repeats=10**12)


def test_forward_gain_rows_report_chi1_and_phase() -> None:
    tanh = prop.critical_gain("tanh", "forward")
    backward = prop.critical_gain("tanh", "backward")
    assert tanh.chi1 == pytest.approx((tanh.gain / backward.gain) ** 2, rel=1e-9)
    assert tanh.chi1 == pytest.approx(1.178, abs=1e-3)
    assert tanh.phase == "chaotic" and "chaotic" in tanh.note
    assert backward.phase == "critical" and prop.critical_gain("sigmoid", "forward").phase == "ordered"
    assert prop.critical_gain("gelu", "forward").phase == "chaotic"
    row = next(r for r in prop.gain_table() if r["activation"] == "tanh")
    assert row["forward"].to_dict()["phase"] == "chaotic" and "chi1" in row["forward"].to_dict()


def test_readme_tanh_example_is_critical() -> None:
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "--gain 1.5925" not in readme
    eoc = prop.critical_gain("tanh", "edge_of_chaos")
    assert f"--gain {eoc.gain:.4f} --bias-std {eoc.bias_std:.4f}" in readme
    assert eoc.phase == "critical"


# --- the command line -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bench", "--sizes", "1<<100000000000"], "--sizes"),
        (["bench", "--sizes", "1<<40", "--no-scaling", "--no-small-call"], "GiB"),
        (["propagate", "--repeats", "1000000000000", "--depth", "2", "--width", "4", "--no-plot"], "repeats="),
        (["bench", "--sizes", "1K", "--no-scaling", "--no-small-call", "-o", "/proc/x.json"], "-o/--output"),
        (["propagate", "--depth", "2", "--width", "4", "--plot", "/proc/x.png"], "--plot"),
        (["gains", "--json", "/proc/x.json"], "--json"),
        (["propagate", "--gain", "1e200", "--depth", "2", "--width", "4", "--no-plot"], "gain must"),
        (["propagate", "--gain", "1e30", "--depth", "2", "--width", "4", "--no-plot"], "gain"),
        (["gains", "--q", "1e308"], "q must"),
    ],
)
def test_cli_refuses_in_one_line_without_writing(argv, expected, tmp_path, monkeypatch, capsys) -> None:
    from xinit_bench.cli import main

    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own one-line errors exit 2
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and expected in err, err
    assert list(tmp_path.iterdir()) == []


def test_cli_gains_table_shows_chi1_and_phase(capsys) -> None:
    from xinit_bench.cli import main

    assert main(["gains"]) == 0
    out = capsys.readouterr().out
    assert "chi_1 at q*" in out and "chaotic" in out and "ordered" in out


def test_truncated_normal_whose_finite_end_overflows_is_refused() -> None:
    # Found by tests/test_properties.py: std = 1.8e308 puts the end at -2 std beyond float64.
    _refused(ValueError, "mean + std * a", xb.truncated_normal, 3, std=1.7976931348623157e308, dtype=np.float64, seed=0)


def test_depth_beyond_the_limit_is_a_value_error() -> None:
    # Found by tests/test_properties.py: depth = 2**1100 raised OverflowError building the widths.
    _refused(ValueError, "depth", prop.predict, "relu", depth=2**1100, width=4)
    _refused(ValueError, "batch", prop.simulate, "relu", depth=1, width=4, batch=2**1100, repeats=1)
