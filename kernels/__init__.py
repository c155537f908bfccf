"""Numba kernels of xinit-bench, installed as ``xinit_bench.kernels``.

The layers never import upward:

``philox``      counter-based bits: ``(counter[4], key[2]) -> 4 x uint32``;
``convert``     words to floats on fixed grids;
``transforms``  branch-free maths on those floats (log, sincos, inverse CDF);
``blocks``      four words to the values of one block, per kind and dtype;
``fill``        serial and parallel fills ``(out, key, offset, params)`` of a flat buffer.

``kinds`` names the sampler kinds (it imports nothing); ``activations`` holds
the propagation study's fused kernels; ``_jit`` decides every ``@njit`` option.

Import this package as ``xinit_bench.kernels``: PyPI already has a
distribution named ``kernels``, so the top-level ``kernels/`` folder is mapped
into ``xinit_bench`` by setuptools' ``package-dir``.
"""
