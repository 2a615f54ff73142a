# Splice stage 3: SpliceAI's top-k accuracy and PR-AUC on the test region (never trained on).


rule splice_evaluate:
    input:
        genome=splice.genome(),
        annotation=splice.annotation(),
        model=splice.model_input,
    output:
        metrics=results("splice", "metrics.json"),
    log:
        logs("splice", "evaluate.log"),
    params:
        model=splice.model(),
        regions=splice.evaluate_args(),
        chr_prefix=wf.chr_prefix_args("splice"),
    threads: config["splice"]["predict"]["threads"]
    shell:
        "TF_NUM_INTRAOP_THREADS={threads} OMP_NUM_THREADS={threads}"
        " genorrn evaluate splice {input.genome:q} {input.annotation:q}"
        " --model {params.model:q} {params.regions} {params.chr_prefix}"
        " -o {output.metrics:q} > {log:q} 2>&1"
