"""genorrn: per-position labelling of DNA and protein sequences with bidirectional LSTMs.

>>> import genorrn
>>> model = genorrn.load_model("splice-athaliana-v1")   # doctest: +SKIP
>>> model.predict("ACGT...").shape                      # doctest: +SKIP
"""

__version__ = "0.1.0"


def load_model(name_or_path, task=None):
    """Load a pretrained model by name, ``.keras`` path or ensemble card (``NAME.card.json``);
    see :func:`genorrn.pretrained.load_model`."""
    from genorrn.pretrained import load_model as _load

    return _load(name_or_path, task=task)


def score_variants(genome, variants, model=None, annotation=None, **options):
    """SpliceAI-style delta scores of ``(chrom, pos, ref, alt)`` variants (``pos`` 1-based);
    see :func:`genorrn.variants.score_variants`."""
    from genorrn.variants import score_variants as _score

    return _score(genome, variants, model=model, annotation=annotation, **options)


__all__ = ["__version__", "load_model", "score_variants"]
