"""Chicago redistricting instance from ../shared/data: 500 m cells, 2016 crime workload, 22 stations."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.grid import cells_from_area
from geo.layers import read_layer
from geo.overlay import apportion_by_area, label_by_largest_overlap

CRS = "EPSG:32616"


def chicago_instance(data: Path, *, size_m: float = 500.0) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(cells, stations) in EPSG:32616. Cells carry population (2010, apportioned from community
    areas), incidents (2016 crimes per community area, apportioned by area) and station_id
    (the current district by largest overlap; district 31, the airport, has no station)."""
    chi = data / "chicago"
    areas = read_layer(chi / "community_areas.zip").to_crs(CRS)
    areas["ca"] = pd.to_numeric(areas["AREA_NUMBE"]).astype(int)
    pop = read_layer(chi / "population" / "chicago_commpop.zip").to_crs(CRS)
    crimes = pd.read_csv(chi / "crime_counts_and_stations" / "YearlyAreaCrime.csv")
    c2016 = crimes[crimes["year"] == 2016].groupby("community_area")["count"].sum()
    areas["crimes2016"] = areas["ca"].map(c2016).fillna(0.0)
    cells = cells_from_area(areas, size_m=size_m)
    cells["population"] = apportion_by_area(cells, pop, ["POP2010"])["POP2010"].to_numpy()
    cells["incidents"] = apportion_by_area(cells, areas, ["crimes2016"])["crimes2016"].to_numpy()
    districts = gpd.read_file(chi / "police_districts.zip.geojson").to_crs(CRS)
    districts["station_id"] = pd.to_numeric(districts["DIST_NUM"]).astype(int).astype(str)
    cells["station_id"] = label_by_largest_overlap(cells, districts, "station_id").to_numpy()
    st = pd.read_csv(chi / "crime_counts_and_stations" / "Police_Stations.csv")
    st = st[pd.to_numeric(st["DISTRICT"], errors="coerce").notna()]
    stations = gpd.GeoDataFrame({"station_id": st["DISTRICT"].astype(int).astype(str).to_numpy(),
                                 "name": st["DISTRICT_NAME"].to_numpy()},
                                geometry=gpd.points_from_xy(st["LONGITUDE"], st["LATITUDE"]),
                                crs="EPSG:4326").to_crs(CRS)
    return cells, stations
