"""genorrn: per-position labelling of DNA and protein sequences with bidirectional LSTMs.

>>> import genorrn
>>> model = genorrn.load_model("splice-athaliana-v1")   # doctest: +SKIP
>>> model.predict("ACGT...").shape                      # doctest: +SKIP
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"


def _quiet_tensorflow() -> None:
    """Import Keras/TensorFlow with the process's stderr silenced (the Python API and the CLI):
    TensorFlow's C++ start-up logs (CUDA probes such as ``failed call to cuInit``, oneDNN
    notices) are written before ``TF_CPP_MIN_LOG_LEVEL`` from Python takes effect. Only while
    TensorFlow is not imported yet (then it is safe: nothing else is being logged by it);
    ``GENORRN_TF_LOGS=1`` keeps the logs. Import errors are raised later, loudly, by the code
    that needs Keras."""
    if "tensorflow" in _sys.modules or _os.environ.get("GENORRN_TF_LOGS"):
        return
    _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        _sys.stderr.flush()
        saved = _os.dup(2)
    except (OSError, ValueError, AttributeError):  # no file descriptor 2 to silence
        return
    try:
        with open(_os.devnull, "w") as devnull:
            _os.dup2(devnull.fileno(), 2)
            try:
                import keras  # noqa: F401
            except ImportError:
                pass
    finally:
        _os.dup2(saved, 2)
        _os.close(saved)


def load_model(name_or_path, task=None):
    """Load a pretrained model by name, ``.keras`` path or ensemble card (``NAME.card.json``);
    see :func:`genorrn.pretrained.load_model`."""
    _quiet_tensorflow()
    from genorrn.pretrained import load_model as _load

    return _load(name_or_path, task=task)


def score_variants(genome, variants, model=None, annotation=None, **options):
    """SpliceAI-style delta scores of ``(chrom, pos, ref, alt)`` variants (``pos`` 1-based);
    see :func:`genorrn.variants.score_variants`."""
    _quiet_tensorflow()
    from genorrn.variants import score_variants as _score

    return _score(genome, variants, model=model, annotation=annotation, **options)


__all__ = ["__version__", "load_model", "score_variants"]
