"""What "public" means in tunelab, in one place: the API reference renders it, the docs build
warns on each undocumented part of it (`griffe_tunelab.py`), and tests/docs checks it.

Public: the names in `__all__` of `tunelab` and of each public package (a subpackage or module
of `tunelab` whose name has no leading underscore and that declares `__all__`; `tunelab.cli`
is documented by its commands instead), of every module such a package lists in its
`__all__` (the names it defines, when it has no `__all__`), and the public methods and properties those classes define (no leading
underscore; of Python's protocol methods only `__call__`). Read statically with griffe, the
library mkdocstrings uses, so the definition and the rendered pages cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import griffe

PACKAGE = "tunelab"
# Documented elsewhere: the CLI by its click commands (docs/reference/cli.md).
NOT_API = frozenset({"tunelab.cli"})
# The one protocol method that is API: how a callback or transform is called. (`__init__`'s
# arguments are documented in the class docstring.)
CALLED = "__call__"


def load(src: Path) -> griffe.Module:
    """Load the package statically from `src` (nothing is imported, so no extra is needed)."""
    pkg = griffe.load(PACKAGE, search_paths=[str(src)], resolve_aliases=False)
    assert isinstance(pkg, griffe.Module)
    return pkg


def _exports(module: griffe.Module) -> list[str]:
    """The module's `__all__`; for an exported module without one (`tunelab.keras.errors`),
    the names it defines that do not start with an underscore."""
    if module.exports is None:
        return [
            name
            for name, member in module.members.items()
            if not name.startswith("_") and not member.is_alias and not member.is_module
        ]
    return [name if isinstance(name, str) else name.name for name in module.exports]


def public_modules(pkg: griffe.Module) -> list[griffe.Module]:
    """`tunelab`, its public packages, and the modules they export, in that order."""
    found: list[griffe.Module] = [pkg]
    for name, module in sorted(pkg.modules.items()):
        if name.startswith("_") or module.path in NOT_API or module.exports is None:
            continue
        found.append(module)
    for module in found:  # grows while walked: exported submodules are public too
        for name in _exports(module):
            target = _lookup(module, name)
            if isinstance(target, griffe.Module) and target not in found:
                found.append(target)
    return found


def _target(obj: griffe.Object | griffe.Alias) -> griffe.Object | None:
    if not obj.is_alias:
        return obj  # type: ignore[return-value]
    try:
        return obj.final_target  # type: ignore[union-attr]
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None  # re-exported from outside tunelab: documented by its own library


def _lookup(module: griffe.Module, name: str) -> griffe.Object | None:
    """`module.name`, also when the module supplies it lazily (a `__getattr__` importing
    it from one of its submodules on first use, as `tunelab.keras.ReportCallback`)."""
    if name in module.members:
        target = _target(module.members[name])
        if isinstance(target, griffe.Module) and target.parent is module:
            # `from .curves import curves`: at run time the package's `curves` is the
            # function, while griffe keeps the submodule of the same name under it
            shadowing = target.members.get(name)
            if shadowing is not None and not shadowing.is_alias:
                return shadowing  # type: ignore[return-value]
        return target
    for sub in module.modules.values():
        member = sub.members.get(name)
        if member is not None and not member.is_alias:
            return member  # type: ignore[return-value]
    return None


def _class_members(cls: griffe.Class) -> Iterator[griffe.Object]:
    for name, member in cls.members.items():
        if (name.startswith("_") and name != CALLED) or member.is_alias:
            continue
        if member.is_function or (member.is_attribute and "property" in member.labels):
            yield member  # type: ignore[misc]


class Public:
    """One public object: what griffe knows of it and every path users may import it by."""

    def __init__(self, obj: griffe.Object) -> None:
        self.obj = obj
        self.paths: list[str] = []

    @property
    def name(self) -> str:
        """The first public path (`tunelab.Study` rather than `tunelab.study.Study`)."""
        return self.paths[0]


def public_objects(pkg: griffe.Module) -> dict[str, Public]:
    """Every public object, method and property, by its definition's path. A name in an
    `__all__` that the module does not define raises LookupError naming both."""
    found: dict[str, Public] = {}

    def add(obj: griffe.Object, path: str) -> None:
        entry = found.setdefault(obj.path, Public(obj))
        if path not in entry.paths:
            entry.paths.append(path)

    for module in public_modules(pkg):
        add(module, module.path)
        for name in _exports(module):
            obj = _lookup(module, name)
            if obj is None:
                if name in module.members:
                    continue  # re-exported from another library
                raise LookupError(f"{module.path}.__all__ names {name!r}, which it does not define")
            add(obj, f"{module.path}.{name}")
            if isinstance(obj, griffe.Class):
                for member in _class_members(obj):
                    add(member, f"{module.path}.{name}.{member.name}")
    return found


def inherited_docstring(obj: griffe.Object) -> griffe.Docstring | None:
    """The docstring a method without one inherits from the class it overrides (as
    `inspect.getdoc` does), or None."""
    parent = obj.parent
    if not isinstance(parent, griffe.Class):
        return None
    try:
        bases = parent.mro()
    except ValueError:
        return None
    for base in bases:
        member = base.members.get(obj.name)
        if member is not None and not member.is_alias and member.docstring is not None:
            return member.docstring
    return None


def undocumented(pkg: griffe.Module) -> list[str]:
    """The public paths of the public objects that have no docstring, own or inherited."""
    return [
        entry.name
        for entry in public_objects(pkg).values()
        if entry.obj.docstring is None and inherited_docstring(entry.obj) is None
    ]
