# Splice stage 4: genome-wide prediction scattered over chromosome chunks
# (splice.predict.scatter_size positions each), merged into one bigWig per class and strand + one sites BED.
# The chunk is in the file name (1-based START-END), so a chunk job needs no genome index.


rule splice_predict_chunk:
    input:
        fasta=splice.predict_input(),
        model=splice.model_input,
    output:
        multiext(
            results("splice", "predict", "parts", "{chrom}", "{start}-{end}"),
            ".acceptor.plus.bw",
            ".acceptor.minus.bw",
            ".donor.plus.bw",
            ".donor.minus.bw",
            ".sites.bed",
        ),
    log:
        logs("splice", "predict", "{chrom}", "{start}-{end}.log"),
    wildcard_constraints:
        chrom=r"[^/]+",
        start=r"\d+",
        end=r"\d+",
    params:
        prefix=lambda wildcards, output: output[0].removesuffix(".acceptor.plus.bw"),
        model=splice.model(),
        threshold=config["splice"]["predict"]["threshold"],
        extra=config["splice"]["predict"]["extra"],
    threads: config["splice"]["predict"]["threads"]
    shell:
        "TF_NUM_INTRAOP_THREADS={threads} OMP_NUM_THREADS={threads}"
        " genorrn predict splice {input.fasta:q}"
        " --region {wildcards.chrom:q}:{wildcards.start}-{wildcards.end}"
        " -o {params.prefix:q} --model {params.model:q} --format bigwig"
        " --threshold {params.threshold} {params.extra} > {log:q} 2>&1"


rule splice_merge_predictions:
    input:
        splice.predict_part_files,
    output:
        multiext(
            splice.prediction_prefix(),
            ".acceptor.plus.bw",
            ".acceptor.minus.bw",
            ".donor.plus.bw",
            ".donor.minus.bw",
            ".sites.bed",
        ),
    log:
        logs("splice", "merge_predictions.log"),
    params:
        parts=splice.predict_part_prefixes,
        prefix=lambda wildcards, output: output[0].removesuffix(".acceptor.plus.bw"),
        zoom=config["splice"]["predict"].get("zoom_levels", 0),
    shell:
        "genorrn data merge-splice {params.parts:q} -o {params.prefix:q}"
        " --zoom-levels {params.zoom} > {log:q} 2>&1"
