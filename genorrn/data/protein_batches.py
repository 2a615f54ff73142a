"""Length-bucketed batches of protein chains for training (a ``keras.utils.PyDataset``)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from genorrn.data.structure import IGNORE, Chain, encode_codes
from genorrn.encoding import PROTEIN_TABLE
from genorrn.errors import InputError


class ProteinBatches(keras.utils.PyDataset):
    """Length-bucketed protein batches: ``((onehot, mask), codes)``.

    Chains are sorted by length and cut into batches of neighbours, so little padding is
    needed; the padded length is rounded up to a multiple of ``bucket`` (few distinct shapes,
    few retraces). Chains longer than ``max_len`` are cut into a random ``max_len`` window each
    epoch. ``onehot`` is ``(B, T, 21)`` float32, ``mask`` ``(B, T)`` bool (True inside a chain),
    ``codes`` ``(B, T)`` uint8 targets (:data:`~genorrn.data.structure.IGNORE` on padding and
    unscored residues).

    ``soft`` (knowledge distillation): per chain, a teacher's ``(L, K)`` probabilities; the
    targets are then ``(B, T, 1 + K)`` float32 — the code, then the teacher's probabilities of
    the same residues (zeros on padding), as :class:`~genorrn.models.masked.DistillationLoss`
    reads them.
    """

    def __init__(self, chains: Sequence[Chain], batch_size: int, *, max_len: int = 1024,
                 bucket: int = 64, shuffle: bool = True, seed: int = 0,
                 soft: Sequence[np.ndarray] | None = None, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.chains = list(chains)
        if not self.chains:
            raise InputError("no training chains")
        if soft is not None and [len(p) for p in soft] != [len(c.seq) for c in self.chains]:
            raise ValueError("teacher probabilities do not match the chains' lengths")
        self.soft = soft
        self.batch_size, self.max_len, self.bucket = batch_size, max_len, bucket
        self.shuffle, self.rng = shuffle, np.random.default_rng(seed)
        self.codes = [encode_codes(c.seq) for c in self.chains]
        self.targets = [c.codes() for c in self.chains]
        self.lengths = np.array([min(len(c.seq), max_len) for c in self.chains])
        self._plan()

    def _plan(self):
        jitter = self.rng.random(len(self.lengths)) if self.shuffle else np.zeros(len(self.lengths))
        order = np.lexsort((jitter, self.lengths))
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.shuffle:
            self.rng.shuffle(batches)
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def on_epoch_end(self):
        if self.shuffle:
            self._plan()

    def __getitem__(self, index):
        idx = self.batches[index]
        width = int(np.ceil(self.lengths[idx].max() / self.bucket) * self.bucket)
        codes = np.zeros((len(idx), width), np.uint8)  # byte 0 → all-zero one-hot row
        targets = np.full((len(idx), width), IGNORE, np.uint8)
        mask = np.zeros((len(idx), width), bool)
        soft = None if self.soft is None else np.zeros((len(idx), width, self.soft[0].shape[1]),
                                                        np.float32)  # fmt: skip
        for row, i in enumerate(idx):
            seq, target = self.codes[i], self.targets[i]
            start = 0
            if len(seq) > self.max_len:
                start = int(self.rng.integers(0, len(seq) - self.max_len + 1)) if self.shuffle else 0
            n = min(len(seq), self.max_len)
            codes[row, :n] = seq[start : start + n]
            targets[row, :n] = target[start : start + n]
            mask[row, :n] = True
            if soft is not None:
                soft[row, :n] = self.soft[i][start : start + n]
        if soft is not None:
            targets = np.concatenate([targets[..., None].astype(np.float32), soft], axis=-1)
        return (PROTEIN_TABLE[codes], mask), targets


def make_batches(chains: Sequence[Chain], batch_size: int, *, max_len: int = 1024,
                 bucket: int = 64, shuffle: bool = True, seed: int = 0,
                 soft: Sequence[np.ndarray] | None = None) -> ProteinBatches:  # fmt: skip
    """A :class:`ProteinBatches` (keyword arguments as there)."""
    return ProteinBatches(chains, batch_size, max_len=max_len, bucket=bucket, shuffle=shuffle,
                          seed=seed, soft=soft)
