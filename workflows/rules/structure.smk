# Protein secondary structure: homology filter -> training -> evaluation on CB513, TS115 (and
# the in-distribution NetSurfP-2.0 test) -> prediction of a protein FASTA, scattered over
# structure.predict.shards contiguous blocks of records and merged.
#
# `genorrn data homology-filter` removes every pool chain related to an evaluation set
# (shared 30-mers + MMseqs2; the MMseqs2 search is cached in structure/homology-cache, keyed
# by inputs and parameters) and writes structure/homology/homology.json, which training
# reads with --homology-result (it refuses a result made from other chains).
#
# `genorrn train structure --resume` works in a folder keyed by the data and training
# settings (Structure.train_dir in helpers/structure.py), as splice_train does: Snakemake never deletes
# it, so a killed or timed-out job that runs again continues from its last.keras, and changed
# settings start a fresh folder. The best model is copied out to the declared outputs; the
# log is emptied by Snakemake before each attempt (a resumed run's begins with `resuming
# after epoch N`).


rule structure_homology_filter:
    input:
        data_dir=structure.data_dir(),
    output:
        homology=structure.homology_result(),
    log:
        logs("structure", "homology_filter.log"),
    params:
        outdir=subpath(output.homology, parent=True),
        cache=results("structure", "homology-cache"),
        method=config["structure"]["homology"],
        pools=structure.pool_args(),
    threads: config["structure"]["homology_threads"]
    shell:
        "genorrn data homology-filter -o {params.outdir:q} --data-dir {input.data_dir:q}"
        " --homology {params.method} --cache-dir {params.cache:q} --threads {threads}"
        " {params.pools} > {log:q} 2>&1"


rule structure_train:
    input:
        data_dir=structure.data_dir(),
        homology=structure.homology_result(),
    output:
        model=results("structure", "model", "model.keras"),
        state=results("structure", "model", "state.json"),
        homology=results("structure", "model", "homology.json"),
    log:
        logs("structure", "train.log"),
    params:
        workdir=structure.train_dir(),
        pools=structure.pool_args(),
        args=structure.train_args(),
    threads: config["structure"]["train"]["threads"]
    resources:
        gpu=config["structure"]["train"]["gpus"],
    shell:
        "mkdir -p {params.workdir:q}"
        " && TF_NUM_INTRAOP_THREADS={threads} OMP_NUM_THREADS={threads}"
        " genorrn train structure -o {params.workdir:q} --data-dir {input.data_dir:q}"
        " --homology-result {input.homology:q} --resume {params.pools} {params.args}"
        " >> {log:q} 2>&1"
        " && cp {params.workdir:q}/model.keras {output.model:q}"
        " && cp {params.workdir:q}/state.json {output.state:q}"
        " && cp {params.workdir:q}/homology.json {output.homology:q}"


rule structure_evaluate:
    input:
        data_dir=structure.data_dir(),
        model=structure.model_input,
    output:
        metrics=results("structure", "metrics.json"),
    log:
        logs("structure", "evaluate.log"),
    params:
        model=structure.model(),
        args=structure.evaluate_args(),
    threads: config["structure"]["predict"]["threads"]
    shell:
        "TF_NUM_INTRAOP_THREADS={threads} OMP_NUM_THREADS={threads}"
        " genorrn evaluate structure --model {params.model:q} --data-dir {input.data_dir:q}"
        " {params.args} -o {output.metrics:q} > {log:q} 2>&1"


rule structure_predict_shard:
    input:
        fasta=structure.predict_input(),
        model=structure.model_input,
    output:
        part=structure.output(structure.prediction_part("{shard}")),
    log:
        logs("structure", "predict", f"shard{{shard}}-of-{structure.shards()}.log"),
    wildcard_constraints:
        shard=r"[1-9]\d*",
    params:
        shard=lambda wildcards: f"{wildcards.shard}/{structure.shards()}",
        model=structure.model(),
        format=config["structure"]["predict"]["format"],
        # ss2/horiz: always a folder with one file per protein (the CLI's folder mode)
        mkdir=lambda wildcards, output: structure.mkdir_args(output.part),
        extra=config["structure"]["predict"]["extra"],
    threads: config["structure"]["predict"]["threads"]
    shell:
        "{params.mkdir} TF_NUM_INTRAOP_THREADS={threads} OMP_NUM_THREADS={threads}"
        " genorrn predict structure {input.fasta:q} -o {output.part:q} --shard {params.shard}"
        " --format {params.format} --model {params.model:q} {params.extra} > {log:q} 2>&1"


rule structure_merge_predictions:
    input:
        parts=structure.prediction_parts,
        fasta=structure.predict_input(),
    output:
        prediction=structure.output(structure.prediction()),
    log:
        logs("structure", "merge_predictions.log"),
    params:
        format=config["structure"]["predict"]["format"],
    shell:
        "genorrn data merge-structure {input.parts:q} -o {output.prediction:q}"
        " --fasta {input.fasta:q}"
        " --format {params.format} > {log:q} 2>&1"
