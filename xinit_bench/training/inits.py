r"""The initialisations the training study compares, written through :mod:`xinit_bench.torch`.

Every weight ``layers.{l}.weight`` of shape ``(fan_out, fan_in)`` is drawn
from the first stream of ``xinit_bench.key_for_name(seed, "layers.{l}.weight")``,
so its values at step 0 are, bit for bit, the NumPy sampler's in the second
column (``g`` that generator):

=================  ===============================================  ==============================================
name               law of :math:`W`                                 NumPy twin
=================  ===============================================  ==============================================
``glorot_uniform`` :math:`U(\pm\sqrt{6/(n_{in}+n_{out})})`          ``xb.glorot_uniform(shape, generator=g)``
``zeros``          :math:`0`                                        ``np.zeros(shape)``
``normal1``        :math:`N(0, 1)`                                  ``xb.normal(shape, 0, 1, generator=g)``
``normal_small``   :math:`N(0, 0.01^2)`                             ``xb.normal(shape, 0, 0.01, generator=g)``
``he_normal``      :math:`N(0, 2/n_{in})`, untruncated              ``xb.he_normal(shape, generator=g)``
``he_uniform``     :math:`U(\pm\sqrt{6/n_{in}})`                    ``xb.he_uniform(shape, generator=g)``
``lecun_normal``   :math:`N(0, 1/n_{in})`, untruncated              ``xb.lecun_normal(shape, generator=g)``
``orthogonal``     Haar (semi-)orthogonal, gain 1                   ``xb.orthogonal(shape, generator=g)``
``standard``       :math:`U(\pm 1/\sqrt{n_{in}})` (Glorot & Bengio's  ``xb.uniform(shape, -a, a, generator=g)``
                   "standard" heuristic)
``critical``       :math:`N(0, \sigma_w^2/n_{in})`, edge of chaos   ``xb.normal(shape, 0, s_w / sqrt(n_in), g)``
=================  ===============================================  ==============================================

Biases are zero (the Keras default), except under ``critical`` and a
:class:`GaussianInit` with :math:`\sigma_b > 0`, where ``layers.{l}.bias`` is
:math:`N(0, \sigma_b^2)` from the first stream of
``key_for_name(seed, "layers.{l}.bias")``.

``critical`` takes :math:`(\sigma_w, \sigma_b)` from
:func:`xinit_bench.propagation.critical_gain` ``(activation, "edge_of_chaos")``:
:math:`\sigma_w^2 = 1/\mathbb E[\phi'(z)^2]`, :math:`\sigma_b^2 = 1 - \sigma_w^2
\mathbb E[\phi(z)^2]` at :math:`q^* = 1` (Poole et al. 2016; Schoenholz et al.
2017).  Where the edge of chaos needs :math:`\sigma_b^2 < 0` (sigmoid, whose
mean is not zero), it falls back to the backward criterion
:math:`\chi_1 = \sigma_w^2 \mathbb E[\phi'^2] = 1` with :math:`\sigma_b = 0`.

References
----------
.. [1] Glorot & Bengio (2010), https://proceedings.mlr.press/v9/glorot10a.html
.. [2] He, Zhang, Ren & Sun (2015), https://arxiv.org/abs/1502.01852
.. [3] Saxe, McClelland & Ganguli (2014), https://arxiv.org/abs/1312.6120
.. [4] Poole et al. (2016), https://arxiv.org/abs/1606.05340
.. [5] Schoenholz et al. (2017), https://arxiv.org/abs/1611.01232
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

import torch
from torch import nn

from .._rng import key_for_name
from ..propagation.critical import critical_gain
from ..torch.functional import kaiming_normal_, kaiming_uniform_, normal_, uniform_, xavier_uniform_, zeros_
from ..torch.structured import orthogonal_
from ..torch.tensors import fill_one, scheme_plan
from ..validation import check_int, check_real
from .models import check_activation, closest

__all__ = ["TRAIN_INITS", "GaussianInit", "TrainInit", "apply_init", "check_init", "critical_params", "init_label"]

TrainInit = Literal[
    "glorot_uniform",
    "zeros",
    "normal1",
    "normal_small",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "orthogonal",
    "standard",
    "critical",
]
#: The named initialisations of the study, in table order.
TRAIN_INITS: tuple[str, ...] = get_args(TrainInit)


@dataclass(frozen=True)
class GaussianInit:
    r"""Weights :math:`N(0, \sigma_w^2 / n_{in})` and biases :math:`N(0, \sigma_b^2)`: one cell of a phase diagram.

    Drawn as ``critical`` is (module docstring), with the variances given.

    Raises
    ------
    TypeError, ValueError
        ``sigma_w2`` not a real ``> 0``, ``sigma_b2`` not a real ``>= 0``.
    """

    sigma_w2: float
    sigma_b2: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "sigma_w2", check_real("sigma_w2", self.sigma_w2, positive=True))
        object.__setattr__(self, "sigma_b2", check_real("sigma_b2", self.sigma_b2, minimum=0.0))

    @property
    def name(self) -> str:
        """``"gaussian(sigma_w2=2, sigma_b2=0.05)"``: the label in a run's record."""
        return f"gaussian(sigma_w2={self.sigma_w2:g}, sigma_b2={self.sigma_b2:g})"


def check_init(init: Any) -> str | GaussianInit:
    """``init`` after checking it is a name of :data:`TRAIN_INITS` or a :class:`GaussianInit`.

    Raises
    ------
    TypeError
        Neither a str nor a GaussianInit.
    ValueError
        An unknown name; the message lists the names and suggests the closest.
    """
    if isinstance(init, GaussianInit):
        return init
    if not isinstance(init, str):
        raise TypeError(f"init must be a str (one of {', '.join(TRAIN_INITS)}) or a GaussianInit, got {init!r}")
    if init not in TRAIN_INITS:
        raise ValueError(
            f"init must be one of {', '.join(map(repr, TRAIN_INITS))}, got {init!r}" + closest(init, TRAIN_INITS)
        )
    return init


def init_label(init: str | GaussianInit) -> str:
    """The name of ``init`` as a run's record holds it."""
    return init.name if isinstance(init, GaussianInit) else init


def critical_params(activation: str) -> tuple[float, float, str]:
    r"""``(sigma_w, sigma_b, criterion)`` of the ``critical`` init for ``activation`` (module docstring).

    Examples
    --------
    >>> w, b, how = critical_params("relu")
    >>> round(w**2, 12), b, how
    (2.0, 0.0, 'edge_of_chaos')
    >>> critical_params("sigmoid")[1:]
    (0.0, 'backward')
    """
    act = check_activation(activation)
    edge = critical_gain(act, "edge_of_chaos")
    if edge.feasible:
        return edge.gain, edge.bias_std, "edge_of_chaos"
    return critical_gain(act, "backward").gain, 0.0, "backward"


def _linears(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    found = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not found:
        raise ValueError(f"model must contain nn.Linear layers, got {type(model).__name__} with none")
    return found


def apply_init(model: nn.Module, init: str | GaussianInit, seed: int, *, activation: str) -> None:
    """Initialise every ``nn.Linear`` of ``model`` in place with ``init`` (module docstring) from ``seed``.

    ``activation`` matters to ``critical`` only; it is checked for every init.
    All arguments are checked before any tensor is written.

    Raises
    ------
    TypeError
        A model that is not an ``nn.Module``, an init of the wrong type, a seed that is not an int.
    ValueError
        An unknown init or activation (the closest name suggested), a negative seed, no linear layer.

    Examples
    --------
    >>> import xinit_bench as xb
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 3))
    >>> apply_init(model, "he_normal", 7, activation="relu")
    >>> bool((model[0].weight.detach().numpy() == xb.he_normal((3, 4), generator=xb.key_for_name(7, "0.weight"))).all())
    True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    choice = check_init(init)
    seed = check_int("seed", seed, minimum=0)
    act = check_activation(activation)
    layers = _linears(model)
    sigma_w, sigma_b = 0.0, 0.0
    if isinstance(choice, GaussianInit):
        sigma_w, sigma_b = math.sqrt(choice.sigma_w2), math.sqrt(choice.sigma_b2)
    elif choice == "critical":
        sigma_w, sigma_b = critical_params(act)[:2]
    with torch.no_grad():
        for name, layer in layers:
            w = layer.weight
            prefix = f"{name}." if name else ""
            g = key_for_name(seed, f"{prefix}weight")
            fan_in = w.shape[1]
            if isinstance(choice, GaussianInit) or choice == "critical":
                normal_(w, 0.0, sigma_w / math.sqrt(fan_in), generator=g)
            else:
                _named(choice, w, g)
            if layer.bias is None:
                continue
            if sigma_b > 0:
                normal_(layer.bias, 0.0, sigma_b, generator=key_for_name(seed, f"{prefix}bias"))
            else:
                zeros_(layer.bias)


def _named(init: str, w: torch.Tensor, g: Any) -> None:
    """Write the named init ``init`` (not ``critical``) into the weight ``w`` from the generator ``g``."""
    if init == "glorot_uniform":
        xavier_uniform_(w, generator=g)
    elif init == "zeros":
        zeros_(w)
    elif init == "normal1":
        normal_(w, 0.0, 1.0, generator=g)
    elif init == "normal_small":
        normal_(w, 0.0, 0.01, generator=g)
    elif init == "he_normal":
        kaiming_normal_(w, generator=g)
    elif init == "he_uniform":
        kaiming_uniform_(w, generator=g)
    elif init == "lecun_normal":
        fill_one(w, scheme_plan("lecun_normal", w), None, g)
    elif init == "orthogonal":
        orthogonal_(w, 1.0, generator=g)
    else:  # "standard"
        bound = 1.0 / math.sqrt(w.shape[1])
        uniform_(w, -bound, bound, generator=g)
