"""Settings every pytest run needs before it imports anything, the doctests of ``xinit_bench`` alone included.

Keras reads ``KERAS_BACKEND`` once, at its first import, and defaults to
TensorFlow, which this project does not install; collecting the doctests of
``xinit_bench.keras`` imports Keras.  The torch back end is chosen here, in the
rootdir's conftest (loaded for ``pytest xinit_bench`` as for ``pytest tests``),
unless the environment already names one.  The keras adapter itself never
chooses a back end.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
