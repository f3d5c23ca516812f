"""What bncheck knows about a Keras model without running it: its BN layers from the config, and
where their trained values are. Filled by the Keras loaders (files or a live model)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

import numpy as np

from bncheck.errors import InputError

ROLES = ("gamma", "beta", "moving_mean", "moving_variance")
BN_CLASSES = frozenset({"BatchNormalization", "SyncBatchNormalization", "BatchNormalizationV1",
                        "BatchNormalizationV2"})
# Config keys every Keras BatchNormalization (Keras 3 and tf-keras) writes: a layer of another class
# whose config has them all is a BatchNormalization subclass (``register_keras_serializable``).
BN_CONFIG_KEYS = frozenset({"axis", "momentum", "epsilon", "center", "scale", "moving_mean_initializer",
                            "moving_variance_initializer"})

KERAS3 = "Keras 3"
TF_KERAS = "tf-keras"


@dataclass(frozen=True)
class KerasBnLayer:
    """One ``BatchNormalization`` layer of a model config.

    ``path`` names it through nested models (``block/bn1``); ``names`` are the layer names along
    that path (a name may itself hold ``/``: MobileNetV3's ``expanded_conv/depthwise/BatchNorm``).
    ``training_calls`` lists the calls that fix ``training=True`` in the model itself (the layer's
    own call, or an enclosing model's); ``frozen_by`` names what sets ``trainable=False`` on the
    layer (itself or an enclosing model), empty when it is trainable."""

    path: str
    class_name: str
    config: Mapping[str, Any]
    training_calls: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    frozen_by: str = ""

    @property
    def momentum(self) -> float:
        value = self.config.get("momentum", 0.99)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return 0.99
        try:
            return float(value)
        except OverflowError:  # an integer beyond float range: as out of range as it gets
            return math.inf if value > 0 else -math.inf

    @property
    def trainable(self) -> bool:
        return self.config.get("trainable", True) is not False


@dataclass(frozen=True)
class KerasConfig:
    """``flavour`` is the Keras that wrote the config (``KERAS3``, ``TF_KERAS``, or "" when the file
    does not tell): a fixed ``training=True`` means different things in the two."""

    model_class: str
    layers: tuple[KerasBnLayer, ...]
    format: str  # "Keras 3 .keras", "tf-keras .h5", "live Keras model"
    flavour: str = ""
    version: str = ""  # the keras_version the file records, if any


class ValueStore(Protocol):
    """Trained tensors by key, read on demand (only what the rules ask for)."""

    source: str

    def read(self, key: str) -> np.ndarray: ...


@dataclass
class TrainedValues:
    """Where each BN layer's tensors are in a store, and the step counters that show training ran."""

    store: ValueStore
    layers: dict[str, dict[str, str]] = field(default_factory=dict)  # layer -> role -> key
    steps: dict[str, str] = field(default_factory=dict)  # counter name -> key
    origin: str = ""  # "checkpoint model.ckpt-20", "SavedModel variables", "model.weights.h5"
    variables: dict[str, str] = field(default_factory=dict)  # variable name -> key (checkpoints)

    def read(self, key: str) -> np.ndarray:
        """A stored tensor as a real numeric array; anything else (strings, compound or object
        data, complex numbers) is an :class:`InputError` naming the store and key, so the rules
        only ever see numbers."""
        value = np.asarray(self.store.read(key))
        if value.dtype.kind not in "biuf":
            raise InputError(self.store.source, f"trained tensor {key!r} holds {value.dtype} data, not numbers")
        return value


STEP_NAMES = ("global_step", "iteration", "iterations", "iter")


def role_of(variable: str) -> str | None:
    """gamma/beta/moving_mean/moving_variance from a variable's base name."""
    base = variable.rpartition("/")[2].split(":")[0]
    if base in ROLES:
        return base
    return None


def group_by_layer(names: Mapping[str, str]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Variable name -> key  ==>  ({layer: {role: key}} for layers with moving statistics,
    {step counter: key})."""
    layers: dict[str, dict[str, str]] = {}
    steps: dict[str, str] = {}
    for name, key in names.items():
        scope, _, base = name.partition(":")[0].rpartition("/")
        role = role_of(name)
        if role is not None and scope:
            layers.setdefault(scope, {}).setdefault(role, key)
        elif base in STEP_NAMES:
            steps.setdefault(name.split(":")[0], key)
    return {k: v for k, v in layers.items() if "moving_mean" in v or "moving_variance" in v}, steps
