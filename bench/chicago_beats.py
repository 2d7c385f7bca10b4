"""Chicago's 275 police beats as units (EPSG:32616), with 2016 crimes and 2010 population
apportioned from the 77 community areas by area (for the districts-without-stations benchmark)."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.layers import read_layer
from geo.overlay import apportion_by_area

CRS = "EPSG:32616"


def chicago_beats(data: Path) -> gpd.GeoDataFrame:
    """Beats with ``cell_id`` (BEAT_NUM), ``district`` (DISTRICT), ``incidents`` and
    ``population``."""
    chi = data / "chicago"
    areas = read_layer(chi / "community_areas.zip").to_crs(CRS)
    areas["ca"] = pd.to_numeric(areas["AREA_NUMBE"]).astype(int)
    crimes = pd.read_csv(chi / "crime_counts_and_stations" / "YearlyAreaCrime.csv")
    c2016 = crimes[crimes["year"] == 2016].groupby("community_area")["count"].sum()
    areas["crimes2016"] = areas["ca"].map(c2016).fillna(0.0)
    pop = read_layer(chi / "population" / "chicago_commpop.zip").to_crs(CRS)
    beats = gpd.read_file(chi / "police_beats.zip.geojson").to_crs(CRS)
    beats = gpd.GeoDataFrame({"cell_id": beats["BEAT_NUM"].astype(str).to_numpy(),
                              "district": beats["DISTRICT"].astype(str).to_numpy()},
                             geometry=beats.geometry.make_valid().to_numpy(), crs=CRS)
    beats = beats.dissolve("cell_id", as_index=False)[["cell_id", "district", "geometry"]]
    beats["incidents"] = apportion_by_area(beats, areas, ["crimes2016"])["crimes2016"].to_numpy()
    beats["population"] = apportion_by_area(beats, pop, ["POP2010"])["POP2010"].to_numpy()
    return beats
