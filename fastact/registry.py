"""The registry: one description per activation, built-in or from a plugin.

Design
------
* Every activation, fastact's own included, is added by a ``register_activations``
  hook (fastact/hookspecs.py) calling ``register(name, ...)``; the built-ins come from
  ``fastact/_builtins.py`` through the same hook, so plugins and built-ins are
  described, listed and reached the same way.
* Plugins are found through the ``fastact`` entry-point group and loaded lazily: on the
  first ``available()``, ``get()`` or ``fastact.<plugin name>``, never at
  ``import fastact``. FASTACT_LOAD_PLUGINS restricts them: unset loads every installed
  plugin, empty loads none, a comma list loads only those distributions.
* A plugin never breaks fastact. An import error, an exception in its hook, a name that
  is taken or a malformed description becomes a ``PluginWarning`` naming the plugin
  and the problem; ``get(name)`` then says why the activation is unavailable. A hook
  that raises contributes nothing (its registrations are staged and dropped).
* What a plugin may register is checked by fastact/_describe.py (the Registrar).
* Replacing an activation that exists needs ``override=True``; the replaced one comes
  back if the overriding plugin is unregistered.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import warnings
from dataclasses import dataclass, field
from typing import Optional

import pluggy

from fastact import hookspecs
from fastact._describe import KINDS, SUFFIXES, ActivationInfo, Registrar  # noqa: F401

ENTRY_POINT_GROUP = "fastact"
LOAD_PLUGINS_ENV = "FASTACT_LOAD_PLUGINS"


class PluginWarning(UserWarning):
    """A plugin (or one of its activations) could not be loaded; the rest works."""


@dataclass
class PluginRecord:
    """One plugin and what became of it (``fastact.plugins()``)."""
    name: str
    distribution: Optional[str] = None
    version: Optional[str] = None
    entry_point: Optional[str] = None
    activations: list = field(default_factory=list)
    error: Optional[str] = None
    overridden: dict = field(default_factory=dict)   # name -> the info it replaced

    @property
    def label(self) -> str:
        if self.distribution:
            return (f"plugin {self.name!r} (distribution {self.distribution} "
                    f"{self.version}, entry point {self.entry_point!r})")
        return "built-in activations" if self.name == "fastact" else f"plugin {self.name!r}"


def user_stacklevel() -> int:
    """The warnings.warn stacklevel of the first frame outside the fastact package, so
    that a warning points at the user's call (available(), get(), fastact.NAME)."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


# fastact's submodules and folders: never activation names, and never a reason for
# fastact.__getattr__ to load plugins (`from fastact import build` probes it first)
SUBMODULES = frozenset({"build", "hookspecs", "registry", "kernel", "vmath", "include"})


def form_bases(attribute: str):
    """The activation names fastact.<attribute> may be a form of (NAME_backward_ ->
    NAME, ...), longest suffix first."""
    for suffix in ("_backward_", "_backward", "_"):
        if attribute.endswith(suffix):
            yield attribute[:-len(suffix)]
    yield attribute


def normalize(dist_name: str) -> str:
    """A distribution name compared as pip does (PEP 503)."""
    return re.sub(r"[-_.]+", "-", dist_name).lower()


class Registry:
    def __init__(self):
        self.lock = threading.RLock()
        self.loaded = False                # set once load() has finished
        self.loading = False               # load() is running (in the thread holding lock)
        self.activations: dict = {}        # name -> ActivationInfo, registration order
        self.unavailable: dict = {}        # name -> why
        self.plugins: dict = {}            # plugin name -> PluginRecord
        self.in_process: list = []         # (plugin object, name) given to register_plugin
        self.builtin_names: set = set()
        self.pending: list = []            # warnings to issue once loading is done
        self.manager = pluggy.PluginManager("fastact")
        self.manager.add_hookspecs(hookspecs)

    # ---- loading ----

    def ensure_loaded(self):
        """Load the plugins once. Other threads wait until loading has finished (they
        never see a half-loaded registry); a hook that calls available()/get() while
        its own plugin loads re-enters the lock and sees what is registered so far.
        An exception that escapes loading (KeyboardInterrupt) leaves the registry
        unloaded, to be loaded again on the next use."""
        if self.loaded:
            return
        with self.lock:
            if self.loaded or self.loading:
                return
            self.loading = True
            try:
                self.load()
            except BaseException:
                self.reset()
                raise
            finally:
                self.loading = False
            self.loaded = True
        self.flush_warnings()

    def flush_warnings(self):
        """Issue the warnings of what was just loaded, after loading: a PluginWarning
        turned into an error must not stop the other plugins from loading."""
        with self.lock:
            pending, self.pending = self.pending, []
        for message in pending:
            warnings.warn(message, PluginWarning, stacklevel=user_stacklevel())

    def load(self):
        from fastact import _builtins
        self.run_plugin(_builtins, PluginRecord("fastact"))
        try:
            found = self.entry_points()
        except Exception as exc:  # noqa: BLE001 (broken metadata must not break fastact)
            found = []
            self.pending.append(f"fastact: could not list the installed plugins "
                                f"({type(exc).__name__}: {exc}); none is loaded, everything "
                                f"else works")
        for record, entry_point in found:
            if record.name in self.plugins:        # two distributions, one entry-point name
                record.name = f"{record.distribution}:{record.name}"
            try:
                plugin = entry_point.load()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 (SystemExit too: the plugin's fault)
                self.fail(record, f"failed to import: {type(exc).__name__}: {exc}")
                continue
            self.run_plugin(plugin, record)
        for plugin, name in self.in_process:
            self.run_plugin(plugin, PluginRecord(name))

    def entry_points(self):
        """(record, entry point) of every installed plugin FASTACT_LOAD_PLUGINS allows,
        in distribution order. A distribution installed twice on sys.path counts once,
        the first copy (the one `import` finds), as importlib.metadata decides."""
        import importlib.metadata        # here, not at the top: 15 ms of `import fastact`
        wanted = os.environ.get(LOAD_PLUGINS_ENV)
        allowed = None if wanted is None else {
            normalize(n.strip()) for n in wanted.split(",") if n.strip()}
        found, seen = [], set()
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                dist_name, version = ep.dist.metadata["Name"] or "?", ep.dist.version
            except Exception as exc:  # noqa: BLE001 (a broken dist-info on sys.path)
                where = getattr(ep.dist, "_path", "?")
                self.pending.append(f"fastact: skipped the installed distribution at {where}: "
                                    f"its metadata cannot be read ({type(exc).__name__}: {exc})")
                continue
            key = normalize(dist_name)
            seen.add(key)
            if allowed is None or key in allowed:
                found.append((PluginRecord(ep.name, dist_name, version, ep.name), ep))
        if allowed:
            for missing in sorted(allowed - seen):
                self.pending.append(f"{LOAD_PLUGINS_ENV} names {missing!r}, which is not an "
                                    f"installed fastact plugin distribution")
        found.sort(key=lambda item: (normalize(item[0].distribution), item[0].name))
        return found

    def reset(self):
        """Back to nothing loaded (in-process plugins stay queued); the built-ins' module
        attributes are the compiled functions again."""
        import fastact
        from fastact import _api
        module = vars(fastact)
        for name in self.builtin_names:
            for suffix in SUFFIXES:
                if hasattr(_api, name + suffix):
                    module[name + suffix] = getattr(_api, name + suffix)
        in_process = self.in_process
        self.__init__()
        self.in_process = in_process

    def run_plugin(self, plugin, record: PluginRecord):
        """Call one plugin's hook and commit what it registered, or report why not."""
        if record.name in self.plugins:
            self.fail(record, f"a plugin named {record.name!r} is already registered")
            return
        self.plugins[record.name] = record
        try:
            hash(plugin)
        except TypeError:
            # pluggy keeps plugins in sets: an unhashable one would break every later call
            self.fail(record, f"is not a valid fastact plugin: a {type(plugin).__name__} is "
                              f"unhashable (use a module, a class or an instance of a class)")
            return
        try:
            self.manager.register(plugin, name=record.name)
        except Exception as exc:  # noqa: BLE001 (pluggy's validation of the hookimpls)
            self.fail(record, f"is not a valid fastact plugin: {exc}")
            return
        hooks = [c.name for c in (self.manager.get_hookcallers(plugin) or [])]
        if "register_activations" not in hooks:
            self.fail(record, "has no register_activations hook (a function "
                              "register_activations(register) marked @fastact.hookimpl)")
            return
        others = [p for p in self.manager.get_plugins() if p is not plugin]
        caller = self.manager.subset_hook_caller("register_activations", remove_plugins=others)
        staged = []
        register = Registrar(self, record, staged)
        try:
            caller(register=register)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 (a plugin's bug must not break fastact)
            register.closed = True
            why = f"raised in register_activations: {type(exc).__name__}: {exc}"
            self.fail(record, why)
            for entry in staged:
                if entry.name not in self.activations:
                    self.unavailable.setdefault(
                        entry.name, f"{record.label} registered activation {entry.name!r} "
                                    f"and then {why}, so none of its activations is loaded")
            return
        register.closed = True
        for entry in staged:
            self.commit(record, entry)

    def fail(self, record: PluginRecord, why: str):
        record.error = why
        self.plugins.setdefault(record.name, record)
        self.pending.append(f"fastact: {record.label} {why}; it is skipped, everything "
                            f"else works")

    def reject(self, record: PluginRecord, name: str, why: str):
        message = f"{record.label} registered activation {name!r}, which is unavailable: {why}"
        self.unavailable[name] = message
        self.pending.append(f"fastact: {message}")

    def commit(self, record: PluginRecord, entry):
        if entry.error is not None:
            self.reject(record, entry.name, entry.error)
            return
        info = entry.info
        existing = self.activations.get(info.name)
        if existing is not None and not entry.override:
            self.reject(record, info.name, f"the name is taken by {existing.source}; pass "
                        f"override=True to replace it")
            return
        clash = self.attribute_clash(info)
        if clash:
            self.reject(record, info.name, clash)
            return
        if existing is not None and existing.plugin != info.plugin:
            record.overridden[info.name] = existing
        self.activations[info.name] = info
        self.unavailable.pop(info.name, None)
        if info.name not in record.activations:
            record.activations.append(info.name)
        if record.name == "fastact":
            self.builtin_names.add(info.name)
        self.sync_module(info.name)

    def attribute_clash(self, info) -> str:
        """Why the forms of `info` cannot be fastact attributes, or ''."""
        import fastact
        if info.name in SUBMODULES:
            return f"fastact.{info.name} is a submodule of fastact"
        forms = {form for act in self.activations.values() for form in act.forms()}
        for form, func in info.forms().items():
            if form not in forms and vars(fastact).get(form, func) is not func:
                return f"fastact.{form} is already something else"
        return ""

    def sync_module(self, name):
        """fastact.NAME, NAME_, ... of a built-in name are module attributes (set at
        import); keep them pointing at whichever activation holds the name now."""
        if name not in self.builtin_names:
            return                   # plugin names are served by fastact.__getattr__
        import fastact
        module = vars(fastact)
        current = self.activations.get(name)
        forms = current.forms() if current is not None else {}
        for suffix in SUFFIXES:
            if name + suffix in forms:
                module[name + suffix] = forms[name + suffix]
            else:
                module.pop(name + suffix, None)

    # ---- queries ----

    def get(self, name: str) -> ActivationInfo:
        if not isinstance(name, str):
            raise TypeError(f"fastact.get: name must be a str, got {type(name).__name__}")
        self.ensure_loaded()
        with self.lock:
            return self.describe(name)

    def describe(self, name: str) -> ActivationInfo:
        info = self.activations.get(name)
        if info is not None:
            return info
        if name in self.unavailable:
            raise LookupError(f"fastact.get: {self.unavailable[name]}")
        failed = [f"{r.label} {r.error}" for r in self.plugins.values() if r.error]
        hint = ("; note: " + "; ".join(failed)) if failed else ""
        raise LookupError(f"fastact.get: no activation named {name!r} (fastact.available() "
                          f"lists them){hint}")

    def form(self, attribute: str):
        """The function fastact.<attribute> names among registered activations, or None."""
        self.ensure_loaded()
        with self.lock:
            return self.find_form(attribute)

    def why_unavailable(self, attribute: str):
        """The reason fastact.<attribute> is a refused plugin activation's form, or None."""
        with self.lock:
            for base in form_bases(attribute):
                if base in self.unavailable:
                    return self.unavailable[base]
        return None

    def find_form(self, attribute: str):
        for base in form_bases(attribute):
            if base in self.activations:
                return self.activations[base].forms().get(attribute)
        return None

    # ---- in-process plugins ----

    def register_plugin(self, plugin, name=None):
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        with self.lock:
            if any(n == name for _, n in self.in_process) or name in self.plugins:
                raise ValueError(f"fastact.register_plugin: a plugin named {name!r} is "
                                 f"already registered")
            self.in_process.append((plugin, name))
            if self.loaded:
                self.run_plugin(plugin, PluginRecord(name))
        self.flush_warnings()
        return name

    def unregister_plugin(self, name):
        with self.lock:
            if name == "fastact":
                raise ValueError("fastact.unregister_plugin: fastact's built-in activations "
                                 "cannot be unregistered")
            record = self.plugins.pop(name, None)
            if record is None:
                raise ValueError(f"fastact.unregister_plugin: no plugin named {name!r}")
            self.in_process = [(p, n) for p, n in self.in_process if n != name]
            if self.manager.has_plugin(name):
                self.manager.unregister(name=name)
            for act in record.activations:
                previous = record.overridden.get(act)
                current = self.activations.get(act)
                if current is not None and current.plugin == name:
                    if previous is not None:
                        self.activations[act] = previous      # keeps its place in the order
                    else:
                        del self.activations[act]
                    self.sync_module(act)
                    continue
                # a later plugin overrode this one: it now replaces what this one replaced
                for other in self.plugins.values():
                    replaced = other.overridden.get(act)
                    if replaced is not None and replaced.plugin == name:
                        if previous is not None:
                            other.overridden[act] = previous
                        else:
                            del other.overridden[act]
            for act, why in list(self.unavailable.items()):
                if record.label in why:
                    del self.unavailable[act]


REGISTRY = Registry()


def available(kind=None) -> list:
    """The names of every registered activation (built-ins, then plugins), or of one
    kind ("elementwise", "per-channel", "random", "along an axis")."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"fastact.available: kind must be one of {KINDS}, got {kind!r}")
    REGISTRY.ensure_loaded()
    with REGISTRY.lock:
        return [n for n, a in REGISTRY.activations.items() if kind is None or a.kind == kind]


def get(name) -> ActivationInfo:
    """The description of activation `name`; LookupError (saying why) if there is none."""
    return REGISTRY.get(name)


def plugins() -> list:
    """Every plugin fastact tried to load (PluginRecord: name, distribution, version,
    entry point, its activations, and the error if it failed)."""
    REGISTRY.ensure_loaded()
    with REGISTRY.lock:
        return [r for r in REGISTRY.plugins.values() if r.name != "fastact"]


def register_plugin(plugin, name=None) -> str:
    """Register a plugin object or module in-process (no packaging: for tests and
    notebooks); its activations are usable at once. Returns the plugin's name."""
    return REGISTRY.register_plugin(plugin, name)


def unregister_plugin(name) -> None:
    """Remove a plugin and its activations (an activation it overrode comes back)."""
    REGISTRY.ensure_loaded()
    REGISTRY.unregister_plugin(name)
