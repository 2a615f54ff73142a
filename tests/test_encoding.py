import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from genorrn.alphabets import DNA_IUPAC, reverse_complement
from genorrn.encoding import (
    decode_dna,
    encode_dna,
    encode_protein,
    reverse_complement_onehot,
)
from genorrn.errors import InputError


def test_dna_exact_matrix_mixed_case_n_r_u():
    got = encode_dna("ctgCGCAANRUu")
    A, C, G, T = np.eye(4, dtype=np.float32)
    expected = np.array(
        [C, T, G, C, G, C, A, A, [0.25] * 4, [0.5, 0, 0.5, 0], T, T], dtype=np.float32
    )
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)


def test_dna_every_iupac_code_is_a_distribution_over_its_bases():
    for code, bases in DNA_IUPAC.items():
        row = encode_dna(code)[0]
        assert row.sum() == pytest.approx(1.0)
        assert {"ACGT"[i] for i in np.flatnonzero(row)} == set(bases)


@pytest.mark.parametrize("bad,letter,pos", [("ACGT-A", "-", 5), ("AC1G", "1", 3), ("AC.", ".", 3)])
def test_dna_rejects_non_iupac(bad, letter, pos):
    with pytest.raises(InputError, match=rf"x\.fa: invalid DNA character '{letter}' at position {pos}"):
        encode_dna(bad, where="x.fa: ")


def test_dna_rejects_protein_with_hint():
    with pytest.raises(InputError, match="protein"):
        encode_dna("MKVLEQ")


def test_protein_exact_matrix_with_x_u_b_star():
    got = encode_protein("acXUB*z")
    eye = np.eye(21, dtype=np.float32)
    idx = "ACDEFGHIKLMNPQRSTVWYX".index
    expected = np.stack(
        [
            eye[idx("A")],
            eye[idx("C")],
            eye[idx("X")],
            eye[idx("X")],  # U selenocysteine -> X channel
            (eye[idx("D")] + eye[idx("N")]) / 2,  # B = D/N
            eye[idx("X")],  # '*' nonstandard residue -> X channel
            (eye[idx("E")] + eye[idx("Q")]) / 2,  # Z = E/Q
        ]
    )
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("bad", ["MKV-L", "MK3V", "MK V"])
def test_protein_rejects_gaps_digits_spaces(bad):
    with pytest.raises(InputError, match="invalid protein character"):
        encode_protein(bad)


iupac = st.text(alphabet="".join(DNA_IUPAC) + "".join(DNA_IUPAC).lower(), max_size=200)


@given(iupac)
def test_reverse_complement_round_trip(seq):
    assert reverse_complement(reverse_complement(seq)) == seq.replace("U", "T").replace("u", "t")


@given(iupac)
def test_onehot_of_reverse_complement_flips_both_axes(seq):
    np.testing.assert_array_equal(
        encode_dna(reverse_complement(seq)), reverse_complement_onehot(encode_dna(seq))
    )


@given(st.text(alphabet="ACGT", max_size=200))
def test_decode_inverts_encode(seq):
    assert decode_dna(encode_dna(seq)) == seq


def test_reverse_complement_known_value():
    assert reverse_complement("AACGTNRy") == "rYNACGTT"
