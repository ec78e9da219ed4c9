# Input functions of the soil-moisture stage (settings: SETTINGS.soil_moisture,
# contract: agrifactory.soil_moisture.rules).

if SM_ON:
    planned(
        sm_rules.check_inputs, SM, PLAN.tiles, YEARS, demo=DEMO, demo_dir=SM_DEMO_DIR
    )


def sm_dir(year="{year}"):
    """Folder of the run-level soil-moisture tables and plots of a year."""
    return f"{R}/soil_moisture/{year}"


def sm_models(year="{year}"):
    """Folder of the soil-moisture models of a year."""
    return f"{R}/models/soil_moisture/{year}"


def sm_tile_outputs(tile="{tile}", year="{year}"):
    """The soil-moisture products of a tile-year, by key (sm_rules.TILE_OUTPUTS)."""
    return in_folder(f"{R}/tiles/{tile}/{year}/soil_moisture", sm_rules.TILE_OUTPUTS)


def sm_inputs(wildcards):
    """Reanalysis and driver files of a year (named inputs)."""
    return SM.input_files(int(wildcards.year))


def sm_driver_inputs(wildcards):
    """Driver files of a year (named inputs)."""
    return {k: v for k, v in sm_inputs(wildcards).items() if k.startswith("driver_")}


def sm_station_inputs(wildcards):
    """Reanalysis, drivers, target and source stations of a year, and the downscaler."""
    files = SM.input_files(int(wildcards.year), stations=True)
    model = in_folder(sm_models(wildcards.year), sm_rules.MODEL_OUTPUTS)
    return {**files, "model": model["downscaler"]}


def sm_neighbours(wildcards):
    """Downscaled files of the run's tiles around a tile (the CNN's halo)."""
    return [
        sm_tile_outputs(t, wildcards.year)["downscaled"]
        for t in sm_rules.neighbours(wildcards.tile, TILES)
    ]
