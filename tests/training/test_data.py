"""The bundled data sets: the documented digits split, train-only standardisation, the teacher task."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

import xinit_bench as xb
from xinit_bench.training.data import INSTALL, load_dataset, require_extras


@pytest.mark.known_answer
def test_digits_is_the_documented_split_standardised_with_train_statistics() -> None:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_dataset("digits")
    assert (d.x_train.shape, d.x_test.shape, d.n_classes) == ((1437, 64), (360, 64), 10)
    assert (d.x_train.dtype, d.y_train.dtype, d.x_test.dtype, d.y_test.dtype) == (np.float32, np.int64) * 2
    raw = load_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(raw.data, raw.target, test_size=0.2, stratify=raw.target, random_state=0)
    assert np.array_equal(d.y_train, y_tr) and np.array_equal(d.y_test, y_te)
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    constant = sd == 0
    assert constant.any()  # border pixels that are 0 on every train image: divided by 1, not 0
    sd[constant] = 1.0
    np.testing.assert_allclose(d.x_train, (x_tr - mu) / sd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(d.x_test, (x_te - mu) / sd, rtol=1e-6, atol=1e-6)
    # Train statistics only: the train set is centred and scaled, the test set is not exactly.
    assert np.abs(d.x_train.mean(axis=0)).max() < 1e-5
    np.testing.assert_allclose(d.x_train.std(axis=0)[~constant], 1.0, rtol=1e-5)
    assert np.abs(d.x_test.mean(axis=0)).max() > 1e-3
    # Stratified: each class's share of the test set is within one image of 20% of its count.
    counts = np.bincount(raw.target, minlength=10)
    assert np.all(np.abs(np.bincount(d.y_test, minlength=10) - 0.2 * counts) <= 1)


@pytest.mark.invariance
def test_the_split_is_fixed_by_its_seed() -> None:
    a, b, c = load_dataset("digits"), load_dataset("digits", seed=0), load_dataset("digits", seed=1)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)


@pytest.mark.known_answer
def test_teacher_labels_are_the_teachers_argmax() -> None:
    d = load_dataset("teacher", seed=3, n_train=300, n_test=100, dim=5, hidden=7, n_classes=4)
    g = xb.key_for_name
    x = xb.normal((400, 5), generator=g(3, "teacher.inputs"), dtype=np.float64)
    u = xb.normal((7, 5), 0.0, 1 / np.sqrt(5), generator=g(3, "teacher.hidden"), dtype=np.float64)
    v = xb.normal((4, 7), 0.0, 1 / np.sqrt(7), generator=g(3, "teacher.output"), dtype=np.float64)
    y = np.argmax(np.tanh(x @ u.T) @ v.T, axis=1)
    assert np.array_equal(d.y_train, y[:300]) and np.array_equal(d.y_test, y[300:])
    mu, sd = x[:300].mean(axis=0), x[:300].std(axis=0)
    np.testing.assert_allclose(d.x_test, (x[300:] - mu) / sd, rtol=1e-5, atol=1e-6)
    assert set(np.unique(d.y_train)) == {0, 1, 2, 3}
    other = load_dataset("teacher", seed=4, n_train=300, n_test=100, dim=5, hidden=7, n_classes=4)
    assert not np.array_equal(d.x_train, other.x_train)


@pytest.mark.structure
def test_a_dataset_is_frozen_and_describes_itself() -> None:
    d = load_dataset("teacher", n_train=20, n_test=10, dim=3, n_classes=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.name = "other"  # type: ignore[misc]
    assert d.to_dict() == {
        "name": "teacher",
        "n_train": 20,
        "n_test": 10,
        "n_features": 3,
        "n_classes": 2,
        "description": d.description,
    }
    assert "random_state=0" in load_dataset("digits").description


@pytest.mark.refusal
def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="name must be one of 'digits', 'teacher', got 'mnist'"):
        load_dataset("mnist")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes the keywords test_size, got n_train"):
        load_dataset("digits", n_train=10)
    with pytest.raises(ValueError, match=r"test_size must be in \(0, 1\), got 1.5"):
        load_dataset("digits", test_size=1.5)
    with pytest.raises(ValueError, match="seed must be"):
        load_dataset("digits", seed=-1)
    with pytest.raises(ValueError, match="n_classes must be"):
        load_dataset("teacher", n_classes=1)


@pytest.mark.refusal
def test_a_missing_extra_names_the_install_line() -> None:
    with pytest.raises(ImportError, match=r"needs no_such_module_h5 .*pip install 'xinit-bench\[train\]'"):
        require_extras("no_such_module_h5")
    # Without torch, the package itself says what to install (torch blocked in a fresh interpreter).
    code = "import sys; sys.modules['torch'] = None\nimport xinit_bench.training\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode != 0
    assert "ImportError" in done.stderr and INSTALL in done.stderr, done.stderr[-500:]
