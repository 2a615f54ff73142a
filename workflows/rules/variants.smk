# Variant scoring: one VCF scored in `variants.shards` jobs (`predict variants --shard K/N`,
# contiguous blocks of records, equal counts), joined into one bgzipped, tabix-indexed VCF.
# The scatter needs no index and no sorting; the joined file equals one unsharded run.


rule variants_score_shard:
    input:
        vcf=lambda wildcards: variants.vcf(),
        fasta=variants.genome(),
        annotation=variants.annotation(),
        model=variants.model_input,
    output:
        results("variants", "parts", "{name}.{k}-of-{n}.vcf"),
    log:
        logs("variants", "{name}.{k}-of-{n}.log"),
    wildcard_constraints:
        name=r"[A-Za-z0-9._-]+",
        k=r"\d+",
        n=r"\d+",
    params:
        annotation=variants.annotation_args(),
        model=variants.model(),
        args=variants.args(),
    threads: config["variants"]["threads"]
    shell:
        "TF_NUM_INTRAOP_THREADS={threads} OMP_NUM_THREADS={threads}"
        " genorrn predict variants {input.vcf:q} -R {input.fasta:q} {params.annotation}"
        " -o {output:q} --model {params.model:q} --shard {wildcards.k}/{wildcards.n}"
        " {params.args} > {log:q} 2>&1"


rule variants_merge:
    input:
        variants.part_files,
    output:
        vcf=results("variants", "{name}.vcf.gz"),
        index=results("variants", "{name}.vcf.gz.tbi"),
    log:
        logs("variants", "{name}.merge.log"),
    wildcard_constraints:
        name=r"[A-Za-z0-9._-]+",
    shell:
        "genorrn data merge-variants {input:q} -o {output.vcf:q} > {log:q} 2>&1"
