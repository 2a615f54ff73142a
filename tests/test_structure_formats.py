"""PSIPRED / NetSurfP-2.0 writers on hand-set probabilities: exact strings, no model."""

from __future__ import annotations

import numpy as np

from genorrn.io.structure_formats import (
    CSV_HEADER,
    confidence,
    csv_rows,
    horiz_text,
    safe_filename,
    ss2_text,
)

# H E C probabilities of 3 residues
P3 = np.array([[0.72, 0.18, 0.1], [0.1, 0.15, 0.75], [0.05, 0.9, 0.05]], np.float32)


def test_ss2_exact():
    assert ss2_text("mK*", P3) == (
        "# PSIPRED VFORMAT (PSIPRED V4.0)\n"
        "\n"
        "   1 M H   0.100  0.720  0.180\n"
        "   2 K C   0.750  0.100  0.150\n"
        "   3 X E   0.050  0.050  0.900\n"
    )


def test_confidence_is_psipreds():
    # PSIPRED: min(int(10 * (2*max - sum + min)), 9) = int(10 * (max - middle))
    assert confidence(P3).tolist() == [5, 6, 8]
    assert confidence(np.array([[1.0, 0.0, 0.0]])).tolist() == [9]


def test_horiz_exact_short():
    assert horiz_text("MKV", P3) == (
        "# PSIPRED HFORMAT (PSIPRED V4.0)\n"
        "\n"
        "Conf: 568\n"
        "Pred: HCE\n"
        "  AA: MKV\n"
        "       \n"  # PSIPRED's ruler loop writes one space per residue from the 3rd on
        "\n"
    )


def test_horiz_blocks_and_ruler():
    n = 125
    probs = np.tile(P3, (42, 1))[:n]
    text = horiz_text("A" * n, probs)
    blocks = text.split("\n\nConf: ")
    assert len(blocks) == 1 + 3  # header, then 125 // 60 + 1 blocks
    ruler = "              10        20        30        40        50        60"
    lines = text.split("\n")
    assert lines[2] == "Conf: " + "568" * 20
    assert lines[5] == ruler
    assert lines[11] == ruler.replace(" 10", " 70").replace(" 20", " 80").replace(" 30", " 90")\
        .replace(" 40", "100").replace(" 50", "110").replace(" 60", "120")
    assert lines[16] == "  AA: AAAAA" and lines[17] == " " * 9  # 121-125: no multiple of 10
    assert text.endswith("\n\n")


def test_horiz_multiple_of_60_ends_with_an_empty_block_like_psipred():
    text = horiz_text("A" * 60, np.tile(P3, (20, 1)))
    assert text.endswith("\nConf: \nPred: \n  AA: \n      \n\n")


def test_csv_rows_exact():
    p8 = np.zeros((2, 8), np.float32)
    p8[0, 0], p8[0, 1] = 0.6, 0.4  # H, G
    p8[1, 3], p8[1, 7] = 0.25, 0.75  # E, C
    p3 = p8 @ np.eye(3, dtype=np.float32)[[0, 0, 0, 1, 1, 2, 2, 2]]
    assert CSV_HEADER == (
        "id,seq,n,q3,p[q3_H],p[q3_E],p[q3_C],q8,p[q8_G],p[q8_H],p[q8_I],p[q8_B],p[q8_E],"
        "p[q8_S],p[q8_T],p[q8_C]"
    )
    assert csv_rows("x,1", "ak", p3, p8) == (
        '"x,1",A,1,H,1.000,0.000,0.000,H,0.400,0.600,0.000,0.000,0.000,0.000,0.000,0.000\n'
        '"x,1",K,2,C,0.000,0.250,0.750,C,0.000,0.000,0.000,0.000,0.250,0.000,0.000,0.750\n'
    )


def test_format3_is_byte_identical_to_python_formatting():
    from genorrn.io.structure_formats import format3

    rng = np.random.default_rng(1)
    values = np.concatenate([
        rng.random(20000).astype(np.float32),
        np.array([0, 1, 0.0005, 0.0015, 0.0025, 0.1235, 0.9995, 0.4445, 1e-9], np.float32),
        (np.arange(2001) / 2000).astype(np.float32),
    ]).reshape(-1, 1)
    got = [row[0] for row in format3(values)]
    assert got == [f"{v:.3f}" for v in values[:, 0]]


def test_safe_filename():
    assert safe_filename("sp|P12345|ABC_HUMAN") == "sp_P12345_ABC_HUMAN"
    assert safe_filename("../etc") == "_._etc"
    assert safe_filename("NP_001030923.1") == "NP_001030923.1"
