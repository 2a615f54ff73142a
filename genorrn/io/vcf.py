"""VCF input and output through pysam (``VariantFile``): plain, gzip or bgzip; ``-`` for pipes.

* :func:`open_vcf` opens a VCF (or BCF) for streaming, or standard input for ``-``, and turns
  htslib's failures into one-line :class:`~genorrn.errors.InputError` messages. A plain-gzip
  (not bgzip) VCF, which htslib cannot read, is decompressed to a temporary file first.
* :func:`add_info_field` declares an INFO field (``Number=.``, ``Type=String``) in a header.
* :class:`VcfWriter` writes records to standard output (``-``), a plain ``.vcf``, or a bgzipped
  ``.vcf.gz`` with a tabix index. Files are written under a temporary name and renamed at the
  end, so a failed run leaves no partial output.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from genorrn.errors import InputError, OutputError, exception_line
from genorrn.io.fasta import compression
from genorrn.io.outputs import check_output_path
from genorrn.io.streams import display_name, is_stream


def open_vcf(path: str | os.PathLike):
    """Open a VCF/BCF for reading (``-``: standard input; a pipe such as ``<(bcftools view
    …)`` is read once, as standard input is); one-line errors for bad files."""
    import pysam

    name = str(path)
    stream = is_stream(name)
    if not stream:
        source = Path(name)
        if not source.exists():
            raise InputError(f"{source}: VCF file not found")
        if source.is_dir():
            raise InputError(f"{source}: is a folder, expected a VCF file")
        if source.stat().st_size == 0:
            raise InputError(f"{source}: VCF file is empty")
    shown = display_name(name)
    plain_gzip = None
    if not stream and compression(name) == "gzip":
        plain_gzip = _gunzip_to_temp(Path(name))  # htslib reads only BGZF compressed VCFs
        name = str(plain_gzip)
    saved = os.dup(2)  # htslib prints its own complaints to stderr before raising
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                # a named pipe goes in as an open descriptor: given its path, htslib tries to
                # seek a plain-gzip stream (as it does not for standard input)
                source = os.open(name, os.O_RDONLY) if stream and name != "-" else name
                vcf = pysam.VariantFile(source, "r")
            except (OSError, ValueError, NotImplementedError) as exc:
                detail = exception_line(exc, "unreadable")
                if "truncated" in detail:  # htslib: no BGZF end-of-file block
                    raise InputError(f"{shown}: truncated bgzip file ({detail}): download or "
                                     "copy it again") from None  # fmt: skip
                raise InputError(f"{shown}: not a readable VCF file ({detail}); a VCF needs "
                                 "'##fileformat=VCF…' and a '#CHROM' header line") from None
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        if plain_gzip is not None:
            plain_gzip.unlink()  # htslib keeps its open handle; nothing is left on disk
    if vcf.format not in ("VCF", "BCF"):
        vcf.close()
        raise InputError(f"{shown}: not a VCF file (found {vcf.format})")
    return vcf


def _gunzip_to_temp(path: Path) -> Path:
    """Decompress a plain-gzip file to a temporary file (read once, streamed)."""
    import gzip
    import shutil
    import tempfile

    handle, tmp = tempfile.mkstemp(prefix="genorrn-vcf-", suffix=".vcf")
    try:
        with os.fdopen(handle, "wb") as out, gzip.open(path, "rb") as source:
            shutil.copyfileobj(source, out, 1 << 20)
    except (OSError, EOFError) as exc:
        os.unlink(tmp)
        raise InputError(f"{path}: cannot read compressed file ({exc})") from None
    return Path(tmp)


def add_info_field(header, info_id: str, description: str) -> None:
    """Declare INFO/``info_id`` (Number=., Type=String); refuse one the input already has."""
    if info_id in header.info:
        raise InputError(f"the input VCF already has an INFO/{info_id} field; remove it "
                         "(bcftools annotate -x INFO/…) or choose another --info-id")  # fmt: skip
    description = description.replace('"', "'")
    header.add_line(f'##INFO=<ID={info_id},Number=.,Type=String,Description="{description}">')
    if "END" not in header.info:
        # pysam writes INFO/END into every record with a symbolic ALT (the end its REF implies)
        # and needs the header line for it before the first record is written
        header.add_line('##INFO=<ID=END,Number=1,Type=Integer,Description="Stop position of the '
                        'interval">')  # fmt: skip


def output_mode(path: str) -> str:
    """pysam write mode for an output name: bgzip for ``.gz``/``.bgz``, BCF for ``.bcf``."""
    if path == "-":
        return "w"
    if path.endswith((".vcf.gz", ".gz", ".bgz")):
        return "wz"
    if path.endswith(".bcf"):
        return "wb"
    return "w"


class VcfWriter:
    """Write records with ``header``; ``close()`` renames the finished file into place (and
    tabix-indexes a ``.vcf.gz``); ``abort()`` removes the temporary file."""

    def __init__(self, path: str, header):
        import pysam

        self.path = path
        self.mode = output_mode(path)
        self.index_warning = ""
        if path == "-":
            self.tmp = None
            self.handle = pysam.VariantFile("-", self.mode, header=header)
            return
        target = check_output_path(path)
        # hidden name beside the target, ending as the target does (tabix goes by the suffix)
        suffix = "".join(target.suffixes[-2:]) if target.name.endswith(".vcf.gz") else target.suffix
        self.tmp = target.with_name(f".{target.name.removesuffix(suffix)}.tmp-{os.getpid()}{suffix}")
        try:
            self.handle = pysam.VariantFile(str(self.tmp), self.mode, header=header)
        except OSError as exc:
            raise OutputError(f"{path}: cannot write ({exc})") from None

    def write(self, record) -> None:
        self.handle.write(record)

    def close(self) -> None:
        """Finish the file: flush, index (``.gz``), rename into place."""
        import pysam

        self.handle.close()
        if self.tmp is None:
            sys.stdout.flush()
            return
        target = Path(self.path)
        index = None
        if self.mode == "wz":
            try:
                pysam.tabix_index(str(self.tmp), preset="vcf", force=True)
                index = Path(f"{self.tmp}.tbi")
            except (OSError, pysam.utils.SamtoolsError) as exc:
                detail = exception_line(exc, "failed")
                self.index_warning = (f"{target}: written without a tabix index ({detail}; is "
                                      "the input sorted? bcftools sort, then tabix -p vcf)")
        os.replace(self.tmp, target)
        stale = Path(f"{target}.tbi")
        if index is not None:
            os.replace(index, stale)
        elif stale.exists():
            stale.unlink()  # an index of an older file of that name would be wrong now

    def abort(self) -> None:
        try:
            self.handle.close()
        except Exception:  # noqa: BLE001 - best effort while failing
            pass
        if self.tmp is not None:
            for leftover in (self.tmp, Path(f"{self.tmp}.tbi")):
                if leftover.exists():
                    leftover.unlink()
