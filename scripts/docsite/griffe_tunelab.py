"""A griffe extension for the docs build (mkdocs.yml): methods without a docstring show the
one they override, as `help()` does; each undocumented public object is a warning, which the
strict build turns into a failure (what "public" means: public_api.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import griffe

sys.path.insert(0, str(Path(__file__).parent))
import public_api

logger = griffe.get_logger("griffe_tunelab")


class TunelabDocs(griffe.Extension):
    """Inherit docstrings of overriding methods; warn on undocumented public objects."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != public_api.PACKAGE:
            return
        objects = public_api.public_objects(pkg)
        for entry in objects.values():
            obj = entry.obj
            if obj.docstring is None:
                inherited = public_api.inherited_docstring(obj)
                if inherited is not None:
                    obj.docstring = griffe.Docstring(inherited.value, parent=obj)
        for path in public_api.undocumented(pkg):
            logger.warning(f"{path} is public but has no docstring")
