"""The catalog: one description per built-in elementwise activation.

This table is the single definition that drives everything else:

* the build renders ``pyx/_kernels.pyx.tp`` and ``pyx/_api.pyx.tp`` from it (one
  forward kernel, one backward-from-x kernel and, where ``backward_from_y`` is set,
  one backward-from-y kernel per kernel name and dtype, plus the public functions
  with their real signatures and docstrings);
* the package builds its docstrings and ``fastact/_api.pyi`` stub from it;
* the tests iterate over it, so an activation added here and not covered by a
  reference in ``tests/reference.py`` fails the suite.

The file imports nothing from fastact, so ``setup.py`` can load it before anything
is compiled.

Kernel parameters: every kernel takes two numeric hyper-parameter slots ``p0, p1``
in the order of ``Activation.params`` (numeric ones only). A string parameter with
``choices`` (gelu's ``approximate``) selects a kernel instead of being passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REQUIRED = object()  # default of a keyword-only parameter that has none


@dataclass(frozen=True)
class Param:
    name: str
    default: object = REQUIRED
    doc: str = ""
    check: str = ""           # "", "nonzero" or "nonnegative": validated before any work
    choices: tuple = ()       # for a string parameter that selects a kernel


@dataclass(frozen=True)
class Activation:
    name: str
    formula: str              # forward, in the notation of the docs
    derivative: str           # d/dx, and the convention at kinks
    output_range: str
    params: tuple = ()
    backward_from_y: bool = False
    derivative_from_y: str = ""
    cheap: bool = False       # memory-bound (no transcendental): larger parallel grain
    monotonic: bool = True
    zero_centred: bool = False
    smooth: bool = False      # C^1 everywhere
    saturating: str = ""      # "", "left", "right" or "both"
    variants: dict = field(default_factory=dict)  # choice value -> kernel name
    constraint: str = ""      # Python expression over the params that must hold
    notes: str = ""

    @property
    def numeric_params(self):
        return tuple(p for p in self.params if not p.choices)

    @property
    def kernel_names(self):
        """The compiled kernels behind this activation (one unless it has variants)."""
        return tuple(self.variants.values()) if self.variants else (self.name,)


def _p(name, default=REQUIRED, doc="", check=""):
    return Param(name, default, doc, check)


ACTIVATIONS = (
    Activation(
        "identity", "x", "1", "(-inf, inf)",
        backward_from_y=True, derivative_from_y="1", cheap=True,
        zero_centred=True, smooth=True),
    Activation(
        "binary_step", "1 if x > 0 else 0", "0 everywhere (the jump at 0 has no gradient)",
        "{0, 1}", cheap=True),
    Activation(
        "sigmoid", "1 / (1 + exp(-x))", "sigmoid(x) * sigmoid(-x)", "(0, 1)",
        backward_from_y=True, derivative_from_y="y * (1 - y)",
        smooth=True, saturating="both"),
    Activation(
        "tanh", "tanh(x)", "1 - tanh(x)^2, computed as 4e/(1+e)^2 with e = exp(-2|x|)",
        "(-1, 1)", backward_from_y=True, derivative_from_y="1 - y^2",
        zero_centred=True, smooth=True, saturating="both"),
    Activation(
        "relu", "max(x, 0)", "1 if x > 0 else 0 (0 at x = 0, as PyTorch)", "[0, inf)",
        backward_from_y=True, derivative_from_y="1 if y > 0 else 0", cheap=True,
        saturating="left"),
    Activation(
        "leaky_relu", "x if x > 0 else negative_slope * x",
        "1 if x > 0 else negative_slope (negative_slope at x = 0, as PyTorch)",
        "(-inf, inf)",
        params=(_p("negative_slope", 0.01, "slope for x <= 0"),),
        backward_from_y=True, derivative_from_y="1 if y > 0 else negative_slope",
        cheap=True, zero_centred=True),
    Activation(
        "elu", "x if x > 0 else alpha * (exp(x) - 1)",
        "1 if x > 0 else alpha * exp(x) (alpha * exp(0) at x = 0, as PyTorch)",
        "(-alpha, inf)", params=(_p("alpha", 1.0, "saturation value for x -> -inf"),),
        backward_from_y=True, derivative_from_y="1 if y > 0 else y + alpha",
        zero_centred=True, saturating="left"),
    Activation(
        "selu", "scale * (x if x > 0 else alpha * (exp(x) - 1))",
        "scale if x > 0 else scale * alpha * exp(x) (the latter at x = 0, as PyTorch)",
        "(-scale*alpha, inf)",
        backward_from_y=True, derivative_from_y="scale if y > 0 else y + scale * alpha",
        zero_centred=True, saturating="left",
        notes="scale = 1.0507009873554804934193349852946, "
              "alpha = 1.6732632423543772848170429916717 (Klambauer et al. 2017)"),
    Activation(
        "celu", "x if x > 0 else alpha * (exp(x / alpha) - 1)",
        "1 if x > 0 else exp(x / alpha)", "(-alpha, inf)",
        params=(_p("alpha", 1.0, "saturation value for x -> -inf", check="nonzero"),),
        backward_from_y=True, derivative_from_y="1 if y > 0 else y / alpha + 1",
        zero_centred=True, smooth=True, saturating="left"),
    Activation(
        "softplus", "log(1 + exp(beta * x)) / beta, and x where beta * x > threshold",
        "sigmoid(beta * x), and 1 where beta * x > threshold", "(0, inf)",
        params=(_p("beta", 1.0, "sharpness", check="nonzero"),
                _p("threshold", 20.0, "above beta * x > threshold the function is x")),
        backward_from_y=True,
        derivative_from_y="-expm1(-beta * y), and 1 where beta * y > threshold",
        smooth=True, saturating="left"),
    Activation(
        "silu", "x * sigmoid(x)", "sigmoid(x) * (1 + x * sigmoid(-x))",
        "[-0.27846..., inf)", monotonic=False, smooth=True),
    Activation(
        "swish", "x * sigmoid(beta * x)",
        "sigmoid(beta x) + beta x sigmoid(beta x) sigmoid(-beta x)", "depends on beta",
        params=(_p("beta", 1.0, "sigmoid sharpness; 1 gives silu"),),
        monotonic=False, smooth=True),
    Activation(
        "gelu", "x * Phi(x), Phi the standard normal CDF; with approximate='tanh': "
        "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
        "Phi(x) + x phi(x) (and the derivative of the tanh form)",
        "[-0.16997..., inf)",
        params=(Param("approximate", "none", "'none' (exact, erf-based) or 'tanh'",
                      choices=("none", "tanh")),),
        variants={"none": "gelu", "tanh": "gelu_tanh"},
        monotonic=False, smooth=True),
    Activation(
        "mish", "x * tanh(softplus(x))",
        "tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2), sp = softplus(x)",
        "[-0.30884..., inf)", monotonic=False, smooth=True),
    Activation(
        "bent_identity", "(sqrt(x^2 + 1) - 1) / 2 + x", "x / (2 sqrt(x^2 + 1)) + 1",
        "(-inf, inf)", zero_centred=True, smooth=True),
    Activation(
        "softsign", "x / (1 + |x|)", "1 / (1 + |x|)^2", "(-1, 1)",
        zero_centred=True, smooth=True, saturating="both"),
    Activation(
        "relu6", "min(max(x, 0), 6)", "1 if 0 < x < 6 else 0 (0 at the kinks, as PyTorch)",
        "[0, 6]", backward_from_y=True, derivative_from_y="1 if 0 < y < 6 else 0",
        cheap=True, saturating="both"),
    Activation(
        "hardtanh", "min(max(x, min_val), max_val)",
        "1 if min_val < x < max_val else 0 (0 at the kinks, as PyTorch)",
        "[min_val, max_val]",
        params=(_p("min_val", -1.0, "lower clip value"),
                _p("max_val", 1.0, "upper clip value, >= min_val")),
        constraint="min_val <= max_val", backward_from_y=True, derivative_from_y="1 if min_val < y < max_val else 0",
        cheap=True, zero_centred=True, saturating="both"),
    Activation(
        "hardsigmoid", "min(max(x / 6 + 1/2, 0), 1)",
        "1/6 if -3 < x < 3 else 0 (0 at the kinks, as PyTorch)", "[0, 1]",
        cheap=True, saturating="both"),
    Activation(
        "hardswish", "x * min(max(x + 3, 0), 6) / 6",
        "0 if x <= -3, x/3 + 1/2 if -3 < x < 3, 1 if x >= 3 (as PyTorch 2.13)",
        "[-0.375, inf)", cheap=True, monotonic=False, saturating="left"),
    Activation(
        "logsigmoid", "log(sigmoid(x)) = -softplus(-x)", "sigmoid(-x)", "(-inf, 0)",
        smooth=True, saturating="right"),
    Activation(
        "tanhshrink", "x - tanh(x)", "tanh(x)^2", "(-inf, inf)",
        zero_centred=True, smooth=True),
    Activation(
        "softshrink", "x - lambd if x > lambd, x + lambd if x < -lambd, else 0",
        "1 if |x| > lambd else 0 (0 at the kinks, as PyTorch)", "(-inf, inf)",
        params=(_p("lambd", 0.5, "half-width of the dead zone", check="nonnegative"),),
        cheap=True, zero_centred=True),
    Activation(
        "hardshrink", "x if |x| > lambd else 0",
        "1 if |x| > lambd else 0 (0 at the kinks, as PyTorch)", "(-inf, inf)",
        params=(_p("lambd", 0.5, "half-width of the dead zone"),),
        cheap=True, monotonic=False, zero_centred=True),
    Activation(
        "threshold", "x if x > threshold else value",
        "1 if x > threshold else 0 (0 at x = threshold, as PyTorch)", "depends",
        params=(_p("threshold", doc="values at or below it are replaced"),
                _p("value", doc="the replacement")),
        cheap=True, monotonic=False),
)

BY_NAME = {a.name: a for a in ACTIVATIONS}


def kernel_specs():
    """(kernel name, activation, has backward from y) for every compiled kernel."""
    for act in ACTIVATIONS:
        for kernel in act.kernel_names:
            yield kernel, act, act.backward_from_y


# ------------------------------------------------------------------------------------
# The activations that are not elementwise maps of x alone: learnable per-channel
# parameters, randomness, or a reduction along an axis. Their public functions are
# hand-written (pyx/channel_api.pxi, pyx/axis_api.pxi: the signatures differ from one
# to the next); these entries describe them for the docs, the README table and the tests.

@dataclass(frozen=True)
class LayerActivation:
    name: str
    kind: str                 # "per-channel", "random" or "along an axis"
    signature: str            # the forward call, keyword defaults included
    formula: str
    derivative: str           # what the backward computes, and its kink convention
    output_range: str
    backward_returns: str     # what NAME_backward returns
    in_place: bool = True     # NAME_ and NAME_backward_ exist (same shape in and out)
    backward_from_y: bool = False
    monotonic: bool = True
    zero_centred: bool = False
    smooth: bool = False
    saturating: str = ""
    source: str = ""          # the paper or library the definition follows


LAYER_ACTIVATIONS = (
    LayerActivation(
        "prelu", "per-channel", "prelu(x, weight, *, axis=1)",
        "x if x > 0 else weight * x, weight per channel (or shared)",
        "d/dx: 1 if x > 0 else weight; d/dweight: x if x <= 0 else 0 (summed per channel)",
        "(-inf, inf)", "(grad_x, grad_weight)", zero_centred=True,
        source="He et al. 2015; torch.nn.functional.prelu"),
    LayerActivation(
        "srelu", "per-channel", "srelu(x, t_left, a_left, t_right, a_right, *, axis=1)",
        "t_right + a_right (x - t_right) if x >= t_right; x if t_left < x < t_right; "
        "t_left + a_left (x - t_left) if x <= t_left",
        "d/dx: a_right, 1 or a_left on the three pieces; parameter gradients summed per channel",
        "(-inf, inf)", "(grad_x, grad_t_left, grad_a_left, grad_t_right, grad_a_right)",
        monotonic=False, zero_centred=True, source="Jin et al. 2015"),
    LayerActivation(
        "apl", "per-channel", "apl(x, a, b, *, axis=1)",
        "max(0, x) + sum_s a_s max(0, b_s - x), a and b of shape (S,) or (S, C)",
        "d/dx: [x > 0] - sum_s a_s [x < b_s]; d/da_s: max(0, b_s - x); d/db_s: a_s [x < b_s]",
        "(-inf, inf)", "(grad_x, grad_a, grad_b)", monotonic=False,
        source="Agostinelli et al. 2014"),
    LayerActivation(
        "rrelu", "random", "rrelu(x, *, lower=1/8, upper=1/3, training=False, seed=None)",
        "x if x > 0 else a x; a ~ U(lower, upper) per element in training, "
        "(lower + upper) / 2 in evaluation",
        "the slope used (1 for x > 0 and NaN; a drawn slope for x <= 0): training takes the returned slopes",
        "(-inf, inf)", "grad_x", zero_centred=True,
        source="Xu et al. 2015; torch.nn.functional.rrelu"),
    LayerActivation(
        "softmax", "along an axis", "softmax(x, *, axis=-1)",
        "exp(x_i - max x) / sum_j exp(x_j - max x)",
        "y * (g - sum(g * y)) along the axis", "[0, 1], rows sum to 1", "grad_x",
        backward_from_y=True, smooth=True, saturating="both", source="torch.softmax"),
    LayerActivation(
        "log_softmax", "along an axis", "log_softmax(x, *, axis=-1)",
        "(x_i - max x) - log(sum_j exp(x_j - max x))",
        "g - exp(y) * sum(g) along the axis", "(-inf, 0]", "grad_x",
        backward_from_y=True, smooth=True, saturating="right", source="torch.log_softmax"),
    LayerActivation(
        "maxout", "along an axis", "maxout(x, pieces, *, axis=1)",
        "the max of each group of `pieces` consecutive entries along the axis",
        "grad routed to the first arg-max of each group", "(-inf, inf)",
        "grad_x (the shape of x)", in_place=False, monotonic=True,
        source="Goodfellow et al. 2013"),
    LayerActivation(
        "glu", "along an axis", "glu(x, *, axis=-1)",
        "a * sigmoid(b), a and b the first and second halves of x along the axis",
        "[g sigmoid(b), g a sigmoid(b) sigmoid(-b)]", "(-inf, inf)",
        "grad_x (the shape of x)", in_place=False, monotonic=False, smooth=True,
        source="Dauphin et al. 2017; torch.nn.functional.glu"),
)

LAYER_BY_NAME = {a.name: a for a in LAYER_ACTIVATIONS}
