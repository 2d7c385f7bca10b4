"""The README's Chicago import as command-line arguments (shared by the real-data tests)."""
from __future__ import annotations

from pathlib import Path


def chicago_import_args(d: Path, out: Path) -> list[str]:
    """``gridpatrol import`` of the Chicago set in ``d`` (../shared/data/chicago) into ``out``,
    with --name Chicago and --json."""
    return ["import", str(out), "--area", str(d / "community_areas.zip"),
            "--townships", str(d / "community_areas.zip"), "--township-id", "AREA_NUMBE",
            "--stations", str(d / "crime_counts_and_stations" / "Police_Stations.csv"),
            "--station-id", "DISTRICT",
            "--jurisdictions", str(d / "police_districts.zip.geojson"), "--jurisdiction-id", "DIST_NUM",
            "--attributes", str(d / "population" / "chicago_commpop.zip"), "--columns", "POP2010=population",
            "--name", "Chicago", "--json"]
