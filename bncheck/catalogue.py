"""The rule catalogue: every code bncheck reports, what it means, and which analyses judge it.

One entry per code: its name, severity, one-line summary, documentation with Bad/Good code. The
analyses (artefact mode reads graphs, configs and weights; source mode reads ``.py`` files) keep
their implementations in their own registries, listed in :data:`ANALYSES`; each implementation
class names its ``code`` and takes everything else from its entry here. The command (``--explain``,
``--list-rules``, ``--statistics``), the API, SARIF and the README's rule table read this module,
and :func:`is_selected` is the one place where ``--select``/``--ignore`` prefixes are matched.

Importing this module is cheap (no numpy, no rules): the registries load on first use.
"""
from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from bncheck.findings import Severity

# One registry per analysis: "module:attribute" naming a tuple of implementation classes, each with
# a ``code`` class attribute. A new analysis plugs in with one line here, e.g.
#     "runtime": "bncheck.runtime.rules:RUNTIME_RULES",
ANALYSES: dict[str, str] = {
    "artefact": "bncheck.rules.registry:RULES",
    "source": "bncheck.source.rules:SOURCE_RULES",
    "runtime": "bncheck.runtime.rules:RUNTIME_RULES",
}
ALL = "ALL"


class UsageError(ValueError):
    """An option or setting bncheck cannot use, or that applies to none of the inputs given (the
    command exits 2); :mod:`bncheck.engine` raises it too."""


class SelectionError(UsageError):
    """A ``select``/``ignore`` value bncheck cannot use: a code prefix that matches no rule."""


@dataclass(frozen=True)
class Entry:
    """One rule as users see it, whichever analysis finds it."""

    code: str
    name: str
    severity: Severity
    summary: str
    doc: str
    bad: str
    good: str

    @property
    def analyses(self) -> tuple[str, ...]:
        """The analyses with an implementation of this code, in :data:`ANALYSES` order."""
        return tuple(a for a in ANALYSES if self.code in codes_of(a))

    def explain(self) -> str:
        """``bncheck --explain CODE``: the docs, Bad/Good code, then how each analysis finds it."""
        analyses = self.analyses
        only = f", {analyses[0]} mode only" if len(analyses) == 1 and len(ANALYSES) > 1 else ""
        text = f"{self.code} {self.name} ({self.severity}{only})\n\n{_reflow(self.doc)}\n"
        for title, code in (("Bad", self.bad), ("Good", self.good)):
            text += f"\n{title}:\n\n{_indent(code)}\n"
        for analysis in analyses:
            for impl in implementations(analysis):
                doc = how_found(impl)
                if impl.code == self.code and doc:
                    text += f"\nIn {analysis} mode:\n\n{_beyond(_reflow(doc), self.doc)}\n"
                if impl.code == self.code:  # an analysis's own example (the runtime: the monitor attached)
                    for title, code in (("Bad", getattr(impl, "bad", "")), ("Good", getattr(impl, "good", ""))):
                        if code and code != getattr(self, title.lower()):
                            text += f"\n{title} ({analysis} mode):\n\n{_indent(code)}\n"
        return text


def how_found(impl: Any) -> str:
    """How an analysis finds its code: the implementation's docstring (the runtime's rules say it
    in ``how``)."""
    return str(impl.__doc__ or getattr(impl, "how", "") or "")


def _reflow(doc: str) -> str:
    """Paragraphs of a docstring, each on lines as written (indentation removed)."""
    import inspect

    return inspect.cleandoc(doc).strip()


def _beyond(doc: str, said: str) -> str:
    """``doc`` without its first paragraph when ``said`` already begins with it."""
    first, _, rest = doc.partition("\n\n")
    return rest if rest and " ".join(said.split()).startswith(" ".join(first.split())) else doc


def _indent(code: str) -> str:
    return "\n".join("    " + line if line else "" for line in code.strip("\n").splitlines())


ENTRIES: tuple[Entry, ...] = (
    Entry(
        "BN001", "update-not-run", Severity.ERROR,
        "moving mean/variance update ops exist but the train op does not run them",
        """A training-mode batch norm has moving-average update ops, but the train op never runs them.
        The moving mean and variance stay at their initial 0 and 1 while gamma and beta train, so the
        model looks fine in training and normalises garbage at inference (``training=False``).""",
        bad="""
update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)  # too early: empty
logits = model(images, training=True)
with tf.control_dependencies(update_ops):
    train_op = optimizer.minimize(loss)
""",
        good="""
logits = model(images, training=True)
update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
with tf.control_dependencies(update_ops):
    train_op = optimizer.minimize(loss)
"""),
    Entry(
        "BN002", "batch-stats-at-inference", Severity.ERROR,
        "an inference graph's batch norm uses batch statistics (training mode)",
        """Inference normalises with the statistics of the batch it is given. Each prediction then
        depends on the other examples in the batch, and a batch of one is normalised to zero.""",
        bad="""
logits = model(images, training=True)     # or slim's is_training=True
tf.compat.v1.saved_model.simple_save(sess, export_dir, {"images": images}, {"logits": logits})
""",
        good="""
logits = model(images, training=False)
tf.compat.v1.saved_model.simple_save(sess, export_dir, {"images": images}, {"logits": logits})
"""),
    Entry(
        "BN003", "inference-updates-stats", Severity.ERROR,
        "serving the model assigns to the moving mean/variance",
        """Computing an inference graph's outputs runs ops that assign to the moving statistics. Every
        prediction overwrites the moving mean and variance with a blend of the served batch, so the
        model drifts with the traffic it sees (and concurrent requests race on the variables).""",
        bad="""
net = slim.batch_norm(x, is_training=True, updates_collections=None)   # updates run with the output
tf.compat.v1.saved_model.simple_save(sess, export_dir, {"x": x}, {"y": net})
""",
        good="""
net = slim.batch_norm(x, is_training=False)
tf.compat.v1.saved_model.simple_save(sess, export_dir, {"x": x}, {"y": net})
"""),
    Entry(
        "BN004", "training-flag-defaults-true", Severity.WARNING,
        "the training flag that picks BN mode defaults to True where serving does not feed it",
        """Batch-norm mode is chosen at run time by a boolean that defaults to training, so whoever
        runs the graph without feeding it (serving, evaluation) gets batch statistics. Default the
        flag to False and feed True in the training loop: forgetting to feed it is then harmless.""",
        bad="""
is_training = tf.compat.v1.placeholder_with_default(True, [], name="is_training")
net = tf.compat.v1.layers.batch_normalization(x, training=is_training)
""",
        good="""
is_training = tf.compat.v1.placeholder_with_default(False, [], name="is_training")
net = tf.compat.v1.layers.batch_normalization(x, training=is_training)
sess.run(train_op, {is_training: True})
"""),
    Entry(
        "BN005", "stats-never-updated", Severity.ERROR,
        "after training, moving_mean is still all 0 and moving_variance all 1",
        """After training, a layer's moving statistics are still exactly at their initial values
        (``moving_mean`` all 0, ``moving_variance`` all 1) while gamma/beta or a step counter moved.
        Any real update moves them off 0/1, so the updates never ran: inference with
        ``training=False`` normalises with 0/1.""",
        bad="""
for x, y in dataset:                        # custom loop
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x))         # BN in inference mode: moving stats never updated
    ...
model.save("model.keras")                   # gamma/beta trained, moving stats still 0/1
""",
        good="""
for x, y in dataset:
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    ...
model.save("model.keras")
"""),
    Entry(
        "BN006", "invalid-moving-stats", Severity.ERROR,
        "NaN/Inf in moving_mean/moving_variance, or a negative moving_variance",
        """A moving statistic holds NaN or Inf, or the moving variance has negative entries. Inference
        normalises with these values, so every output that passes the layer is NaN.""",
        bad="""
optimizer = tf.keras.optimizers.SGD(learning_rate=10.0)   # diverges: NaNs reach the moving stats
model.fit(x, y)
""",
        good="""
optimizer = tf.keras.optimizers.SGD(learning_rate=0.01)
model.fit(x, y, callbacks=[tf.keras.callbacks.TerminateOnNaN()])
"""),
    Entry(
        "BN007", "momentum-out-of-range", Severity.WARNING,
        "moving-average momentum/decay < 0.5 (last batch wins) or >= 1 (never moves)",
        """The moving-average momentum (decay) is below 0.5, or not below 1. TensorFlow's momentum is
        the weight of the *old* moving value, usually 0.9-0.999; PyTorch's ``momentum=0.1`` means the
        opposite, and the widely copied hand-written layer with ``decay=1e-5`` keeps only the last
        batch. At 1 or above the average never moves (or diverges).""",
        bad="""
tf.compat.v1.layers.batch_normalization(x, momentum=0.1, training=True)   # PyTorch's convention
""",
        good="""
tf.compat.v1.layers.batch_normalization(x, momentum=0.99, training=True)
"""),
    Entry(
        "BN008", "training-hardcoded-in-model", Severity.ERROR,
        "a Keras model fixes training=True on a BN call (tf-keras: batch statistics at inference)",
        """A Keras model calls a batch-norm layer with ``training=True`` fixed in the model itself. In
        tf-keras the fixed value overrides the caller, so ``predict`` and every export use batch
        statistics; in Keras 3 it applies whenever the model is called without ``training``.
        ``training=False`` fixed in the model is the documented way to freeze BN and is not reported.""",
        bad="""
x = keras.layers.BatchNormalization()(x, training=True)   # saved in the model config
model = keras.Model(inputs, outputs)
base_model.trainable = False
x = base_model(inputs, training=True)                     # frozen now; batch statistics once unfrozen
""",
        good="""
x = keras.layers.BatchNormalization()(x)                  # the caller decides: fit / predict
model = keras.Model(inputs, outputs)
base_model.trainable = False
x = base_model(inputs, training=False)                    # the Keras transfer-learning guide
"""),
    Entry(
        "BN009", "bn-frozen-in-train-step", Severity.WARNING,
        "a train step runs BN in inference mode while training its gamma/beta (training=True missing)",
        """A training function runs a batch norm in inference mode while training its gamma/beta: the
        custom-loop mistake of calling ``model(x)`` instead of ``model(x, training=True)``. The moving
        statistics stay at their initial 0 and 1, and the trained gamma/beta fit those instead of the
        data. A layer frozen on purpose (``trainable=False``) is not reported.""",
        bad="""
@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x))            # training defaults to inference mode
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
""",
        good="""
@tf.function
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
"""),
    Entry(
        "BN010", "bias-before-bn", Severity.INFO,
        "a conv/dense bias directly before batch norm is redundant",
        """A convolution or dense layer with a bias feeds batch norm directly: BN subtracts the mean,
        so the bias is cancelled (BN's beta does the same) and its weights are wasted.""",
        bad="""
x = layers.Conv2D(64, 3, padding="same")(x)      # use_bias defaults to True
x = layers.BatchNormalization()(x)
""",
        good="""
x = layers.Conv2D(64, 3, padding="same", use_bias=False)(x)
x = layers.BatchNormalization()(x)
"""),
    Entry(
        "BN011", "dropout-before-bn", Severity.WARNING,
        "dropout directly before batch norm (variance shift at inference)",
        """Dropout feeds batch norm directly: BN's moving variance is learned on dropped-out
        activations and does not match inference, where dropout is off (the "variance shift").""",
        bad="""
x = layers.Dropout(0.5)(x)
x = layers.BatchNormalization()(x)
""",
        good="""
x = layers.BatchNormalization()(x)
x = layers.Dropout(0.5)(x)
"""),
)
_BY_CODE = {e.code: e for e in ENTRIES}
CODES: tuple[str, ...] = tuple(_BY_CODE)


def entry(code: str) -> Entry | None:
    """The entry for ``code`` (any case), or None."""
    return _BY_CODE.get(code.strip().upper())


def describe(cls: type) -> None:
    """Give an implementation class its entry's name, severity, summary and Bad/Good code (called
    from the implementations' base classes when a subclass is made; a code without entry fails)."""
    found = _BY_CODE.get(getattr(cls, "code", ""))
    if found is None:
        raise LookupError(f"{cls.__module__}.{cls.__qualname__}: code {getattr(cls, 'code', None)!r} "
                          "has no entry in bncheck.catalogue")
    for attribute in ("name", "severity", "summary", "bad", "good"):
        setattr(cls, attribute, getattr(found, attribute))


@functools.lru_cache(maxsize=None)
def implementations(analysis: str) -> tuple[Any, ...]:
    """The implementation classes an analysis registers (imported on first use)."""
    module, _, attribute = ANALYSES[analysis].partition(":")
    return tuple(getattr(importlib.import_module(module), attribute))


@functools.lru_cache(maxsize=None)
def codes_of(analysis: str) -> frozenset[str]:
    """The codes an analysis implements."""
    return frozenset(impl.code for impl in implementations(analysis))


# -- selection ------------------------------------------------------------------------------------

def codes(values: Iterable[str] | str | None) -> list[str]:
    """Rule-code prefixes from comma lists or a sequence of them, upper case; ``None`` stays empty."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Iterable) or not all(isinstance(v, str) for v in values):
        raise TypeError(f"select/ignore take rule codes as a string or a list of strings, not {values!r}")
    return [c.strip().upper() for v in values for c in v.split(",") if c.strip()]


def check_known(prefixes: Sequence[str], option: str) -> None:
    """Raise :class:`SelectionError` for a prefix matching no catalogue code (``ALL`` is every rule)."""
    unknown = [p for p in prefixes if p != ALL and not any(c.startswith(p) for c in CODES)]
    if unknown:
        raise SelectionError(f"{option} {','.join(unknown)} matches no rule (known: {', '.join(CODES)}, ALL)")


def is_selected(code: str, select: Sequence[str] | None, ignore: Sequence[str] | None) -> bool:
    """The one selection rule: ``code`` starts with a ``select`` prefix (no ``select``, or ``ALL``:
    every rule) and with no ``ignore`` prefix (``ALL`` ignores every rule). Prefixes are upper case."""
    if ignore and any(p == ALL or code.startswith(p) for p in ignore):
        return False
    return not select or any(p == ALL or code.startswith(p) for p in select)


def selected(classes: Iterable[Any], select: Sequence[str] | None, ignore: Sequence[str] | None) -> list[Any]:
    """The implementation classes (or entries) whose code :func:`is_selected`."""
    sel, ign = [s.upper() for s in select or ()], [s.upper() for s in ignore or ()]
    return [c for c in classes if is_selected(c.code, sel, ign)]


def usable_codes(select: Sequence[str] | None, ignore: Sequence[str] | None,
                 analyses: Iterable[str]) -> list[str]:
    """The selected codes some of ``analyses`` implements."""
    available = set().union(*(codes_of(a) for a in analyses))
    return [e.code for e in selected(ENTRIES, select, ignore) if e.code in available]


def unusable_selection(select: Sequence[str] | None, analyses: Iterable[str]) -> str | None:
    """Why ``select`` applies to none of the inputs read by ``analyses`` (it names only codes none of
    them implements), or None. ``ignore`` only takes rules away, as asked: never an error."""
    analyses = sorted(set(analyses), key=list(ANALYSES).index)
    if not analyses or not select or usable_codes(select, None, analyses):
        return None
    chosen = [e.code for e in selected(ENTRIES, select, None)]
    kinds = " and ".join(_INPUTS.get(a, f"{a} inputs") for a in analyses)
    return f"--select {','.join(select)} selects only {', '.join(chosen)}, which no rule checks on {kinds}"


_INPUTS = {"artefact": "model artefacts", "source": ".py files"}


def markdown_table() -> str:
    """The README's rule table (a test keeps the README equal to it)."""
    heads = "".join(f" {a.capitalize()} |" for a in ANALYSES)
    rows = [f"| Code | Name | Severity |{heads} Summary |", "|---|---|---|" + ":-:|" * len(ANALYSES) + "---|"]
    for e in ENTRIES:
        marks = "".join(" yes |" if a in e.analyses else " - |" for a in ANALYSES)
        rows.append(f"| {e.code} | {e.name} | {e.severity} |{marks} {e.summary} |")
    return "\n".join(rows)
