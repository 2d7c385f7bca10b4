"""Incident aggregation and the boundary audit on dask-geopandas partitions, beyond one process.

The in-memory functions (``geo.hot_times.hot_times``, ``geo.hotspots.cell_risk``,
``geo.overlay.intersection_table``) read every incident, or every polygon pair, at once. The
functions here give the same results computed partition by partition on a Dask cluster, so that
the memory a worker needs is bounded by the partition size, not the input size:

- ``cell_hour_counts``: incidents per cell and hour of the week (cells x 168, Monday 00:00 first),
  counted by start time in the cell that holds the point (the rule of ``cell_risk``: a point on a
  shared border counts once, in the first cell the spatial index finds);
- ``cell_risk``: the hotspots input of one time slot (``n_incidents``, ``weighted``, ``risk`` per
  cell), as ``geo.hotspots.cell_risk``;
- ``hot_times`` / ``workspace_hot_times``: the hour-of-week profile and its peaks, as
  ``geo.hot_times.workspace_hot_times`` (aoristic spreading included);
- ``intersection_table`` / ``crosswalk_areas``: the pieces of two polygon layers for the boundary
  audit; the layer with more polygons is cut into partitions along the Hilbert curve (the order of
  dask-geopandas' ``spatial_shuffle``), the other is broadcast to every worker.

Incidents come as a file read a partition at a time (a GeoPackage layer, such as a workspace's
``incidents``, through pyogrio's ``skip_features``/``max_features``; or a GeoParquet file a row
range at a time), as a dask-geopandas frame, or as an in-memory frame. The small layers (cells,
jurisdictions, townships, the coarser audit layer) are broadcast. Each partition returns a few
small arrays that are added up in a tree, so no worker ever holds more than one partition of
incidents plus those arrays.

Where it runs is a ``Scale``: ``engine`` ``"memory"`` (the in-memory functions), ``"dask"`` or
``"auto"`` (dask above ``threshold_rows`` incidents or when a ``scheduler`` is named);
``scheduler`` ``"local"`` (default: a ``distributed.LocalCluster`` of ``workers`` processes on
this machine), a scheduler address (``tcp://10.0.0.5:8786``: a real cluster whose workers have
GridPatrol installed and can read the incident file at the same path), or ``"synchronous"`` /
``"threads"`` (dask in this process, for tests and debugging). Counts are exact; weighted sums and
aoristic shares equal the in-memory ones up to the order of floating-point additions.

Times are read as the in-memory functions read them (``pandas.to_datetime`` of the stored text,
local wall-clock time as ``geo.times`` writes it); the text format is guessed once from the first
stored time and used for every partition, so that every partition parses as the whole column does.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.errors import InputError

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

__all__ = ["ENGINES", "IN_PROCESS_SCHEDULERS", "Scale", "IncidentSource", "CellHourCounts",
           "incident_source", "read_chunk", "incident_partitions", "cell_hour_counts", "cell_risk",
           "hot_times", "workspace_hot_times", "workspace_engine", "workspace_incidents", "intersection_table",
           "crosswalk_areas", "hilbert_partitions"]

log = logging.getLogger(__name__)

ENGINES = ("auto", "memory", "dask", "postgis")
IN_PROCESS_SCHEDULERS = ("synchronous", "threads")
DEFAULT_PARTITION_ROWS = 250_000
AUTO_DASK_ROWS = 2_000_000  # "auto" runs dask above this many incidents
AUTO_DASK_POLYGONS = 500_000  # ... and above this many polygons in the audit's finer layer
PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")


# --- where it runs --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scale:
    """Where and how an aggregation runs.

    engine : ``"auto"`` (dask above ``threshold_rows`` rows or when ``scheduler`` is given, else
        memory), ``"memory"``, ``"dask"`` or ``"postgis"`` (SQL inside a PostGIS workspace).
    scheduler : None or ``"local"`` (a local cluster of ``workers`` processes), a Dask scheduler
        address (``tcp://host:8786``), or ``"synchronous"`` / ``"threads"`` (in this process).
    workers : processes of the local cluster (one thread each).
    partition_rows : incidents per partition: what one worker holds at a time.
    threshold_rows : the input size above which ``"auto"`` chooses dask.
    timeout_s : seconds to wait for a scheduler address to answer.
    """

    engine: str = "auto"
    scheduler: str | None = None
    workers: int = 2
    partition_rows: int = DEFAULT_PARTITION_ROWS
    threshold_rows: int = AUTO_DASK_ROWS
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise InputError(f"`engine` was {self.engine!r} but is expected to be one of "
                             f"{list(ENGINES)}")
        s = self.scheduler
        if s is not None and (not isinstance(s, str) or not (
                s in ("local", *IN_PROCESS_SCHEDULERS) or "://" in s)):
            raise InputError(f"`scheduler` was {s!r} but is expected as a Dask scheduler address "
                             "such as tcp://10.0.0.5:8786, or 'local' (a cluster of `workers` "
                             "processes on this machine)")
        for name, value in (("workers", self.workers), ("partition_rows", self.partition_rows),
                            ("threshold_rows", self.threshold_rows)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"`{name}` was {value!r} but is expected to be a whole number >= 1")
        if not (self.timeout_s > 0):
            raise InputError(f"`timeout_s` was {self.timeout_s!r} but must be > 0 seconds")

    def engine_for(self, rows: int, *, threshold: int | None = None) -> str:
        """The engine to use for an input of ``rows`` rows (``"memory"`` or ``"dask"``;
        ``"postgis"`` only when asked for)."""
        if self.engine != "auto":
            return self.engine
        if self.scheduler is not None:
            return "dask"
        return "dask" if rows > (self.threshold_rows if threshold is None else threshold) else "memory"


def _reachable(address: str, timeout_s: float) -> None:
    """Fail fast (OSError) when a ``tcp://HOST:PORT`` address refuses connections; Dask's own
    connect retries until its timeout."""
    import socket
    from urllib.parse import urlsplit
    parts = urlsplit(address)
    if parts.scheme not in ("tcp", "tls") or not parts.hostname:
        return
    with socket.create_connection((parts.hostname, parts.port or 8786), timeout=min(timeout_s, 5.0)):
        pass


class _Runner:
    """A Dask scheduler for one computation: a local cluster started and stopped around it, a
    scheduler reached at an address, or dask in this process."""

    def __init__(self, scale: Scale):
        self.scale = scale
        self.client: Client | None = None
        self.cluster: LocalCluster | None = None

    def __enter__(self) -> "_Runner":
        s = self.scale.scheduler or "local"
        if s in IN_PROCESS_SCHEDULERS:
            return self
        from distributed import Client
        if s == "local":
            from distributed import LocalCluster
            self.cluster = LocalCluster(n_workers=int(self.scale.workers), threads_per_worker=1,
                                        processes=True, dashboard_address=None,
                                        silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
            return self
        try:
            _reachable(s, self.scale.timeout_s)
            self.client = Client(s, timeout=f"{self.scale.timeout_s}s")
        except (OSError, ValueError, TypeError) as exc:  # refused, timed out, not an address
            reason = " ".join(str(exc).split())[:200]
            raise InputError(f"`scheduler` was {s!r} but no Dask scheduler answered there "
                             f"({reason}); start one with `dask "
                             "scheduler` and workers with `dask worker ADDRESS`, or use 'local' "
                             "for a cluster on this machine") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def put(self, obj: Any) -> Any:
        """``obj`` as an argument every task can read, sent once (broadcast to the workers)."""
        import dask
        if self.client is not None:
            return self.client.scatter(obj, broadcast=True, hash=False)
        return dask.delayed(obj, traverse=False)

    def put_many(self, objs: list) -> list:
        """Each of ``objs`` (partitions) sent once to some worker."""
        import dask
        if self.client is not None:
            return self.client.scatter(objs, hash=False)
        return [dask.delayed(o, traverse=False) for o in objs]

    def compute(self, obj: Any) -> Any:
        import dask
        if self.client is not None:
            return self.client.gather(self.client.compute(obj))
        return dask.compute(obj, scheduler=self.scale.scheduler)[0]


def _tree(items: list, combine: Callable) -> Any:
    """Add up delayed partial results pairwise (a tree: few partials alive at once)."""
    import dask
    if not items:
        raise InputError("there is nothing to add up: the input has no partitions")
    join = dask.delayed(combine, pure=True)
    while len(items) > 1:
        items = [join(items[i], items[i + 1]) if i + 1 < len(items) else items[i]
                 for i in range(0, len(items), 2)]
    return items[0]


# --- incidents on disk, a partition at a time -----------------------------------------------------

@dataclass(frozen=True)
class IncidentSource:
    """Incident points in a file, read a row range at a time.

    path : a GeoPackage (or any vector file pyogrio reads) or a GeoParquet file (WKB geometry).
    layer : the layer of a GeoPackage (None for Parquet).
    kind : ``"ogr"`` or ``"parquet"``.
    rows : the number of incidents.
    crs : their CRS (None when the file has none).
    columns : the attribute columns (without the geometry).
    """

    path: Path
    layer: str | None
    kind: str
    rows: int
    crs: CRS | None = field(repr=False)
    columns: tuple[str, ...] = ()
    geometry: str = "geometry"  # the geometry column of a Parquet file


def _geo_metadata(schema) -> dict:
    raw = (schema.metadata or {}).get(b"geo")
    return json.loads(raw) if raw else {}


def incident_source(path: str | Path, *, layer: str | None = None) -> IncidentSource:
    """Open incidents on disk for reading in partitions: ``file.gpkg`` (layer ``incidents`` when
    it has one, else its only layer), ``file.gpkg:layer`` or a GeoParquet ``file.parquet``.

    Raises InputError naming the file when it is missing, not readable or has no such layer.
    """
    from geo.layers import split_layer_spec
    p, spec_layer = split_layer_spec(path)
    layer = layer or spec_layer
    if not p.exists():
        raise InputError(f"{p}: no such incident file; give a GeoPackage (ws.gpkg or "
                         "ws.gpkg:incidents) or a GeoParquet file")
    if p.suffix.lower() in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq
        try:
            pf = pq.ParquetFile(p)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input
            raise InputError(f"{p.name}: not a Parquet file ({exc})") from None
        schema = pf.schema_arrow
        geo = _geo_metadata(schema)
        geom = geo.get("primary_column") or ("geometry" if "geometry" in schema.names else None)
        if geom is None or geom not in schema.names:
            raise InputError(f"{p.name}: a Parquet file without a geometry column; write it as "
                             "GeoParquet (GeoDataFrame.to_parquet)")
        meta = geo.get("columns", {}).get(geom, {})
        if meta.get("encoding", "WKB").upper() != "WKB":
            raise InputError(f"{p.name}: geometry encoded as {meta.get('encoding')!r}; only WKB "
                             "GeoParquet is read in partitions (GeoDataFrame.to_parquet writes it)")
        crs_spec = meta.get("crs", "OGC:CRS84") if "crs" in meta or geo else None
        crs = CRS.from_user_input(crs_spec) if crs_spec is not None else None
        return IncidentSource(path=p, layer=None, kind="parquet", rows=int(pf.metadata.num_rows),
                              crs=crs, columns=tuple(n for n in schema.names if n != geom),
                              geometry=geom)
    import pyogrio
    try:
        listed = [str(n) for n, _ in pyogrio.list_layers(p)]
        if layer is None:
            layer = "incidents" if "incidents" in listed else (listed[0] if len(listed) == 1 else None)
        if layer is None:
            raise InputError(f"{p.name} has several layers ({', '.join(listed)}) and none is "
                             "called incidents; name one as file.gpkg:layer")
        if layer not in listed:
            raise InputError(f"{p.name} has no layer {layer!r} (it has: {', '.join(listed)})")
        info = pyogrio.read_info(p, layer=layer, force_feature_count=True)
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(f"{p.name}: not a readable vector file ({exc})") from None
    crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None
    return IncidentSource(path=p, layer=layer, kind="ogr", rows=int(info["features"]), crs=crs,
                          columns=tuple(str(c) for c in info["fields"]))


def read_chunk(source: IncidentSource, start: int, stop: int, columns: list[str] | None = None,
               *, geometry: bool = True) -> gpd.GeoDataFrame | pd.DataFrame:
    """Rows ``start``..``stop - 1`` of ``source`` (only ``columns``, default all) with the
    geometry (a DataFrame without it when ``geometry`` is False); the index is the row position
    in the file. The only reader of incident files here: a task holds exactly the rows it is
    given."""
    start, stop = int(start), int(min(stop, source.rows))
    cols = list(source.columns) if columns is None else [c for c in columns if c in source.columns]
    n = max(stop - start, 0)
    if source.kind == "parquet":
        import pyarrow.parquet as pq
        pf = pq.ParquetFile(source.path)
        sizes = [pf.metadata.row_group(i).num_rows for i in range(pf.metadata.num_row_groups)]
        ends = np.cumsum(sizes)
        begins = ends - np.asarray(sizes)
        groups = [i for i in range(len(sizes)) if begins[i] < stop and ends[i] > start] if n else []
        wanted = cols + ([source.geometry] if geometry else [])
        if groups:
            table = pf.read_row_groups(groups, columns=wanted)
            table = table.slice(start - int(begins[groups[0]]), n)
        else:
            table = pf.schema_arrow.empty_table().select(wanted)
        if not geometry:
            out = table.to_pandas()
            out.index = pd.RangeIndex(start, start + len(out))
            return out
        geoms = shapely.from_wkb(table.column(source.geometry).to_numpy(zero_copy_only=False))
        frame = table.drop_columns([source.geometry]).to_pandas()
        out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=source.crs)
    else:
        import pyogrio
        if n == 0:  # pyogrio reads everything for max_features=0
            out = pyogrio.read_dataframe(source.path, layer=source.layer, columns=cols,
                                         max_features=1, read_geometry=geometry).iloc[:0]
        else:
            out = pyogrio.read_dataframe(source.path, layer=source.layer, columns=cols,
                                         skip_features=start, max_features=n,
                                         read_geometry=geometry)
    out.index = pd.RangeIndex(start, start + len(out))
    return out


def _bounds(rows: int, partition_rows: int) -> list[tuple[int, int]]:
    return [(a, min(a + partition_rows, rows)) for a in range(0, rows, partition_rows)] or [(0, 0)]


def _as_input(incidents: Any) -> Any:
    """A path becomes an ``IncidentSource``; sources and frames pass through."""
    if isinstance(incidents, (str, Path)):
        return incident_source(incidents)
    return incidents


def _rows(incidents: Any) -> int:
    if isinstance(incidents, IncidentSource):
        return incidents.rows
    if isinstance(incidents, pd.DataFrame):
        return len(incidents)
    return AUTO_DASK_ROWS * 1000  # a dask frame: its size is not known without reading it


def _columns(incidents: Any) -> list[str]:
    if isinstance(incidents, IncidentSource):
        return list(incidents.columns)
    return [c for c in incidents.columns if c != incidents.geometry.name]


def _crs(incidents: Any) -> CRS | None:
    crs = incidents.crs
    return None if crs is None else CRS(crs)


def incident_partitions(incidents: IncidentSource | str | Path | gpd.GeoDataFrame, *,
                        partition_rows: int = DEFAULT_PARTITION_ROWS,
                        columns: list[str] | None = None):
    """The incidents as a ``dask_geopandas.GeoDataFrame`` of partitions of at most
    ``partition_rows`` rows (only ``columns`` and the geometry). A file is read when each
    partition's task runs (``read_chunk``), never whole; a dask frame passes through."""
    import dask
    import dask.dataframe as dd
    import dask_geopandas
    incidents = _as_input(incidents)
    if isinstance(incidents, dask_geopandas.GeoDataFrame):
        return incidents if columns is None else incidents[[c for c in columns if c in incidents.columns]
                                                            + [incidents.geometry.name]]
    if isinstance(incidents, gpd.GeoDataFrame):
        frame = incidents if columns is None else incidents[[c for c in columns if c in incidents.columns]
                                                            + [incidents.geometry.name]]
        parts = [frame.iloc[a:b] for a, b in _bounds(len(frame), partition_rows)]
        return dd.from_delayed([dask.delayed(p, traverse=False) for p in parts], meta=frame.iloc[:0],
                               verify_meta=False)
    if not isinstance(incidents, IncidentSource):
        raise InputError(f"`incidents` was a {type(incidents).__name__}; give a file path, an "
                         "IncidentSource, a GeoDataFrame or a dask-geopandas GeoDataFrame")
    reader = dask.delayed(read_chunk, pure=True)
    meta = read_chunk(incidents, 0, 0, columns)
    return dd.from_delayed([reader(incidents, a, b, columns)
                            for a, b in _bounds(incidents.rows, partition_rows)],
                           meta=meta, verify_meta=False)


def _partition_handles(incidents: Any, runner: _Runner, *, partition_rows: int,
                       columns: list[str] | None) -> list:
    """One delayed object per partition of the incidents (a GeoDataFrame when computed)."""
    if isinstance(incidents, gpd.GeoDataFrame) and runner.client is not None:
        frame = incidents if columns is None else incidents[
            [c for c in columns if c in incidents.columns] + [incidents.geometry.name]]
        return runner.put_many([frame.iloc[a:b] for a, b in _bounds(len(frame), partition_rows)])
    return list(incident_partitions(incidents, partition_rows=partition_rows,
                                    columns=columns).to_delayed())


# --- times ----------------------------------------------------------------------------------------

def _first_value(incidents: Any, column: str, partition_rows: int) -> object | None:
    """The first non-missing value of ``column`` (read a partition at a time until found)."""
    if isinstance(incidents, IncidentSource):
        if incidents.kind == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq
            kind = pq.ParquetFile(incidents.path).schema_arrow.field(column).type
            if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
                return pd.NaT  # not text: nothing to infer
        start, step = 0, min(1_000, partition_rows)
        while start < incidents.rows:  # small reads first: the first value is usually there
            stop = min(start + step, incidents.rows)
            values = read_chunk(incidents, start, stop, [column], geometry=False)[column].dropna()
            if len(values):
                return values.iloc[0]
            start, step = stop, min(step * 4, partition_rows)
        return None
    if isinstance(incidents, gpd.GeoDataFrame):
        values = incidents[column].dropna()
        return values.iloc[0] if len(values) else None
    for i in range(incidents.npartitions):  # a dask frame
        values = incidents[column].partitions[i].dropna().compute()
        if len(values):
            return values.iloc[0]
    return None


def _time_format(incidents: Any, column: str | None, partition_rows: int) -> str | None:
    """The format pandas infers for the whole ``column`` (from its first stored value), so that
    every partition parses as the whole column does; None for non-text columns."""
    if column is None:
        return None
    first = _first_value(incidents, column, partition_rows)
    if not isinstance(first, str):
        return None
    from pandas.tseries.api import guess_datetime_format
    return guess_datetime_format(first)


def _parse(values: pd.Series, fmt: str | None) -> pd.Series:
    """``pandas.to_datetime(values, errors="coerce")`` with the whole column's format."""
    if fmt is not None and not pd.api.types.is_datetime64_any_dtype(values.dtype):
        return pd.to_datetime(values, errors="coerce", format=fmt)
    return pd.to_datetime(values, errors="coerce")


def _check_time_column(columns: list[str], name: str, col: str | None) -> None:
    if col is not None and col not in columns:
        raise InputError(f"`{name}` was {col!r} but the incidents have no such column; columns "
                         f"are {columns}")


# --- cells x hour of week -------------------------------------------------------------------------

@dataclass(frozen=True)
class CellHourCounts:
    """Incidents per cell and hour of the week.

    table : DataFrame, one row per cell (index: the cells' ``cell_id`` when they have one, else
        their index), columns 0..167 (hour of the week, 0 = Monday 00:00-01:00), int64 counts.
    incidents : incidents counted (a time, inside a cell); outside : with a time but in no cell;
        without_time : rows whose time is missing or not a time.
    """

    table: pd.DataFrame
    incidents: int
    outside: int
    without_time: int

    @property
    def by_cell(self) -> pd.Series:
        """Incidents per cell (all hours)."""
        return self.table.sum(axis=1)

    @property
    def hour_of_week(self) -> np.ndarray:
        """168 counts over all cells, Monday 00:00 first."""
        return self.table.sum(axis=0).to_numpy(dtype=float)


def _cell_positions(points: np.ndarray, cell_geoms: np.ndarray) -> np.ndarray:
    """Position of the cell holding each point, -1 where none: ``cell_risk``'s rule (a point on
    a shared border counts once, in the first cell the spatial index finds)."""
    out = np.full(len(points), -1, dtype=np.int64)
    if len(points) and len(cell_geoms):
        tree = shapely.STRtree(cell_geoms)
        pi, ci = tree.query(points, predicate="intersects")
        first = ~pd.Series(pi).duplicated().to_numpy()
        out[pi[first]] = ci[first]
    return out


def _part_cell_hours(part: gpd.GeoDataFrame, cell_geoms: np.ndarray, time_col: str,
                     fmt: str | None) -> dict:
    t = _parse(part[time_col], fmt)
    ok = t.notna().to_numpy()
    how = np.zeros(len(part), dtype=np.int64)
    how[ok] = (t[ok].dt.day_of_week * 24 + t[ok].dt.hour).to_numpy(dtype=np.int64)
    ci = _cell_positions(np.asarray(part.geometry.values), cell_geoms)
    inside = ok & (ci >= 0)
    n = len(cell_geoms)
    counts = np.bincount(ci[inside] * 168 + how[inside], minlength=n * 168).astype(np.int64)
    return {"counts": counts, "outside": int((ok & (ci < 0)).sum()), "without_time": int((~ok).sum())}


def _add_cell_hours(a: dict, b: dict) -> dict:
    return {"counts": a["counts"] + b["counts"], "outside": a["outside"] + b["outside"],
            "without_time": a["without_time"] + b["without_time"]}


def _cells_checked(cells: gpd.GeoDataFrame, incidents: Any) -> None:
    from geo.crs import require_projected
    require_projected(cells.crs, what="the cells' CRS")
    crs = _crs(incidents)
    if crs is None or not CRS(cells.crs).equals(crs):
        got = "none" if crs is None else crs.to_string()
        raise InputError(f"cells and incidents are in different CRSs ({CRS(cells.crs).to_string()} "
                         f"vs {got}); reproject the incidents to the workspace CRS first")


def _cell_index(cells: gpd.GeoDataFrame) -> pd.Index:
    if "cell_id" in cells.columns:
        return pd.Index(cells["cell_id"].to_numpy(), name="cell_id")
    return cells.index


def cell_hour_counts(cells: gpd.GeoDataFrame, incidents: Any, *, time_col: str = "time",
                     scale: Scale | None = None) -> CellHourCounts:
    """Incidents per cell and hour of the week, by start time (no aoristic spreading).

    Parameters
    ----------
    cells : polygons in a projected CRS (metres), small: broadcast to every worker.
    incidents : points in the same CRS with a ``time_col`` (a path, ``IncidentSource``,
        GeoDataFrame or dask-geopandas frame).
    scale : where it runs (default ``Scale()``: memory for small inputs, else a local cluster).

    Returns a ``CellHourCounts``; the same for every engine and partition size.
    """
    scale = scale or Scale()
    incidents = _as_input(incidents)
    _cells_checked(cells, incidents)
    _check_time_column(_columns(incidents), "time_col", time_col)
    geoms = np.asarray(cells.geometry.values)
    engine = scale.engine_for(_rows(incidents))
    if engine == "postgis":
        raise InputError("`engine` 'postgis' needs the incidents in a PostGIS workspace; use "
                         "geo.scale_sql.cell_hour_counts_sql(url)")
    if engine == "memory":
        frame = incidents if isinstance(incidents, pd.DataFrame) else _read_all(incidents, [time_col])
        total = _part_cell_hours(frame, geoms, time_col, _time_format(frame, time_col, scale.partition_rows))
    else:
        fmt = _time_format(incidents, time_col, scale.partition_rows)
        with _Runner(scale) as run:
            shared = run.put(geoms)
            import dask
            part_fn = dask.delayed(_part_cell_hours, pure=True)
            parts = [part_fn(p, shared, time_col, fmt) for p in
                     _partition_handles(incidents, run, partition_rows=scale.partition_rows,
                                        columns=[time_col])]
            total = run.compute(_tree(parts, _add_cell_hours))
    table = pd.DataFrame(total["counts"].reshape(len(cells), 168), index=_cell_index(cells),
                         columns=pd.RangeIndex(168, name="hour_of_week"))
    return CellHourCounts(table=table, incidents=int(total["counts"].sum()),
                          outside=total["outside"], without_time=total["without_time"])


def _read_all(incidents: Any, columns: list[str] | None) -> gpd.GeoDataFrame:
    """The whole input in memory (the memory engine)."""
    if isinstance(incidents, IncidentSource):
        return read_chunk(incidents, 0, incidents.rows, columns)
    if isinstance(incidents, pd.DataFrame):
        return incidents
    return incidents.compute()


# --- hotspots input: cell counts and weighted counts of one time slot -----------------------------

def _part_slot(part: gpd.GeoDataFrame, cell_geoms: np.ndarray, *, time_col: str, timed: bool,
               fmt: str | None, shift, hour_of_week, category_weights, priority_weights,
               half_life_days, now) -> dict:
    """One partition's counts and weighted counts per cell for the slot; ``scaled`` holds the
    weights of incidents with a time (decayed to this partition's latest one unless ``now``),
    ``fixed`` those without (weight without decay, as in memory)."""
    from geo.hotspots import incident_weights, slot_mask
    raw = part[time_col] if timed else None
    n = len(cell_geoms)
    bad = 0
    example = None
    if raw is not None:
        t = _parse(raw, fmt)
        wrong = (t.isna() & raw.notna()).to_numpy()
        bad = int(wrong.sum())
        example = raw[wrong].iloc[0] if bad else None
        part = part.assign(**{time_col: t})
    if bad:
        return {"counts": np.zeros(n), "scaled": np.zeros(n), "fixed": np.zeros(n), "tmax": None,
                "bad": bad, "example": example}
    inc = part[slot_mask(part, shift=shift, hour_of_week=hour_of_week, time_col=time_col)]
    t = inc[time_col] if time_col in inc.columns else pd.Series(pd.NaT, index=inc.index)
    tmax = t.max() if t.notna().any() else None
    ref = now if now is not None else tmax
    w = incident_weights(inc, category_weights=category_weights, priority_weights=priority_weights,
                         half_life_days=half_life_days, now=ref, time_col=time_col).to_numpy()
    ci = _cell_positions(np.asarray(inc.geometry.values), cell_geoms)
    inside = ci >= 0
    known = t.notna().to_numpy()
    counts = np.bincount(ci[inside], minlength=n).astype(float)
    scaled = np.bincount(ci[inside & known], weights=w[inside & known], minlength=n)
    fixed = np.bincount(ci[inside & ~known], weights=w[inside & ~known], minlength=n)
    return {"counts": counts, "scaled": scaled, "fixed": fixed, "tmax": tmax, "bad": 0,
            "example": None}


@dataclass(frozen=True)
class _SlotCombine:
    """Adds two partitions' slot sums. Without ``now`` the recency decay is relative to each
    partition's latest incident; the sum rescales both to the later one (0.5 ** (gap / half-life)),
    which gives exactly the decay relative to the latest incident of all."""

    half_life_days: float | None

    def __call__(self, a: dict, b: dict) -> dict:
        scaled_a, scaled_b = a["scaled"], b["scaled"]
        tmax = a["tmax"] if b["tmax"] is None else b["tmax"] if a["tmax"] is None else max(a["tmax"], b["tmax"])
        if self.half_life_days is not None and tmax is not None:
            if a["tmax"] is not None and a["tmax"] != tmax:
                scaled_a = scaled_a * 0.5 ** ((tmax - a["tmax"]).total_seconds() / 86400.0 / self.half_life_days)
            if b["tmax"] is not None and b["tmax"] != tmax:
                scaled_b = scaled_b * 0.5 ** ((tmax - b["tmax"]).total_seconds() / 86400.0 / self.half_life_days)
        return {"counts": a["counts"] + b["counts"], "scaled": scaled_a + scaled_b,
                "fixed": a["fixed"] + b["fixed"], "tmax": tmax, "bad": a["bad"] + b["bad"],
                "example": a["example"] if a["example"] is not None else b["example"]}


def cell_risk(cells: gpd.GeoDataFrame, incidents: Any, *, shift=None, hour_of_week: int | None = None,
              category_weights: Mapping[str, float] | None = None,
              priority_weights: Mapping[str, float] | None = None,
              half_life_days: float | None = 90.0, now: object | None = None,
              neighbour_share: float = 0.5, time_col: str = "time",
              scale: Scale | None = None) -> gpd.GeoDataFrame:
    """``geo.hotspots.cell_risk`` computed partition by partition: a copy of ``cells`` with
    ``n_incidents``, ``weighted`` and ``risk`` of the time slot (``shift`` or ``hour_of_week``).

    Parameters as in ``geo.hotspots.cell_risk``; ``incidents`` may be a path, an
    ``IncidentSource`` or a (dask-)GeoDataFrame, and ``scale`` says where it runs. Without
    ``now`` the recency decay is relative to the latest incident of the slot, as in memory.
    """
    from geo import hotspots
    scale = scale or Scale()
    incidents = _as_input(incidents)
    engine = scale.engine_for(_rows(incidents))
    if engine == "memory":
        frame = incidents if isinstance(incidents, pd.DataFrame) else _read_all(incidents, None)
        return hotspots.cell_risk(cells, frame, shift=shift, hour_of_week=hour_of_week,
                                  category_weights=category_weights,
                                  priority_weights=priority_weights, half_life_days=half_life_days,
                                  now=now, neighbour_share=neighbour_share, time_col=time_col)
    if engine == "postgis":
        raise InputError("`engine` 'postgis' is not available for cell_risk; use 'memory' or 'dask'")
    _cells_checked(cells, incidents)
    if not (0.0 <= neighbour_share <= 1.0):
        raise InputError(f"neighbour_share was {neighbour_share!r} but is expected in 0..1")
    if half_life_days is not None and not (half_life_days > 0):
        raise InputError(f"half_life_days was {half_life_days!r} but must be > 0 days (or None "
                         "for no recency decay)")
    if isinstance(shift, str):
        shift = hotspots.shift_from_text(shift)
    if hour_of_week is not None and not (0 <= int(hour_of_week) < 168):
        raise InputError(f"hour_of_week was {hour_of_week!r} but is expected in 0..167 "
                         "(0 = Monday 00:00)")
    columns = _columns(incidents)
    slot = shift is not None or hour_of_week is not None
    if slot and time_col not in columns:
        raise InputError(f"the incidents have no {time_col!r} column; columns are {columns}")
    # Times are read where the in-memory cell_risk reads them: for a slot, or for the decay.
    timed = slot or (half_life_days is not None and time_col in columns)
    wanted = [c for c in (time_col if timed else None, "category", "priority") if c in columns]
    ref = pd.Timestamp(now) if now is not None else None
    geoms = np.asarray(cells.geometry.values)
    fmt = _time_format(incidents, time_col if timed else None, scale.partition_rows)
    import dask
    with _Runner(scale) as run:
        shared = run.put(geoms)
        part_fn = dask.delayed(_part_slot, pure=True)
        parts = [part_fn(p, shared, time_col=time_col, timed=timed, fmt=fmt, shift=shift,
                         hour_of_week=hour_of_week, category_weights=category_weights,
                         priority_weights=priority_weights, half_life_days=half_life_days, now=ref)
                 for p in _partition_handles(incidents, run, partition_rows=scale.partition_rows,
                                             columns=wanted)]
        total = run.compute(_tree(parts, _SlotCombine(half_life_days if ref is None else None)))
    if total["bad"]:
        raise InputError(f"{total['bad']} incident times are not dates (e.g. {total['example']!r}); "
                         "give ISO times such as 2024-05-01 21:30")
    out = cells.copy()
    weighted = total["scaled"] + total["fixed"]
    out["n_incidents"] = total["counts"].astype(np.int64)
    out["weighted"] = weighted
    if neighbour_share > 0 and len(out) > 1:
        out["risk"] = weighted + neighbour_share * (hotspots.contiguity_weights(cells) @ weighted)
    else:
        out["risk"] = weighted
    return out


# --- hot times ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Scope:
    """Which incidents a hot-times profile counts (broadcast to the workers)."""

    station: str | None = None
    township: str | None = None
    jurisdictions: gpd.GeoDataFrame | None = field(default=None, repr=False)
    townships: gpd.GeoDataFrame | None = field(default=None, repr=False)


def _part_hot_times(part: gpd.GeoDataFrame, scope: _Scope, *, time_col: str, end_col: str | None,
                    fmt: str | None, end_fmt: str | None, label: str) -> dict:
    from geo.hot_times import _ids, _within
    from geo.hot_times import hot_times as memory_hot_times
    part = part.assign(**{time_col: _parse(part[time_col], fmt)})
    if end_col is not None:
        part = part.assign(**{end_col: _parse(part[end_col], end_fmt)})
    where = np.ones(len(part), dtype=bool)
    stations: set = set()
    if scope.station is not None:
        if "station_id" in part.columns:
            sid = _ids(part["station_id"])
        else:
            sid = _ids(pd.Series(_within(part, scope.jurisdictions, "station_id"), index=part.index))
        stations = {s for s in sid if s is not None}
        where &= sid == str(scope.station)
    if scope.township is not None:
        tid = _ids(pd.Series(_within(part, scope.townships, "township_id"), index=part.index))
        where &= tid == str(scope.township)
    ht = memory_hot_times(part, time_col=time_col, end_col=end_col, where=where, scope=label)
    return {"ht": ht, "stations": stations}


def _add_hot_times(a: dict, b: dict) -> dict:
    x, y = a["ht"], b["ht"]
    firsts = [t for t in (x.first, y.first) if t is not None]
    lasts = [t for t in (x.last, y.last) if t is not None]
    ht = replace(x, hour_of_week=x.hour_of_week + y.hour_of_week, incidents=x.incidents + y.incidents,
                 without_time=x.without_time + y.without_time, spread=x.spread + y.spread,
                 first=min(firsts) if firsts else None, last=max(lasts) if lasts else None)
    return {"ht": ht, "stations": a["stations"] | b["stations"]}


def hot_times(incidents: Any, *, time_col: str = "time", end_col: str | None = None,
              station: str | None = None, township: str | None = None,
              jurisdictions: gpd.GeoDataFrame | None = None,
              townships: gpd.GeoDataFrame | None = None, scale: Scale | None = None):
    """The hour-of-week profile (``geo.hot_times.HotTimes``) of incidents read in partitions:
    all of them, one ``station``'s (their ``station_id``, else the points inside its polygon of
    ``jurisdictions``) and/or one ``township``'s (points inside its polygon of ``townships``).
    ``end_col`` spreads each incident from its time to its end (aoristic), as in memory.

    Raises InputError naming the parameter when a column is missing, or the station or township
    is unknown (as ``geo.hot_times.workspace_hot_times`` does).
    """
    from geo.hot_times import _ids
    scale = scale or Scale()
    incidents = _as_input(incidents)
    columns = _columns(incidents)
    if time_col not in columns:
        raise InputError("the incidents have no time column; import them with their times (a "
                         "column such as 接警时间 or time)")
    _check_time_column(columns, "end_col", end_col)
    label = []
    if station is not None:
        if "station_id" not in columns and (jurisdictions is None or not len(jurisdictions)):
            raise InputError("`station` was given but the incidents carry no station_id and the "
                             "workspace has no jurisdictions")
        label.append(f"station {station}")
    if township is not None:
        if townships is None or not len(townships):
            raise InputError("`township` was given but the workspace has no townships layer")
        tid = _ids(townships["township_id"])
        if str(township) not in set(tid):
            raise InputError(f"`township` was {township!r} but is not a township; choose one of "
                             f"{', '.join(list(tid)[:40])}")
        label.append(f"township {township}")
    scope = _Scope(station=None if station is None else str(station),
                   township=None if township is None else str(township),
                   jurisdictions=(None if jurisdictions is None
                                  else jurisdictions[["station_id", jurisdictions.geometry.name]]),
                   townships=None if townships is None else townships[["township_id", townships.geometry.name]])
    wanted = [c for c in (time_col, end_col, "station_id" if station is not None else None) if c]
    wanted = list(dict.fromkeys(c for c in wanted if c in columns))
    fmt = _time_format(incidents, time_col, scale.partition_rows)
    end_fmt = _time_format(incidents, end_col, scale.partition_rows)
    text = ", ".join(label) or "county"
    engine = scale.engine_for(_rows(incidents))
    kwargs: dict[str, Any] = dict(time_col=time_col, end_col=end_col, fmt=fmt, end_fmt=end_fmt, label=text)
    if engine == "memory":
        total = _part_hot_times(_read_all(incidents, wanted), scope, **kwargs)
    elif engine == "dask":
        import dask
        with _Runner(scale) as run:
            shared = run.put(scope)
            part_fn = dask.delayed(_part_hot_times, pure=True)
            parts = [part_fn(p, shared, **kwargs) for p in
                     _partition_handles(incidents, run, partition_rows=scale.partition_rows,
                                        columns=wanted)]
            total = run.compute(_tree(parts, _add_hot_times))
    else:
        raise InputError("`engine` 'postgis' needs the incidents in a PostGIS workspace; use "
                         "'memory' or 'dask' for a file")
    if station is not None and str(station) not in total["stations"]:
        raise InputError(f"`station` was {station!r} but no incident belongs to it; stations "
                         f"with incidents: {', '.join(sorted(total['stations'])[:40])}")
    return total["ht"]


def _workspace_incidents(path: object) -> tuple[Path, set[str], IncidentSource]:
    import pyogrio

    from geo.workspace import check_workspace
    if not isinstance(path, (str, Path)):
        raise InputError(f"`path` was {path!r}; give the path of a workspace GeoPackage or a "
                         "postgresql:// URL")
    ws_path = check_workspace(path)
    listed = {str(n) for n, _ in pyogrio.list_layers(ws_path)}
    if "incidents" not in listed:
        raise InputError("the workspace has no incidents layer; import incidents with their times")
    return ws_path, listed, incident_source(ws_path, layer="incidents")


def workspace_engine(path: object, scale: Scale | None = None, *, end_col: str | None = None) -> str:
    """The engine ``workspace_hot_times`` runs for the workspace at ``path``: ``scale.engine``
    unless "auto"; then for a PostGIS workspace "postgis" (SQL next to the data; "memory" for
    aoristic spreading by ``end_col``), for a GeoPackage dask above ``threshold_rows``
    incidents or when a scheduler is named, else "memory"."""
    from geo.pgurl import is_database_url
    scale = scale or Scale()
    if is_database_url(path):
        if scale.engine != "auto":
            return scale.engine
        if scale.scheduler is not None:
            return "dask"  # refused by workspace_hot_times: the incidents are in the database
        return "memory" if end_col is not None else "postgis"
    return scale.engine_for(_workspace_incidents(path)[2].rows)


def workspace_incidents(path: object, *, scale: Scale | None = None) -> gpd.GeoDataFrame | IncidentSource:
    """The incidents of the workspace at ``path`` as the engine ``scale`` chooses reads them:
    the whole layer (memory) or, for a GeoPackage above ``threshold_rows`` incidents or with a
    scheduler named, an ``IncidentSource`` read in partitions by the functions of this module.
    A PostGIS workspace's incidents are read whole here (their aggregation in SQL is
    ``geo.scale_sql``)."""
    from geo.pgurl import is_database_url
    from geo.workspace import read_workspace
    scale = scale or Scale()
    if is_database_url(path):
        engine = scale.engine if scale.engine != "auto" else ("dask" if scale.scheduler else "memory")
        if engine != "memory":
            raise InputError(f"`engine` was {engine!r} but the incidents of a PostGIS workspace "
                             "are read whole here; use 'memory' (or 'auto' without a scheduler)")
        return read_workspace(path, layers=["incidents"]).layer("incidents")
    ws_path, _, source = _workspace_incidents(path)
    engine = scale.engine_for(source.rows)
    if engine == "memory":
        return read_workspace(ws_path, layers=["incidents"]).layer("incidents")
    if engine != "dask":
        raise InputError(f"`engine` was {engine!r} but a GeoPackage workspace runs 'memory' or 'dask'")
    return source


def workspace_hot_times(path: object, *, station: str | None = None,
                        township: str | None = None, end_col: str | None = None,
                        scale: Scale | None = None):
    """``geo.hot_times.workspace_hot_times`` of the workspace at ``path`` run by the engine
    ``workspace_engine`` chooses: for a GeoPackage the incidents are read in partitions when it
    says dask (only the small layers, jurisdictions and townships, are then read whole); for a
    PostGIS workspace (``postgresql://...?schema=NAME``) the profile is computed by the server
    in SQL (``geo.scale_sql.hot_times_sql``) unless ``engine`` is "memory"."""
    from geo.hot_times import HOT_TIME_LAYERS
    from geo.hot_times import workspace_hot_times as memory_workspace_hot_times
    from geo.pgurl import is_database_url
    from geo.workspace import read_workspace
    scale = scale or Scale()
    engine = workspace_engine(path, scale, end_col=end_col)
    if is_database_url(path) and engine == "postgis":
        if end_col is not None:
            raise InputError("`end_col` (aoristic spreading) is computed in memory; use `engine` "
                             "'memory' or 'auto' for a PostGIS workspace")
        from geo.scale_sql import hot_times_sql
        return hot_times_sql(path, station=station, township=township)
    if engine == "memory":
        ws = read_workspace(path, layers=HOT_TIME_LAYERS)
        return memory_workspace_hot_times(ws, station=station, township=township, end_col=end_col)
    if engine != "dask" or is_database_url(path):
        raise InputError(f"`engine` was {engine!r} but a GeoPackage workspace runs 'memory' or "
                         "'dask', a PostGIS workspace 'postgis' or 'memory'")
    ws_path, listed, source = _workspace_incidents(path)
    if source.rows == 0:
        raise InputError("the workspace has no incidents layer; import incidents with their times")
    small = read_workspace(ws_path, layers=[n for n in ("jurisdictions", "townships") if n in listed])
    return hot_times(source, end_col=end_col, station=station, township=township,
                     jurisdictions=small.layers.get("jurisdictions"),
                     townships=small.layers.get("townships"), scale=scale)


# --- boundary audit: intersections of two polygon layers ------------------------------------------

def hilbert_partitions(gdf: gpd.GeoDataFrame | gpd.GeoSeries, n: int) -> list[np.ndarray]:
    """Positions of ``gdf`` cut into ``n`` runs along the Hilbert curve of the polygons' centres
    (the order dask-geopandas' ``spatial_shuffle(by="hilbert")`` sorts by): each run is a
    compact patch of the map."""
    geoms = gdf.geometry if hasattr(gdf, "geometry") else gdf
    if not len(geoms):
        return [np.array([], dtype=np.int64)]
    order = np.argsort(geoms.reset_index(drop=True).hilbert_distance(level=16).to_numpy(),
                       kind="stable")
    return [chunk for chunk in np.array_split(order, max(1, min(int(n), len(order)))) if len(chunk)]


def _part_intersections(chunk: tuple[np.ndarray, np.ndarray], other_geoms: np.ndarray,
                        part_is_a: bool, crs: object, min_area_m2: float, keep_geometry: bool) -> pd.DataFrame:
    """The pairs of one partition (``chunk``: positions in the partitioned layer and their
    polygons) with the broadcast layer, positions mapped back to the whole layer."""
    from geo.overlay import intersection_table as memory_table
    pos, part_geoms = chunk
    mine = gpd.GeoSeries(part_geoms, crs=crs)
    other = gpd.GeoSeries(other_geoms, crs=crs)
    if part_is_a:
        table = memory_table(mine, other, min_area_m2=min_area_m2, keep_geometry=keep_geometry)
        table["a"] = pos[table["a"].to_numpy()]
    else:
        table = memory_table(other, mine, min_area_m2=min_area_m2, keep_geometry=keep_geometry)
        table["b"] = pos[table["b"].to_numpy()]
    return table


def _concat(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([a, b], ignore_index=True)


def intersection_table(a: gpd.GeoDataFrame | gpd.GeoSeries, b: gpd.GeoDataFrame | gpd.GeoSeries, *,
                       min_area_m2: float = 0.0, keep_geometry: bool = False,
                       scale: Scale | None = None) -> pd.DataFrame:
    """``geo.overlay.intersection_table`` on partitions: the layer with more polygons is cut
    into Hilbert-curve partitions (about ``scale.partition_rows`` polygons each, at least 4 per
    worker), the other is broadcast, and each partition's pairs are computed by a worker with
    the same shapely operations, so the areas (and pieces) are identical. Rows are ordered by
    ``a`` then ``b``."""
    from geo.crs import check_same_crs
    from geo.overlay import intersection_table as memory_table
    scale = scale or Scale()
    check_same_crs(a, b, what="the two polygon layers")
    ga = np.asarray(a.geometry.values if hasattr(a, "geometry") else a.values)
    gb = np.asarray(b.geometry.values if hasattr(b, "geometry") else b.values)
    part_is_a = len(ga) >= len(gb)
    finer, other = (a, gb) if part_is_a else (b, ga)
    engine = scale.engine_for(max(len(ga), len(gb)), threshold=AUTO_DASK_POLYGONS)
    if engine == "memory":
        table = memory_table(a, b, min_area_m2=min_area_m2, keep_geometry=keep_geometry)
        return table.sort_values(["a", "b"], kind="stable").reset_index(drop=True)
    if engine != "dask":
        raise InputError(f"`engine` was {engine!r} but the audit runs 'memory' or 'dask'")
    n = max(math.ceil(len(finer) / scale.partition_rows), 4 * int(scale.workers))
    chunks = hilbert_partitions(finer, n)
    finer_geoms = ga if part_is_a else gb
    import dask
    with _Runner(scale) as run:
        shared = run.put(other)
        handles = run.put_many([(pos, finer_geoms[pos]) for pos in chunks])
        part_fn = dask.delayed(_part_intersections, pure=True)
        parts = [part_fn(h, shared, part_is_a, a.crs, min_area_m2, keep_geometry) for h in handles]
        tables = run.compute(parts)
    table = pd.concat(tables, ignore_index=True) if tables else memory_table(a.iloc[:0], b.iloc[:0])
    return table.sort_values(["a", "b"], kind="stable").reset_index(drop=True)


def crosswalk_areas(police: gpd.GeoDataFrame, admin: gpd.GeoDataFrame, *, police_id: str,
                    admin_id: str, scale: Scale | None = None) -> pd.DataFrame:
    """The crosswalk of two partitions in one projected CRS: every police x admin pair that
    shares area, with ``police``, ``admin`` (their ids) and ``area_m2``, ordered by police then
    admin position (the pieces of ``geo.audit.crosswalk_pieces`` without their geometry)."""
    for name, layer, col in (("police_id", police, police_id), ("admin_id", admin, admin_id)):
        if col not in layer.columns:
            raise InputError(f"`{name}` was {col!r} but the layer has no such column; columns are "
                             f"{[c for c in layer.columns if c != layer.geometry.name]}")
    table = intersection_table(police, admin, scale=scale)
    return pd.DataFrame({"police": police[police_id].to_numpy()[table["a"].to_numpy()],
                         "admin": admin[admin_id].to_numpy()[table["b"].to_numpy()],
                         "area_m2": table["area_m2"].to_numpy(float)})
