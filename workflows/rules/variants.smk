# Variant scoring: one VCF scored in `variants.shards` jobs (`predict variants --shard K/N`,
# contiguous blocks of records, equal counts), joined into one bgzipped, tabix-indexed VCF.
# The scatter needs no index and no sorting; the joined file equals one unsharded run.


def variants_vcf():
    vcf = data_path(config["variants"].get("vcf"))
    if not vcf:
        raise ValueError("config variants.vcf: set the VCF to score (e.g. --config "
                         "variants='{vcf: my.vcf.gz}' or a --configfile)")
    return vcf


def variants_genome():
    return data_path(config["variants"].get("genome")) or splice_genome()


def variants_annotation():
    """`-A` file: config variants.annotation, else splice.annotation; `none` scores both
    strands without genes."""
    value = config["variants"].get("annotation")
    if value == "none":
        return []
    return [data_path(value) if value else splice_annotation()]


def variants_model():
    return config["variants"].get("model") or splice_model()


def variants_model_input(wildcards=None):
    return [] if config["variants"].get("model") else splice_model_input()


def variants_args():
    cfg = config["variants"]
    args = [f"-D {int(cfg['distance'])}", f"--info-id {shlex.quote(cfg['info_id'])}"]
    if cfg.get("mask"):
        args.append("-M")
    if cfg.get("chr_prefix"):
        args.append(f"--chr-prefix {cfg['chr_prefix']}")
    return " ".join(args + [cfg.get("extra", "")])


def variants_part_files(wildcards=None):
    n = int(config["variants"]["shards"])
    return [results("variants", "parts", f"{config['variants']['name']}.{k}-of-{n}.vcf")
            for k in range(1, n + 1)]


def variants_output():
    return results("variants", f"{config['variants']['name']}.vcf.gz")


def variants_targets():
    return [variants_output(), variants_output() + ".tbi"]


rule variants_score_shard:
    input:
        vcf=lambda wildcards: variants_vcf(),
        fasta=variants_genome(),
        annotation=variants_annotation(),
        model=variants_model_input,
    output:
        results("variants", "parts", "{name}.{k}-of-{n}.vcf"),
    log:
        logs("variants", "{name}.{k}-of-{n}.log"),
    wildcard_constraints:
        name=r"[A-Za-z0-9._-]+",
        k=r"\d+",
        n=r"\d+",
    params:
        annotation=" ".join(f"-A {shlex.quote(path)}" for path in variants_annotation()),
        model=variants_model(),
        args=variants_args(),
    threads: config["variants"]["threads"]
    shell:
        "TF_NUM_INTRAOP_THREADS={threads} OMP_NUM_THREADS={threads}"
        " genorrn predict variants {input.vcf:q} -R {input.fasta:q} {params.annotation}"
        " -o {output:q} --model {params.model:q} --shard {wildcards.k}/{wildcards.n}"
        " {params.args} > {log:q} 2>&1"


rule variants_merge:
    input:
        variants_part_files,
    output:
        vcf=results("variants", "{name}.vcf.gz"),
        index=results("variants", "{name}.vcf.gz.tbi"),
    log:
        logs("variants", "{name}.merge.log"),
    wildcard_constraints:
        name=r"[A-Za-z0-9._-]+",
    shell:
        "genorrn data merge-variants {input:q} -o {output.vcf:q} > {log:q} 2>&1"
