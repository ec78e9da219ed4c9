# The run manifest: the SHA-256 of every declared product file, written after all the
# others (agrifactory.manifest says what is in it). Two runs of one config give equal
# manifests, whether or not `snakemake --report` wrote results/report.html.


rule manifest:
    input:
        product_targets(),
    output:
        f"{R}/{report_rules.MANIFEST}",
    log:
        f"{LOGS}/manifest.log",
    benchmark:
        benchmark_file("manifest")
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=mem_mb(200),
        runtime=runtime_min(5, per_tile=1),
    params:
        exclude=config["manifest"]["exclude"],
        declared=lambda w: declared_outputs(),
    script:
        "../../scripts/manifest.py"
