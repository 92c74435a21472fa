"""What the image HyperModels share: Keras Tuner's constructor arguments, checked, and
the model's input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunelab.errors import ConfigurationError
from tunelab.keras.hypermodel import HyperModel


class ImageHyperModel(HyperModel):
    """A classifier of images (height, width, channels). `include_top=False` leaves out
    the classifier: the model ends at the pooled features and is not compiled (give the
    tuner `optimizer=` and `loss=`)."""

    def __init__(
        self,
        include_top: bool = True,
        input_shape: Sequence[int] | None = None,
        input_tensor: Any = None,
        classes: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        name = type(self).__name__
        if include_top and classes is None:
            raise ConfigurationError(
                f"{name}(include_top=True) needs classes=, the number of classes to "
                "predict; give it, or pass include_top=False for the features only"
            )
        if classes is not None and (
            isinstance(classes, bool) or not isinstance(classes, int) or classes < 1
        ):
            raise ConfigurationError(f"{name}: classes must be an int >= 1, but got {classes!r}")
        if input_shape is None and input_tensor is None:
            raise ConfigurationError(
                f"{name} needs input_shape= (e.g. (32, 32, 3)) or input_tensor= (a "
                "keras.Input); give one"
            )
        if input_shape is not None and (
            len(tuple(input_shape)) != 3 or not all(isinstance(d, int) for d in input_shape)
        ):
            raise ConfigurationError(
                f"{name}: input_shape must be (height, width, channels) of ints, but got "
                f"{input_shape!r}"
            )
        self.include_top = include_top
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.input_tensor = input_tensor
        self.classes = classes

    def _inputs(self, keras: Any) -> tuple[Any, Any]:
        """The model's inputs and the tensor the network starts from."""
        if self.input_tensor is not None:
            return keras.utils.get_source_inputs(self.input_tensor), self.input_tensor
        inputs = keras.Input(shape=self.input_shape)
        return inputs, inputs
