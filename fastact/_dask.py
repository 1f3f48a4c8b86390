"""fastact on Dask arrays: each public form maps its NumPy form over the chunks, lazily.

Design
------
* A public function that gets a ``dask.array.Array`` for any array argument calls
  ``call(func, arrays, keywords)`` here (``lazy_call`` in pyx/dispatch.pxi); this module,
  and so dask, is imported only then. Nothing is computed: the result is a lazy array.
* Arguments are checked at the call, not at ``compute()``: the NumPy form is called once
  on an empty probe of the same dtype and rank (the axis keeps its length, so the checks
  on it run too); that also gives the result's dtype.
* Elementwise forms are ``map_blocks`` of the NumPy form (grad rechunked to x's chunks).
  Bit for bit the NumPy result: fastact's kernels give the same bits for any layout,
  thread count or position of an element.
* Axis-wise forms (softmax, log_softmax, maxout, glu) need whole rows: the axis is
  rechunked into one chunk (for the softmax family the axes after it too: see
  ``whole_rows``), so every row is computed as NumPy computes it (same bits), rather than
  reduced in two passes across chunks (other bits). softmax and log_softmax are rechunked
  back to the input's chunks; maxout's and glu's outputs keep one chunk along the axis
  (their length there differs from the input's).
* Learnable activations (prelu, srelu, apl): each chunk gets its slice of the per-channel
  parameters. Their parameter gradients are per-chunk sums taken in float64 (float32
  chunks are promoted, which is exact for the products the kernel sums), added across
  chunks in one small task and rounded once to the result dtype.
* In-place forms (``NAME_``) return a new lazy array: Dask arrays are immutable.
  ``out=`` (and rrelu's ``slopes=`` to fill) cannot be honoured lazily: a TypeError.
* rrelu in training mode draws each slope from (seed, the element's C-order index in the
  whole array): x is rechunked into C-order runs (only axis 0 split) and each chunk gets
  the seed that makes its slopes the whole array's (``chunk_seed``); a seed of None is
  drawn once, at the call, so a retried task draws the same slopes.
"""

from __future__ import annotations

import contextlib
import functools

import dask
import dask.array as da
import numpy as np

import fastact

AXIS_WISE = {"softmax", "log_softmax", "maxout", "glu"}
CHANNEL_RANK = {"prelu": 1, "srelu": 1, "apl": 2}     # rank of a per-channel parameter
                                                      # (channels on its last axis)


def call(func: str, arrays: tuple, keywords: dict):
    """fastact.<func>(*arrays, **keywords) where some array is a Dask array."""
    if keywords.get("out") is not None:
        raise TypeError(f"{func}: out= cannot be filled lazily; Dask arrays are immutable "
                        f"(use the returned array)")
    keywords.pop("out", None)
    base = func.rstrip("_")                               # the in-place forms: a new array
    backward = base.endswith("_backward")
    name = base[: -len("_backward")] if backward else base
    if name == "rrelu":
        return rrelu(func, base, backward, arrays, keywords)
    if name in CHANNEL_RANK:
        return channel(func, name, backward, arrays, keywords)
    if name in AXIS_WISE:
        return along_axis(func, name, base, backward, arrays, keywords)
    return elementwise(func, base, backward, arrays, keywords)


# ------------------------------------------------------------------ helpers
def probe_shape(a, keep_axis=None):
    return tuple(n if i == keep_axis else 0 for i, n in enumerate(np.shape(a)))


def probe(a, keep_axis=None):
    """An empty NumPy stand-in for `a` (same dtype and rank; `keep_axis` keeps its length;
    a 0-d array stays one element)."""
    return np.zeros(probe_shape(a, keep_axis), a.dtype)


@contextlib.contextmanager
def real_shapes(*arrays, keep_axis=None):
    """Errors raised on the probes of `arrays` name the arrays' own shapes."""
    try:
        yield
    except (TypeError, ValueError) as exc:
        message = str(exc)
        for a in arrays:
            message = message.replace(f"shape {probe_shape(a, keep_axis)}", f"shape {a.shape}")
        if message == str(exc) or type(exc) not in (TypeError, ValueError):
            raise
        raise type(exc)(message) from None


def meta_of(result, ndim):
    return np.empty((0,) * ndim, result.dtype)


def check_same_shape(func, a, a_name, b, b_name):
    if a.shape != b.shape:
        raise ValueError(f"{func}: {a_name} has shape {a.shape} but {b_name} has shape "
                         f"{b.shape}; they must match (no broadcasting)")


def from_keyword(g, v, *, fn, keyword, **keywords):
    """fn(g, y=v) (or slopes=v): the backward from the forward's output."""
    return fn(g, **{keyword: v}, **keywords)


# ------------------------------------------------------------------ elementwise
FORWARD_OR_OUTPUT = "x (the forward input) and y (the forward output)"


def elementwise(func, base, backward, arrays, keywords, other="y", either=FORWARD_OR_OUTPUT):
    """map_blocks of the NumPy form; a backward takes x, or instead the keyword `other`
    (y; rrelu's slopes)."""
    fn = getattr(fastact, base)
    if not backward:
        (x,) = arrays
        x = da.asarray(x)
        with real_shapes(x):
            result = fn(probe(x), **keywords)
        return x.map_blocks(fn, dtype=result.dtype, meta=meta_of(result, x.ndim), **keywords)
    grad, x = arrays
    alternative = keywords.pop(other)
    if (x is None) == (alternative is None):
        raise TypeError(f"{func}: give exactly one of {either}")
    value, value_name = (x, "x") if alternative is None else (alternative, other)
    grad, value = da.asarray(grad), da.asarray(value)
    check_same_shape(func, grad, "grad", value, value_name)
    grad = grad.rechunk(value.chunks)
    if alternative is None:
        with real_shapes(grad, value):
            result = fn(probe(grad), probe(value), **keywords)
        task = fn
    else:
        with real_shapes(grad, value):
            result = fn(probe(grad), **{other: probe(value)}, **keywords)
        task = functools.partial(from_keyword, fn=fn, keyword=other)
    return da.map_blocks(task, grad, value, dtype=result.dtype,
                         meta=meta_of(result, grad.ndim), **keywords)


# ------------------------------------------------------------------ along an axis
def normalized_axis(axis, ndim):
    return axis % ndim if ndim else 0


def whole_rows(name, ax, ndim):
    """The rechunking that gives each chunk whole rows along `ax`. The softmax family also
    keeps the axes after `ax` whole: along a non-last axis its kernel works on tasks of up
    to 64 neighbouring columns, and a task's width decides whether exp(x - m) waits in a
    double scratch or in the output (one rounding more), so a chunk must hold all of them
    to give NumPy's bits."""
    last = ndim if name in ("softmax", "log_softmax") else ax + 1
    return {i: -1 for i in range(ax, last)}


def along_axis(func, name, base, backward, arrays, keywords):
    fn = getattr(fastact, base)
    axis = keywords.pop("axis")
    if not backward:
        (x,) = arrays
        x = da.asarray(x)
        ax = normalized_axis(axis, x.ndim) if isinstance(axis, int) else axis
        with real_shapes(x, keep_axis=ax):                     # checks axis, pieces, ...
            result = fn(probe(x, ax), axis=axis, **keywords)
        whole = x.rechunk(whole_rows(name, ax, x.ndim)) if x.ndim else x
        if name in ("softmax", "log_softmax"):
            return whole.map_blocks(fn, axis=axis, dtype=result.dtype,
                                    meta=meta_of(result, x.ndim), **keywords).rechunk(x.chunks)
        chunks = tuple((result.shape[ax],) if i == ax else c for i, c in enumerate(whole.chunks))
        return whole.map_blocks(fn, axis=axis, chunks=chunks, dtype=result.dtype,
                                meta=meta_of(result, x.ndim), **keywords)
    grad, x = arrays
    y = keywords.pop("y", None)
    if name in ("softmax", "log_softmax") and (x is None) == (y is None):
        raise TypeError(f"{func}: give exactly one of {FORWARD_OR_OUTPUT}")
    value, value_name = (x, "x") if y is None else (y, "y")
    grad, value = da.asarray(grad), da.asarray(value)
    chunks = value.chunks
    ax = normalized_axis(axis, value.ndim) if isinstance(axis, int) else axis
    if name in ("softmax", "log_softmax"):
        check_same_shape(func, grad, "grad", value, value_name)
    probes = (probe(grad, ax), probe(value, ax))
    with real_shapes(grad, value, keep_axis=ax):
        result = (fn(*probes, axis=axis, **keywords) if y is None
                  else fn(probes[0], y=probes[1], axis=axis, **keywords))
    if value.ndim == 0:
        blocks = (grad, value)
    else:   # whole rows, the same chunks elsewhere (grad may be shorter along the axis)
        value = value.rechunk(whole_rows(name, ax, value.ndim))
        other = {i: c for i, c in enumerate(value.chunks) if i != ax}
        blocks = (grad.rechunk({**other, ax: -1}), value)
    task = fn if y is None else functools.partial(from_keyword, fn=fn, keyword="y")
    # the axis gets its own index in grad (maxout's and glu's grad are shorter there): one
    # chunk each, paired block by block along the other axes
    index = tuple(range(value.ndim))
    grad_index = tuple(value.ndim if i == ax else i for i in index)
    lazy = da.blockwise(task, index, blocks[0], grad_index, blocks[1], index, concatenate=True,
                        axis=axis, dtype=result.dtype, meta=meta_of(result, value.ndim),
                        **keywords)
    return lazy.rechunk(chunks) if name in ("softmax", "log_softmax") else lazy


# ------------------------------------------------------------------ learnable, per channel
def per_channel(p, rank, channels):
    """p has one value per channel (on its last axis), not one shared by all (a scalar, or
    shape (1,), which NumPy broadcasts)."""
    return np.ndim(p) == rank and np.shape(p)[-1] == channels


def channel_slices(params, rank, channels, lo, hi):
    """Each per-channel parameter's channels lo..hi-1 (shared ones as they are)."""
    return [p[..., lo:hi] if per_channel(p, rank, channels) else p for p in params]


def channel_block(*blocks, fn, params, rank, axis, channel_axis, block_info=None, **keywords):
    """fn on one chunk with its channels' parameters (grad_x only, for a backward)."""
    if channel_axis is not None:
        lo, hi = block_info[0]["array-location"][channel_axis]
        params = channel_slices(params, rank, block_info[0]["shape"][channel_axis], lo, hi)
    result = fn(*blocks, *params, axis=axis, **keywords)
    return result[0] if isinstance(result, tuple) else result


def channel_sums(grad, x, lo, hi, *, fn, params, rank, channels, axis):
    """One chunk's parameter gradients in float64 (promoting float32 is exact for the
    products the kernel sums), as arrays of the parameters' full shapes."""
    sliced = channel_slices([np.asarray(p, np.float64) for p in params], rank, channels, lo, hi)
    sums = fn(grad.astype(np.float64), x.astype(np.float64), *sliced, axis=axis)[1:]
    out = []
    for p, s in zip(params, sums):
        full = np.zeros(np.shape(p), np.float64)
        if per_channel(p, rank, channels):
            full[..., lo:hi] = s
        else:
            full[...] = s
        out.append(full)
    return out


def add_sums(parts, dtype):
    totals = functools.reduce(lambda a, b: [u + v for u, v in zip(a, b)], parts)
    return [t.astype(dtype) for t in totals]


def channel(func, name, backward, arrays, keywords):
    fn = getattr(fastact, name + ("_backward" if backward else ""))
    axis = keywords.pop("axis")
    names = {"prelu": ["weight"], "srelu": ["t_left", "a_left", "t_right", "a_right"],
             "apl": ["a", "b"]}[name]
    params = [keywords.pop(n) for n in names]        # small: computed now if lazy
    params = [p.compute() if isinstance(p, da.Array) else p for p in params]
    blocks = [da.asarray(a) for a in arrays]
    x = blocks[-1]
    ax = normalized_axis(axis, x.ndim) if isinstance(axis, int) and x.ndim >= 2 else None
    if backward:
        check_same_shape(func, blocks[0], "grad", x, "x")
        blocks[0] = blocks[0].rechunk(x.chunks)
    with real_shapes(*blocks, keep_axis=ax):                            # checks everything
        result = fn(*(probe(b, ax) for b in blocks), *params, axis=axis)
    first = result[0] if isinstance(result, tuple) else result
    rank = CHANNEL_RANK[name]
    lazy_x = da.map_blocks(channel_block, *blocks, fn=fn, params=params, rank=rank,
                           axis=axis, channel_axis=ax, dtype=first.dtype,
                           meta=meta_of(first, x.ndim))
    if not backward:
        return lazy_x
    grad_blocks, x_blocks = blocks[0].to_delayed(), x.to_delayed()
    starts = [np.cumsum((0,) + c) for c in x.chunks]
    parts = []
    for index in np.ndindex(*x.numblocks):
        lo, hi = ((int(starts[ax][index[ax]]), int(starts[ax][index[ax] + 1]))
                  if ax is not None else (0, 0))
        parts.append(dask.delayed(channel_sums)(grad_blocks[index], x_blocks[index], lo, hi,
                                                fn=fn, params=params, rank=rank,
                                                channels=x.shape[ax] if ax is not None else 1,
                                                axis=axis))
    totals = dask.delayed(add_sums)(parts, first.dtype)
    grads = [da.from_delayed(totals[i], shape=np.shape(p), dtype=first.dtype)
             for i, p in enumerate(params)]
    return (lazy_x, *grads)


# ------------------------------------------------------------------ rrelu
def rrelu(func, base, backward, arrays, keywords):
    if not backward:
        if keywords.pop("slopes", None) is not None:
            raise TypeError(f"{func}: slopes= cannot be filled lazily; Dask arrays are immutable")
        if keywords.get("training"):
            return rrelu_training(func, arrays[0], keywords)
    return elementwise(func, base, backward, arrays, keywords, other="slopes",
                       either="x (evaluation mode) and slopes (as returned by rrelu in training)")


# rrelu's training slopes: SplitMix64's finalizer of key + (i + 1) * GOLDEN for C-order index
# i, key = finalizer(seed + GOLDEN) (pyx/channel_kernels.pxi.tp). The finalizer is a
# bijection, so a chunk that is a C-order run starting at index `offset` gets the whole
# array's slopes from the seed whose key is key + offset * GOLDEN.
GOLDEN, MASK = 0x9E3779B97F4A7C15, (1 << 64) - 1
MIX1, MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def finalize(z):
    z = ((z ^ (z >> 30)) * MIX1) & MASK
    z = ((z ^ (z >> 27)) * MIX2) & MASK
    return z ^ (z >> 31)


def unfinalize(z):
    z ^= (z >> 31) ^ (z >> 62)
    z = (z * pow(MIX2, -1, 1 << 64)) & MASK
    z ^= (z >> 27) ^ (z >> 54)
    z = (z * pow(MIX1, -1, 1 << 64)) & MASK
    return z ^ (z >> 30) ^ (z >> 60)


def chunk_seed(seed, offset):
    """The seed that gives a chunk's element i the slope of the whole array's offset + i."""
    key = finalize((seed + GOLDEN) & MASK)
    return (unfinalize((key + offset * GOLDEN) & MASK) - GOLDEN) & MASK


def rrelu_training_block(x, *, seed, row, block_info=None, **keywords):
    offset = block_info[0]["array-location"][0][0] * row if x.ndim else 0
    return np.stack(fastact.rrelu(x, training=True, seed=chunk_seed(seed, offset), **keywords))


def rrelu_training(func, x, keywords):
    """(y, slopes), chunks of C-order runs (only axis 0 split), each with its own seed."""
    x = da.asarray(x)
    if keywords.get("seed") is None:     # one seed for all chunks, and for a retried task
        keywords["seed"] = int.from_bytes(np.random.default_rng().bytes(8), "little")
    with real_shapes(x):                                       # checks bounds and seed
        y, _ = fastact.rrelu(probe(x), **keywords)
    runs = x.rechunk({i: -1 for i in range(1, x.ndim)}) if x.ndim > 1 else x
    keywords.pop("training")
    stacked = runs.map_blocks(rrelu_training_block, row=int(np.prod(x.shape[1:])),
                              new_axis=0, chunks=((2,),) + runs.chunks, dtype=y.dtype,
                              meta=meta_of(y, x.ndim + 1), **keywords)
    return stacked[0].rechunk(x.chunks), stacked[1].rechunk(x.chunks)
