# The run manifest: the SHA-256 of every product file, written after all the others
# (agrifactory.manifest says what is in it). Two runs of one config give equal manifests.


rule manifest:
    input:
        manifest_inputs,
    output:
        f"{R}/manifest.sha256",
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
        results=lambda w, output: os.path.dirname(output[0]),
        exclude=config["manifest"]["exclude"],
    script:
        "../../scripts/manifest.py"
