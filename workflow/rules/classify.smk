# Classification: training set (fan-in), one model per product, region and year,
# per-tile class and probability rasters, accuracy, active learning, transfer.


wildcard_constraints:
    region="|".join(REGIONS),
    product="|".join(CLASS_PRODUCTS),
    source="|".join(REGIONS),
    target="|".join(REGIONS),


rule training_set:
    input:
        unpack(training_set_inputs),
    output:
        **in_folder(f"{R}/training/{{year}}", classify_rules.TRAINING_SET_OUTPUTS),
    log:
        f"{LOGS}/training_set/{{year}}.log",
    benchmark:
        benchmark_file("training_set/{year}")
    conda:
        ENV
    threads: 1
    resources:
        # Measured 525 MB on the demo (500² tiles): the stack is read only in the
        # blocks that hold samples, so memory does not grow with the tile.
        mem_mb=mem_mb(600),
        runtime=runtime_min(10, per_tile=0.2),
    params:
        **SEASON_PARAMS,
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
        regions=TILE_REGION,
        samples=CLASSIFY["samples"],
        min_count=CLASSIFY["min_count"],
        strict_labels=CLASSIFY["strict_labels"],
        seed=config["seed"],
    script:
        "../../scripts/classify_training_set.py"


rule train_cropland:
    input:
        table=rules.training_set.output.table,
    output:
        **train_outputs("cropland"),
    log:
        f"{LOGS}/train_cropland/{{region}}_{{year}}.log",
    benchmark:
        benchmark_file("train_cropland/{region}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(300),
        runtime=runtime_min(30),
    params:
        product="cropland",
        model=CLASSIFY["cropland"],
        min_count=CLASSIFY["min_count"],
        seed=config["seed"],
    script:
        "../../scripts/classify_train.py"


rule train_irrigation:
    input:
        table=rules.training_set.output.table,
    output:
        **train_outputs("irrigation"),
    log:
        f"{LOGS}/train_irrigation/{{region}}_{{year}}.log",
    benchmark:
        benchmark_file("train_irrigation/{region}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(300),
        runtime=runtime_min(30),
    params:
        product="irrigation",
        model=CLASSIFY["irrigation"],
        min_count=CLASSIFY["min_count"],
        seed=config["seed"],
    script:
        "../../scripts/classify_train.py"


rule train_croptype:
    input:
        table=rules.training_set.output.table,
    output:
        **train_outputs("croptype"),
    log:
        f"{LOGS}/train_croptype/{{region}}_{{year}}.log",
    benchmark:
        benchmark_file("train_croptype/{region}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(600),
        runtime=runtime_min(60),
    params:
        product="croptype",
        model=CLASSIFY["croptype"],
        min_count=CLASSIFY["min_count"],
        seed=config["seed"],
    script:
        "../../scripts/classify_train.py"


rule classify:
    input:
        unpack(classify_inputs),
    output:
        **in_folder(tile_dir("classify"), classify_rules.CLASSIFY_OUTPUTS),
    log:
        f"{LOGS}/classify/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("classify/{tile}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        # the crop-type ensemble's 2-D CNN (torch) peaked at 1,325 MB on a demo tile
        mem_mb=mem_mb(1200, per_mpx=600),
        runtime=runtime_min(5, per_mpx=2),
    params:
        **SEASON_PARAMS,
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
        block_rows=CLASSIFY["predict"]["block_rows"],
    script:
        "../../scripts/classify_tile.py"


rule accuracy_design:
    input:
        unpack(class_rasters),
    output:
        **in_folder(accuracy_dir(), classify_rules.ACCURACY_DESIGN_OUTPUTS),
    log:
        f"{LOGS}/accuracy_design/{{product}}_{{year}}.log",
    benchmark:
        benchmark_file("accuracy_design/{product}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(250, per_mpx=20),
        runtime=runtime_min(10, per_tile=0.05),
    params:
        accuracy=CLASSIFY["accuracy"],
        seed=config["seed"],
    script:
        "../../scripts/classify_accuracy_design.py"


rule accuracy_reference_demo:
    input:
        design=rules.accuracy_design.output.design,
        truth=demo_truth_file,
    output:
        f"{accuracy_dir()}/{classify_rules.ACCURACY_REFERENCE}",
    log:
        f"{LOGS}/accuracy_reference_demo/{{product}}_{{year}}.log",
    benchmark:
        benchmark_file("accuracy_reference_demo/{product}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(250),
        runtime=runtime_min(10),
    script:
        "../../scripts/classify_accuracy_reference.py"


rule accuracy:
    input:
        unpack(class_rasters),
        table=rules.training_set.output.table,
        reference=accuracy_reference,
        mapped=rules.accuracy_design.output.mapped,
    output:
        **in_folder(accuracy_dir(), classify_rules.ACCURACY_OUTPUTS),
    log:
        f"{LOGS}/accuracy/{{product}}_{{year}}.log",
    benchmark:
        benchmark_file("accuracy/{product}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(250, per_mpx=20),
        runtime=runtime_min(10, per_tile=0.05),
    params:
        reference_name="demo truth" if DEMO else "classify.accuracy.reference",
    script:
        "../../scripts/classify_accuracy.py"


rule active_learning:
    input:
        unpack(lambda w: class_rasters(w, "_proba")),
        table=rules.training_set.output.table,
    output:
        f"{R}/active_learning/{{year}}/{classify_rules.PROPOSALS}",
    log:
        f"{LOGS}/active_learning/{{product}}_{{year}}.log",
    benchmark:
        benchmark_file("active_learning/{product}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(300, per_mpx=50),
        runtime=runtime_min(10, per_tile=0.05),
    params:
        al=CLASSIFY["active_learning"],
        seed=config["seed"],
    script:
        "../../scripts/classify_active_learning.py"


rule active_learning_simulation:
    input:
        unpack(simulation_inputs),
    output:
        curve=f"{R}/active_learning/{{year}}/{classify_rules.SIMULATION_OUTPUTS['curve']}",
        plot=report(
            f"{R}/active_learning/{{year}}/{classify_rules.SIMULATION_OUTPUTS['plot']}",
            caption="../report/active_learning.rst",
            category="Accuracy",
            subcategory="{year}",
            labels={"product": "{product}", "figure": "active learning"},
        ),
    log:
        f"{LOGS}/active_learning_simulation/{{product}}_{{year}}.log",
    benchmark:
        benchmark_file("active_learning_simulation/{product}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        # Measured 910 MB on the demo.
        mem_mb=mem_mb(1000),
        runtime=runtime_min(30),
    params:
        al=CLASSIFY["active_learning"],
        model=lambda w: CLASSIFY[w.product],
        tile_km=config["grid"]["tile_km"],
        seed=config["seed"],
        grid=GRID,
        block_m=config["integration"]["block_m"],
    script:
        "../../scripts/classify_al_simulation.py"


rule transfer:
    input:
        table=rules.training_set.output.table,
    output:
        f"{R}/transfer/{{year}}/{classify_rules.TRANSFER_TABLE}",
    log:
        f"{LOGS}/transfer/{{source}}_to_{{target}}_{{year}}.log",
    benchmark:
        benchmark_file("transfer/{source}_to_{target}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(550),
        runtime=runtime_min(30),
    params:
        model=CLASSIFY["croptype"],
        augment=CLASSIFY["transfer"]["augment"],
        seed=config["seed"],
    script:
        "../../scripts/classify_transfer.py"


rule leave_one_out:
    input:
        unpack(training_set_inputs),
    output:
        **loo_outputs(),
    log:
        f"{LOGS}/leave_one_out/{{year}}.log",
    benchmark:
        benchmark_file("leave_one_out/{year}")
    conda:
        ENV
    threads: 1
    resources:
        # Measured 525 MB on the demo (500² tiles): the stack is read only in the
        # blocks that hold samples, so memory does not grow with the tile.
        mem_mb=mem_mb(600),
        runtime=runtime_min(10, per_tile=0.2),
    params:
        loo=CLASSIFY["leave_one_out"],
        id_column=CLASSIFY["samples"]["id_column"],
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
        season_start_month=SEASON,
        seed=config["seed"],
    script:
        "../../scripts/classify_leave_one_out.py"
