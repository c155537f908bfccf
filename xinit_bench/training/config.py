"""What a run is given and what it gives back: :class:`TrainConfig`, :class:`RunRecord` and the checks of a run's
arguments (``(spec, init, seed)``, a job of :func:`~xinit_bench.training.engine.train_many`, the data set).

Every check raises :class:`TypeError` for a wrong type and :class:`ValueError` for a wrong value, the message
naming the parameter (prefixed with the job, ``jobs[3]: ``, inside a list of jobs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from ..validation import check_int, check_real
from .data import Dataset
from .inits import GaussianInit, check_init
from .models import MLPSpec, closest

__all__ = ["OPTIMIZERS", "Job", "Optimizer", "RunRecord", "TrainConfig"]

Optimizer = Literal["adam", "sgd"]
#: The optimisers :class:`TrainConfig` accepts.
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
#: One job of :func:`~xinit_bench.training.engine.train_many`: a model, an init and a seed.
Job = tuple[MLPSpec, "str | GaussianInit", int]


@dataclass(frozen=True)
class TrainConfig:
    """How a run trains: optimiser, learning rate, batch size, budget, target, recorded steps, threads.

    Parameters
    ----------
    optimizer : {"adam", "sgd"}
    lr : float
        Learning rate, ``> 0``.
    batch_size : int
    epochs, steps : int or None
        The budget; at least one is given, and the first reached ends the run.
    target_accuracy : float or None
        A test accuracy in (0, 1]: the record holds the steps and the training
        seconds to the first evaluation that reaches it, or None.
    grad_norm_steps : tuple of int
        The optimisation steps (0 is the first, before any update) at which the
        gradient norm of every layer's weight is recorded.
    threads : int
        ``torch.set_num_threads`` for the run (default 1).
    momentum : float
        SGD's momentum (default 0); Adam ignores it.
    target_every : int or None
        Also check the target every this many steps (between epochs); by
        default only at the end of each epoch.

    Raises
    ------
    TypeError, ValueError
        On construction, every field is checked; an unknown optimiser names the closest.
    """

    optimizer: Optimizer
    lr: float
    batch_size: int
    epochs: int | None = None
    steps: int | None = None
    target_accuracy: float | None = None
    grad_norm_steps: tuple[int, ...] = (0, 10, 100)
    threads: int = 1
    momentum: float = 0.0
    target_every: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.optimizer, str):
            raise TypeError(f"optimizer must be a str, one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}")
        opt = self.optimizer.lower()
        if opt not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}, got {self.optimizer!r}"
                + closest(opt, OPTIMIZERS)
            )
        object.__setattr__(self, "optimizer", opt)
        object.__setattr__(self, "lr", check_real("lr", self.lr, positive=True))
        object.__setattr__(self, "batch_size", check_int("batch_size", self.batch_size, minimum=1))
        for name in ("epochs", "steps", "target_every"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check_int(name, value, minimum=1))
        if self.epochs is None and self.steps is None:
            raise ValueError("epochs or steps must be given (the run's budget), got epochs=None, steps=None")
        if self.target_accuracy is not None:
            t = check_real("target_accuracy", self.target_accuracy)
            if not 0.0 < t <= 1.0:
                raise ValueError(f"target_accuracy must be in (0, 1], got {self.target_accuracy!r}")
            object.__setattr__(self, "target_accuracy", t)
        if not isinstance(self.grad_norm_steps, (tuple, list)):
            raise TypeError(f"grad_norm_steps must be a tuple of steps, got {self.grad_norm_steps!r}")
        steps = tuple(check_int(f"grad_norm_steps[{i}]", s, minimum=0) for i, s in enumerate(self.grad_norm_steps))
        if list(steps) != sorted(set(steps)):
            raise ValueError(f"grad_norm_steps must be increasing and distinct, got {self.grad_norm_steps!r}")
        object.__setattr__(self, "grad_norm_steps", steps)
        object.__setattr__(self, "threads", check_int("threads", self.threads, minimum=1))
        object.__setattr__(self, "momentum", check_real("momentum", self.momentum, minimum=0.0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields."""
        out = asdict(self)
        out["grad_norm_steps"] = list(self.grad_norm_steps)
        return out


@dataclass
class RunRecord:
    """What one run measured.

    The curves (``train_loss``, ``test_loss``, ``train_accuracy``,
    ``test_accuracy``, ``epoch_seconds``) have one value per epoch, after it;
    ``eval_steps`` holds the optimisation steps done at each of those points.
    ``epoch_seconds`` times the optimisation of the epoch only (not its
    evaluation); ``seconds_to_target`` sums those seconds up to the step where
    the target was first seen; ``wall_seconds`` is the whole run, model
    building and evaluations included.  ``grad_norms`` maps each layer
    (``"layers.0"``, ...) to the Frobenius norm of its weight's gradient at
    each of ``grad_norm_steps`` (None for a step the run did not reach).
    ``epochs`` and ``steps`` are what the run did; ``diverged`` is True when a
    loss was not finite.
    """

    init: str
    seed: int
    activation: str
    widths: list[int]
    optimizer: str
    lr: float
    batch_size: int
    epochs: int
    steps: int
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    steps_to_target: int | None = None
    seconds_to_target: float | None = None
    grad_norms: dict[str, list[float | None]] = field(default_factory=dict)
    epoch_seconds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    threads: int = 1
    dataset: str = ""
    target_accuracy: float | None = None
    grad_norm_steps: list[int] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    dropout: float = 0.0
    diverged: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN losses stay floats; the CLI writes them as null)."""
        return asdict(self)


def _check_dataset(dataset: Any) -> Dataset:
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset (load_dataset), got {type(dataset).__name__}")
    return dataset


def _check_run(spec: Any, init: Any, seed: Any, where: str = "") -> tuple[MLPSpec, str | GaussianInit, int]:
    """The checked ``(spec, init, seed)`` of a run; ``where`` prefixes the names (``"jobs[3]: "``)."""
    if not isinstance(spec, MLPSpec):
        raise TypeError(f"{where}spec must be an MLPSpec, got {type(spec).__name__}")
    try:
        return spec, check_init(init), check_int("seed", seed, minimum=0)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}{exc}") from None


def _check_job(index: int, job: Any) -> tuple[MLPSpec, str | GaussianInit, int]:
    if not isinstance(job, (tuple, list)) or len(job) != 3:
        raise TypeError(f"jobs[{index}] must be a (spec, init, seed) tuple, got {job!r}")
    spec, init, seed = job
    return _check_run(spec, init, seed, where=f"jobs[{index}]: ")


def _check_config(config: Any) -> TrainConfig:
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    return config
