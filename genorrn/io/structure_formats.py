"""Secondary-structure output formats (pure text; no Keras).

* ``csv`` — NetSurfP-2.0-style, one row per residue, columns exactly
  ``id,seq,n,q3,p[q3_H],p[q3_E],p[q3_C],q8,p[q8_G],p[q8_H],p[q8_I],p[q8_B],p[q8_E],p[q8_S],p[q8_T],p[q8_C]``
  (``n`` 1-based; probabilities with 3 decimals; ``q3``/``q8`` the most probable class).
* ``ss2`` — PSIPRED VFORMAT as ``psipass2`` writes it: ``# PSIPRED VFORMAT (PSIPRED V4.0)``,
  a blank line, then ``"%4d %c %c  %6.3f %6.3f %6.3f"`` rows (1-based index, residue, C/H/E,
  P(C) P(H) P(E)).
* ``horiz`` — PSIPRED HFORMAT as ``psipass2`` prints it: the header line, then for each block
  of 60 residues ``\\nConf: …\\nPred: …\\n  AA: …\\n      `` + a ruler with the residue number
  ending under every 10th residue + ``\\n\\n``. Like PSIPRED, ``seqlen // 60 + 1`` blocks are
  written (a length that is a multiple of 60 ends with one empty block). ``Conf`` is
  ``min(int(10 · (p_max − p_second)), 9)``, PSIPRED's confidence.

Residues are written in uppercase; a nonstandard ``*`` is written as ``X``. The predicted Q3
class here is the argmax of the Q3 probabilities (PSIPRED's own helix/strand smoothing rules
are specific to its network and are not applied).
"""

from __future__ import annotations

import re

import numpy as np

SS3 = "HEC"
SS8 = "HGIEBTSC"
CSV_Q8_ORDER = "GHIBESTC"  # NetSurfP-2.0 column order
CSV_HEADER = (
    "id,seq,n,q3,p[q3_H],p[q3_E],p[q3_C],q8,"
    + ",".join(f"p[q8_{c}]" for c in CSV_Q8_ORDER)
)
SS2_HEADER = "# PSIPRED VFORMAT (PSIPRED V4.0)\n\n"
HORIZ_HEADER = "# PSIPRED HFORMAT (PSIPRED V4.0)\n"
FORMATS = ("csv", "ss2", "horiz")

_CSV_Q8_INDEX = [SS8.index(c) for c in CSV_Q8_ORDER]
_PSIPRED_ORDER = [SS3.index(c) for c in "CHE"]


def residues(seq: str) -> str:
    """Residue letters as written: uppercase, ``*`` (nonstandard) as ``X``."""
    return seq.upper().replace("*", "X")


def _csv_id(rid: str) -> str:
    if any(c in rid for c in ',"\n\r'):
        return '"' + rid.replace('"', '""') + '"'
    return rid


_DEC3 = [f"{i / 1000:.3f}" for i in range(1001)]


def format3(values: np.ndarray) -> list[list[str]]:
    """``f"{v:.3f}"`` of every value of a 2-D array, by table lookup (byte-identical: values
    near a rounding tie, or outside [0, 1], are formatted by Python)."""
    v = np.asarray(values, np.float64)
    scaled = v * 1000.0
    index = np.rint(scaled)
    odd = (np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6) | (v < 0) | (v > 1)
    table = _DEC3
    out = [[table[i] for i in row] for row in index.clip(0, 1000).astype(np.int64).tolist()]
    for r, c in zip(*np.nonzero(odd)):
        out[r][c] = f"{v[r, c]:.3f}"
    return out


def csv_rows(rid: str, seq: str, probs3: np.ndarray, probs8: np.ndarray) -> str:
    """The CSV rows (with trailing newline) of one protein; ``probs3`` is ``(L, 3)`` in
    ``H E C`` order, ``probs8`` ``(L, 8)`` in ``HGIEBTSC`` order."""
    seq = residues(seq)
    if not len(seq) == len(probs3) == len(probs8):
        raise ValueError("sequence and probabilities differ in length")
    if not seq:
        return ""
    q3 = np.asarray(probs3).argmax(-1)
    q8 = np.asarray(probs8).argmax(-1)
    p3 = format3(probs3)
    p8 = format3(np.asarray(probs8)[:, _CSV_Q8_INDEX])
    rid = _csv_id(rid)
    lines = [
        f"{rid},{letter},{i},{SS3[a]},{','.join(b)},{SS8[c]},{','.join(d)}"
        for i, letter, a, b, c, d in zip(range(1, len(seq) + 1), seq, q3.tolist(), p3,
                                         q8.tolist(), p8)  # fmt: skip
    ]
    return "\n".join(lines) + "\n"


def ss2_text(seq: str, probs3: np.ndarray) -> str:
    """PSIPRED VFORMAT text of one protein (``probs3`` in ``H E C`` order)."""
    seq = residues(seq)
    probs = np.asarray(probs3, np.float64)[:, _PSIPRED_ORDER]  # C H E
    pred = np.asarray(probs3).argmax(-1)
    out = [SS2_HEADER]
    for i, letter in enumerate(seq):
        c, h, e = probs[i]
        out.append(f"{i + 1:4d} {letter} {SS3[pred[i]]}  {c:6.3f} {h:6.3f} {e:6.3f}\n")
    return "".join(out)


def confidence(probs3: np.ndarray) -> np.ndarray:
    """PSIPRED's confidence digit per residue: ``min(int(10 · conf), 9)`` with
    ``conf = 2·max − (c + h + e) + min`` (= max − middle) in single precision, in PSIPRED's
    C, H, E order."""
    p = np.asarray(probs3, np.float32)[:, _PSIPRED_ORDER]
    c, h, e = p[:, 0], p[:, 1], p[:, 2]
    conf = np.float32(2) * p.max(-1) - ((c + h) + e) + p.min(-1)
    return np.minimum((10.0 * conf.astype(np.float64)).astype(np.int64), 9).clip(0, 9)


def horiz_text(seq: str, probs3: np.ndarray) -> str:
    """PSIPRED HFORMAT text of one protein (``probs3`` in ``H E C`` order)."""
    seq = residues(seq)
    n = len(seq)
    pred = "".join(SS3[k] for k in np.asarray(probs3).argmax(-1)) if n else ""
    conf = "".join(str(d) for d in confidence(probs3)) if n else ""
    out = [HORIZ_HEADER]
    for b in range(n // 60 + 1):
        lo, hi = b * 60, min(b * 60 + 60, n)
        out.append(f"\nConf: {conf[lo:hi]}\nPred: {pred[lo:hi]}\n  AA: {seq[lo:hi]}\n      ")
        ruler = []
        i = 0
        while i < 58:
            j = b * 60 + i + 3
            if j > n:
                break
            if j % 10 == 0:
                ruler.append(f"{j:3d}")
                i += 2
            else:
                ruler.append(" ")
            i += 1
        out.append("".join(ruler) + "\n\n")
    return "".join(out)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_filename(rid: str) -> str:
    """A file name for a record ID: characters other than ``A-Z a-z 0-9 . _ -`` become ``_``
    (``sp|P12345|NAME`` → ``sp_P12345_NAME``); a leading dot is replaced too."""
    name = _UNSAFE.sub("_", rid) or "_"
    return "_" + name[1:] if name.startswith(".") else name
