"""``genorrn predict variants``: a VCF in, the same VCF with SpliceAI-style scores out.

Records are read once (a pipe works), scored in blocks by :class:`genorrn.variants.
VariantScorer` (memory stays flat however many records there are) and written in input
order with every header line kept. The new INFO field holds one
``ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL`` entry per ALT × gene.
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from pathlib import Path

from genorrn import __version__
from genorrn.errors import InputError, exception_line
from genorrn.io.annotation import check_chromosomes, chrom_prefix, prefix_fix, read_annotation
from genorrn.io.fasta import Genome
from genorrn.io.outputs import check_output_path
from genorrn.io.vcf import VcfWriter, add_info_field, open_vcf

_INFO_ID = re.compile(r"[A-Za-z_][0-9A-Za-z_.]*\Z")


def _prefix_hint(missing: set[str], genome_names: list[str]) -> str:
    action = prefix_fix(missing, genome_names)
    if action is None:
        return ""
    return f"the VCF's contigs differ from the FASTA's by a 'chr' prefix: rerun with --chr-prefix {action}"


def score_vcf(input_path: str, reference: str, output: str, *, model: str,
              annotation: str | None = None, distance: int = 50, mask: bool = False,
              chr_prefix: str | None = None, info_id: str = "genorrn", strict: bool = False,
              tile: int = 4096, context: int | None = None, batch_size: int | None = None,
              shard: tuple[int, int] | None = None, progress: bool = True,
              calibrated: bool = True, min_gap: int | None = None) -> dict:  # fmt: skip
    """Score ``input_path`` (``-``: stdin) into ``output`` (``-``: stdout); the summary dict.

    ``shard=(k, n)``: only the k-th of n contiguous blocks of records (equal counts, in file
    order; the records are counted first, so the input must be a file). The parts of
    ``1/n … n/n``, joined in order by :func:`merge_parts`, are exactly the unsharded output.
    """
    from tqdm import tqdm

    from genorrn.delta import FIELDS, REASONS
    from genorrn.pretrained import load_model
    from genorrn.variants import VariantScorer

    if not _INFO_ID.match(info_id):
        raise InputError(f"--info-id {info_id!r}: not a valid VCF INFO ID (letters, digits, _ and .)")
    if output != "-":
        check_output_path(output)
    genome = Genome(reference)
    genes = None
    if annotation is not None:
        genes = read_annotation(annotation)
        if not set(genes.chroms) & set(genome.names):
            check_chromosomes(genome.names, genes, reference)  # raises, with a prefix hint
    if mask and genes is None:
        raise InputError("--mask needs an annotation (-A GTF|GFF3): masking refers to "
                         "annotated splice sites")  # fmt: skip
    keep = range(0, 2**63)
    if shard is not None:
        if input_path == "-":
            raise InputError("--shard needs a VCF file, not standard input (its records are "
                             "counted first)")  # fmt: skip
        k, n = shard
        with open_vcf(input_path) as counting:
            total = sum(1 for _ in _records(counting, input_path))
        keep = range((k - 1) * total // n, k * total // n)
    vcf = open_vcf(input_path)  # before the model: a bad VCF fails fast
    try:
        loaded = load_model(model, task="splice")
        scorer = VariantScorer(loaded, genome, genes, distance=distance, mask=mask,
                               context=context, tile=tile, batch_size=batch_size,
                               calibrated=calibrated, min_gap=min_gap)  # fmt: skip
    except BaseException:
        vcf.close()
        raise
    shown = "standard input" if input_path == "-" else input_path
    description = (f"genorrn {__version__} splice variant effect, model {loaded.name} (sha256 "
                   f"{loaded.weights_sha256}), distance {distance}, "
                   f"{'masked' if mask else 'unmasked'}, "
                   f"{'calibrated probabilities, ' if scorer.transform is not None else ''}"
                   f"{'genes from ' + Path(annotation).name if annotation else 'both strands, SYMBOL .:+ or .:-'}. "
                   f"Format: {FIELDS}")  # fmt: skip
    add_info_field(vcf.header, info_id, description)
    writer = VcfWriter(output, vcf.header)
    counts: Counter = Counter()
    missing: set[str] = set()
    start = time.perf_counter()
    bar = tqdm(unit=" records", desc="predict variants", file=sys.stderr,
               disable=None if progress else True)  # fmt: skip
    try:
        block: list = []
        for index, record in enumerate(_records(vcf, shown)):
            if index not in keep:
                if index >= keep.stop:
                    break
                continue
            block.append(record)
            if len(block) >= scorer.block:
                _score_block(block, scorer, writer, info_id, chr_prefix, strict, shown, counts, missing)
                bar.update(len(block))
                block = []
        if block:
            _score_block(block, scorer, writer, info_id, chr_prefix, strict, shown, counts, missing)
            bar.update(len(block))
        bar.close()
        writer.close()
    except BaseException:
        bar.close()
        writer.abort()
        raise
    finally:
        vcf.close()
    seconds = time.perf_counter() - start
    summary = {
        "records": sum(counts.values()),
        "scored": counts["scored"],
        "not_scored": {reason: counts[reason] for reason in REASONS if counts[reason]},
        "seconds": round(seconds, 1),
        "records_per_s": round(sum(counts.values()) / max(seconds, 1e-9), 1),
    }
    hint = _prefix_hint(missing, genome.names)
    if hint:
        summary["hint"] = hint
    if writer.index_warning:
        summary["warning"] = writer.index_warning
    return summary


def _records(vcf, shown: str):
    """Records of ``vcf``, with htslib's parse errors as one-line InputErrors."""
    iterator = iter(vcf)
    n = 0
    while True:
        try:
            record = next(iterator)
        except StopIteration:
            return
        except (OSError, ValueError) as exc:
            detail = exception_line(exc, "malformed")
            raise InputError(f"{shown}: record {n + 1}: cannot parse VCF record ({detail})") from None
        n += 1
        yield record


def _score_block(records, scorer, writer, info_id, chr_prefix, strict, shown, counts, missing):
    from genorrn.delta import Variant

    variants = [Variant(chrom_prefix(r.chrom, chr_prefix), r.pos - 1, r.ref or "",
                        tuple(r.alts or ())) for r in records]  # fmt: skip
    for record, variant, result in zip(records, variants, scorer.score(variants)):
        if result.reason is None:
            record.info[info_id] = tuple(e.format() for e in result.entries)
            counts["scored"] += 1
        else:
            if strict and result.reason == "ref_mismatch":
                found = _genome_bases(scorer.genome, variant)
                raise InputError(f"{shown}: record {record.chrom}:{record.pos}: REF {record.ref!r} "
                                 f"does not match the genome ({found}) (--strict)")  # fmt: skip
            if result.reason == "contig_not_in_fasta":
                missing.add(record.chrom)
            counts[result.reason] += 1
        writer.write(record)


def _genome_bases(genome: Genome, variant) -> str:
    length = genome.lengths[variant.chrom]
    end = variant.pos + len(variant.ref)
    if end > length:
        return f"the contig has {length} bases"
    return repr(genome.fetch(variant.chrom, variant.pos, end))


def merge_parts(parts: list[str], output: str) -> dict:
    """Join the outputs of ``predict variants --shard 1/N … N/N`` (in that order) into one VCF
    (``.vcf.gz``: bgzipped with a tabix index when the records are sorted). Every part must
    have the same header; writes atomically; returns counts."""
    if not parts:
        raise InputError("no parts to merge")
    if output != "-":
        check_output_path(output)
    first = open_vcf(parts[0])
    header = str(first.header)
    writer = VcfWriter(output, first.header)
    records = 0
    try:
        for i, part in enumerate(parts):
            vcf = first if i == 0 else open_vcf(part)
            try:
                if str(vcf.header) != header:
                    raise InputError(f"{part}: header differs from {parts[0]}'s (not parts of "
                                     "one predict variants run?)")  # fmt: skip
                for record in _records(vcf, part):
                    if i:
                        record.translate(first.header)
                    writer.write(record)
                    records += 1
            finally:
                if i:
                    vcf.close()
        writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        first.close()
    summary = {"parts": len(parts), "records": records}
    if writer.index_warning:
        summary["warning"] = writer.index_warning
    return summary
