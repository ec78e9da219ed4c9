# agrifactory: agricultural data products for China, tile by tile.
# Run the demo with `make demo`; see README.md and docs/architecture.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


wildcard_constraints:
    tile=r"h\d{3,4}v\d{3,4}",
    year=r"\d{4}",


include: "workflow/rules/common/plan.smk"
include: "workflow/rules/common/demo.smk"
include: "workflow/rules/common/inputs_tiles.smk"
include: "workflow/rules/common/inputs_classify.smk"
include: "workflow/rules/common/inputs_products.smk"
include: "workflow/rules/common/inputs_soil.smk"
include: "workflow/rules/common/inputs_integration.smk"
include: "workflow/rules/common/inputs_change.smk"
include: "workflow/rules/common/inputs_adapt.smk"
include: "workflow/rules/common/targets.smk"
include: "workflow/rules/common/resources.smk"
include: "workflow/rules/tiles.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/acquire.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/quality.smk"
include: "workflow/rules/fusion.smk"
include: "workflow/rules/cube.smk"
include: "workflow/rules/timeseries.smk"
include: "workflow/rules/classify.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/soil_moisture.smk"
include: "workflow/rules/integration.smk"
include: "workflow/rules/change.smk"
include: "workflow/rules/adapt.smk"
include: "workflow/rules/manifest.smk"


rule all:
    default_target: True
    input:
        # The manifest's inputs are every product of the run (product_targets).
        rules.manifest.output,


include: "workflow/rules/cluster.smk"
