"""Keras 3 initialisers with the bits of the NumPy API, on any Keras back end.

Needs ``keras>=3`` (the ``keras`` extra) and a Keras back end; ``import
xinit_bench`` does not import this module, and nothing here chooses the back
end (set ``KERAS_BACKEND`` before Keras is imported).  Pass the classes as
they are::

    keras.layers.Dense(128, kernel_initializer=xinit_bench.keras.GlorotUniform(seed=0))

- **Keras's names mean Keras's laws.** :class:`GlorotNormal`,
  :class:`HeNormal`, :class:`LecunNormal` and :class:`VarianceScaling`
  ``(distribution="normal")`` are normals truncated at ±2 parent standard
  deviations with parent std :math:`\\sqrt{s/n}/0.8796\\ldots`, as in
  ``keras.initializers``; the untruncated law is
  ``VarianceScaling(distribution="untruncated_normal")``.
- **Keras's layout**: kernels ``(in, out)`` and ``(*kernel, in, out)``.
- **Keras's seed rule**: an int seed gives the same values on every call;
  ``seed=None`` draws a seed once, when the initialiser is built.  A
  ``keras.random.SeedGenerator`` is refused: its values change per call.
- **Serialisation**: every class is registered with
  ``keras.saving.register_keras_serializable(package="xinit_bench")``, so a
  saved model reloads with the same initialisers.
- **Whole models**: :func:`init_model` keys each weight by ``(seed, path)``
  (:func:`xinit_bench.key_for_name`).

``values(shape, dtype)`` gives the NumPy array that ``__call__`` converts
to a tensor: ``HeNormal(seed=3).values((256, 128))`` equals
``xinit_bench.he_truncated_normal((256, 128), seed=3, layout="keras")`` bit
for bit, in every dtype (float16 and bfloat16 through the library's half
contract).
"""

from __future__ import annotations

from . import initializers
from .initializers import *  # noqa: F403 - the names of initializers.__all__, listed there once
from .models import init_model, keyed_weights

__all__ = ["init_model", "keyed_weights"]
__all__ += initializers.__all__
