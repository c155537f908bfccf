"""xinit-bench: fast, bit-reproducible weight initialisation on the CPU.

Samplers (:func:`uniform`, :func:`normal`, :func:`truncated_normal`), the
:func:`variance_scaling` core and its named schemes (Xavier/Glorot,
He/Kaiming, LeCun), fans and gains, a stateful :class:`Generator` of
independent Philox streams and :func:`random_bits` for the raw words.
NumPy baselines live in :mod:`xinit_bench.reference`, the variance
propagation study in :mod:`xinit_bench.propagation`.

This module is the package's facade: it re-exports the public names of the
core modules and holds no code.  It imports the core; no core module (and no
module of :mod:`xinit_bench.propagation`) imports it -- they import the
specific core modules they use, so that their layer is visible and checked
(``tests/contract/test_layers.py``; docs/design.md, "Layers").
"""

from __future__ import annotations

from ._rng import STREAM_VERSION, Generator, key_for_name, random_bits
from .fans import compute_fans
from .gains import calculate_gain
from .init import (
    TRUNCATED_STD_2,
    glorot_normal,
    glorot_truncated_normal,
    glorot_uniform,
    he_normal,
    he_truncated_normal,
    he_uniform,
    kaiming_normal,
    kaiming_truncated_normal,
    kaiming_uniform,
    lecun_normal,
    lecun_truncated_normal,
    lecun_uniform,
    normal,
    truncated_normal,
    uniform,
    variance_scaling,
    xavier_normal,
    xavier_truncated_normal,
    xavier_uniform,
)
from .orthogonal import delta_orthogonal, dirac, identity, orthogonal, sparse
from .validation import ParameterRangeError

__version__ = "0.1.0"

__all__ = [
    "STREAM_VERSION",
    "TRUNCATED_STD_2",
    "Generator",
    "ParameterRangeError",
    "calculate_gain",
    "compute_fans",
    "delta_orthogonal",
    "dirac",
    "glorot_normal",
    "glorot_truncated_normal",
    "glorot_uniform",
    "he_normal",
    "he_truncated_normal",
    "he_uniform",
    "identity",
    "kaiming_normal",
    "kaiming_truncated_normal",
    "kaiming_uniform",
    "key_for_name",
    "lecun_normal",
    "lecun_truncated_normal",
    "lecun_uniform",
    "normal",
    "orthogonal",
    "random_bits",
    "sparse",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_truncated_normal",
    "xavier_uniform",
]
