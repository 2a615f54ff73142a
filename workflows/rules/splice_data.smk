# Splice stage 1: labelled windows (`genorrn data splice`), scattered.
#
# Part i holds the i-th 1/N of every split region (Splice.preprocess_parts in helpers/splice.py): each part
# has train, validation and test windows, and the parts together hold every window of one
# full build exactly once (a window belongs to the part its start lies in). Each part is its
# own shard folder, so a killed run keeps the finished parts.


rule splice_preprocess:
    input:
        genome=splice.genome(),
        annotation=splice.annotation(),
    output:
        train=results("splice", "shards", "{part}", "train.npz"),
        validation=results("splice", "shards", "{part}", "validation.npz"),
        test=results("splice", "shards", "{part}", "test.npz"),
        manifest=results("splice", "shards", "{part}", "manifest.json"),
    log:
        logs("splice", "preprocess", "{part}.log"),
    wildcard_constraints:
        part=r"part\d+",
    params:
        outdir=subpath(output.manifest, parent=True),
        splits=splice.split_args(),
        only=splice.part_args,
        core=config["splice"]["preprocess"]["core"],
        context=config["splice"]["preprocess"]["context"],
        chr_prefix=wf.chr_prefix_args("splice"),
    threads: 1
    shell:
        "genorrn data splice {input.genome:q} {input.annotation:q} -o {params.outdir:q}"
        " {params.splits} {params.only} --core {params.core} --context {params.context}"
        " {params.chr_prefix} > {log:q} 2>&1"
