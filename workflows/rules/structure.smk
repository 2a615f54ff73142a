# Protein secondary structure: homology filter + training -> evaluation on CB513, TS115 (and
# the in-distribution NetSurfP-2.0 test) -> prediction of a protein FASTA.
#
# `genorrn train structure` runs the homology filter itself (shared 30-mers + MMseqs2 against
# every evaluation set; cached in structure/homology-cache, keyed by inputs and parameters)
# before it trains; model/homology.json records what was removed from each pool. genorrn has
# no separate command for the filter yet, so it is not a rule of its own (README.md, "Known
# limitations"), and `train structure` has no --resume: a killed structure training restarts.


rule structure_train:
    input:
        data_dir=structure_data_dir(),
    output:
        model=results("structure", "model", "model.keras"),
        state=results("structure", "model", "state.json"),
        homology=results("structure", "model", "homology.json"),
    log:
        logs("structure", "train.log"),
    params:
        outdir=subpath(output.model, parent=True),
        cache=results("structure", "homology-cache"),
        args=structure_train_args(),
    threads: config["structure"]["train"]["threads"]
    resources:
        gpu=config["structure"]["train"]["gpus"],
    shell:
        "TF_NUM_INTRAOP_THREADS={threads} OMP_NUM_THREADS={threads}"
        " genorrn train structure -o {params.outdir:q} --data-dir {input.data_dir:q}"
        " --cache-dir {params.cache:q} {params.args} > {log:q} 2>&1"


rule structure_evaluate:
    input:
        data_dir=structure_data_dir(),
        model=structure_model_input,
    output:
        metrics=results("structure", "metrics.json"),
    log:
        logs("structure", "evaluate.log"),
    params:
        model=structure_model(),
        args=structure_evaluate_args(),
    threads: config["structure"]["predict"]["threads"]
    shell:
        "TF_NUM_INTRAOP_THREADS={threads} OMP_NUM_THREADS={threads}"
        " genorrn evaluate structure --model {params.model:q} --data-dir {input.data_dir:q}"
        " {params.args} -o {output.metrics:q} > {log:q} 2>&1"


rule structure_predict:
    input:
        fasta=data_path(config["structure"]["predict"]["input"]),
        model=structure_model_input,
    output:
        prediction=(
            structure_prediction()
            if config["structure"]["predict"]["format"] == "csv"
            else directory(structure_prediction())
        ),
    log:
        logs("structure", "predict.log"),
    params:
        model=structure_model(),
        format=config["structure"]["predict"]["format"],
        # ss2/horiz: always a folder with one file per protein (the CLI's folder mode)
        mkdir=lambda wildcards, output: (
            "" if config["structure"]["predict"]["format"] == "csv" else f"mkdir -p {output.prediction} &&"
        ),
        extra=config["structure"]["predict"]["extra"],
    threads: config["structure"]["predict"]["threads"]
    shell:
        "{params.mkdir} TF_NUM_INTRAOP_THREADS={threads} OMP_NUM_THREADS={threads}"
        " genorrn predict structure {input.fasta:q} -o {output.prediction:q}"
        " --format {params.format} --model {params.model:q} {params.extra} > {log:q} 2>&1"
