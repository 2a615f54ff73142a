"""The Python API and the command line treat a protein the same way: the same input policy
(one trailing '*' removed, lowercase = uppercase) and the same streaming (one lane from the
first residue), so their numbers agree also above 1,024 residues."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import cli

pytest.importorskip("keras")


def test_load_model_predict_equals_predict_structure(tmp_path, structure_model_path):
    import genorrn
    from genorrn.alphabets import SS8_CLASSES

    rng = np.random.default_rng(11)
    seq = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), 1500)).lower() + "*"
    fasta = tmp_path / "long.faa"
    fasta.write_text(f">long\n{seq}\n")
    out = tmp_path / "long.csv"
    assert cli("predict", "structure", str(fasta), "-o", str(out),
               "--model", str(structure_model_path)) == 0  # fmt: skip
    rows = [line.split(",") for line in out.read_text().splitlines()]
    header, rows = rows[0], rows[1:]
    columns = [header.index(f"p[q8_{c}]") for c in SS8_CLASSES]
    from_cli = np.array([[float(r[i]) for i in columns] for r in rows])
    from_api = genorrn.load_model(structure_model_path).predict(seq)
    assert from_api.shape == (1500, 8) == from_cli.shape  # the stop '*' is not a residue
    # the CSV rounds probabilities to 3 decimals
    assert np.abs(from_api - from_cli).max() <= 5e-4 + 1e-6
    with pytest.raises(genorrn.errors.InputError, match="record 'sequence'.*position"):
        genorrn.load_model(structure_model_path).predict("MKV1A")
