"""Gene annotation input: GTF and GFF3 (NCBI RefSeq style) → genes and transcripts with exons.

All coordinates are 0-based half-open (GTF/GFF3 columns 4-5 are 1-based inclusive: ``start-1,
end``). Transcripts keep their exons sorted by genomic start whatever the strand; splice sites
follow the definition in ``shared/data/README.md``:

* donor = last nucleotide of the upstream exon, acceptor = first nucleotide of the downstream
  exon, in transcript orientation, for every transcript with at least 2 exons (any biotype);
* exons that touch or overlap (no intron between them) make no splice site.

A transcript is identified by its ``transcript_id`` attribute (GTF, and NCBI GFF3), falling back
to the GFF3 ``ID``. GFF3 exons whose parent is a gene record (no RNA feature, as NCBI writes
some pseudogenes) are not transcripts; NCBI's GTF omits them too.

(About 340 lines: the GTF and GFF3 readers share one line parser, one ``Annotation`` model and
its chromosome-name checks; split apart they would import each other's internals.)
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from urllib.parse import unquote

from genorrn.errors import InputError
from genorrn.io.fasta import check_readable, open_text
from genorrn.io.streams import READ_ERRORS, refuse_stream, unreadable


@dataclass(frozen=True)
class Transcript:
    id: str
    gene_id: str
    chrom: str
    strand: str
    exons: tuple[tuple[int, int], ...]  # sorted by start, 0-based half-open
    biotype: str = ""

    @property
    def start(self) -> int:
        return self.exons[0][0]

    @property
    def end(self) -> int:
        return max(e for _, e in self.exons)

    @property
    def introns(self) -> list[tuple[int, int]]:
        """Introns as 0-based half-open genomic intervals (between non-touching exons)."""
        return [
            (left_end, right_start)
            for (_, left_end), (right_start, _) in zip(self.exons, self.exons[1:])
            if right_start > left_end
        ]

    def splice_sites(self) -> tuple[list[int], list[int]]:
        """``(acceptors, donors)`` as 0-based genomic positions on this transcript's strand."""
        acceptors, donors = [], []
        for left_end, right_start in self.introns:
            if self.strand == "+":
                donors.append(left_end - 1)
                acceptors.append(right_start)
            else:
                donors.append(right_start)
                acceptors.append(left_end - 1)
        return acceptors, donors


@dataclass
class Gene:
    id: str
    chrom: str
    strand: str
    start: int
    end: int
    transcripts: list[Transcript] = field(default_factory=list)
    name: str = ""  # gene symbol (GFF3 Name/gene, GTF gene_name/gene); "" when none is given

    @property
    def symbol(self) -> str:
        """The gene's symbol, else its ID."""
        return self.name or self.id


@dataclass
class Annotation:
    path: Path
    genes: dict[str, Gene]
    transcripts: dict[str, Transcript]

    @property
    def chroms(self) -> list[str]:
        return sorted({g.chrom for g in self.genes.values()})

    def multi_exon_transcripts(self) -> list[Transcript]:
        return [t for t in self.transcripts.values() if len(t.introns) > 0]

    def splice_sites(self) -> dict[tuple[str, str], dict[str, set[int]]]:
        """Unique splice-site positions per ``(chrom, strand)``: ``{"acceptor": …, "donor": …}``."""
        sites: dict[tuple[str, str], dict[str, set[int]]] = defaultdict(
            lambda: {"acceptor": set(), "donor": set()}
        )
        for tx in self.transcripts.values():
            acceptors, donors = tx.splice_sites()
            sites[tx.chrom, tx.strand]["acceptor"].update(acceptors)
            sites[tx.chrom, tx.strand]["donor"].update(donors)
        return dict(sites)

    def with_chrom_prefix(self, action: str) -> Annotation:
        """A copy with ``chr`` added to (``"add"``) or stripped from (``"strip"``) every name."""

        def rename(name: str) -> str:
            return chrom_prefix(name, action)

        transcripts = {
            k: Transcript(t.id, t.gene_id, rename(t.chrom), t.strand, t.exons, t.biotype)
            for k, t in self.transcripts.items()
        }
        genes = {}
        for k, g in self.genes.items():
            genes[k] = Gene(g.id, rename(g.chrom), g.strand, g.start, g.end, name=g.name)
            genes[k].transcripts = [transcripts[t.id] for t in g.transcripts]
        return Annotation(self.path, genes, transcripts)


def chrom_prefix(name: str, action: str | None) -> str:
    """``name`` with ``chr`` added (``"add"``) or stripped (``"strip"``); as is for ``None``."""
    if action == "add":
        return name if name.startswith("chr") else "chr" + name
    if action == "strip":
        return name[3:] if name.startswith("chr") else name
    return name


def prefix_fix(names, available) -> str | None:
    """``"add"`` or ``"strip"`` when adding/stripping a ``chr`` prefix makes every name in
    ``names`` one of ``available``; else ``None``."""
    available = set(available)
    for action in ("add", "strip"):
        if names and all(chrom_prefix(n, action) in available for n in names):
            return action
    return None


def _format_of_name(name: str) -> str | None:
    name = name.lower().removesuffix(".gz")
    if name.endswith(".gtf"):
        return "gtf"
    if name.endswith((".gff3", ".gff")):
        return "gff3"
    return None


def _format_of_lines(handle) -> tuple[str, Iterator[str]]:
    """``("gtf"|"gff3", the lines read so far followed by the rest)``: the attribute column's
    style decides (a pipe is read once, so the lines looked at are kept)."""
    seen: list[str] = []
    fmt = "gtf"
    for line in handle:
        seen.append(line)
        if line.startswith("##gff-version 3"):
            fmt = "gff3"
            break
        if line.startswith("#") or not line.strip():
            continue
        attrs = line.rstrip("\n").split("\t")[-1]
        fmt = "gff3" if "=" in attrs.split(";")[0] else "gtf"
        break
    return fmt, chain(seen, handle)


def detect_format(path: str | os.PathLike) -> str:
    """``"gtf"`` or ``"gff3"`` from the file name, else from the attribute column's style."""
    fmt = _format_of_name(str(path))
    if fmt is None:
        with open_text(path) as handle:
            fmt, _ = _format_of_lines(handle)
    return fmt


def _gtf_attributes(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        attrs.setdefault(key, value.strip().strip('"'))  # first occurrence wins
    return attrs


def _gff3_attributes(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for item in text.split(";"):
        if "=" in item:
            key, _, value = item.partition("=")
            attrs[key.strip()] = value.strip()
    return attrs


_GENE_TYPES = {"gene", "pseudogene", "ncRNA_gene", "transposable_element_gene"}


def _strip_ncbi(feature_id: str, prefix: str) -> str:
    """NCBI GFF3 IDs are ``rna-<transcript_id>`` / ``gene-<gene_id>``: keep the GTF-style name."""
    return feature_id.removeprefix(prefix)


def _gff3_gene_of(feature_id: str, features: dict[str, tuple[str, dict[str, str]]]) -> str:
    """Walk up ``Parent`` links (e.g. miRNA → primary_transcript → gene) to the gene record."""
    current, seen = feature_id, set()
    while current in features and current not in seen:
        seen.add(current)
        ftype, attrs = features[current]
        if ftype in _GENE_TYPES:
            return current
        parent = attrs.get("Parent", "").split(",")[0]
        if not parent:
            break
        current = parent
    return current


def read_annotation(path: str | os.PathLike, fmt: str | None = None) -> Annotation:
    """Parse a GTF or GFF3 file (plain or gzip) into genes and transcripts, reading it once.

    Raises :class:`InputError` for a missing/empty file, a pipe or ``-`` (commands record the
    annotation's checksum or name, which need the file), a truncated compressed file, malformed
    lines (with the line number), and a file without any exon line.
    """
    refuse_stream(path, "annotation", "give a GTF or GFF3 file (plain or gzip); commands "
                  "record its name and checksum, which a pipe does not have")  # fmt: skip
    path = check_readable(path, "annotation file")
    if fmt not in (None, "gtf", "gff3"):
        raise InputError(f"{path}: unknown annotation format {fmt!r} (expected gtf or gff3)")
    try:
        with open_text(path) as handle:
            return _parse(handle, path, fmt or _format_of_name(str(path)))
    except READ_ERRORS as exc:
        raise unreadable(path, exc) from None


def _parse(handle, path: Path, fmt: str | None) -> Annotation:
    lines: Iterator[str] = handle
    if fmt is None:
        fmt, lines = _format_of_lines(handle)
    exons: dict[str, list[tuple[int, int]]] = defaultdict(list)
    tx_info: dict[str, tuple[str, str, str]] = {}  # key -> chrom, strand, gene key
    tx_name: dict[str, str] = {}  # key -> transcript id reported
    tx_biotype: dict[str, str] = {}
    gene_extent: dict[str, tuple[str, str, int, int]] = {}
    gene_name: dict[str, str] = {}  # gene key -> symbol
    gff_features: dict[str, tuple[str, dict[str, str]]] = {}  # ID -> type, attrs (GFF3)
    gff_exon_parents: list[tuple[str, str, str, int, int]] = []
    n_exon_lines = 0
    for lineno, line in enumerate(lines, 1):
        if line.startswith("#") or not line.strip():
            continue
        cols = line.rstrip("\n").split("\t")
        if len(cols) != 9:
            raise InputError(
                f"{path}: line {lineno}: expected 9 tab-separated columns, found {len(cols)}"
                f" (not a {fmt.upper()} file?)"
            )
        chrom, _, ftype, start_s, end_s, _, strand, _, attr_text = cols
        try:
            start, end = int(start_s) - 1, int(end_s)
        except ValueError:
            raise InputError(f"{path}: line {lineno}: start/end are not integers") from None
        if start < 0 or end <= start:
            raise InputError(f"{path}: line {lineno}: invalid interval {start_s}-{end_s}")
        if ftype == "exon" and strand not in "+-":
            raise InputError(f"{path}: line {lineno}: exon without a strand ({strand!r})")
        if fmt == "gtf":
            attrs = _gtf_attributes(attr_text)
            gene_id = attrs.get("gene_id", "")
            if gene_id and (attrs.get("gene_name") or attrs.get("gene")):
                gene_name.setdefault(gene_id, attrs.get("gene_name") or attrs["gene"])
            if ftype == "gene" and gene_id:
                gene_extent[gene_id] = (chrom, strand, start, end)
            elif ftype in ("transcript", "exon") and attrs.get("transcript_id"):
                key = attrs["transcript_id"]
                tx_info.setdefault(key, (chrom, strand, gene_id or key))
                tx_name[key] = key
                if ftype == "transcript":
                    tx_biotype[key] = attrs.get("transcript_biotype", attrs.get("gbkey", ""))
                else:
                    n_exon_lines += 1
                    exons[key].append((start, end))
        else:
            attrs = {k: unquote(v) for k, v in _gff3_attributes(attr_text).items()}
            fid = attrs.get("ID")
            if fid:
                gff_features[fid] = (ftype, attrs)
                if ftype in _GENE_TYPES:
                    gene_extent[_strip_ncbi(fid, "gene-")] = (chrom, strand, start, end)
                    if attrs.get("Name") or attrs.get("gene"):
                        gene_name[_strip_ncbi(fid, "gene-")] = attrs.get("Name") or attrs["gene"]
            if ftype == "exon":
                n_exon_lines += 1
                for parent in attrs.get("Parent", "").split(","):
                    if parent:
                        gff_exon_parents.append((parent, chrom, strand, start, end))
    if fmt == "gff3":
        for parent, chrom, strand, start, end in gff_exon_parents:
            ptype, pattrs = gff_features.get(parent, ("", {}))
            if ptype in _GENE_TYPES:
                continue  # exon directly under a gene: no transcript (see module doc)
            key = parent
            gene_key = _gff3_gene_of(parent, gff_features)
            tx_info.setdefault(key, (chrom, strand, _strip_ncbi(gene_key, "gene-")))
            tx_name[key] = pattrs.get("transcript_id") or _strip_ncbi(parent, "rna-")
            tx_biotype[key] = ptype
            exons[key].append((start, end))
    if n_exon_lines == 0:
        raise InputError(f"{path}: no exon lines found: cannot derive transcripts or splice sites")

    transcripts: dict[str, Transcript] = {}
    genes: dict[str, Gene] = {}
    for key, tx_exons in exons.items():
        chrom, strand, gene_key = tx_info[key]
        tx = Transcript(
            id=tx_name[key],
            gene_id=gene_key,
            chrom=chrom,
            strand=strand,
            exons=tuple(sorted(set(tx_exons))),
            biotype=tx_biotype.get(key, ""),
        )
        if tx.id in transcripts:
            raise InputError(f"{path}: transcript {tx.id!r} is defined twice")
        transcripts[tx.id] = tx
        gene = genes.get(gene_key)
        if gene is None:
            g_chrom, g_strand, g_start, g_end = gene_extent.get(
                gene_key, (chrom, strand, tx.start, tx.end)
            )
            gene = genes[gene_key] = Gene(gene_key, g_chrom, g_strand, g_start, g_end)
        gene.start, gene.end = min(gene.start, tx.start), max(gene.end, tx.end)
        gene.transcripts.append(tx)
    for gene_key, (chrom, strand, start, end) in gene_extent.items():
        if gene_key not in genes and strand in "+-":
            genes[gene_key] = Gene(gene_key, chrom, strand, start, end)
    for gene_key, gene in genes.items():
        gene.name = gene_name.get(gene_key, "")
    return Annotation(path, genes, transcripts)


def check_chromosomes(
    genome_names: list[str] | set[str],
    annotation: Annotation,
    genome_path: str | os.PathLike,
) -> None:
    """Fail clearly when the annotation names chromosomes that the FASTA does not have.

    When adding or stripping a ``chr`` prefix would make every name match, the message says so.
    """
    genome_names = set(genome_names)
    wanted = set(annotation.chroms)
    missing = sorted(wanted - genome_names)
    if not missing:
        return
    shown = ", ".join(repr(m) for m in missing[:3]) + (" …" if len(missing) > 3 else "")
    message = (
        f"{annotation.path}: {len(missing)} chromosome name(s) not in {genome_path}: {shown}"
        f" (FASTA has {', '.join(repr(n) for n in sorted(genome_names)[:3])}"
        f"{' …' if len(genome_names) > 3 else ''})"
    )
    action = prefix_fix(wanted, genome_names)
    if action:
        message += f"; the names differ only by a 'chr' prefix: rerun with --chr-prefix {action}"
    raise InputError(message)
