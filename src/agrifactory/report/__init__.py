"""Report pieces: quicklook maps, comparison charts, tables, provenance, STAC and VRT mosaics.

The modules write the files that ``snakemake --report`` gathers (captions in
``workflow/report/``) and the catalog a GIS opens. They read the stages' output
files and tables; they import no stage module.

``palettes``
    Colours of every class legend in :mod:`agrifactory.legend`.
``maps``
    Quicklook PNGs of class products (legend) and continuous products (colour
    bar), with a scale bar, read at reduced resolution from a COG or a VRT mosaic.
``charts``
    Mapped against official area per unit: a bar chart and a scatter plot
    with the 1:1 line and the ±10 % band.
``tables``
    HTML and CSV summary tables.
``headline``
    The report's summary page: headline figures of the run beside their goals.
``accuracy``
    The accuracy page of a class product, one row per class.
``names``
    Labels of administrative units for charts (English names without a CJK font).
``provenance``
    The run's provenance: config, package versions, input inventory summary.
``stac``
    A STAC catalog (pystac) of every product, its items linked to their inputs.
``vrt``
    GDAL VRT mosaics of a product's tiles (written as XML), which QGIS opens.
``rules``
    The contract of the report and manifest rules: settings (config sections
    ``report`` and ``manifest``), output names, one function per rule.
"""
