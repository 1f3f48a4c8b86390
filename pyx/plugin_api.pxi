# Plugin activations: the two implementations fastact wraps into the full contract.
#
# KernelActivation runs a plugin's compiled fa_kernel (fastact/include/fastact_kernel.h)
# through exactly the path the built-ins take (dispatch.pxi: validation, conversion,
# plans, threads, the GIL released). NumpyActivation calls a plugin's NumPy functions
# for the forward and the derivative under the same argument checks, dtype rules and
# errors; it holds the GIL and runs on one thread, as NumPy does. fastact/_wrap.py gives
# both the public signatures.

from cpython.pycapsule cimport PyCapsule_IsValid, PyCapsule_GetName

MAX_KERNEL_PARAMS = FASTACT_MAX_PARAMS


cdef class KernelActivation:
    """A plugin's compiled kernels: the fa_kernel called `name` in `capsule`."""
    cdef const fa_kernel *k
    cdef readonly object capsule          # keeps the table (and its module) alive
    cdef readonly str name

    def __cinit__(self, object capsule, str name):
        cdef const void *raw
        cdef const fa_kernel *entry
        if type(capsule).__name__ != "PyCapsule":
            raise TypeError(f"kernels must be the capsule of a fa_kernel table "
                            f"(fastact.kernel.kernel_capsule), got {type(capsule).__name__}")
        if not PyCapsule_IsValid(capsule, FASTACT_KERNEL_CAPSULE):
            raw = PyCapsule_GetName(capsule)
            got = (<const char*>raw).decode() if raw != NULL else None
            wanted = FASTACT_KERNEL_CAPSULE.decode()
            if got is not None and got.startswith("fastact.kernel_table"):
                raise TypeError(f"kernels were built for kernel ABI {got!r}; this fastact "
                                f"reads {wanted!r}: rebuild the plugin against this fastact")
            raise TypeError(f"kernels is a capsule named {got!r}, not a fastact kernel "
                            f"table ({wanted!r})")
        try:                             # find_in_table's error blames fastact's build
            entry = <const fa_kernel*>find_in_table(
                PyCapsule_GetPointer(capsule, FASTACT_KERNEL_CAPSULE), sizeof(fa_kernel), name)
        except ImportError:
            raise ValueError(f"the kernel table has no entry named {name!r}") from None
        for s in range(2):
            if entry.forward[s] == NULL or entry.backward_x[s] == NULL:
                raise ValueError(f"kernel {name!r}: forward and backward_x must be set for "
                                 f"float32 and float64")
        if (entry.backward_y[0] == NULL) != (entry.backward_y[1] == NULL):
            raise ValueError(f"kernel {name!r}: backward_y is set for one dtype only")
        if entry.grain < 0:
            raise ValueError(f"kernel {name!r}: grain must be >= 0, got {entry.grain}")
        self.k = entry
        self.capsule = capsule
        self.name = name

    @property
    def backward_from_y(self):
        return self.k.backward_y[0] != NULL

    cdef void fill(self, double *p, tuple params):
        cdef int i
        for i in range(FASTACT_MAX_PARAMS):
            p[i] = params[i] if i < len(params) else 0.0

    def forward(self, str func, x, out, tuple params):
        cdef double p[FASTACT_MAX_PARAMS]
        self.fill(p, params)
        return forward(self.k, func, x, out, p)

    def forward_(self, str func, x, tuple params):
        cdef double p[FASTACT_MAX_PARAMS]
        self.fill(p, params)
        return forward_inplace(self.k, func, x, p)

    def backward(self, str func, grad, x, y, out, tuple params):
        cdef double p[FASTACT_MAX_PARAMS]
        self.fill(p, params)
        return backward(self.k, func, grad, x, y, out, p)

    def backward_(self, str func, grad, x, y, tuple params):
        cdef double p[FASTACT_MAX_PARAMS]
        self.fill(p, params)
        return backward_inplace(self.k, func, grad, x, y, p)


cdef class NumpyActivation:
    """A plugin's NumPy functions f(x, **params) and f'(x, **params) (and optionally f'
    from y), each taking and returning an array of one shape."""
    cdef readonly object f, df, df_from_y

    def __cinit__(self, f, df, df_from_y=None):
        self.f, self.df, self.df_from_y = f, df, df_from_y

    @property
    def backward_from_y(self):
        return self.df_from_y is not None

    cdef object call(self, str func, str what, object fn, object v, dict params,
                     bint fresh=False):
        """fn(v) in v's dtype, checked. v (float32 or float64, native) is passed as a
        read-only array over a read-only buffer, so a plugin cannot modify the caller's
        array (not even by setting the WRITEABLE flag back). With `fresh`, the result
        is an array of its own (a plugin may return its input or a view of it)."""
        cdef object view = np.asarray(memoryview(v).toreadonly())
        try:
            with np.errstate(all="ignore"):
                result = np.asarray(fn(view, **params))
        except Exception as exc:
            if hasattr(exc, "add_note"):
                exc.add_note(f"{func}: raised by the plugin's {what} function {fn!r}")
            raise
        if result.shape != v.shape:
            raise ValueError(f"{func}: the plugin's {what} returned shape {result.shape} "
                             f"for an input of shape {v.shape}")
        if result.dtype.kind not in "biuf":
            raise TypeError(f"{func}: the plugin's {what} returned dtype {result.dtype}, "
                            f"not a real dtype")
        with np.errstate(all="ignore"):    # float64 -> float32 may overflow to inf
            result = result.astype(v.dtype, copy=False)
        if fresh and (not result.flags.writeable or np.may_share_memory(result, v)):
            result = result.copy()
        return result

    def forward(self, str func, x, out, dict params):
        cdef object xa = real_array(func, "x", x)
        cdef object rdt = result_dtype(xa.dtype), cdt = compute_dtype(rdt)
        if out is not None:
            check_out(func, out, xa.shape, rdt)
        y = self.call(func, "forward", self.f, np.asarray(xa, dtype=cdt), params, True)
        return finish(y, out, rdt)

    def forward_(self, str func, x, dict params):
        check_writeable_float(func, "x", x)
        y = self.call(func, "forward", self.f, x, params)
        np.copyto(x, y)
        return x

    cdef tuple derivative(self, str func, object x, object y):
        """(the operand, its name, the derivative function for it)."""
        value, name, from_y = x_or_y(func, x, y)
        if from_y and self.df_from_y is None:
            raise TypeError(f"{func}: {func.split('_backward')[0]} has no backward from the "
                            f"output y; pass the forward input x")
        return value, name, (self.df_from_y if from_y else self.df)

    def backward(self, str func, grad, x, y, out, dict params):
        value, name, fn = self.derivative(func, x, y)
        cdef object ga = real_array(func, "grad", grad), va = real_array(func, name, value)
        check_same_shape(func, ga, "grad", va, name)
        cdef object rdt = result_dtype(np.result_type(ga.dtype, va.dtype)), cdt = compute_dtype(rdt)
        if out is not None:
            check_out(func, out, ga.shape, rdt)
        d = self.call(func, "derivative", fn, np.asarray(va, dtype=cdt), params)
        with np.errstate(all="ignore"):     # an explicit out: 0-d inputs give a 0-d array
            result = np.multiply(np.asarray(ga, dtype=cdt), d, out=np.empty(ga.shape, cdt))
        return finish(result, out, rdt)

    def backward_(self, str func, grad, x, y, dict params):
        value, name, fn = self.derivative(func, x, y)
        check_writeable_float(func, "grad", grad)
        cdef object va = real_array(func, name, value)
        check_same_shape(func, grad, "grad", va, name)
        d = self.call(func, "derivative", fn, np.asarray(va, dtype=grad.dtype), params)
        with np.errstate(all="ignore"):
            np.multiply(grad, d, out=grad)
        return grad
