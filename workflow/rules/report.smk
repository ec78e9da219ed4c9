# Report pieces: mosaics, quicklook maps, QA summaries, provenance, STAC catalog.
# `snakemake --report results/report.html` gathers everything flagged with report().


# Small files written from tables and paths: not worth a cluster job.
localrules:
    mosaic,
    overview_map,
    accuracy_table,
    model_comparison,
    headline,
    provenance,
    stac,


rule mosaic:
    input:
        lambda w: mosaic_sources(w.product, w.year),
    output:
        mosaic_file(),
    log:
        f"{LOGS}/mosaic/{{product}}_{{year}}.log",
    benchmark:
        benchmark_file("mosaic/{product}_{year}")
    wildcard_constraints:
        product="|".join(MOSAIC_PRODUCTS),
    conda:
        ENV
    script:
        "../../scripts/mosaic.py"


rule overview_map:
    input:
        tiles=rules.tiles.output[0],
        provinces=rules.boundaries.output.provinces,
    output:
        map=report(
            OVERVIEW["map"],
            caption="../report/overview_map.rst",
            category="About this run",
            labels={"page": "overview map"},
        ),
        provinces=OVERVIEW["provinces"],
    log:
        f"{LOGS}/overview_map.log",
    benchmark:
        benchmark_file("overview_map")
    conda:
        ENV
    params:
        tile_km=config["grid"]["tile_km"],
    script:
        "../../scripts/overview_map.py"


rule quicklook_classes:
    input:
        **MAP_CONTEXT,
        mosaic=mosaic_file(),
    output:
        report(
            quicklook_file(),
            caption="../report/quicklook_classes.rst",
            category="Maps",
            subcategory="{year}",
            labels={"product": "{product}", "year": "{year}"},
        ),
    log:
        f"{LOGS}/quicklook/{{product}}_{{year}}.log",
    benchmark:
        benchmark_file("quicklook/{product}_{year}")
    wildcard_constraints:
        product="|".join(report_rules.CLASS_MAPS),
    conda:
        ENV
    threads: 1
    resources:
        # Measured 349-405 MB on the demo.
        mem_mb=mem_mb(450),
        runtime=runtime_min(10, per_tile=0.05),
    script:
        "../../scripts/quicklook_classes.py"


rule quicklook_ndvi:
    input:
        **MAP_CONTEXT,
        mosaic=mosaic_file(),
    output:
        report(
            quicklook_file(),
            caption="../report/quicklook_continuous.rst",
            category="Maps",
            subcategory="{year}",
            labels={"product": "{product}", "year": "{year}"},
        ),
    log:
        f"{LOGS}/quicklook/{{product}}_{{year}}.log",
    benchmark:
        benchmark_file("quicklook/{product}_{year}")
    wildcard_constraints:
        product="|".join(report_rules.NDVI_MAPS),
    conda:
        ENV
    threads: 1
    resources:
        # Measured 774 MB on the demo (2026-12-07).
        mem_mb=mem_mb(850),
        runtime=runtime_min(10, per_tile=0.05),
    params:
        ndvi_map_date=config["report"]["ndvi_map_date"],
    script:
        "../../scripts/quicklook_ndvi.py"


rule accuracy_table:
    input:
        report=rules.accuracy.output.report,
        areas=rules.accuracy.output.areas,
        confusion_validation=rules.accuracy.output.confusion_validation,
        confusion_stratified=rules.accuracy.output.confusion_stratified,
    output:
        table=report(
            f"{R}/report/{{year}}/accuracy_{{product}}.html",
            caption="../report/accuracy_table.rst",
            category="Accuracy",
            subcategory="{year}",
            labels={"product": "{product}", "what": "accuracy per class"},
        ),
        confusion=report(
            f"{R}/report/{{year}}/confusion_{{product}}.png",
            caption="../report/confusion_matrix.rst",
            category="Accuracy",
            subcategory="{year}",
            labels={"product": "{product}", "what": "confusion matrices"},
        ),
    log:
        f"{LOGS}/accuracy_table/{{product}}_{{year}}.log",
    benchmark:
        benchmark_file("accuracy_table/{product}_{year}")
    wildcard_constraints:
        product="|".join(CLASS_PRODUCTS),
    conda:
        ENV
    script:
        "../../scripts/accuracy_table.py"


rule model_comparison:
    input:
        unpack(validation_reports),
    output:
        table=f"{R}/report/{{year}}/{report_rules.MODEL_COMPARISON['table']}",
        page=report(
            f"{R}/report/{{year}}/{report_rules.MODEL_COMPARISON['page']}",
            caption="../report/model_comparison.rst",
            category="Accuracy",
            subcategory="{year}",
            labels={"product": "croptype", "what": "model comparison"},
        ),
    log:
        f"{LOGS}/model_comparison/{{year}}.log",
    benchmark:
        benchmark_file("model_comparison/{year}")
    conda:
        ENV
    params:
        mapped=CLASSIFY["croptype"]["kind"],
    script:
        "../../scripts/model_comparison.py"


rule qa_summaries:
    input:
        fusion_qa=per_tile(rules.fuse.output.qa),
        fusion_validation=per_tile(rules.fuse.output.validation),
        fusion_validation_flags=per_tile(rules.fuse.output.validation_flags),
        hants_qa=per_tile(rules.smooth.output.qa),
    output:
        fusion=report(
            QA_SUMMARIES["fusion"],
            caption="../report/qa_summary.rst",
            category="Quality",
            labels={"stage": "fusion"},
        ),
        validation=report(
            QA_SUMMARIES["validation"],
            caption="../report/qa_summary.rst",
            category="Quality",
            labels={"stage": "fusion held-out validation"},
        ),
        validation_flags=report(
            QA_SUMMARIES["validation_flags"],
            caption="../report/qa_summary.rst",
            category="Quality",
            labels={"stage": "fusion held-out validation per flag"},
        ),
        hants=report(
            QA_SUMMARIES["hants"],
            caption="../report/qa_summary.rst",
            category="Quality",
            labels={"stage": "HANTS"},
        ),
        fusion_table=QA_SUMMARIES["fusion_table"],
        validation_table=QA_SUMMARIES["validation_table"],
        validation_flags_table=QA_SUMMARIES["validation_flags_table"],
        hants_table=QA_SUMMARIES["hants_table"],
    log:
        f"{LOGS}/qa_summaries.log",
    benchmark:
        benchmark_file("qa_summaries")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(250),
        runtime=runtime_min(10, per_tile=0.02),
    params:
        tile_years=[f"{t}_{y}" for t in TILES for y in YEARS],
    script:
        "../../scripts/qa_summaries.py"


rule diagnostics:
    input:
        unpack(diagnostics_inputs),
    output:
        **diagnostics_outputs(),
    log:
        f"{LOGS}/diagnostics/{{year}}.log",
    benchmark:
        benchmark_file("diagnostics/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(400),
        runtime=runtime_min(10),
    params:
        tiles=TILES,
        seed=config["seed"],
    script:
        "../../scripts/diagnostics.py"


rule headline:
    input:
        unpack(headline_inputs),
    output:
        table=HEADLINE["table"],
        html=report(
            HEADLINE["html"],
            caption="../report/headline.rst",
            category="About this run",
            labels={"page": "headline figures"},
        ),
    log:
        f"{LOGS}/headline.log",
    benchmark:
        benchmark_file("headline")
    conda:
        ENV
    params:
        years=headline_years(),
        report=config["report"],
        demo=DEMO,
        n_tiles=len(TILES),
        tile_km=config["grid"]["tile_km"],
    script:
        "../../scripts/headline.py"


rule provenance:
    input:
        unpack(provenance_inputs),
    output:
        yaml=PROVENANCE["yaml"],
        html=report(
            PROVENANCE["html"],
            caption="../report/provenance.rst",
            category="Provenance",
            labels={"page": "configuration, versions and inputs"},
        ),
    log:
        f"{LOGS}/provenance.log",
    benchmark:
        benchmark_file("provenance")
    conda:
        ENV
    params:
        config=config,
        tiles=len(TILES),
    script:
        "../../scripts/provenance.py"


rule stac:
    input:
        products=stac_products(),
        mosaics=mosaic_targets(),
    output:
        directory(f"{R}/{report_rules.STAC}"),
    log:
        f"{LOGS}/stac.log",
    benchmark:
        benchmark_file("stac")
    conda:
        ENV
    params:
        tiles=TILES,
        years=YEARS,
    script:
        "../../scripts/stac.py"


rule sm_report:
    input:
        **MAP_CONTEXT,
        evaluation=in_folder(sm_dir(), sm_rules.YEAR_OUTPUTS)["evaluation"],
        calibrated=lambda w: [sm_tile_outputs(t, w.year)["calibrated"] for t in TILES],
    output:
        table=report(
            f"{R}/report/{{year}}/soil_moisture_evaluation.html",
            caption="../report/sm_evaluation.rst",
            category="Soil moisture",
            subcategory="{year}",
            labels={"table": "held-out stations"},
        ),
        map=report(
            f"{R}/report/{{year}}/map_soil_moisture.png",
            caption="../report/sm_map.rst",
            category="Maps",
            subcategory="{year}",
            labels={"product": "soil moisture", "year": "{year}"},
        ),
    log:
        f"{LOGS}/sm_report/{{year}}.log",
    benchmark:
        benchmark_file("sm_report/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(500),
        runtime=runtime_min(10),
    params:
        month=config["report"]["soil_moisture_month"],
    script:
        "../../scripts/sm_report.py"
