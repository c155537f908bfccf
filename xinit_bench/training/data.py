r"""The bundled data sets of the training study: scikit-learn's digits, and a synthetic teacher-student task.

Nothing is downloaded.  Both sets come as a frozen :class:`Dataset` of
``float32`` inputs and ``int64`` labels, split into train and test and
standardised with the **train** statistics only:

.. math:: \tilde x_{ij} = \frac{x_{ij} - \mu_j}{s_j}, \qquad
          \mu_j = \frac1{n}\sum_{i \in \text{train}} x_{ij}, \quad
          s_j = \sqrt{\frac1{n}\sum_{i \in \text{train}} (x_{ij} - \mu_j)^2}

(``s_j = 1`` for a feature that is constant on the train set, as scikit-learn's
``StandardScaler`` does; the digits have such border pixels).

* ``"digits"``: :func:`sklearn.datasets.load_digits`, 1,797 8x8 images of
  10 classes, pixel values 0..16.  The split is
  ``train_test_split(test_size=0.2, stratify=y, random_state=seed)``: 1,437
  train and 360 test images with the class proportions kept.  ``seed=0`` (the
  default, and every preset's) is the documented split; scikit-learn draws it
  from ``numpy.random.RandomState``, whose stream NumPy keeps fixed.
* ``"teacher"``: inputs :math:`x \sim N(0, I_d)` and labels
  :math:`y = \arg\max_c (V \tanh(U x))_c` of a random teacher network with
  :math:`U_{ij} \sim N(0, 1/d)`, :math:`V_{cj} \sim N(0, 1/h)`; every draw is
  a Philox stream of this package keyed by ``(seed, name)``
  (:func:`xinit_bench.key_for_name`), so the set is the same on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from .._rng import key_for_name
from ..samplers import normal
from ..validation import check_choice, check_int, check_real

__all__ = ["DATASETS", "INSTALL", "Dataset", "DatasetName", "load_dataset", "require_extras"]

DatasetName = Literal["digits", "teacher"]
#: The names :func:`load_dataset` accepts.
DATASETS: tuple[str, ...] = get_args(DatasetName)
#: The install line of the training study's extra, named by every missing-dependency error.
INSTALL = "pip install 'xinit-bench[train]'"

#: The keywords each data set takes, with their defaults.
_OPTIONS: dict[str, dict[str, Any]] = {
    "digits": {"test_size": 0.2},
    "teacher": {"n_train": 2000, "n_test": 500, "dim": 64, "hidden": 64, "n_classes": 10},
}


def require_extras(*modules: str) -> None:
    """Import ``modules`` (default ``torch`` and ``sklearn``) or raise an ImportError that names the extra.

    Raises
    ------
    ImportError
        A module is not importable; the message names it and :data:`INSTALL`.
    """
    import importlib

    for name in modules or ("torch", "sklearn"):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            package = "scikit-learn" if name == "sklearn" else name
            raise ImportError(
                f"the training study needs {package} (module {name!r} is not importable: {exc}); {INSTALL}"
            ) from exc


@dataclass(frozen=True)
class Dataset:
    """A classification set split into train and test, standardised with the train statistics.

    ``x_*`` are ``float32`` arrays of shape ``(n, features)``, ``y_*``
    ``int64`` labels in ``[0, n_classes)``.
    """

    name: str
    x_train: NDArray[np.float32] = field(repr=False)
    y_train: NDArray[np.int64] = field(repr=False)
    x_test: NDArray[np.float32] = field(repr=False)
    y_test: NDArray[np.int64] = field(repr=False)
    n_classes: int
    description: str

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return int(self.x_train.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """Name, sizes and description (not the arrays), JSON-ready."""
        return {
            "name": self.name,
            "n_train": int(self.x_train.shape[0]),
            "n_test": int(self.x_test.shape[0]),
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "description": self.description,
        }


def load_dataset(name: DatasetName = "digits", *, seed: int = 0, **kw: Any) -> Dataset:
    """The data set ``name``, split and standardised (module docstring).

    Parameters
    ----------
    name : {"digits", "teacher"}
    seed : int
        ``"digits"``: the ``random_state`` of the split (0 is the documented
        split).  ``"teacher"``: the seed of the inputs and the teacher.
    **kw
        ``"digits"``: ``test_size`` (fraction in (0, 1), default 0.2).
        ``"teacher"``: ``n_train`` (2000), ``n_test`` (500), ``dim`` (64),
        ``hidden`` (64) and ``n_classes`` (10).

    Raises
    ------
    TypeError
        A keyword the data set does not take, a value of the wrong type.
    ValueError
        An unknown name, a negative seed, a size out of range.
    ImportError
        scikit-learn is missing for ``"digits"`` (the message names the ``train`` extra).

    Examples
    --------
    >>> from xinit_bench.training.data import load_dataset
    >>> d = load_dataset("teacher", n_train=100, n_test=20, dim=8, hidden=16, n_classes=3)
    >>> d.x_train.shape, d.x_train.dtype.name, d.y_test.dtype.name, d.n_classes
    ((100, 8), 'float32', 'int64', 3)
    """
    key = check_choice("name", name, DATASETS)
    seed = check_int("seed", seed, minimum=0)
    unknown = sorted(set(kw) - set(_OPTIONS[key]))
    if unknown:
        allowed = ", ".join(_OPTIONS[key])
        raise TypeError(f"load_dataset({key!r}) takes the keywords {allowed}, got {', '.join(unknown)}")
    options = {**_OPTIONS[key], **kw}
    if key == "digits":
        return _digits(seed, options["test_size"])
    return _teacher(seed, **options)


def standardise(
    x_train: NDArray[np.float64], x_test: NDArray[np.float64]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Both arrays standardised with the mean and population s.d. of ``x_train`` (constant features: s = 1)."""
    mu = x_train.mean(axis=0)
    sd = x_train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return ((x_train - mu) / sd).astype(np.float32), ((x_test - mu) / sd).astype(np.float32)


def _digits(seed: int, test_size: Any) -> Dataset:
    size = check_real("test_size", test_size)
    if not 0.0 < size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size!r}")
    require_extras("sklearn")
    from sklearn.datasets import load_digits  # type: ignore[import-untyped]
    from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]

    bunch = load_digits()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=size, stratify=y, random_state=seed)
    xs_tr, xs_te = standardise(np.asarray(x_tr, dtype=np.float64), np.asarray(x_te, dtype=np.float64))
    return Dataset(
        name="digits",
        x_train=xs_tr,
        y_train=np.ascontiguousarray(y_tr, dtype=np.int64),
        x_test=xs_te,
        y_test=np.ascontiguousarray(y_te, dtype=np.int64),
        n_classes=10,
        description=(
            f"scikit-learn digits (8x8, 10 classes), stratified split test_size={size:g} random_state={seed}, "
            f"{len(y_tr)} train / {len(y_te)} test, standardised with the train mean and s.d."
        ),
    )


def _teacher(seed: int, n_train: Any, n_test: Any, dim: Any, hidden: Any, n_classes: Any) -> Dataset:
    n_tr = check_int("n_train", n_train, minimum=1)
    n_te = check_int("n_test", n_test, minimum=1)
    d = check_int("dim", dim, minimum=1)
    h = check_int("hidden", hidden, minimum=1)
    c = check_int("n_classes", n_classes, minimum=2)
    n = n_tr + n_te
    x = normal((n, d), generator=key_for_name(seed, "teacher.inputs"), dtype=np.float64)
    u = normal((h, d), 0.0, 1.0 / np.sqrt(d), generator=key_for_name(seed, "teacher.hidden"), dtype=np.float64)
    v = normal((c, h), 0.0, 1.0 / np.sqrt(h), generator=key_for_name(seed, "teacher.output"), dtype=np.float64)
    y = np.argmax(np.tanh(x @ u.T) @ v.T, axis=1).astype(np.int64)
    x64 = np.asarray(x, dtype=np.float64)
    xs_tr, xs_te = standardise(x64[:n_tr], x64[n_tr:])
    return Dataset(
        name="teacher",
        x_train=xs_tr,
        y_train=y[:n_tr].copy(),
        x_test=xs_te,
        y_test=y[n_tr:].copy(),
        n_classes=c,
        description=(
            f"teacher-student: x ~ N(0, I_{d}), y = argmax V tanh(U x) with {h} hidden units, {c} classes, "
            f"seed {seed}, {n_tr} train / {n_te} test"
        ),
    )
