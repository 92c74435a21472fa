"""Load Keras 3 on the PyTorch backend, lazily.

`import tunelab.keras` only sets KERAS_BACKEND (if unset), so a script that imports
keras afterwards gets the torch backend; keras itself is imported when a tuner is made.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from tunelab.errors import TunelabError

BACKEND = "torch"


def prefer_torch_backend() -> None:
    """Ask Keras for the torch backend unless the user chose one explicitly."""
    os.environ.setdefault("KERAS_BACKEND", BACKEND)


def load_keras() -> Any:
    """Import keras and check it runs on the torch backend (the one tunelab supports)."""
    already = "keras" in sys.modules
    prefer_torch_backend()
    try:
        import keras
    except ImportError as e:
        chosen = os.environ.get("KERAS_BACKEND")
        if chosen != BACKEND:
            raise TunelabError(
                f"Keras could not start its {chosen!r} backend ({e}); tunelab.keras runs "
                "Keras on the 'torch' backend: set KERAS_BACKEND=torch (or leave it unset and "
                "import tunelab.keras before keras)"
            ) from None
        raise ImportError(
            f"tunelab.keras needs Keras 3 on the PyTorch backend ({e}); "
            "install it with: pip install 'tunelab[keras]'"
        ) from None
    version = str(getattr(keras, "__version__", "0"))
    if not version.split(".")[0].isdigit() or int(version.split(".")[0]) < 3:
        raise TunelabError(
            f"tunelab.keras needs Keras 3, but keras {version} is installed; "
            "upgrade with: pip install 'keras>=3'"
        )
    backend = keras.backend.backend()
    if backend != BACKEND:
        how = (
            "keras was imported before tunelab.keras"
            if already
            else f"KERAS_BACKEND={os.environ.get('KERAS_BACKEND')!r}"
        )
        raise TunelabError(
            f"tunelab.keras runs Keras on the {BACKEND!r} backend, but Keras is using "
            f"{backend!r} ({how}); set KERAS_BACKEND=torch in the environment, or import "
            "tunelab.keras before keras"
        )
    return keras
