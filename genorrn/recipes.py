"""One recipe per task: every default of a task in one place.

A recipe names the task's alphabet and classes, the architecture of a new model, the training
defaults, the streaming defaults used when a model card gives none, the shipped model used when
no ``--model`` is given, and the split preset. The command line (argparse defaults and help
texts), the trainers, the model loader, the card scripts and the workflow configuration
(``workflows/helpers/`` fills unset keys from here) all read these values, so a default is
changed in exactly one place. Standard library and :mod:`genorrn.alphabets` only: importing
it is free.

Adding a task means adding a recipe here and its task parts (data, loss, selection metric),
not a second stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from genorrn.alphabets import ASSEMBLY_GAP_MIN

#: learning-rate schedules of the trainer (:func:`genorrn.training.learning_rate`)
SCHEDULES = ("constant", "cosine", "plateau")


@dataclass(frozen=True)
class Recipe:
    task: str
    alphabet: str  # "dna" or "protein"
    classes: tuple[str, ...]
    #: :class:`genorrn.models.LabellerConfig` fields of a new model
    architecture: dict = field(default_factory=dict)
    #: :class:`genorrn.training.TrainConfig` fields, plus the task's own training options
    training: dict = field(default_factory=dict)
    #: streaming engine defaults (chunk_size, flank, batch_size) when a card gives none
    streaming: dict = field(default_factory=dict)
    default_model: str = ""
    #: validation metric that selects the best epoch (higher is better)
    selection: str = ""
    splits: str | None = None
    #: where the task's training and test data live by default (relative to the working folder)
    data_dir: str | None = None
    #: the background class (splice: "neither"), if any: an isotonic calibration maps the other
    #: classes and gives it the remainder, so each site class keeps its ranking exactly
    background: str | None = None
    #: DNA: a run of at least this many N is an assembly gap, a sequence boundary for the
    #: streaming engine (:class:`genorrn.streaming.GapRule`); its positions get the background
    #: class. None: no gaps (proteins)
    min_gap: int | None = None

    def labeller_config(self, **overrides):
        """The :class:`~genorrn.models.LabellerConfig` of a new model (``overrides`` win)."""
        from genorrn.models.labeller import LabellerConfig

        return LabellerConfig(**(self.architecture | overrides))


SPLICE = Recipe(
    task="splice",
    alphabet="dna",
    classes=("neither", "acceptor", "donor"),
    architecture={"alphabet_size": 4, "num_classes": 3, "lstm_units": [64, 64],
                  "bidirectional": True, "conv_filters": 48, "conv_kernel": 11,
                  "conv_layers": 2, "dropout": 0.0},  # fmt: skip
    training={"epochs": 12, "batch_size": 128, "learning_rate": 4e-3, "lr_schedule": "constant",
              "patience": 3, "site_weight": 10.0},  # fmt: skip
    # benchmarks/streaming_exactness.py and benchmarks/streaming_throughput.py
    streaming={"chunk_size": 5000, "flank": 1000, "batch_size": 32},
    default_model="splice-athaliana-v3",
    selection="val_pr_auc",
    splits="athaliana-chr1",
    background="neither",
    # the four 27-53 kb gaps of A. thaliana chr1 made scores beside them depend on the flank
    # (benchmarks/streaming_genome_error.py); 1,000 leaves a 3,000-nt flank >= 2,000 nt of
    # sequence past any shorter run of N
    min_gap=ASSEMBLY_GAP_MIN,
)

STRUCTURE = Recipe(
    task="structure",
    alphabet="protein",
    classes=tuple("HGIEBTSC"),
    architecture={"alphabet_size": 21, "num_classes": 8, "lstm_units": [128, 128],
                  "bidirectional": True, "conv_filters": 64, "conv_kernel": 11,
                  "conv_layers": 2, "dropout": 0.25},  # fmt: skip
    training={"epochs": 20, "batch_size": 32, "learning_rate": 2e-3, "lr_schedule": "plateau",
              "patience": 4, "max_len": 1024},  # fmt: skip
    # benchmarks/structure_throughput.py and benchmarks/structure_accuracy.py: a protein up to
    # 256 residues is one chunk (exact); longer ones carry the forward state exactly and give
    # the backward LSTMs a 32-residue lookahead (Q3/Q8 within 0.002 of whole-protein prediction)
    streaming={"chunk_size": 256, "flank": 32, "batch_size": 128},
    default_model="structure-q8-v1",
    selection="val_q3",
    data_dir="../shared/data/structure",
)

RECIPES = {r.task: r for r in (SPLICE, STRUCTURE)}


def recipe(task: str) -> Recipe:
    """The recipe of ``task`` (``splice`` or ``structure``)."""
    try:
        return RECIPES[task]
    except KeyError:
        raise ValueError(f"unknown task {task!r} (known: {', '.join(RECIPES)})") from None
