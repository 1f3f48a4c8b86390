"""The hooks a fastact plugin implements.

A plugin is a module (or any object) with functions marked ``@fastact.hookimpl``,
found through the ``fastact`` entry-point group of its distribution::

    [project.entry-points.fastact]
    squareplus = "fastact_squareplus"

or registered in-process with ``fastact.register_plugin(module)``. fastact's own
activations are registered through the same hook (``fastact/_builtins.py``).
"""

import pluggy

hookspec = pluggy.HookspecMarker("fastact")
hookimpl = pluggy.HookimplMarker("fastact")


@hookspec
def register_activations(register):
    """Add activations: call ``register(name, ...)`` once per activation.

    ``register`` takes the name and exactly one implementation:

    * ``kernels=CAPSULE``: compiled kernels, the ``fa_kernel`` entry called ``name`` in
      a kernel table (see fastact/kernel.pxd); fastact runs them exactly like its own;
    * ``numpy_forward=f, numpy_derivative=df`` (and optionally
      ``numpy_derivative_from_y=dfy``): NumPy functions ``f(x, **params)`` returning
      arrays of x's shape; fastact wraps them into the four forms. They receive a
      read-only float32 or float64 array (float16 is computed in float32, integers and
      bool in float64) and run with NumPy's floating-point warnings off; their result
      is rounded to x's dtype (a wrong shape or a non-real dtype is an error naming the
      function);
    * ``functions=(forward, forward_, backward, backward_)``: the four forms written
      by hand (as fastact's built-ins are).

    and describes it with keywords: ``params`` (a dict of hyper-parameters and their
    defaults; names are identifiers not starting with ``_``), ``check`` (a callable
    taking the hyper-parameters as keywords that raises TypeError or ValueError for
    values it refuses; it must accept the defaults), ``formula``, ``derivative``,
    ``output_range``, ``monotonic``, ``zero_centred``, ``smooth``, ``saturating``,
    ``reference`` and ``reference_derivative`` (float64 NumPy functions for checks),
    ``doc``; ``override=True`` replaces an activation that already exists.
    Problems are reported as a ``fastact.PluginWarning``, never raised. A plugin object
    must be hashable (a module, a class or an ordinary instance).
    """
