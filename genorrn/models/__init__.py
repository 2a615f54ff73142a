"""Keras model factories (one function per architecture) and registered custom objects."""

from genorrn.models.labeller import LabellerConfig, build_labeller, config_of

__all__ = ["LabellerConfig", "build_labeller", "config_of"]
