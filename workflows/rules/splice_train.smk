# Splice stage 2: one training job on all shards (the GPU job on a cluster).
#
# `genorrn train splice --resume` works in a folder keyed by the data and training settings
# (Splice.train_dir in helpers/splice.py). Snakemake never deletes that folder, so a killed or
# timed-out job that runs again continues from its last.keras, and changed settings start a
# fresh folder instead of resuming a different model. The best model is copied out of it to
# the declared output. Snakemake empties the log before each attempt: a resumed run's log
# begins with `resuming after epoch N`.


rule splice_train:
    input:
        shards=splice.shard_files,
    output:
        model=results("splice", "model.keras"),
        state=results("splice", "train_state.json"),
    log:
        logs("splice", "train.log"),
    params:
        shards=splice.shard_dirs,
        workdir=splice.train_dir(),
        args=splice.train_args(),
    threads: config["splice"]["train"]["threads"]
    resources:
        gpu=config["splice"]["train"]["gpus"],
    shell:
        "mkdir -p {params.workdir:q}"
        " && TF_NUM_INTRAOP_THREADS={threads} OMP_NUM_THREADS={threads}"
        " genorrn train splice {params.shards:q} -o {params.workdir:q} --resume {params.args}"
        " >> {log:q} 2>&1"
        " && cp {params.workdir:q}/model.keras {output.model:q}"
        " && cp {params.workdir:q}/state.json {output.state:q}"
