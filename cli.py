"""The ``gridpatrol`` command: argument parsing, JSON/text output and exit codes.

Exit code 0 on success, 2 on bad input (a message on stderr, no traceback), 1 on an internal
failure. ``--json`` prints one JSON object on stdout instead of text.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Callable

from geo.errors import GridPatrolError, ValidationError
from geo.warn import captured_warnings

ROOT = Path(__file__).resolve().parent
DEMO_WORKSPACE = ROOT / "data" / "boundaries" / "demo_county.gpkg"  # = server.library.DEMO_WORKSPACE

Result = tuple[dict, str]  # (JSON payload, human text)
_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], Result], str]] = {}


def command(name: str, help: str):
    """Register a subcommand: the decorated function adds its arguments and returns its runner."""
    def wrap(add_arguments: Callable[[argparse.ArgumentParser], Callable[[argparse.Namespace], Result]]):
        _COMMANDS[name] = (add_arguments, help)
        return add_arguments
    return wrap


# Loggers whose warnings reach the user (stderr, and ``warnings`` in --json): the packages' and
# this module's (``cli`` when imported, ``__main__`` when run as a script).
_WARNING_LOGGERS = ("geo", "planning", "gridpatrol", __name__)


# Library messages name parameters in backticks ("`minutes` was '5,abc,1' but ..."); the command
# line says them as its own flags. _PARAMETER_FLAGS holds the parameters whose flag is the same in
# every command, _COMMAND_FLAGS those that depend on the command (`source_crs` is the CRS of a
# network file where a command reads one; in import `crs` is a layer source's CRS; `network` is
# the import's flag, else the import to run).
_PARAMETER_FLAGS: dict[str, str] = {
    "minutes": "--minutes", "shift": "--shift", "units": "--units", "dwell_min": "--dwell-min",
    "speed_kmh": "--speed-kmh", "tolerance_m": "--tolerance-m", "k": "--k", "model": "--model",
    "weight": "--weight", "max_deviation": "--max-deviation", "working_crs": "--crs",
    "layer_crs": "--layer-crs", "x_col": "--x-col", "y_col": "--y-col", "attributes": "--attributes",
    "network_type": "--network-type", "clip_margin_m": "--network-margin",
    "police_grid_station": "--police-grid-station", "norms": "--set",
    "network": "`gridpatrol import --network NET`",
    "min_gap_min": "--min-gap-min", "break_min": "--break-min", "max_places": "--max-places",
    "scheduler": "--scheduler", "workers": "--workers", "partition_rows": "--partition-rows",
    "engine": "--engine", "end_col": "--end-col",
}
_NETWORK_FILE_FLAGS = {"source_crs": "--network-crs"}
_COMMAND_FLAGS: dict[str, dict[str, str]] = {
    "coverage": {**_NETWORK_FILE_FLAGS, "id_col": "--id", "at": "--at"},
    "seal": {**_NETWORK_FILE_FLAGS, "units_needed": "--units-needed", "turnout_min": "--turnout-min"},
    "ring": {**_NETWORK_FILE_FLAGS, "units_needed": "--units-needed", "seal_entries": "--seal-entries"},
    "place-posts": {**_NETWORK_FILE_FLAGS, "share": "--hours-share"},
    "import": {"network": "--network", "crs": "--layer-crs", "area": "--area",
               "unit_id": "--unit-id", "unit_station": "--unit-station", "unit_name": "--unit-name"},
    "orders": {"plan": "--plan", "against": "--against"}, "staffing": {"plan": "--plan"},
    "copy": {"overwrite_plans": "--force"},
    "library": {"url": "URL", "name": "NAME"},
    "brief": {"at": "--at"},
    "basemap": {"url": "--url", "tileset": "--tiles", "max_zoom": "--max-zoom", "subdomains": "--subdomains",
                "attribution": "--attribution"},
    "streets": {"budget_min": "--budget-min", "classes": "--classes", "risk_top": "--risk-top",
                "station": "--station"},
}
_PARAMETER = re.compile(r"`([a-z][a-z0-9_]*)`")


def cli_wording(message: str, command: str) -> str:
    """``message`` of a library error, problem or warning as the command line says it: each
    parameter named in backticks becomes the flag of ``command`` that gives it (`minutes` ->
    --minutes); parameters without a flag stay as they are."""
    flags = {**_PARAMETER_FLAGS, **_COMMAND_FLAGS.get(command, {})}
    return _PARAMETER.sub(lambda m: flags.get(m.group(1), m.group(0)), str(message))


def _merged_warnings(own: object, captured: list[str]) -> list[str]:
    """The command's own ``warnings`` list followed by the captured ones, each once."""
    merged: list[str] = []
    for w in [*(own if isinstance(own, (list, tuple)) else []), *captured]:
        text = " ".join(str(w).split())
        if text and text not in merged:
            merged.append(text)
    return merged


def _print_warnings(command: str, messages: list[str]) -> None:
    for message in messages:
        print(f"gridpatrol {command}: warning: {cli_wording(message, command)}", file=sys.stderr)


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _out_kind(path: str | Path, kinds: dict[str, str], *, what: str, flag: str = "--out") -> str:
    """The kind of file ``path`` asks for, decided by its suffix (any case) as every command
    decides it: ``kinds`` maps suffixes to kinds ({".html": "html", ".pdf": "pdf"}). An error
    naming ``flag`` and the suffixes allowed when the suffix is none of them or the path is a
    folder."""
    path = Path(path)
    endings = list(dict.fromkeys(kinds))
    allowed = ", ".join(endings[:-1]) + f" or {endings[-1]}" if len(endings) > 1 else endings[0]
    if path.is_dir():
        raise GridPatrolError(f"{flag} was {str(path)!r}, which is a folder; give a file name "
                              f"ending in {allowed}")
    kind = kinds.get(path.suffix.lower())
    if kind is None:
        raise GridPatrolError(f"{flag} was {str(path)!r} but {what} is written by the file's "
                              f"suffix; give a path ending in {allowed}")
    return kind


def _json_default(value):
    import numpy as np
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return str(value)


def _redacted(text: str) -> str:
    """``text`` with the password of every postgresql:// URL in it shown as ***."""
    from geo.pgurl import redact
    return redact(text)


def _scale_arguments(p: argparse.ArgumentParser) -> None:
    """--engine, --scheduler, --workers, --partition-rows: where incidents (or the audit's
    polygon pairs) are aggregated (geo.scale.Scale)."""
    p.add_argument("--engine", choices=["auto", "memory", "dask", "postgis"], default="auto",
                   help="memory, dask partitions, or SQL in a PostGIS workspace (auto: postgis for "
                   "a database workspace, dask above 2 million incidents or with --scheduler)")
    p.add_argument("--scheduler", help="Dask scheduler: local (a cluster of --workers processes "
                   "here) or an address tcp://HOST:8786 of a running cluster")
    p.add_argument("--workers", type=int, default=2, help="processes of the local cluster (2)")
    p.add_argument("--partition-rows", type=int, default=250_000,
                   help="incidents (or polygons) per partition: what one worker holds (250000)")


def _scale_from(args: argparse.Namespace):
    from geo.scale import Scale
    return Scale(engine=args.engine, scheduler=args.scheduler, workers=args.workers,
                 partition_rows=args.partition_rows)


def _account_arguments(p: argparse.ArgumentParser) -> None:
    """--user and --password-stdin: who writes, for workspaces of a data directory with accounts."""
    p.add_argument("--user", help="account name, when the workspace belongs to a data directory "
                   "with accounts (default: $GRIDPATROL_USER)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the account's password from standard input (else $GRIDPATROL_PASSWORD)")
    p.add_argument("--data-dir", help="the data directory whose accounts apply (default: the one "
                   "holding the workspace, if any)")


def _admin_arguments(p: argparse.ArgumentParser) -> None:
    """--data-dir, --user and --password-stdin of the commands that change a data directory's
    settings (admins; ``_signed_in``)."""
    p.add_argument("--data-dir", help="the data directory (default: $GRIDPATROL_DATA, else ./gridpatrol-data)")
    p.add_argument("--user", help="an admin account, when the data directory has accounts "
                   "(default: $GRIDPATROL_USER)")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the account's password from standard input (else $GRIDPATROL_PASSWORD)")


def _writer(args: argparse.Namespace, path: str | Path, *, action: str) -> str:
    """The name of who writes ``path``: the OS user for a file outside a data directory or in
    one without accounts; otherwise an account of that directory with at least the planner role
    (exit 2 when the sign-in fails or the role is lower)."""
    import getpass

    from server.accounts import require
    from server.library import library_of
    data_dir = Path(args.data_dir) if getattr(args, "data_dir", None) else library_of(path)
    if data_dir is None:
        try:
            return getpass.getuser()
        except Exception:  # no login name (containers)
            return "local"
    account = _signed_in(args, data_dir)
    require(account, "planner", action=action)
    return account.name


def _signed_in(args: argparse.Namespace, data_dir: Path, *, role: str = ""):
    """The account of ``data_dir`` the command acts as: --user (else $GRIDPATROL_USER) with the
    password from standard input (--password-stdin, else $GRIDPATROL_PASSWORD); the local
    administrator while the directory has no accounts. Exit 2 when the sign-in fails."""
    import os

    from server.accounts import AccountStore, account_for_cli
    name = getattr(args, "user", None) or os.environ.get("GRIDPATROL_USER")
    password = os.environ.get("GRIDPATROL_PASSWORD")
    if getattr(args, "password_stdin", False):
        password = sys.stdin.readline().rstrip("\r\n")
    if not AccountStore(data_dir).is_empty() and (not name or not password):
        who = f"NAME of {role}" if role else "NAME"
        raise GridPatrolError(f"the data directory {data_dir.name!r} has accounts: give --user {who} "
                              "and the password with --password-stdin (or GRIDPATROL_USER and "
                              "GRIDPATROL_PASSWORD)")
    return account_for_cli(data_dir, name, password)


# --- demo, info, import (foundation) -----------------------------------------------------------

@command("demo", help="write the demo county workspace (synthetic) to a file")
def _demo(p: argparse.ArgumentParser):
    p.add_argument("--out", required=True, help="where to write the workspace (.gpkg)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace OUT even when it holds saved plans (they are lost)")
    _account_arguments(p)

    def run(args: argparse.Namespace) -> Result:
        from geo.workspace import read_workspace, workspace_info
        out = Path(args.out)
        if out.suffix.lower() != ".gpkg":
            raise GridPatrolError(f"--out was {str(out)!r} but a workspace is a GeoPackage; "
                                  "give a path ending in .gpkg")
        if not DEMO_WORKSPACE.exists():
            raise GridPatrolError(f"the demo workspace {DEMO_WORKSPACE} is missing; rebuild it "
                                  "with `make demo`")
        from geo.atomic import copy_atomic
        from geo.workspace import plan_count
        if plan_count(out) and not args.overwrite:
            raise GridPatrolError(f"OUT {str(out)!r} holds {plan_count(out)} saved plan version(s); "
                                  "choose another file, or add --overwrite to replace it")
        _writer(args, out, action="write a workspace")
        copy_atomic(DEMO_WORKSPACE, out)
        info = workspace_info(read_workspace(out))
        payload = {"path": str(out), "layers": info["layers"]}
        text = f"wrote {out}\n" + "\n".join(f"  {k:14s} {v:8d}" for k, v in info["layers"].items())
        return payload, text
    return run


def _info_text(info: dict) -> str:
    lines = [f"workspace {info['name']}  ({info['path']})", f"  CRS      {info['crs']}",
             f"  area     {info['area_km2']} km2" if info["area_km2"] is not None else "  area     -",
             "  layers:"]
    lines += [f"    {k:14s} {v:8d}" for k, v in info["layers"].items()]
    return "\n".join(lines)


@command("info", help="layer counts, CRS and area of a workspace")
def _info(p: argparse.ArgumentParser):
    p.add_argument("workspace", help="the workspace GeoPackage")

    def run(args: argparse.Namespace) -> Result:
        from geo.workspace import read_workspace, workspace_info
        info = workspace_info(read_workspace(args.workspace))
        return info, _info_text(info)
    return run


def _column_mapping(text: str) -> dict[str, str]:
    mapping = {}
    for item in _csv_list(text):
        src, _, dst = item.partition("=")
        mapping[src.strip()] = (dst or src).strip()
    return mapping


# The flag naming each layer's id column (and the police grids' station column), for messages.
_ID_FLAGS = {"townships": "--township-id", "stations": "--station-id",
             "jurisdictions": "--jurisdiction-id", "posts": "--post-id",
             "checkpoints": "--checkpoint-id", "incidents": "--incident-id",
             "communities": "--community-id", "police_grids": "--police-grid-id",
             "gov_grids": "--gov-grid-id"}


def _with_flag(problem):
    """``problem`` with its fix naming the layer's id flag, for a missing id column (parameters
    named in backticks, such as `police_grid_station`, become flags in ``cli_wording``)."""
    from dataclasses import replace
    if problem.rule == "missing_id_column" and problem.layer in _ID_FLAGS:
        return replace(problem, fix=f"{problem.fix}: give it as {_ID_FLAGS[problem.layer]} COL")
    return problem


@command("import", help="build a workspace from your layers")
def _import(p: argparse.ArgumentParser):
    p.add_argument("out", help="the workspace to write (.gpkg, or a database: "
                   "postgresql://USER@HOST:PORT/DB?schema=NAME)")
    p.add_argument("--area", help="study area polygons (unioned; may be left out with --units: "
                   "the union of the units)")
    p.add_argument("--units", help="base units of the plans instead of generated cells: villages/"
                   "communities 村/社区, governance grids 网格, beats (polygons; their population, "
                   "migrants and incidents columns are used as given)")
    p.add_argument("--unit-id", metavar="COL", help="id column of --units (kept as text: 0111)")
    p.add_argument("--unit-station", metavar="COL",
                   help="column of --units naming each unit's station: the current plan exactly "
                   "(default: the jurisdiction covering most of each unit)")
    p.add_argument("--unit-name", metavar="COL",
                   help="name column of --units (default: guessed, e.g. name/名称/村名)")
    p.add_argument("--rivers", help="rivers 河流 (water polygons, or lines with width_m): units "
                   "are not neighbours across them except at a bridge of --network")
    p.add_argument("--railways", help="railways 铁路 (lines): a barrier as --rivers, crossed where "
                   "a road of --network crosses it")
    p.add_argument("--townships", help="townships / sub-districts 街道/乡镇 (polygons)")
    p.add_argument("--township-id", help="id column of --townships (default township_id)")
    p.add_argument("--stations", help="police stations 派出所 (points, or CSV with lon/lat)")
    p.add_argument("--station-id", help="id column of --stations (default station_id)")
    p.add_argument("--jurisdictions", help="station jurisdictions 派出所辖区 (polygons)")
    p.add_argument("--jurisdiction-id", help="station id column of --jurisdictions (default station_id)")
    p.add_argument("--posts", help="street posts 警务站 (points)")
    p.add_argument("--post-id", help="id column of --posts (default post_id)")
    p.add_argument("--checkpoints", help="checkpoints 卡口 (points)")
    p.add_argument("--checkpoint-id", help="id column of --checkpoints (default checkpoint_id)")
    p.add_argument("--incidents", help="incidents 警情 (points, or a CSV/Excel export: FILE.xlsx or "
                   "FILE.xlsx:SHEET; coordinates, time, category and priority found from the headers)")
    p.add_argument("--incident-id", help="id column of --incidents (default incident_id)")
    p.add_argument("--communities", help="communities and villages 社区/村 (polygons; township_id "
                   "from --townships by largest overlap where the file has none)")
    p.add_argument("--community-id", help="id column of --communities (default community_id)")
    p.add_argument("--police-grids", help="police districts 警务区/警格 (polygons; station from "
                   "--jurisdictions by largest overlap where the file has none)")
    p.add_argument("--police-grid-id", help="id column of --police-grids (default pgrid_id)")
    p.add_argument("--police-grid-station", metavar="COL",
                   help="station id column of --police-grids (default station_id)")
    p.add_argument("--gov-grids", help="governance grids 综治网格 (polygons; community, township, "
                   "police grid and station by largest overlap where the file has none)")
    p.add_argument("--gov-grid-id", help="id column of --gov-grids (default grid_id)")
    p.add_argument("--attributes", action="append", default=[],
                   help="polygons whose --columns are apportioned to cells by area (repeatable)")
    p.add_argument("--columns", action="append", default=[],
                   help="columns of the matching --attributes, A,B or SRC=population (repeatable)")
    p.add_argument("--network", help="road network: GeoPackage (road_nodes/road_edges or nodes/links), "
                   "OSM XML/PBF, GraphML, TNTP or edge CSV")
    p.add_argument("--network-type", choices=["drive", "drive_service", "walk"], default="drive",
                   help="ways of an OSM --network: drive (patrol cars, the default), drive_service "
                        "(also service roads) or walk (foot patrols, every way two-way)")
    p.add_argument("--network-margin", type=float, default=2000.0, metavar="M",
                   help="keep the roads within M metres of the area (default 2000)")
    p.add_argument("--crs", help="working CRS, a projected EPSG code in metres (default: UTM zone of the area)")
    p.add_argument("--layer-crs", help="CRS to assume for input files that carry none (EPSG code)")
    p.add_argument("--source-crs", choices=["wgs84", "gcj02", "bd09"],
                   help="lon/lat of the inputs are GCJ-02 (Amap/Tencent) or BD-09 (Baidu): convert to WGS84")
    p.add_argument("--x-col", help="x/longitude column of CSV/Excel point files (default: found from "
                   "headers such as 经度, 东经, lng, X坐标)")
    p.add_argument("--y-col", help="y/latitude column of CSV/Excel point files (default: found from "
                   "headers such as 纬度, 北纬, lat, Y坐标)")
    p.add_argument("--cell-size", type=float, default=500.0, help="analysis cell size in metres (500)")
    p.add_argument("--cell-shape", choices=["square", "hex"], default="square")
    p.add_argument("--name", help="workspace name (default: the area's name)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace OUT even when it holds saved plans (they are lost)")
    _account_arguments(p)

    def run(args: argparse.Namespace) -> Result:
        from geo.build import build_workspace
        from geo.layers import LayerSource
        from geo.pgurl import is_database_url
        from geo.workspace import read_workspace, workspace_info, write_workspace
        out = args.out if is_database_url(args.out) else Path(args.out)  # a URL stays text
        if not is_database_url(out) and out.suffix.lower() != ".gpkg":
            raise GridPatrolError(f"OUT was {str(out)!r} but a workspace is a GeoPackage or a "
                                  "database; give a path ending in .gpkg or "
                                  "postgresql://USER@HOST/DB?schema=NAME")
        if not args.area and not args.units:
            raise GridPatrolError("give the study area (--area FILE), or base units (--units "
                                  "FILE --unit-id COL) whose union is the area")
        if args.units and not args.unit_id:
            raise GridPatrolError("--units was given without --unit-id; name the units' id "
                                  "column, e.g. --unit-id 村编码")
        if len(args.attributes) != len(args.columns):
            raise GridPatrolError(f"--attributes was given {len(args.attributes)} times but "
                                  f"--columns {len(args.columns)} times; give one --columns per "
                                  "--attributes")

        def src(path: str | None, id_col: str | None = None) -> LayerSource | None:
            if path is None:
                return None
            return LayerSource(path, id_col=id_col, crs=args.layer_crs, x_col=args.x_col,
                               y_col=args.y_col, source_crs=args.source_crs)

        try:
            ws, warns = build_workspace(
                area=src(args.area), townships=src(args.townships, args.township_id),
                stations=src(args.stations, args.station_id),
                jurisdictions=src(args.jurisdictions, args.jurisdiction_id),
                posts=src(args.posts, args.post_id), checkpoints=src(args.checkpoints, args.checkpoint_id),
                incidents=src(args.incidents, args.incident_id),
                communities=src(args.communities, args.community_id),
                police_grids=src(args.police_grids, args.police_grid_id),
                gov_grids=src(args.gov_grids, args.gov_grid_id),
                police_grid_station=args.police_grid_station,
                attributes=[(src(a), _column_mapping(c)) for a, c in zip(args.attributes, args.columns)],
                network=LayerSource(args.network, crs=args.layer_crs) if args.network else None,
                network_type=args.network_type, clip_margin_m=args.network_margin,
                working_crs=args.crs, cell_size_m=args.cell_size, cell_shape=args.cell_shape,
                name=args.name, units=src(args.units, args.unit_id),
                unit_station=args.unit_station, unit_name=args.unit_name,
                rivers=src(args.rivers), railways=src(args.railways))
        except ValidationError as exc:  # say which flag names the column
            raise ValidationError([_with_flag(p) for p in exc.problems]) from None
        author = _writer(args, out, action="build a workspace")
        try:
            write_workspace(ws.with_meta(author=author), out, overwrite_plans=args.overwrite)
        except GridPatrolError as exc:
            if "overwrite_plans" not in str(exc):
                raise
            raise GridPatrolError(f"OUT {str(out)!r} holds saved plan versions, which replacing it "
                                  "would lose; choose another file, or add --overwrite") from None
        info = workspace_info(read_workspace(out))
        # reading warnings (rule "read") reached main's capture in their own words already
        info["warnings"] = [str(w) for w in warns if w.rule != "read"]
        return info, _info_text(info)  # warnings go to stderr (main)
    return run


@command("plans", help="the saved plan versions of a workspace (append-only, with their authors)")
def _plans(p: argparse.ArgumentParser):
    p.add_argument("workspace", help="the workspace GeoPackage")

    def run(args: argparse.Namespace) -> Result:
        import pandas as pd

        from geo.workspace import check_workspace, read_plans
        where = check_workspace(args.workspace)  # a Path, or a DatabaseURL (name: the schema)
        table = read_plans(where)
        rows = [{"plan_id": int(r.plan_id), "name": r.name, "author": r.author, "created": r.created,
                 "parent_id": None if pd.isna(r.parent_id) else int(r.parent_id), "note": r.note}
                for r in table.itertuples(index=False)]
        lines = [f"{len(rows)} plan version(s) in {where.name}"]
        from geo.times import local_time_text
        lines += [f"  {r['plan_id']:>4d}  {local_time_text(r['created']) if r['created'] else '-':16s}  "
                  f"{r['author'] or '-':12s}  "
                  f"{r['name']}" + (f"  (from {r['parent_id']})" if r["parent_id"] is not None else "")
                  for r in rows]
        return {"plans": rows}, "\n".join(lines)
    return run


@command("copy", help="copy a workspace between GeoPackage files and PostGIS databases, with "
         "its plans and edit histories")
def _copy(p: argparse.ArgumentParser):
    p.add_argument("src", metavar="SRC", help="the workspace to copy: ws.gpkg or "
                   "postgresql://USER@HOST:PORT/DB?schema=NAME")
    p.add_argument("dst", metavar="DST", help="where to copy it: a .gpkg file or a "
                   "postgresql:// URL with ?schema=NAME (the schema is created)")
    p.add_argument("--force", action="store_true",
                   help="replace DST even when it holds saved plans (they are lost)")
    _account_arguments(p)

    def run(args: argparse.Namespace) -> Result:
        from geo.pgworkspace import read_edit_rows, transfer_workspace
        from geo.workspace import plan_count, read_workspace, workspace_info
        _writer(args, args.dst, action="write a workspace")
        out = transfer_workspace(args.src, args.dst, overwrite_plans=args.force)
        info = workspace_info(read_workspace(out))
        payload = {"source": args.src, "destination": str(out), "crs": info["crs"],
                   "layers": info["layers"], "plans": plan_count(out),
                   "edits": int(len(read_edit_rows(out)))}
        text = (f"copied {payload['source']} to {payload['destination']}: "
                f"{len(payload['layers'])} layers, {payload['plans']} plan version(s), "
                f"{payload['edits']} edit step(s), CRS {payload['crs']}")
        return payload, text
    return run


# --- audit (boundary audit) ----------------------------------------------------------------------

def _audit_arguments(p: argparse.ArgumentParser) -> None:
    """The two partitions and the audit options, shared by ``audit`` and ``align``."""
    p.add_argument("police", metavar="POLICE",
                   help="police units (jurisdictions, police grids, beats); file or ws.gpkg:layer "
                   "(ws.gpkg:police_grids, ws.gpkg:jurisdictions)")
    p.add_argument("admin", metavar="ADMIN",
                   help="admin units (townships, governance grids, communities; or jurisdictions "
                   "against police grids); file or ws.gpkg:layer (ws.gpkg:gov_grids)")
    p.add_argument("--police-id", help="id column of POLICE (required for a plain file; a workspace "
                   "layer uses its own: pgrid_id, station_id…)")
    p.add_argument("--admin-id", help="id column of ADMIN (may be the same name; required for a plain "
                   "file; a workspace layer uses its own: grid_id, township_id, community_id…)")
    p.add_argument("--police-station", help="column of POLICE naming each unit's station (police "
                   "grids; default station_id for a workspace's police_grids)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh",
                   help="language of report.md, report.html and the map (zh)")
    p.add_argument("--min-share", type=float, default=0.05,
                   help="a unit is split when 2+ counterparts each hold at least this share of its weight (0.05)")
    p.add_argument("--weight", choices=["area", "population", "incidents"], default="area",
                   help="what shares are shares of (area)")
    p.add_argument("--points", help="incident points (for --weight incidents, and severity; default: "
                   "the incidents of a workspace given as POLICE or ADMIN)")
    p.add_argument("--population", help="polygons or cells carrying population (default: the cells "
                   "of a workspace given as POLICE or ADMIN, else ADMIN itself)")
    p.add_argument("--population-col", help="population column (of --population, else of ADMIN; "
                   "default population for a workspace's cells)")
    p.add_argument("--area", help="study area polygons for gaps (default: the union of ADMIN)")
    p.add_argument("--crs", help="working CRS, a projected EPSG code in metres (default: UTM zone of ADMIN)")
    p.add_argument("--layer-crs", help="CRS to assume for input files that carry none (EPSG code)")
    p.add_argument("--sliver-area", type=float, default=100.0,
                   help="pieces smaller than this (m2) are slivers (100)")
    p.add_argument("--sliver-width", type=float, default=5.0,
                   help="pieces narrower than this everywhere (m) are slivers (5)")
    _scale_arguments(p)


def _audit_from_args(args: argparse.Namespace):
    """The boundary audit of ``audit`` and ``align`` (``geo.audit.audit_files``)."""
    from geo.audit import audit_files, workspace_layer
    from geo.layers import LayerSource

    def src(path: str | None) -> LayerSource | None:
        return None if path is None else LayerSource(path, crs=args.layer_crs)

    if args.population and not args.population_col:
        raise GridPatrolError("--population was given without --population-col; name the "
                              "population column of that layer")
    for flag, name, spec, given in (("--police-id", "POLICE", args.police, args.police_id),
                                    ("--admin-id", "ADMIN", args.admin, args.admin_id)):
        if given is None and workspace_layer(spec) is None:
            raise GridPatrolError(f"{flag} is required: {name} {spec!r} is not a layer of a "
                                  "GridPatrol workspace (such as ws.gpkg:police_grids), so its id "
                                  f"column is not known; give {flag} COLUMN")
    return audit_files(src(args.police), src(args.admin), police_id=args.police_id,
                       admin_id=args.admin_id, population=src(args.population),
                       points=src(args.points), area=src(args.area), weight=args.weight,
                       min_share=args.min_share, population_col=args.population_col,
                       working_crs=args.crs, sliver_area_m2=args.sliver_area,
                       sliver_width_m=args.sliver_width, police_station=args.police_station,
                       scale=_scale_from(args))


@command("audit", help="crosswalk and mismatch audit of two partitions (police vs admin units)")
def _audit(p: argparse.ArgumentParser):
    _audit_arguments(p)
    p.add_argument("--out", help="folder for crosswalk.csv, units.csv, audit.gpkg, audit_map.png, "
                   "report.md and report.html")

    def run(args: argparse.Namespace) -> Result:
        from geo.audit_report import write_audit
        audit = _audit_from_args(args)
        payload = audit.summary()
        if args.out:
            payload["written"] = [str(p) for p in write_audit(audit, args.out, lang=args.lang)]
        lines = [f"police units {payload['police_units']:6d}   split {len(payload['split_police']):5d}",
                 f"admin units  {payload['admin_units']:6d}   split {len(payload['split_admin']):5d}",
                 "significant pairs: " + ", ".join(f"{k} {v}" for k, v in payload["classes"].items()),
                 f"gaps {payload['gaps_m2']:,.0f} m2   overlaps {payload['overlaps_m2']:,.0f} m2   "
                 f"slivers {payload['slivers']}",
                 f"weight {payload['weight']}, min share {payload['min_share']:g}, CRS {payload['crs']}"]
        if audit.container:
            lines.append(f"{audit.container} units ({payload[audit.container + '_layer']}) are meant to hold "
                         "whole units of the other side: their spanning several is not ranked")
        if len(audit.severity):
            lines.append("worst splits:")
            for r in audit.severity.head(10).itertuples(index=False):
                lines.append(f"  {r.side:6s} {r.id!s:>10s}  {r.counterparts} counterparts, main "
                             f"{r.main} {r.main_share:.0%}, minority {r.minority_area_m2:,.0f} m2")
        held = [u for u in payload["units"] if u.get("station_share") is not None and u["split"]]
        if held:
            lines.append(f"split {payload['units_side']} units and their main station (all in "
                         "units.csv / --json units):")
            for u in held[:10]:
                lines.append(f"  {u['id']!s:>10s}  main {u['main']} {u['main_share']:.0%}, "
                             f"station {u['station']} {u['station_share']:.0%}")
        if payload.get("written"):
            lines.append("wrote " + ", ".join(payload["written"]))
        return payload, "\n".join(lines)  # warnings go to stderr (main)
    return run


def _records(frame, *, digits: int = 3) -> list[dict]:
    """The rows of ``frame`` as JSON-ready dicts: numbers rounded to ``digits``, missing values
    None, ids and other objects as text."""
    import math

    import numpy as np
    out = []
    for row in frame.to_dict("records"):
        rec = {}
        for k, v in row.items():
            if v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)):
                rec[str(k)] = None
            elif isinstance(v, (bool, np.bool_)):
                rec[str(k)] = bool(v)
            elif isinstance(v, (int, np.integer)):
                rec[str(k)] = int(v)
            elif isinstance(v, (float, np.floating)):
                rec[str(k)] = round(float(v), digits)
            else:
                rec[str(k)] = str(v)
        out.append(rec)
    return out


@command("align", help="alignment proposal: which station should own each township (admin "
         "unit), and the pieces to move, stations kept contiguous (the audit page's proposal)")
def _align(p: argparse.ArgumentParser):
    _audit_arguments(p)
    p.add_argument("--lock-stations", default="", metavar="A,B",
                   help="police units (stations) that neither give nor receive pieces")
    p.add_argument("--lock-townships", default="", metavar="A,B",
                   help="admin units whose pieces all stay where they are")
    p.add_argument("--out", help="folder for alignment_moves.csv, alignment_kept.csv, "
                   "alignment_workload.csv, alignment_owners.csv and alignment.gpkg (the "
                   "proposed jurisdictions)")

    def run(args: argparse.Namespace) -> Result:
        from planning.alignment import propose_alignment
        if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
            raise GridPatrolError(f"--out was {args.out!r}, which is a file; give a folder")
        audit = _audit_from_args(args)
        if audit.container == "admin":
            raise GridPatrolError(f"the ADMIN units ({args.admin}) are meant to hold whole POLICE "
                                  "units, so no police unit owns an admin unit; give the stations' "
                                  "jurisdictions as POLICE and townships (or other admin units) as ADMIN")
        proposal = propose_alignment(audit, locked_stations=_csv_list(args.lock_stations),
                                     locked_townships=_csv_list(args.lock_townships))
        owners = proposal.owners
        payload = {"moves": _records(proposal.moves), "kept": _records(proposal.kept),
                   "owners": _records(owners), "workload": _records(proposal.workload),
                   "pieces_moved": len(proposal.moves),
                   "split_before": int((owners["stations_before"] > 1).sum()),
                   "split_after": int((owners["stations_after"] > 1).sum()),
                   "contiguous": proposal.contiguous, "weight": args.weight}
        lines = [(f"{len(proposal.moves)} piece(s) move; admin units held by more than one station "
                  f"{payload['split_before']} -> {payload['split_after']}; stations contiguous as "
                  f"before: {'yes' if proposal.contiguous else 'no'}")]
        for r in payload["moves"][:20]:
            lines.append(f"  {r['admin']!s:>10s}: piece {r['piece']} {r['from_station']} -> "
                         f"{r['to_station']} ({r['area_m2'] / 1e6:,.2f} km²)")
        if len(payload["moves"]) > 20:
            lines.append(f"  ... {len(payload['moves']) - 20} more (all in --json or --out)")
        for r in payload["kept"][:10]:
            lines.append(f"  kept {r['admin']!s:>10s}: piece {r['piece']} stays with {r['station']} "
                         f"({r['reason']})")
        if args.out:
            from geo.tables import write_table
            folder = Path(args.out)
            folder.mkdir(parents=True, exist_ok=True)
            written = [write_table(frame, folder / f"alignment_{name}.csv")
                       for name, frame in (("moves", proposal.moves), ("kept", proposal.kept),
                                           ("workload", proposal.workload), ("owners", owners))]
            gpkg = folder / "alignment.gpkg"
            proposal.jurisdictions().to_file(gpkg, layer="jurisdictions", driver="GPKG")
            payload["written"] = [str(x) for x in (*written, gpkg)]
            lines.append("wrote " + ", ".join(payload["written"]))
        return payload, "\n".join(lines)
    return run


# --- network analyses (coverage, seal, ring, place-posts) ----------------------------------------

_ID_GUESSES = ("station_id", "post_id", "checkpoint_id", "unit_id", "exit_id", "facility_id", "id",
               "name")


def _network_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--network", required=True, metavar="NET",
                   help="road network: workspace .gpkg, .gpkg with road_nodes/road_edges (or "
                        "nodes/links), .osm/.pbf, .graphml, *edges.csv, *_net.tntp")
    p.add_argument("--speed-kmh", type=float, help="one speed for every road (km/h), e.g. 60")
    p.add_argument("--network-crs", help="CRS of network files that carry none (CSV x/y, TNTP, GraphML)")


def _load_network(args: argparse.Namespace, layers: tuple[str, ...] = (), *, arrays: bool = False):
    """(graph, travel-time engine, workspace or None) for --network; of a workspace only the
    road network and ``layers`` are read. ``arrays``: the graph as a ``geo.ring.RingGraph``
    read straight from the tables, no NetworkX graph (the ring checks need none)."""
    import sqlite3

    from geo.network import graph_from_file, graph_from_workspace
    from geo.traveltime import engine_from_graph
    try:
        ws = _maybe_workspace(args.network, layers=["road_nodes", "road_edges", *layers])
    except sqlite3.DatabaseError as exc:  # a .gpkg that is not SQLite (random bytes, truncated)
        raise GridPatrolError(f"--network was {args.network!r}, which is not a readable GeoPackage "
                              f"({exc}); give a workspace or a network file") from None
    if arrays:
        from geo.network import tables_from_file
        from geo.ring import ring_graph_from_tables, ring_graph_from_workspace
        rg = (ring_graph_from_workspace(ws, speed_kmh=args.speed_kmh) if ws is not None else
              ring_graph_from_tables(*tables_from_file(args.network, source_crs=args.network_crs),
                                     speed_kmh=args.speed_kmh, source=str(args.network)))
        return rg, rg.engine(), ws
    if ws is not None:
        G = graph_from_workspace(ws, speed_kmh=args.speed_kmh)
    else:
        G = graph_from_file(args.network, speed_kmh=args.speed_kmh, source_crs=args.network_crs)
    return G, engine_from_graph(G), ws


def _load_engine(args: argparse.Namespace, layers: tuple[str, ...] = ()):
    """(travel-time engine of every node, workspace or None) for --network, with no NetworkX
    graph (coverage); of a workspace only ``layers`` are read, and its roads without their lines."""
    import sqlite3

    from geo.network import engine_from_file
    from geo.pgurl import is_database_url
    if is_database_url(args.network):  # a workspace in PostGIS: its roads are read with its layers
        from geo.network import engine_from_workspace
        from geo.workspace import read_workspace
        ws = read_workspace(args.network, layers=[*layers, "road_nodes", "road_edges"])
        return engine_from_workspace(ws, speed_kmh=args.speed_kmh), ws
    try:
        ws = _maybe_workspace(args.network, layers=list(layers))
    except sqlite3.DatabaseError as exc:  # a .gpkg that is not SQLite (random bytes, truncated)
        raise GridPatrolError(f"--network was {args.network!r}, which is not a readable GeoPackage "
                              f"({exc}); give a workspace or a network file") from None
    engine = engine_from_file(args.network, crs=ws.crs if ws is not None else None,
                              speed_kmh=args.speed_kmh, source_crs=args.network_crs)
    return engine, ws


def _maybe_workspace(path: str, layers: list[str] | None = None):
    """The workspace at ``path`` when it is one (all layers, or only ``layers``), else None."""
    from geo.pgurl import is_database_url
    from geo.workspace import is_workspace, read_workspace
    if is_database_url(path):  # a database is only ever a workspace: say why it cannot be read
        return read_workspace(path, layers=layers)
    return read_workspace(path, layers=layers) if is_workspace(path) else None


def _points(spec: str | None, *, what: str, ws=None, layer: str | None = None, crs: str | None = None):
    """A point layer from a file, or the workspace's ``layer`` when no file is given."""
    from geo.layers import LayerSource, read_layer
    if spec is None:
        if ws is not None and layer is not None and ws.has(layer):
            return ws.layer(layer)
        raise GridPatrolError(f"give the {what} (a point file, or a workspace as --network that "
                              f"holds a {layer} layer)")
    return read_layer(LayerSource(spec, crs=crs))


def _id_column(gdf, given: str | None, what: str, flag: str = "--id",
               prefer: tuple[str, ...] = ()) -> str | None:
    """The id column ``given`` by ``flag`` (an error when the layer has no such column), else
    the first of ``prefer`` and the usual id columns that the layer has, else None (rows)."""
    if given is not None:
        if given not in gdf.columns:
            raise GridPatrolError(f"{flag} was {given!r} but the {what} have no such column; "
                                  f"columns are {_columns_text(gdf)}")
        return given
    return next((c for c in (*prefer, *_ID_GUESSES) if c in gdf.columns), None)


def _columns_text(gdf, limit: int = 40) -> str:
    from geo.errors import format_ids
    geometry = getattr(gdf, "_geometry_column_name", None)
    return "[" + format_ids([c for c in gdf.columns if c != geometry], limit=limit) + "]"


def _check_weight_column(cells, weight: str | None, flag: str = "--weight") -> None:
    """An error naming ``flag`` when the cells have no column ``weight``."""
    if weight is not None and weight not in cells.columns:
        raise GridPatrolError(f"{flag} was {weight!r} but the cells have no such column; columns "
                              f"are {_columns_text(cells)}")


@command("coverage", help="network response bands and response jurisdictions")
def _coverage(p: argparse.ArgumentParser):
    _network_arguments(p)
    p.add_argument("--facilities", help="stations/posts (points; default: the workspace's stations)")
    p.add_argument("--id", help="id column of --facilities (default: station_id, post_id, … or row)")
    p.add_argument("--minutes", default="1,3,5", help="response bands in minutes (1,3,5)")
    p.add_argument("--turnout-min", type=float,
                   help="turnout delay in minutes for every facility (default: the turnout_min column, else 0)")
    p.add_argument("--cells", help="cells with population/incidents (default: the workspace's cells)")
    p.add_argument("--weight", help="cell column summed as workload (default: incidents where the "
                                    "cells have it, else node counts)")
    p.add_argument("--at", help="time of day HH:MM: only the facilities open then (their hours "
                                "column: 7x24, 08:00-20:00 …) count")

    def run(args: argparse.Namespace) -> Result:
        from geo.coverage import coverage_from_network, parse_bands
        bands = parse_bands(args.minutes)
        engine, ws = _load_engine(args, ("stations", "cells"))
        if args.facilities is None and args.id is None and ws is not None and ws.has("stations"):
            from geo.stations import facilities_from_workspace
            fac = facilities_from_workspace(ws, units="stations")  # as the app and the briefing
        else:
            fac = _points(args.facilities, what="facilities", ws=ws, layer="stations")
        cells = None
        if args.cells:
            cells = _points(args.cells, what="cells")
        elif ws is not None and ws.has("cells"):
            cells = ws.layer("cells")
        id_col = _id_column(fac, args.id, "facilities")
        weight = args.weight
        if weight is not None and cells is None:
            raise GridPatrolError(f"--weight was {weight!r} but there are no cells to weigh; give "
                                  "--cells or a workspace as --network")
        if cells is not None:
            _check_weight_column(cells, weight)
            if weight is None and "incidents" in cells.columns:
                weight = "incidents"
        cov = coverage_from_network(engine, fac, id_col=id_col, bands=bands,
                                    turnout_min=args.turnout_min, cells=cells, weight=weight,
                                    at=args.at)
        out = cov.summary()
        lines = [f"{out['nodes']} nodes, {len(cov.facilities)} facilities"]
        if args.at is not None:
            out.update(at=args.at, open_facilities=int(len(cov.facilities)),
                       closed_facilities=int(len(fac) - len(cov.facilities)))
            lines[0] += f" open at {args.at} ({out['closed_facilities']} closed)"
        lines += [f"  within {b} min: {n} nodes ({n / max(out['nodes'], 1):.0%})"
                  for b, n in out["within"].items()]
        lines.append(f"  beyond {bands[-1]:g} min: {len(out['uncovered'])} nodes; longest "
                     f"{out['max_minutes'] if out['max_minutes'] is None else round(out['max_minutes'], 1)} min")
        if out["unreachable"]:
            lines.append(f"  reached by no facility: {out['unreachable']} nodes (unreachable_nodes in --json)")
        lines += [f"  {f}: {d['nodes']} nodes, weight {d['weight']:g}" for f, d in out["by_facility"].items()]
        return out, "\n".join(lines)
    return run


@command("seal", help="minimum time to close every entry (one or more units per entry, turnout delays)")
def _seal(p: argparse.ArgumentParser):
    _network_arguments(p)
    p.add_argument("--units", help="units: stations/posts/cars (points, or node_id column; "
                   "default: the stations and posts of a workspace given as --network)")
    p.add_argument("--unit-id", help="id column of --units")
    p.add_argument("--exits", help="entries to close (points, or node_id column; default: the "
                   "checkpoints of a workspace given as --network)")
    p.add_argument("--exit-id", help="id column of --exits")
    p.add_argument("--units-needed", help="units each exit needs: a number, or a column of --exits (1)")
    p.add_argument("--turnout-min", help="minutes before a unit leaves: a number, or a column of "
                                         "--units (default: the turnout_min column, else 0)")

    def run(args: argparse.Namespace) -> Result:
        from planning.seal import seal_from_network
        if args.units and args.exits:
            units = _points(args.units, what="units")
            exits = _points(args.exits, what="exits")
            engine, _ = _load_engine(args)  # snapped on the sparse graph: no NetworkX
        else:  # the workspace's own, as the coverage page seals its checkpoints
            engine, ws = _load_engine(args, ("stations", "posts", "checkpoints"))
            if args.units:
                units = _points(args.units, what="units")
            elif ws is not None:
                from geo.stations import facilities_from_workspace
                units = facilities_from_workspace(ws, units="both")
                if not len(units):
                    raise GridPatrolError("the workspace has no stations or posts; give --units")
            else:
                raise GridPatrolError("give --units (a point file), or a workspace as --network")
            exits = _points(args.exits, what="exits", ws=ws, layer="checkpoints")
        unit_id = _id_column(units, args.unit_id, "units", "--unit-id",
                             prefer=("unit_id", "facility_id"))
        exit_id = _id_column(exits, args.exit_id, "exits", "--exit-id",
                             prefer=("exit_id", "checkpoint_id"))

        def number_or_column(text, frame, default_column):
            if text is None:
                return default_column if default_column in frame.columns else None
            try:
                return float(text)
            except ValueError:
                return text  # a column name (checked by the library)
        need = number_or_column(args.units_needed, exits, "units_needed")
        turnout = number_or_column(args.turnout_min, units, "turnout_min")
        seal = seal_from_network(None, engine, units, exits, unit_id=unit_id, exit_id=exit_id,
                                 units_needed=need, turnout_min=turnout)
        out = seal.summary()
        lines = [f"all {len(out['units_needed'])} exits closed after {out['seal_minutes']:.1f} min "
                 f"({len(out['assignment'])} units)"]
        lines += [f"  {a['exit']:>12s} <- {a['unit']:<12s} {a['minutes']:6.1f} min" for a in out["assignment"]]
        return out, "\n".join(lines)
    return run


@command("ring", help="road crossings of a checkpoint ring and whether it is closed")
def _ring(p: argparse.ArgumentParser):
    _network_arguments(p)
    p.add_argument("--ring", help="ring polygon (default: the workspace's area)")
    p.add_argument("--checkpoints", help="checkpoints (points; default: the workspace's checkpoints)")
    p.add_argument("--checkpoint-id", help="id column of --checkpoints (default: checkpoint_id, … "
                                           "or row numbers)")
    p.add_argument("--tolerance-m", type=float, default=50.0,
                   help="a checkpoint covers roads within this many metres (50)")
    p.add_argument("--propose", action="store_true", help="also find the fewest new checkpoints that close the ring")
    p.add_argument("--band-m", type=float, default=0.0,
                   help="with --propose: new checkpoints may sit this far from the ring (0: on the crossings)")
    p.add_argument("--junctions", action="store_true", help="with --propose: allow checkpoints at junctions")
    p.add_argument("workspace", nargs="?", metavar="WS", help="the workspace (instead of --network)")
    next(a for a in p._actions if a.dest == "network").required = False
    p.add_argument("--rings", nargs="?", const="", metavar="FILE",
                   help="all layered rings (三圈三层) at once: the workspace's rings layer, or FILE "
                        "(polygons with a ring column: outer/inner/core), else the area and the "
                        "checkpoints' ring column")
    p.add_argument("--units-needed", help="with --rings: units each entry needs when sealing, one "
                   "number or per ring (outer=2,inner=1,core=1; default: the rings layer's "
                   "units_needed, else 2/1/1)")
    p.add_argument("--seal-entries", choices=("uncovered", "major", "all"), default="uncovered",
                   help="with --rings: seal the entries without a checkpoint (default), those on "
                        "arterial or bigger roads, or all")
    p.add_argument("--no-seal", action="store_true", help="with --rings: skip the seal time")

    def run(args: argparse.Namespace) -> Result:
        from geo.layers import LayerSource, read_layer
        from geo.ring import ring_crossings
        if args.workspace and args.network:
            raise GridPatrolError("give the workspace once: as WS or as --network, not both")
        args.network = args.network or args.workspace
        if not args.network:
            raise GridPatrolError("give the workspace (WS) or a road network (--network NET)")
        if args.rings is not None:
            return _ring_layers(args)
        G, _, ws = _load_network(args, ("area", "checkpoints"), arrays=True)
        if args.ring:
            ring = read_layer(LayerSource(args.ring))
        elif ws is not None and ws.has("area"):
            ring = ws.layer("area")
        else:
            raise GridPatrolError("give --ring (a polygon file), or a workspace with an area as --network")
        cps = None
        if args.checkpoints or (ws is not None and ws.has("checkpoints")):
            cps = _points(args.checkpoints, what="checkpoints", ws=ws, layer="checkpoints")
        if cps is None and args.checkpoint_id is not None:
            raise GridPatrolError(f"--checkpoint-id was {args.checkpoint_id!r} but there are no "
                                  "checkpoints; give --checkpoints or a workspace that has them")
        id_col = _id_column(cps, args.checkpoint_id, "checkpoints", "--checkpoint-id",
                            prefer=("checkpoint_id",)) if cps is not None else None
        result = ring_crossings(G, ring, checkpoints=cps, id_col=id_col,
                                tolerance_m=args.tolerance_m)
        out = result.summary()
        state = ("CLOSED" if out["closed"] else "OPEN" if result.reason is None
                 else "NOT CLOSED (cannot be checked)")
        lines = [f"{len(out['crossings'])} crossings, {len(out['covered'])} with a checkpoint, "
                 f"{len(out['uncovered'])} without; ring {state}"]
        if result.reason is not None:
            lines.append(f"  {result.reason}")
        lines += [f"  open: {c['crossing']} {c['road_class'] or '-'} ({c['u']}-{c['v']}, {c['direction']})"
                  for c in out["crossings"] if not c["covered"] and c["direction"] != "out"][:20]
        if args.propose and result.reason is not None:
            out["proposal"] = None
            lines.append("no proposal: the ring cannot be checked on this network")
        elif args.propose:
            from planning.placement import fewest_checkpoints
            cut = fewest_checkpoints(G, ring, checkpoints=cps, id_col=id_col,
                                     tolerance_m=args.tolerance_m, band_m=args.band_m,
                                     junctions=args.junctions)
            out["proposal"] = cut.summary()
            lines.append(f"fewest new checkpoints to close it: {cut.count}")
        return out, "\n".join(lines)
    return run


def _units_needed(text: str | None):
    """--units-needed: None, one whole number, or level=number pairs."""
    if text is None:
        return None
    text = text.strip()
    try:
        if "=" not in text:
            return int(text)
        out = {}
        for part in _csv_list(text):
            level, _, k = part.partition("=")
            if level.strip() not in ("outer", "inner", "core"):
                raise ValueError(level)
            out[level.strip()] = int(k)
        return out
    except ValueError:
        raise GridPatrolError(f"--units-needed was {text!r} but must be a whole number (2) or "
                              "ring=number pairs (outer=2,inner=1,core=1)") from None


def _ring_layers(args: argparse.Namespace) -> Result:
    """``gridpatrol ring --rings``: every ring of the workspace at once."""
    from geo.layers import LayerSource, read_layer
    from planning.rings import analyse_rings, rings_from_workspace, units_from_workspace
    need = _units_needed(args.units_needed)
    G, engine, ws = _load_network(args, ("area", "checkpoints", "townships", "rings", "stations",
                                         "posts"), arrays=True)
    if ws is None:
        raise GridPatrolError("--rings needs a workspace (WS or --network) holding the area or rings")
    rings = read_layer(LayerSource(args.rings)) if args.rings else None
    specs = rings_from_workspace(ws, rings)
    cps = None
    if args.checkpoints or ws.has("checkpoints"):
        cps = _points(args.checkpoints, what="checkpoints", ws=ws, layer="checkpoints")
    id_col = _id_column(cps, args.checkpoint_id, "checkpoints", "--checkpoint-id",
                        prefer=("checkpoint_id",)) if cps is not None else None
    units = None if args.no_seal else units_from_workspace(ws)
    result = analyse_rings(G, engine, specs, checkpoints=cps, id_col=id_col,
                           tolerance_m=args.tolerance_m, propose=args.propose, band_m=args.band_m,
                           junctions=args.junctions, units=units, units_needed=need,
                           seal_entries=args.seal_entries)
    out = result.summary()
    lines = []
    for r in out["rings"]:
        state = ("CLOSED" if r["closed"] else "OPEN" if r["closure"]["reason"] is None
                 else "NOT CLOSED (cannot be checked)")
        lines.append(f"{r['level']:<5s} {r['name']}: {len(r['entries'])} entries, {len(r['covered'])} with a "
                     f"checkpoint, {len(r['uncovered'])} without; {state}")
        if r["closure"]["open_path"]:
            lines.append(f"  open path: {' > '.join(map(str, r['closure']['open_path'][:8]))}"
                         + (" ..." if len(r["closure"]["open_path"]) > 8 else ""))
        if r["proposal"] is not None:
            lines.append(f"  fewest new checkpoints to close it: {r['proposal']['new_checkpoints']}")
        if r["seal_minutes"] is not None:
            lines.append(f"  sealed after {r['seal_minutes']:.1f} min ({sum(r['units_needed'].values())} "
                         f"units to {len(r['units_needed'])} entries)")
        elif not args.no_seal:
            lines.append(f"  no seal: {r['seal_reason']}")
    return out, "\n".join(lines)


@command("place-posts", help="new post sites: maximal covering or set covering (HiGHS, exact)")
def _place_posts(p: argparse.ArgumentParser):
    _network_arguments(p)
    p.add_argument("--existing", help="existing posts/stations, kept (default: the workspace's posts and stations)")
    p.add_argument("--existing-id", help="id column of --existing")
    p.add_argument("--cells", help="demand cells with --weight (default: the workspace's cells)")
    p.add_argument("--weight", default="population", help="cell column to cover: population or incidents")
    p.add_argument("--minutes", type=float, default=5.0, help="response standard T in minutes (5)")
    p.add_argument("--k", "--posts", dest="k", type=int, help="number of new posts (maximal covering)")
    p.add_argument("--model", choices=["max_cover", "set_cover"], default="max_cover",
                   help="max_cover: best k sites; set_cover: fewest sites reaching all demand")
    p.add_argument("--candidates", help="candidate sites (points); default: the nodes of the demand cells")
    p.add_argument("--time-limit", type=float, default=60.0, help="solver time limit in seconds (60)")
    p.add_argument("--hours-share", type=float, default=0.8, help="share of a new post's added "
                   "value (by hour, weighted by incidents) its proposed opening hours keep (0.8)")
    p.add_argument("--matrix", metavar="COSTS", help="instead of --network: a travel-cost table "
                   "the planner brings (CSV/Excel: candidate_id, demand_id, cost; e.g. minutes "
                   "from a map service); a candidate covers a demand point when cost <= --minutes")
    p.add_argument("--demand", metavar="DEMAND", help="with --matrix: the demand points "
                   "(CSV/Excel: demand_id, weight)")
    p.add_argument("--open", default="", metavar="A,B", help="with --matrix: candidate ids open "
                   "already (kept; what they reach counts as covered)")
    next(a for a in p._actions if a.dest == "network").required = False

    def run(args: argparse.Namespace) -> Result:
        import pandas as pd
        if args.matrix or args.demand:
            return _place_posts_matrix(args)
        if not args.network:
            raise GridPatrolError("give the road network (--network NET, or a workspace), or a "
                                  "travel-cost table (--matrix COSTS --demand DEMAND)")
        from geo.hours import facility_hours
        from geo.network import SNAP_REFUSE_M, cell_nodes, snap_points
        from geo.stations import facilities_from_workspace
        from planning.placement import demand_from_cells, place_posts
        from planning.post_hours import staffing_hours
        if not 0 < args.hours_share <= 1:
            raise GridPatrolError(f"--hours-share was {args.hours_share}; give a share in (0, 1], "
                                  "e.g. 0.8")
        engine, ws = _load_engine(args, ("cells", "stations", "posts", "incidents"))  # no NetworkX
        if args.cells:
            cells = _points(args.cells, what="cells")
        elif ws is not None and ws.has("cells"):
            cells = ws.layer("cells")
        else:
            raise GridPatrolError("give --cells (cells with a population or incidents column) or a "
                                  "workspace as --network")
        if "cell_id" not in cells.columns:
            raise GridPatrolError("the cells have no cell_id column")
        _check_weight_column(cells, args.weight)
        demand = demand_from_cells(cells, cell_nodes(cells, engine), weight=args.weight)
        existing = pd.Series(dtype=object)
        delays = None
        frames = []
        if args.existing:
            frames.append((_points(args.existing, what="existing sites"), args.existing_id))
        elif ws is not None:
            fac = facilities_from_workspace(ws, units="both")  # stations and posts (geo.stations)
            frames += [(fac, "facility_id")] if len(fac) else []
        parts, delay_parts, open_hours = [], [], {}
        for frame, col in frames:
            fid = _id_column(frame, col, "existing sites", "--existing-id")
            snapped = snap_points(frame, engine, id_col=fid, what="existing sites", refuse_m=SNAP_REFUSE_M)
            for k, h in zip(snapped["id"].to_numpy(), facility_hours(frame, layer="existing sites", id_col=fid)):
                open_hours.setdefault(k, h)
            parts.append(pd.Series(snapped["node"].to_numpy(), index=snapped["id"].to_numpy()))
            t = (pd.to_numeric(frame["turnout_min"], errors="coerce").fillna(0.0).to_numpy()
                 if "turnout_min" in frame.columns else 0.0)
            delay_parts.append(pd.Series(t, index=snapped["id"].to_numpy(), dtype=float))
        if parts:
            existing = pd.concat(parts)
            delays = pd.concat(delay_parts)
            existing = existing[~existing.index.duplicated()]
            delays = delays[~delays.index.duplicated()]
        candidates = None
        if args.candidates:
            cand = _points(args.candidates, what="candidates")
            candidates = snap_points(cand, engine, what="candidates", refuse_m=SNAP_REFUSE_M)["node"].tolist()
        result = place_posts(engine, demand, minutes=args.minutes, existing=existing,
                             candidates=candidates, k=args.k, model=args.model, delays_min=delays,
                             time_limit_s=args.time_limit)
        out = result.summary()
        b, a = out["before"], out["after"]
        text = (f"{args.model}: {len(out['chosen'])} new sites {out['chosen']} ({out['status']}, "
                f"gap {out['gap']:.2%}, {out['seconds']:.1f} s)\n"
                f"  {args.weight} within {args.minutes:g} min: {b.get('weight_within', 0):g} "
                f"({b.get('share_within', 0):.1%}) -> {a.get('weight_within', 0):g} ({a.get('share_within', 0):.1%})")
        # Posts by the hour: when each new post adds most (existing facilities by their hours).
        by_hour = None
        if ws is not None and ws.has("incidents") and "time" in ws.layer("incidents").columns:
            from geo.hot_times import workspace_hot_times
            by_hour = workspace_hot_times(ws).by_hour
        hours = staffing_hours(engine, demand, sites=list(result.chosen), existing=existing,
                               existing_hours=open_hours, by_hour=by_hour, minutes=args.minutes,
                               delays_min=delays, share=args.hours_share)
        out["hours"] = [h.as_dict() for h in hours]
        out["hours_weighted_by"] = "incidents by hour" if by_hour is not None else "every hour alike"
        for h in out["hours"]:
            text += (f"\n  new site {h['site']}: adds most at "
                     f"{', '.join(f'{x:02d}:00' for x in h['top_hours']) or '-'}; staff "
                     f"{h['proposed_window'] or '-'} (one window) or {h['proposed_hours'] or '-'} "
                     f"for {h['share']:.0%} of its added value")
        return out, text
    return run



def _table_file(path: str, flag: str):
    """The table (CSV/Excel) at ``path`` given by ``flag``; an error naming both when it is missing."""
    from geo.errors import InputError
    from geo.tables import table_from_file
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{flag} was {path!r}, which "
                              + ("is a folder" if file.is_dir() else "does not exist")
                              + "; give a CSV or Excel file")
    return table_from_file(file)


def _place_posts_matrix(args: argparse.Namespace) -> Result:
    """``place-posts --matrix COSTS --demand DEMAND``: planning.placement_from_cost_matrix."""
    from planning.placement import placement_from_cost_matrix
    if not (args.matrix and args.demand):
        raise GridPatrolError("--matrix and --demand go together: the travel-cost table "
                              "(candidate_id, demand_id, cost) and the demand points "
                              "(demand_id, weight)")
    clash = [flag for flag, given in (("--network", args.network), ("--existing", args.existing),
                                      ("--cells", args.cells), ("--candidates", args.candidates))
             if given]
    if clash:
        raise GridPatrolError(f"{', '.join(clash)} and --matrix exclude each other: with --matrix "
                              "the candidates, demand points and costs all come from the tables "
                              "(open sites with --open)")
    costs = _table_file(args.matrix, "--matrix")
    demand = _table_file(args.demand, "--demand")
    result = placement_from_cost_matrix(costs, demand, minutes=args.minutes, k=args.k,
                                        model=args.model, existing=_csv_list(args.open),
                                        time_limit_s=args.time_limit, costs_source=args.matrix,
                                        demand_source=args.demand)
    out = result.summary()
    out.update(source="matrix", minutes=args.minutes, matrix=args.matrix, demand=args.demand,
               open=_csv_list(args.open))
    b, a = out["before"], out["after"]
    text = (f"{args.model}: {len(out['chosen'])} new sites {', '.join(out['chosen']) or '-'} "
            f"({out['status']}, gap {out['gap']:.2%}, {out['seconds']:.1f} s)\n"
            f"  weight within cost {args.minutes:g}: {b['covered_weight']:g} ({b['covered_share']:.1%}) "
            f"-> {a['covered_weight']:g} ({a['covered_share']:.1%}), {a['demand_within']} demand points")
    if out["uncoverable"]:
        text += f"\n  no candidate reaches {len(out['uncoverable'])} demand point(s) within the limit"
    return out, text

# --- redistricting -----------------------------------------------------------------------------

@command("redistrict", help="propose a new jurisdiction plan (balanced, contiguous, compact)")
def _redistrict(p: argparse.ArgumentParser):
    p.add_argument("workspace", help="the workspace GeoPackage (layers cells and stations)")
    p.add_argument("--weight", default=None,
                   help="workload columns of the cells, COL[=W],... (default incidents; with "
                        "--districts population,migrants,incidents where present); each "
                        "column counts as its share of the total, times W")
    p.add_argument("--max-deviation", type=float, default=0.05,
                   help="largest allowed workload deviation from the mean, a fraction (0.05)")
    p.add_argument("--from", dest="start", choices=["current", "scratch"], default="current",
                   help="start from the current jurisdictions (cells' station_id) or grow "
                        "districts from the stations")
    p.add_argument("--keep-townships", action="store_true",
                   help="avoid splitting townships (a strong penalty per split township)")
    p.add_argument("--min-change", type=float, default=None,
                   help="weight of the share of cells changed against the current plan "
                        "(default 0.05 with --from current, 0 with scratch)")
    p.add_argument("--least-change", action="store_true",
                   help="reach --max-deviation while moving the least workload, then people, "
                        "then units from the current plan (needs --from current)")
    p.add_argument("--change-order", default="workload,population,units",
                   help="with --least-change: what to minimise, most important first "
                        "(workload,population,units)")
    p.add_argument("--lock", default="", help="cell ids that keep their station, A,B,...")
    p.add_argument("--lock-stations", default="",
                   help="stations whose district may not change (it neither gains nor loses cells)")
    p.add_argument("--exact", nargs="?", const="max_deviation", metavar="OBJECTIVE",
                   choices=["max_deviation", "distance", "moved"],
                   help="solve the exact integer program (HiGHS; units some tens to a few "
                        "hundred): max_deviation (default: the smallest largest deviation), "
                        "distance (the shortest mean distance to the station within "
                        "--max-deviation) or moved (the least workload moved from today's plan "
                        "within --max-deviation); --time-limit default 60 s")
    p.add_argument("--max-distance", type=float, default=None,
                   help="no cell farther than this from its station, metres")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--time-limit", type=float, default=None, help="stop the search after S seconds")
    p.add_argument("--out", help="write plan_cells and jurisdictions (.gpkg; .geojson/.shp: "
                                 "jurisdictions and a _cells.csv)")
    p.add_argument("--save-plan", metavar="NAME",
                   help="append the plan to the workspace as a new version called NAME")
    p.add_argument("--note", default="", help="note saved with --save-plan")
    p.add_argument("--districts", type=int, metavar="K", help="with --from scratch: draw K "
                   "balanced, contiguous, compact districts whose centres are chosen (beats, 警务区)")
    p.add_argument("--within", metavar="STATION", help="with --districts: only the units of this "
                   "station's current jurisdiction (its police districts)")
    p.add_argument("--save-districts", action="store_true", help="with --districts: save them as "
                   "the police_grids layer (with --within only that station's grids are replaced)")
    p.add_argument("--bound", action="store_true", help="with --districts: also solve the "
                   "p-median MIP lower bound (done anyway for up to 150 units)")
    p.add_argument("--cost", choices=["auto", "road", "straight"], default="auto",
                   help="with --districts: distance to the centre as road travel minutes (auto: "
                        "when the workspace has roads) or straight-line metres")
    _account_arguments(p)

    def run(args: argparse.Namespace) -> Result:
        import time

        import numpy as np

        from geo.workspace import read_workspace
        from planning.redistrict import ScoreWeights, grown_plan, optimize, repaired_plan
        from planning.study import current_plan, workspace_graph

        if args.districts is not None or args.within or args.save_districts:
            return _draw_districts_run(args)
        args.weight = args.weight or "incidents"
        started = time.perf_counter()
        if not (0 < args.max_deviation < 1):
            raise GridPatrolError(f"--max-deviation was {args.max_deviation} but must be a "
                                  "fraction between 0 and 1, e.g. 0.05 for 5 %")
        if args.out:
            _out_kind(args.out, {".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson",
                                 ".shp": "shp"}, what="the plan")
        if args.save_plan is not None and not args.save_plan.strip():
            raise GridPatrolError("--save-plan was empty; give the plan version a name, e.g. "
                                  "--save-plan 2027调整方案")
        author = _writer(args, args.workspace, action="save a plan") if args.save_plan else None
        ws = read_workspace(args.workspace)
        graph = workspace_graph(ws, weights=args.weight)
        current = current_plan(ws, graph)
        if args.start == "current" and current is None:
            raise GridPatrolError("the cells carry no station_id (no jurisdictions were "
                                  "imported); use --from scratch")
        if args.exact is not None:
            return _exact_run(args, graph, current, started, author)
        if args.least_change:
            if args.start != "current":
                raise GridPatrolError("--least-change counts what moves from the current plan; "
                                      "drop --from scratch (or use --from current)")
            return _least_change_run(args, graph, current, started, author)
        start = repaired_plan(current) if args.start == "current" else grown_plan(graph)
        change = args.min_change if args.min_change is not None else (
            0.05 if args.start == "current" else 0.0)
        weights = ScoreWeights(change=change, townships=0.05 if args.keep_townships else 0.0)
        last = None
        for last in optimize(start, max_deviation=args.max_deviation, baseline=current or start,
                             locked_cells=_csv_list(args.lock),
                             locked_stations=_csv_list(args.lock_stations),
                             max_cost=args.max_distance, keep_townships=args.keep_townships,
                             weights=weights, time_limit_s=args.time_limit,
                             rng=np.random.default_rng(args.seed)):
            pass
        plan = last["plan"]
        payload = plan.summary(current)
        payload.setdefault("cells_changed", 0)
        payload["seconds"] = round(time.perf_counter() - started, 3)
        payload["search_seconds"] = round(last["seconds"], 3)
        payload["target_reached_s"] = (None if last["target_reached_s"] is None
                                       else round(last["target_reached_s"], 3))
        payload["iterations"] = last["iteration"]
        payload["weights"] = dict(graph.weights)
        if current is not None:
            payload["current_max_deviation"] = round(current.max_deviation, 6)
            payload["current_contiguous"] = current.contiguous
            payload["current_township_splits"] = current.township_splits
        payload["max_deviation_target"] = args.max_deviation
        payload["target_met"] = bool(plan.max_deviation <= args.max_deviation)
        # (when it is not met, planning.redistrict.optimize warns with the figure reached)
        text = (f"{graph.n_stations} districts, contiguous: {plan.contiguous}, max workload "
                f"deviation {plan.max_deviation:.2%}"
                + ("" if payload["target_met"] else f" (target {args.max_deviation:.2%} NOT met)")
                + (f" (current {current.max_deviation:.1%})" if current is not None else "")
                + f", township splits {plan.township_splits}, cells changed "
                f"{payload['cells_changed']}, {payload['seconds']:.1f} s")
        return _finish_plan(args, plan, current, payload, text, author=author,
                            note=f"gridpatrol redistrict --weight {args.weight}")
    return run


def _finish_plan(args: argparse.Namespace, plan, current, payload: dict, text: str, *,
                 author: str | None, note: str) -> Result:
    """What every station plan of ``redistrict`` ends with: per-station figures and the change
    orders against today's plan in the JSON, then ``--out`` and ``--save-plan``."""
    from planning.editing import save_plan, write_plan
    from planning.orders import change_orders, orders_json
    payload["stations"] = {
        sid: {"cells": int(row.cells), "workload_share": round(float(row.workload), 6),
              "deviation": round(float(row.deviation), 6)}
        for sid, row in plan.table(columns=()).iterrows()}
    if current is not None:
        payload["change_orders"] = orders_json(change_orders(current, plan), lang="en")
    if args.out:
        payload["out"] = [str(x) for x in write_plan(plan, args.out)]
        text += f"\nwrote {', '.join(payload['out'])}"
    if args.save_plan:
        payload["plan_id"] = save_plan(args.workspace, plan, name=args.save_plan, author=author,
                                       note=args.note or note)
        payload["author"] = author
        text += f"\nsaved plan {payload['plan_id']} ({args.save_plan}, by {author}) in {args.workspace}"
    return payload, text


def _draw_districts_run(args: argparse.Namespace) -> Result:
    """``redistrict --districts K --from scratch [--within STATION]``: planning.districts."""
    from geo.workspace import read_workspace
    from planning.districts import draw_districts, p_median_bound, save_police_grids, workspace_problem
    if args.districts is None:
        raise GridPatrolError("--within and --save-districts go with --districts K; add e.g. "
                              "--districts 5 --from scratch")
    if args.start != "scratch":
        raise GridPatrolError("--districts K draws districts with new centres, not from the "
                              "current plan; add --from scratch")
    if args.least_change or args.save_plan or args.out:
        raise GridPatrolError("--districts draws police districts; --least-change, --save-plan "
                              "and --out are for station plans (save districts with --save-districts)")
    if args.districts < 1:
        raise GridPatrolError(f"--districts was {args.districts} but must be at least 1")
    if not (0 < args.max_deviation < 1):
        raise GridPatrolError(f"--max-deviation was {args.max_deviation} but must be a "
                              "fraction between 0 and 1, e.g. 0.05 for 5 %")
    author = _writer(args, args.workspace, action="save police districts") if args.save_districts else None
    ws = read_workspace(args.workspace)
    problem = workspace_problem(ws, weights=args.weight, within_station=args.within, cost=args.cost)
    if args.districts > problem.n:
        where = f"station {problem.station_id}'s jurisdiction" if problem.station_id else "the workspace"
        raise GridPatrolError(f"--districts was {args.districts} but {where} has only {problem.n} "
                              f"units; choose at most {problem.n}")
    result = draw_districts(problem, args.districts, max_deviation=args.max_deviation,
                            seed=args.seed, time_limit_s=args.time_limit)
    payload = result.summary()
    if args.bound or problem.n <= 150:
        bound = p_median_bound(problem, args.districts, max_deviation=args.max_deviation,
                               time_limit_s=args.time_limit or 60.0, start=result)
        lb = bound["bound"]
        payload["lower_bound"] = None if lb is None else round(lb, 4)
        payload["gap_to_bound"] = (round(result.objective / lb - 1.0, 6)
                                   if lb and result.target_met else None)
        payload["bound"] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in bound.items()}
    unit = result.cost_unit
    text = (f"{args.districts} districts" + (f" in station {problem.station_id}" if problem.station_id else "")
            + f" over {problem.n} units, contiguous: {result.contiguous}, max workload deviation "
            f"{result.max_deviation:.2%}" + ("" if result.target_met else
                                             f" (target {args.max_deviation:.2%} NOT met)")
            + f", mean distance to the centre {result.objective:.1f} {unit} ({result.cost_source}; "
            f"weights {', '.join(result.weights)})")
    if payload.get("lower_bound") is not None:
        text += f", lower bound {payload['lower_bound']:.1f} {unit}"
    text += f", {result.seconds:.1f} s"
    for row in payload["districts"]:
        text += (f"\n  {row['district_id']:10s} centre {row['centre']:>8s} units {row['units']:5d} "
                 f"share {row['workload_share']:.3f} dev {row['deviation']:+.2%} "
                 f"mean {row['mean_distance']:.1f} {unit}")
    if args.save_districts:
        payload["saved"] = save_police_grids(args.workspace, result, author=author)
        payload["author"] = author
        text += (f"\nsaved {payload['saved']['written']} police districts in {args.workspace} "
                 f"(by {author}; {payload['saved']['kept']} of other stations kept)")
    return payload, text


def _exact_run(args: argparse.Namespace, graph, current, started: float,
               author: str | None) -> Result:
    """``redistrict --exact``: the MIP of planning.exact (the yardstick of the heuristics)."""
    import time

    from planning.constraints import locked_positions
    from planning.exact import exact_plan
    if args.least_change:
        raise GridPatrolError("--exact moved is the exact form of --least-change; give one of them")
    objective = args.exact
    if objective == "moved" and current is None:
        raise GridPatrolError("--exact moved counts what moves from the current plan, but the "
                              "cells carry no station_id; choose --exact max_deviation or distance")
    lock_cells, lock_stations = _csv_list(args.lock), _csv_list(args.lock_stations)
    if (lock_cells or lock_stations) and current is None:
        raise GridPatrolError("--lock and --lock-stations keep cells where today's plan has them, "
                              "but the cells carry no station_id; drop them")
    locked = None
    if lock_cells or lock_stations:
        locked = locked_positions(graph, current, cells=lock_cells, stations=lock_stations,
                                  station_cells=False)
    limit = 60.0 if args.time_limit is None else args.time_limit
    res = exact_plan(graph, objective=objective,
                     max_deviation=None if objective == "max_deviation" else args.max_deviation,
                     max_cost=args.max_distance, locked=locked,
                     baseline=current if (locked is not None or objective == "moved") else None,
                     time_limit_s=limit, seed=args.seed)
    if res.plan is None:
        raise GridPatrolError(f"the exact model found no plan within {limit:g} s ({res.status}; "
                              f"{graph.n_cells} units, {res.n_cols} variables); raise --time-limit, "
                              "or use the heuristic (drop --exact)")
    plan = res.plan
    payload = plan.summary(current)
    payload.setdefault("cells_changed", 0)
    payload.update(method="exact", objective=objective, status=res.status, optimal=res.optimal,
                   value=None if res.value is None else round(res.value, 6),
                   bound=round(res.bound, 6), gap=round(res.gap, 6),
                   solver_seconds=round(res.seconds, 3), variables=res.n_cols,
                   constraints=res.n_rows, seconds=round(time.perf_counter() - started, 3),
                   weights=dict(graph.weights), max_deviation_target=args.max_deviation,
                   target_met=bool(plan.max_deviation <= args.max_deviation + 1e-9))
    if current is not None:
        payload["current_max_deviation"] = round(current.max_deviation, 6)
    if not res.optimal:
        logging.getLogger("gridpatrol.cli").warning(
            "the exact model stopped at %s after %.0f s before proving the plan optimal; the %s "
            "may be up to %.1f %% from the best", res.status, res.seconds, objective, 100 * res.gap)
    if not payload["target_met"]:
        logging.getLogger("gridpatrol.cli").warning(
            "largest workload deviation %.2f %%, above --max-deviation %.2f %%",
            100 * plan.max_deviation, 100 * args.max_deviation)
    value = ("-" if res.value is None else f"{res.value:.2%}" if objective != "distance"
             else f"{res.value:,.1f} {graph.cost_unit}")
    text = (f"exact {objective}: {graph.n_stations} districts, {res.status}"
            + ("" if res.optimal else f" (gap {res.gap:.2%})")
            + f", value {value}, contiguous: {plan.contiguous}, max workload deviation "
            f"{plan.max_deviation:.2%}"
            + (f" (current {current.max_deviation:.1%})" if current is not None else "")
            + f", cells changed {payload['cells_changed']}, {payload['seconds']:.1f} s")
    return _finish_plan(args, plan, current, payload, text, author=author,
                        note=f"gridpatrol redistrict --exact {objective} --weight {args.weight}")


def _least_change_run(args: argparse.Namespace, graph, current, started: float,
                      author: str | None) -> Result:
    """``redistrict --least-change``: planning.least_change from the current plan."""
    import time

    import numpy as np

    from geo.errors import InputError
    from planning.least_change import least_change
    order = tuple(_csv_list(args.change_order))
    try:
        res = least_change(current, baseline=current, max_deviation=args.max_deviation,
                           locked_cells=_csv_list(args.lock),
                           locked_stations=_csv_list(args.lock_stations),
                           max_cost=args.max_distance, order=order, time_limit_s=args.time_limit,
                           rng=np.random.default_rng(args.seed))
    except InputError as exc:
        if "`order`" not in str(exc):
            raise
        raise InputError(str(exc).replace("`order`", "--change-order")) from None
    plan = res.plan
    payload = plan.summary(current)
    payload.setdefault("cells_changed", 0)
    payload.update(res.summary())
    payload["method"] = "least_change"
    payload["change_order"] = list(order)
    payload["seconds"] = round(time.perf_counter() - started, 3)
    payload["search_seconds"] = round(res.seconds, 3)
    payload["weights"] = dict(graph.weights)
    payload["current_max_deviation"] = round(current.max_deviation, 6)
    payload["current_contiguous"] = current.contiguous
    payload["current_township_splits"] = current.township_splits
    ratio = "-" if res.moved_ratio is None else f"{res.moved_ratio:.2f}"
    text = (f"{graph.n_stations} districts, contiguous: {plan.contiguous}, max workload "
            f"deviation {plan.max_deviation:.2%}"
            + ("" if res.target_met else f" (target {args.max_deviation:.2%} NOT met)")
            + f" (current {current.max_deviation:.1%}); moved {res.moved_workload:.1%} of the "
            f"workload (bound {res.moved_bound:.1%}, ratio {ratio}), {res.units_moved} cells")
    if res.moved_people is not None:
        pr = "-" if not res.moved_people_bound else f"{res.moved_people / res.moved_people_bound:.2f}"
        text += (f", {res.moved_people:,.0f} people (bound {res.moved_people_bound:,.0f}, "
                 f"ratio {pr})")
    text += f", {payload['seconds']:.1f} s"
    return _finish_plan(args, plan, current, payload, text, author=author,
                        note=f"gridpatrol redistrict --least-change --weight {args.weight}")


# --- hot times ---------------------------------------------------------------------------------

@command("hot-times", help="when incidents happen: by hour and hour of week, peaks, proposed shifts")
def _hot_times(p: argparse.ArgumentParser):
    p.add_argument("workspace", help="the workspace GeoPackage (incidents with times)")
    p.add_argument("--station", help="only this station's incidents (station_id)")
    p.add_argument("--township", help="only incidents inside this township (township_id)")
    p.add_argument("--end-col", help="incident column of end times: each incident is spread "
                                     "evenly from its time to its end (aoristic)")
    p.add_argument("--shifts", type=int, default=3, help="number of shifts to propose (3)")
    p.add_argument("--today", default="08:00-16:00,16:00-24:00,00:00-08:00",
                   help="today's shifts HH:MM-HH:MM,... (08:00-16:00,16:00-24:00,00:00-08:00)")
    p.add_argument("--units", default="3", help="units on duty in each of today's shifts: one "
                                                "number, or one per shift (3)")
    p.add_argument("--min-hours", type=int, default=4, help="shortest proposed shift, hours (4)")
    p.add_argument("--max-hours", type=int, default=12, help="longest proposed shift, hours (12)")
    _scale_arguments(p)

    def run(args: argparse.Namespace) -> Result:
        import numpy as np

        from geo.hot_times import DAYS_EN, parse_shifts, propose_shifts, shifts_load
        from geo.scale import workspace_engine, workspace_hot_times
        scale = _scale_from(args)
        engine = workspace_engine(args.workspace, scale, end_col=args.end_col)
        ht = workspace_hot_times(args.workspace, station=args.station, township=args.township,
                                 end_col=args.end_col, scale=scale)
        scope = ht.scope
        today = parse_shifts(args.today)
        try:
            units = [int(u) for u in _csv_list(args.units)]
        except ValueError:
            raise GridPatrolError(f"--units was {args.units!r}; give whole numbers, e.g. 3 or "
                                  "3,4,2") from None
        if len(units) == 1:
            units = units * len(today)
        if len(units) != len(today) or min(units) < 1:
            raise GridPatrolError(f"--units gives {len(units)} numbers for {len(today)} shifts; "
                                  "give one number (>= 1) or one per shift")
        now = shifts_load(ht.by_hour, today, units)
        proposed = propose_shifts(ht.by_hour, n_shifts=args.shifts, unit_hours=now.unit_hours,
                                  min_hours=args.min_hours, max_hours=args.max_hours)
        payload = {
            "scope": scope, "incidents": ht.incidents, "without_time": ht.without_time,
            "spread": ht.spread, "weeks": round(ht.weeks, 3),
            "first": None if ht.first is None else ht.first.isoformat(),
            "last": None if ht.last is None else ht.last.isoformat(),
            "by_hour": [round(float(v), 4) for v in ht.by_hour],
            "hour_of_week": [round(float(v), 4) for v in ht.hour_of_week],
            "by_day": [round(float(v), 4) for v in ht.by_day],
            "peaks": ht.peaks(5), "quiet_hours": ht.quiet_hours(),
            "shifts": {"today": now.as_dict(), "proposed": proposed.as_dict()},
            "engine": engine,
        }
        if ht.incidents == 0:
            logging.getLogger("gridpatrol.cli").warning("no incident with a time in %s", scope)
        by = ht.by_hour
        peak_h = int(np.argmax(by))
        lines = [f"{ht.incidents} incidents ({scope}), {ht.weeks:.1f} weeks; busiest hour "
                 f"{peak_h:02d}:00-{peak_h + 1:02d}:00 ({by[peak_h]:.0f}), quietest "
                 f"{int(np.argmin(by)):02d}:00 ({by.min():.0f})",
                 "peaks: " + ", ".join(f"{DAYS_EN[p['day']]} {p['hour']:02d}:00 ({p['count']:.0f})"
                                       for p in payload["peaks"]),
                 f"today:    {', '.join(f'{s} x{u}' for s, u in zip(now.shifts, now.units))}; "
                 f"peak load per unit {now.peak_pressure:.2f} x fair ({now.unit_hours:g} unit-hours)",
                 f"proposed: {', '.join(f'{s} x{u}' for s, u in zip(proposed.shifts, proposed.units))}; "
                 f"peak load per unit {proposed.peak_pressure:.2f} x fair ({proposed.unit_hours:g} unit-hours)"]
        return payload, "\n".join(lines)
    return run


# --- change orders and staffing ------------------------------------------------------------------

def _plan_pair(args: argparse.Namespace, weights: str | None = None):
    """(before, after) for ``orders`` and ``compare``: the plan ``--against`` names (current by
    default) and the plan ``--plan`` names (the latest saved by default), on the workspace's
    district graph with ``weights`` (default: any workload the units carry)."""
    from geo.workspace import read_workspace
    from planning.editing import plan_versions
    from planning.orders import plan_by_ref
    from planning.study import STUDY_LAYERS, any_weights, current_plan, workspace_graph
    ws = read_workspace(args.workspace, layers=STUDY_LAYERS)
    graph = workspace_graph(ws, weights=weights or any_weights(ws))
    current = current_plan(ws, graph)
    ref = args.plan
    if ref is None:
        versions = plan_versions(ws)
        if versions.empty:
            raise GridPatrolError("the workspace holds no saved plans; save one with "
                                  "`gridpatrol redistrict WS --save-plan NAME` or name it with --plan")
        ref = str(int(versions["plan_id"].max()))
    after = plan_by_ref(ws, graph, ref, current=current)
    before = plan_by_ref(ws, graph, args.against, current=current, what="against")
    return before, after


@command("orders", help="change orders of a plan: the units each station gains and loses (行政命令)")
def _orders(p: argparse.ArgumentParser):
    p.add_argument("workspace", help="the workspace GeoPackage")
    p.add_argument("--plan", help="id or name of the saved plan (default: the latest saved)")
    p.add_argument("--against", default="current",
                   help="the plan it is compared with: current (today's jurisdictions, default) "
                        "or a saved plan's id or name")
    p.add_argument("--out", help="write the order table to FILE.csv or FILE.xlsx")
    p.add_argument("--lang", default="zh", choices=["zh", "en"],
                   help="language of the sentences and of the --out headers (zh)")

    def run(args: argparse.Namespace) -> Result:
        from planning.orders import change_orders, orders_json, write_orders
        if args.out:
            _out_kind(args.out, {".csv": "csv", ".xlsx": "xlsx"}, what="the order table")
        before, after = _plan_pair(args)
        co = change_orders(before, after)
        payload = orders_json(co, lang=args.lang)
        if args.out:
            payload["out"] = str(write_orders(co, args.out, lang=args.lang))
        t = co.totals
        lines = [f"{after.name} against {before.name}: {t['units']} unit(s) change station, "
                 f"{t['population']:,.0f} people, {t['incidents']:,.0f} incidents, "
                 f"{t['area_km2']:,.1f} km²"]
        lines += [f"  {line}" for line in payload["lines"]]
        if args.out:
            lines.append(f"wrote {payload['out']}")
        return payload, "\n".join(lines)
    return run


@command("compare", help="two plans side by side: the units that move, and each station's "
         "workload before and after (the app's plan comparison)")
def _compare(p: argparse.ArgumentParser):
    p.add_argument("workspace", help="the workspace GeoPackage")
    p.add_argument("--plan", help="id or name of the saved plan (default: the latest saved)")
    p.add_argument("--against", default="current",
                   help="the plan it is compared with: current (today's jurisdictions, default) "
                        "or a saved plan's id or name")
    p.add_argument("--weight", help="workload columns of the units, COL[=W],... as in redistrict "
                   "(default: incidents, else population, else area)")
    p.add_argument("--out", help="write the units that move (cell_id, from_station, to_station) "
                   "to FILE.csv or FILE.xlsx")

    def run(args: argparse.Namespace) -> Result:
        from geo.tables import write_table
        from planning.editing import compare_plans
        if args.out:
            _out_kind(args.out, {".csv": "csv", ".xlsx": "xlsx"}, what="the moved units")
        before, after = _plan_pair(args, args.weight)
        diff = compare_plans(before, after)
        stations = {}
        for sid, row in diff["stations"].iterrows():
            stations[str(sid)] = {k: (int(v) if k.startswith("cells_") else round(float(v), 6))
                                  for k, v in row.items()}
        moved = {k: round(float(v), 3) for k, v in diff["moved"].items()}
        changed = [{"cell_id": str(r.cell_id), "from_station": str(r.from_station),
                    "to_station": str(r.to_station)} for r in diff["changed"].itertuples(index=False)]
        payload = {"plan": after.name, "against": before.name,
                   "weights": dict(after.graph.weights), "cells_moved": diff["cells_moved"],
                   "moved": moved, "max_deviation_before": round(before.max_deviation, 6),
                   "max_deviation_after": round(after.max_deviation, 6),
                   "contiguous_before": before.contiguous, "contiguous_after": after.contiguous,
                   "stations": stations, "changed": changed}
        lines = [f"{after.name} against {before.name}: {diff['cells_moved']} unit(s) move, "
                 + ", ".join(f"{v:,.1f} km²" if k == "area_km2" else f"{v:,.0f} {k}"
                             for k, v in moved.items())
                 + f"; largest workload deviation {before.max_deviation:.1%} -> "
                 f"{after.max_deviation:.1%}"]
        lines.append(f"  {'station':12s} {'units':^15s} {'workload share':^20s} {'deviation':^17s}")
        for sid, r in stations.items():
            lines.append(f"  {sid:12s} {r['cells_before']:6d} -> {r['cells_after']:<5d} "
                         f"{r['workload_before']:8.1%} -> {r['workload_after']:<8.1%} "
                         f"{r['deviation_before']:+7.1%} -> {r['deviation_after']:+.1%}")
        if args.out:
            payload["out"] = str(write_table(diff["changed"], args.out))
            lines.append(f"wrote {payload['out']}")
        return payload, "\n".join(lines)
    return run


@command("staffing", help="officers (民警) and auxiliaries (辅警) required by the norms vs actual")
def _staffing(p: argparse.ArgumentParser):
    p.add_argument("workspace", help="the workspace GeoPackage")
    p.add_argument("--plan", help="id or name of a saved plan to staff (default: today's jurisdictions)")
    p.add_argument("--set", dest="norms", action="append", default=[], metavar="NAME=VALUE",
                   help="store a norm in the workspace (repeatable), e.g. auxiliaries_per_village=1; "
                        "NAME=default resets one")

    def run(args: argparse.Namespace) -> Result:
        from geo.workspace import read_workspace
        from planning.orders import plan_by_ref
        from planning.staffing import (
            NORMS,
            parse_norms,
            save_norms,
            staffing_context,
            staffing_for_plan,
            staffing_json,
            workspace_norms,
        )
        from planning.study import any_weights, current_plan, workspace_graph
        if args.norms:
            reset = {i.partition("=")[0].strip(): None for i in args.norms
                     if i.partition("=")[2].strip().lower() == "default"}
            given = parse_norms([i for i in args.norms if i.partition("=")[0].strip() not in reset])
            if any(k not in NORMS for k in reset):
                parse_norms([f"{k}=0" for k in reset])  # names the unknown norm
            _writer(args, args.workspace, action="change the staffing norms")
            save_norms(args.workspace, {**given, **reset})
        ws = read_workspace(args.workspace)
        graph = workspace_graph(ws, weights=any_weights(ws))
        current = current_plan(ws, graph)
        norms = workspace_norms(ws)
        ctx = staffing_context(ws, graph)
        if args.plan is not None:
            plan = plan_by_ref(ws, graph, args.plan, current=current)
        elif current is None:
            raise GridPatrolError("the units carry no station_id (no jurisdictions were imported); "
                                  "name a saved plan with --plan")
        else:
            plan = current
        result = staffing_json(staffing_for_plan(ctx, plan, norms=norms))
        if args.plan is not None and current is not None:
            cur = staffing_json(staffing_for_plan(ctx, current, norms=norms))
            result["current"] = {k: cur[k] for k in ("plan", "stations", "police_districts", "totals")}
        period = result["incidents_period"]
        lines = [f"staffing of {result['plan']} (incidents a year: "
                 + (f"{period['first']} to {period['last']}, x{period['factor']:.3f}"
                    if period["basis"] == "time_span" else "counted as given") + ")"]
        lines.append("  norms: " + ", ".join(f"{k}={v:g}" for k, v in norms.items()))
        for level in ("stations", "police_districts"):
            tot = result["totals"][level]
            lines.append(f"  {level}: " + "; ".join(
                f"{role} actual {tot[role]['actual'] if tot[role]['actual'] is not None else '?'}, "
                f"required {tot[role]['required']}, short {tot[role]['shortfall']} "
                f"in {tot[role]['short_rows']}" for role in ("officers", "auxiliaries")))
        for r in result["stations"]:
            o, a = r["officers"], r["auxiliaries"]
            lines.append(f"  {r['station_id']} {r['name']}: 民警 {o['actual']}/{o['required']} "
                         f"(short {o['shortfall']}, {o['binding']}), 辅警 {a['actual']}/{a['required']} "
                         f"(short {a['shortfall']}, {a['binding']}), {r['police_districts']} districts, "
                         f"{r['villages']} villages")
        return result, "\n".join(lines)
    return run


# --- patrol ------------------------------------------------------------------------------------

@command("patrol", help="patrol routes of a station's units for one shift (hotspots of that shift)")
def _patrol(p: argparse.ArgumentParser):
    p.add_argument("workspace", help="the workspace GeoPackage (stations, cells, incidents, road network)")
    p.add_argument("--station", required=True, help="station_id of the station the units start from")
    p.add_argument("--units", required=True, type=int, help="number of patrol units (>= 1)")
    p.add_argument("--shift", required=True, help="the shift, HH:MM-HH:MM (22:00-06:00 wraps midnight)")
    p.add_argument("--mode", choices=("dose", "visit-once"), default="dose",
                   help="dose (default): every unit patrols its whole shift, returning to hot places "
                   "at their hot hours; visit-once: each hotspot once, then back")
    p.add_argument("--dwell-min", type=float, help="minutes spent at each stop (dose: 12, within "
                   "10-15; visit-once: 10)")
    p.add_argument("--min-gap-min", type=float, default=45.0,
                   help="dose: minutes between two visits of one place (45)")
    p.add_argument("--break-min", type=float, default=30.0,
                   help="dose: each unit's break at the station, mid-shift (30; 0: none)")
    p.add_argument("--max-places", type=int, default=30, help="dose: riskiest cells patrolled (30)")
    p.add_argument("--seed", type=int, help="randomise the routes with this seed (unpredictable "
                   "patrols); the loss against the best plan is reported")
    p.add_argument("--max-hotspots", type=int, default=200, help="visit-once: riskiest cells considered (200)")
    p.add_argument("--speed-kmh", type=float, help="every unit at this speed over shortest "
                   "distances (foot patrol 5); default: road speeds")
    p.add_argument("--time-limit", type=float, default=10.0, help="search time limit in seconds (10)")
    p.add_argument("--out", help="write routes and stops to FILE (.geojson or .gpx)")

    def run(args: argparse.Namespace) -> Result:
        from geo.workspace import read_workspace
        from planning.patrol import plan_for_workspace, write_routes
        if args.out:
            _out_kind(args.out, {".geojson": "geojson", ".json": "geojson", ".gpx": "gpx"},
                      what="the routes (GeoJSON or GPX)")
        if args.units < 1:
            raise GridPatrolError(f"--units was {args.units}; give at least one patrol unit")
        ws = read_workspace(args.workspace)
        if args.mode == "dose":
            return _patrol_dose(args, ws)
        routes, hot = plan_for_workspace(
            ws, station=args.station, units=args.units, shift=args.shift,
            dwell_min=10.0 if args.dwell_min is None else args.dwell_min,
            seed=args.seed, max_hotspots=args.max_hotspots, speed_kmh=args.speed_kmh,
            time_limit_s=args.time_limit)
        payload = routes.summary()
        payload.update(mode="visit-once")
        payload.update(station=str(args.station), shift=str(routes.shift), hotspots=int(len(hot)),
                       significant_hotspots=int(hot["hotspot"].sum()) if "hotspot" in hot else 0,
                       notes=list(routes.notes))
        if args.out:
            payload["out"] = str(write_routes(routes, args.out))
        lines = [f"patrol {args.station} {routes.shift}: {len(hot)} hotspot cells, "
                 f"{payload['significant_hotspots']} significant (Gi*), risk covered "
                 f"{payload['risk_covered_share']:.1%}"]
        if payload.get("risk_loss_vs_best") is not None:
            lines.append(f"  randomised (seed {args.seed}): {payload['risk_loss_vs_best']:.1%} less risk "
                         "than the best plan")
        for r in payload["routes"]:
            lines.append(f"  unit {r['unit']}: {len(r['stops'])} stops, {r['minutes']:.0f} of "
                         f"{payload['shift_minutes']:.0f} min, risk {r['risk']:.2f}")
        tt = routes.timetable()
        for r in tt.itertuples():
            lines.append(f"    {r.unit}-{r.order:<3d} {r.arrive}-{r.depart}  cell {r.hotspot}")
        lines += [f"  note: {n}" for n in routes.notes]
        if args.out:
            lines.append(f"wrote {payload['out']}")
        return payload, "\n".join(lines)
    return run


def _patrol_dose(args: argparse.Namespace, ws) -> Result:
    """``gridpatrol patrol --mode dose``: the JSON of ``DoseRoutes.summary`` and a timetable."""
    from planning.patrol import write_routes
    from planning.patrol.dose_routes import dose_for_workspace
    routes, hot = dose_for_workspace(
        ws, station=args.station, units=args.units, shift=args.shift,
        dwell_min=12.0 if args.dwell_min is None else args.dwell_min, min_gap_min=args.min_gap_min,
        break_min=args.break_min, max_places=args.max_places, seed=args.seed,
        speed_kmh=args.speed_kmh, time_limit_s=args.time_limit)
    payload = routes.summary()
    payload.update(station=str(args.station), shift=str(routes.shift), hotspots=int(len(hot)),
                   significant_hotspots=int(hot["hotspot"].sum()) if "hotspot" in hot else 0,
                   notes=list(routes.notes))
    if args.out:
        payload["out"] = str(write_routes(routes, args.out))
    lines = [f"patrol dose {args.station} {routes.shift}: {payload['places']} places, "
             f"{payload['min_gap_min']:g} min between visits of a place, dwell {payload['dwell_min']:g} "
             f"min; dose in the top {payload['top_fraction']:.0%} place-hours "
             f"{payload['dose_top_share']:.1%} (random patrol {payload['baseline_top_share']:.1%})"]
    if payload.get("objective_loss_vs_best") is not None:
        lines.append(f"  randomised (seed {args.seed}): {payload['objective_loss_vs_best']:.1%} less "
                     "dose value than the best plan")
    for r in payload["routes"]:
        lines.append(f"  unit {r['unit']}: {len(r['visits'])} visits, {r['minutes_used']:.0f} of "
                     f"{payload['shift_minutes']:.0f} min used ({r['share_of_shift']:.0%}), patrol "
                     f"{r['patrol_min']:.0f} min")
    for r in routes.timetable().to_dict("records"):
        lines.append(f"    {r['unit']} {r['from']}-{r['to']}  {r['activity']:<7s} {r['place']} "
                     f"{r['name']}".rstrip())
    lines += [f"  note: {n}" for n in routes.notes]
    if args.out:
        lines.append(f"wrote {payload['out']}")
    return payload, "\n".join(lines)


@command("hotspots", help="incident risk per cell for a shift and the significant hotspots "
         "(Getis-Ord Gi*), as the patrol page draws them")
def _hotspots(p: argparse.ArgumentParser):
    p.add_argument("workspace", help="the workspace GeoPackage (cells, incidents with times)")
    p.add_argument("--shift", default="00:00-24:00",
                   help="the shift, HH:MM-HH:MM (22:00-06:00 wraps midnight; default the whole day)")
    p.add_argument("--station", help="only this station's cells (station_id); risk and Gi* are "
                   "still computed over the whole area")
    p.add_argument("--top", type=int, default=200, help="riskiest cells listed (200)")
    p.add_argument("--permutations", type=int, default=199,
                   help="random permutations of the Gi* significance test (199)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the permutations (0)")
    p.add_argument("--out", help="write the listed cells to FILE.csv, FILE.geojson or FILE.gpkg")
    _scale_arguments(p)

    def run(args: argparse.Namespace) -> Result:
        import numpy as np

        from geo.hotspots import shift_from_text
        from geo.scale import workspace_incidents
        from geo.workspace import read_workspace
        from planning.patrol.workspace import shift_hotspots
        kind = None
        if args.out:
            kind = _out_kind(args.out, {".csv": "csv", ".geojson": "geojson", ".json": "geojson",
                                        ".gpkg": "gpkg"}, what="the hotspot cells")
        if args.top < 1:
            raise GridPatrolError(f"--top was {args.top}; give a whole number >= 1")
        if args.permutations < 0:
            raise GridPatrolError(f"--permutations was {args.permutations}; give 0 or more")
        shift = shift_from_text(args.shift)
        ws = read_workspace(args.workspace, layers=["cells"])
        scale = _scale_from(args)
        incidents = workspace_incidents(args.workspace, scale=scale)  # whole, or in partitions
        hot = shift_hotspots(ws.layer("cells"), incidents, shift=shift,
                             station_id=args.station, max_hotspots=args.top,
                             permutations=args.permutations, rng=np.random.default_rng(args.seed),
                             scale=scale)
        cols = [c for c in ("cell_id", "station_id", "n_incidents", "weighted", "risk", "gi_z",
                            "p_fwer", "hotspot") if c in hot.columns]
        rows = []
        for r in hot[cols].to_dict("records"):
            rows.append({k: (str(v) if k in ("cell_id", "station_id") else bool(v) if k == "hotspot"
                             else int(v) if k == "n_incidents" else round(float(v), 6))
                         for k, v in r.items()})
        significant = int(hot["hotspot"].sum()) if "hotspot" in hot.columns else 0
        payload = {"shift": str(shift), "station": args.station, "cells": len(hot),
                   "significant": significant, "permutations": args.permutations,
                   "alpha": 0.05, "hotspots": rows}
        where = f"station {args.station}" if args.station else "the whole area"
        lines = [(f"hotspots {shift} in {where}: {len(hot)} cells with risk (top {args.top}), "
                  f"{significant} significant (Gi*, family-wise p <= 0.05, {args.permutations} "
                  "permutations)")]
        for r in rows[:20]:
            lines.append(f"  cell {r.get('cell_id', '-'):>8s}  risk {r['risk']:8.2f}  incidents "
                         f"{r['n_incidents']:4d}  Gi* z {r.get('gi_z', 0.0):6.2f}"
                         + ("  significant" if r.get("hotspot") else ""))
        if len(rows) > 20:
            lines.append(f"  ... {len(rows) - 20} more (all in --json or --out)")
        if kind is not None:
            from geo.atomic import write_bytes_atomic
            from geo.tables import write_table
            out = Path(args.out)
            if kind == "csv":
                write_table(hot[cols], out)
            elif kind == "geojson":
                write_bytes_atomic(out, hot[[*cols, "geometry"]].to_crs("EPSG:4326").to_json(
                    drop_id=True, ensure_ascii=False).encode("utf-8"))
            else:
                hot[[*cols, "geometry"]].to_file(out, layer="hotspots", driver="GPKG")
            payload["out"] = str(out)
            lines.append(f"wrote {out}")
        return payload, "\n".join(lines)
    return run


@command("streets", help="street patrols: cover a station's chosen streets with the least driving")
def _streets(p: argparse.ArgumentParser):
    p.add_argument("workspace", help="the workspace GeoPackage (stations, jurisdictions, road network)")
    p.add_argument("--station", required=True, help="station_id of the station the units start from")
    p.add_argument("--units", required=True, type=int, help="number of patrol units (>= 1)")
    p.add_argument("--budget-min", required=True, type=float, help="minutes of driving per unit")
    pick = p.add_mutually_exclusive_group()
    pick.add_argument("--classes", help="road classes to cover, e.g. street,arterial")
    pick.add_argument("--risk-top", type=float, help="the riskiest share of the station's streets "
                      "by incidents near them, 0-1 (default 0.2)")
    p.add_argument("--speed-kmh", type=float, default=30.0, help="patrol speed (30; foot patrol 5)")
    p.add_argument("--ignore-oneway", action="store_true", help="drive one-way streets both ways "
                   "(foot and bicycle patrols)")
    p.add_argument("--time-limit", type=float, default=10.0, help="seconds for the exact integer "
                   "program on streets with one-way parts (10; 0: heuristic only)")
    p.add_argument("--out", help="write each unit's tour (unit, length_m, minutes) and the chosen "
                   "streets to FILE.geojson (tours only) or FILE.gpkg (layers tours, streets)")

    def run(args: argparse.Namespace) -> Result:
        from geo.network import graph_from_workspace
        from geo.workspace import read_workspace
        from planning.street_patrol import streets_for_workspace
        if args.units < 1:
            raise GridPatrolError(f"--units was {args.units}; give at least one patrol unit")
        kind = None
        if args.out:
            kind = _out_kind(args.out, {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg"},
                             what="the street tours")
        ws = read_workspace(args.workspace)
        G = graph_from_workspace(ws)
        plan = streets_for_workspace(
            ws, station=args.station, units=args.units, budget_min=args.budget_min,
            classes=_csv_list(args.classes) if args.classes is not None else None,
            risk_top=args.risk_top, speed_kmh=args.speed_kmh, oneway=not args.ignore_oneway,
            exact_time_limit_s=args.time_limit or None, G=G)
        payload = plan.summary()
        if kind is not None:
            from geo.atomic import write_bytes_atomic
            from planning.streets import tour_lines
            tours = tour_lines(G, plan.split)
            if kind == "geojson":
                write_bytes_atomic(args.out, tours.to_crs("EPSG:4326").to_json(
                    drop_id=True, ensure_ascii=False).encode("utf-8"))
            else:
                tours.to_file(args.out, layer="tours", driver="GPKG")
                plan.streets.to_file(args.out, layer="streets", driver="GPKG")
            payload["out"] = str(args.out)
        lines = [f"streets {payload['station']} ({payload['selection']}): {payload['streets']} "
                 f"streets, {payload['required_km']:.1f} km ({payload['oneway_streets']} one-way); "
                 f"driven {payload['total_km']:.1f} km, deadhead {payload['deadhead_km']:.1f} km, "
                 f"covered {payload['covered_share']:.1%}"]
        lines.append(f"  tour {payload['tour_km']:.1f} km, lower bound {payload['lower_bound_km']:.1f} km"
                     + (" (optimal)" if payload["exact"] else ""))
        for u in payload["units"]:
            lines.append(f"  unit {u['unit']}: {u['km']:.1f} km, {u['minutes']:.0f} of "
                         f"{payload['budget_min']:.0f} min, {u['streets']} streets")
        if payload.get("out"):
            lines.append(f"wrote {payload['out']}")
        return payload, "\n".join(lines)
    return run


# --- briefing -------------------------------------------------------------------------------------

@command("brief", help="the map briefing of a workspace: self-contained HTML, and a PDF with --pdf")
def _brief(p: argparse.ArgumentParser):
    p.add_argument("workspace", metavar="WORKSPACE", help="the workspace (.gpkg)")
    p.add_argument("--out", required=True, help="the file to write, by its suffix: .html (self-contained "
                   "page) or .pdf; with --pdf both, the other beside it")
    p.add_argument("--pdf", action="store_true", help="write both the HTML and the PDF (same name)")
    p.add_argument("--lang", default="zh", help="zh (default) or en")
    p.add_argument("--sections", help="comma-separated: jurisdictions,audit,coverage,ring,patrol,plan,orders,"
                                      "staffing (all)")
    p.add_argument("--plan", help="name or id of the saved plan for the before/after section (latest)")
    p.add_argument("--shift", help="patrol shift HH:MM-HH:MM (08:00-16:00)")
    p.add_argument("--station", help="station id of the patrol section (the one with most incidents)")
    p.add_argument("--units", type=int, default=2, help="patrol units (2)")
    p.add_argument("--date", help="date printed on the briefing (today)")
    p.add_argument("--at", help="time of day HH:MM of the coverage section: only the stations and "
                   "posts open then count (their hours column)")

    def run(args: argparse.Namespace) -> Result:
        from geo.atomic import write_bytes_atomic
        from geo.workspace import read_workspace
        from ui.briefing import build_briefing
        out = Path(args.out)
        kind = _out_kind(out, {".html": "html", ".htm": "html", ".pdf": "pdf"}, what="the briefing")
        # --out by its suffix; with --pdf both, the other one beside it (same name)
        html_path = out if kind == "html" else (out.with_suffix(".html") if args.pdf else None)
        pdf_path = out if kind == "pdf" else (out.with_suffix(".pdf") if args.pdf else None)
        ws = read_workspace(args.workspace)
        brief = build_briefing(ws, sections=args.sections, lang=args.lang, plan=args.plan,
                               shift=args.shift, station=args.station, units=args.units, date=args.date,
                               at=args.at)
        pdf_bytes = brief.pdf_bytes() if pdf_path is not None else None  # all made before writing
        payload = {"sections": [s.key for s in brief.sections], "skipped": brief.skipped,
                   "key_figures": {k.key: k.value for k in brief.key_figures}}
        lines = []
        if html_path is not None:
            payload["path"] = payload["html"] = str(brief.write_html(html_path))
            lines.append(f"wrote {html_path} ({len(brief.sections)} sections)")
        if pdf_bytes is not None:
            write_bytes_atomic(pdf_path, pdf_bytes)
            payload["pdf"] = str(pdf_path)
            payload.setdefault("path", str(pdf_path))
            payload["pdf_pages"] = brief.pdf_pages
            lines.append(f"wrote {pdf_path} ({brief.pdf_pages} pages)")
        lines += [f"  {k.label}: {k.value}" for k in brief.key_figures]
        lines += [f"  left out {k}: {v}" for k, v in brief.skipped.items()]
        return payload, "\n".join(lines)
    return run


# --- accounts and serving (server/) ----------------------------------------------------------------

_USER_ACTIONS = ("add", "list", "remove", "passwd", "role")


def _password_from(args: argparse.Namespace, *, confirm: bool) -> str:
    """The password from one line of stdin (--password-stdin) or typed at a prompt (a terminal)."""
    import getpass
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise GridPatrolError("no terminal to type the password in; give it on standard input "
                              "with --password-stdin, e.g. `printf '%s\\n' \"$PW\" | gridpatrol "
                              "user add NAME --role viewer --password-stdin`")
    password = getpass.getpass(f"password for {args.name}: ")
    if confirm and getpass.getpass("again: ") != password:
        raise GridPatrolError("the two passwords differ; nothing was changed")
    return password


@command("user", help="accounts of a data directory: add, list, remove, passwd (password), role")
def _user(p: argparse.ArgumentParser):
    p.add_argument("action", choices=_USER_ACTIONS, metavar="ACTION",
                   help="add | list | remove | passwd | role")
    p.add_argument("name", nargs="?", metavar="NAME", help="the account name (not for list)")
    p.add_argument("--role", help="viewer (reads), planner (builds workspaces, runs analyses, saves "
                   "plans) or admin (also manages accounts and deletes); for add and role")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from one line of standard input (else a prompt)")
    p.add_argument("--data-dir", help="the data directory (default: $GRIDPATROL_DATA, else "
                   "./gridpatrol-data)")

    def run(args: argparse.Namespace) -> Result:
        from server import data_dir
        from server.accounts import ROLES, AccountStore
        store = AccountStore(data_dir(args.data_dir))
        if args.action != "list" and not args.name:
            raise GridPatrolError(f"`gridpatrol user {args.action}` needs NAME, the account name")
        if args.action in ("add", "role"):
            if args.role is None:
                raise GridPatrolError(f"`gridpatrol user {args.action}` needs --role, one of "
                                      f"{', '.join(ROLES)}")
            if args.role not in ROLES:
                raise GridPatrolError(f"--role was {args.role!r} but is expected to be one of "
                                      f"{', '.join(ROLES)}")
        elif args.role is not None:
            raise GridPatrolError(f"--role is for `user add` and `user role`, not `user {args.action}`")
        if args.password_stdin and args.action not in ("add", "passwd"):
            raise GridPatrolError("--password-stdin is for `user add` and `user passwd`")
        done = ""
        if args.action == "add":
            store.add(args.name, role=args.role, password=_password_from(args, confirm=True))
            done = f"added {args.name} ({args.role})"
        elif args.action == "remove":
            store.remove(args.name)
            done = f"removed {args.name}"
        elif args.action == "passwd":
            store.set_password(args.name, password=_password_from(args, confirm=True))
            done = f"changed the password of {args.name}; its sessions ended"
        elif args.action == "role":
            store.set_role(args.name, role=args.role)
            done = f"{args.name} is now a {args.role}"
        users = [{"name": a.name, "role": a.role} for a in store.accounts()]
        payload: dict = {"users": users, "data_dir": str(store.data_dir)}
        if args.action != "list":
            payload[{"add": "added", "remove": "removed", "passwd": "password_changed",
                     "role": "role_changed"}[args.action]] = args.name
        lines = [done] if done else []
        lines.append(f"{len(users)} account(s) in {store.data_dir}"
                     + ("" if users else " (the app runs without sign-in, on this machine only)"))
        lines += [f"  {u['name']:24s} {u['role']}" for u in users]
        return payload, "\n".join(lines)
    return run


@command("library", help="database workspaces of a data directory's library: list, link (admins) "
         "a postgresql:// workspace by name, unlink (admins; the schema stays)")
def _library(p: argparse.ArgumentParser):
    p.add_argument("action", choices=("list", "link", "unlink"), metavar="ACTION", help="list | link | unlink")
    p.add_argument("name", nargs="?", metavar="NAME", help="the workspace's name in the library "
                   "(link: default the schema)")
    p.add_argument("url", nargs="?", metavar="URL", help="link: postgresql://USER@HOST:PORT/DB?schema=NAME "
                   "without password (the server takes it from PGPASSWORD, ~/.pgpass or a pg service file)")
    p.add_argument("--no-check", action="store_true", help="list: do not connect to check each link")
    _admin_arguments(p)

    def run(args: argparse.Namespace) -> Result:
        from geo.pgurl import is_database_url
        from server import data_dir, dblinks
        from server.library import Library
        directory = data_dir(args.data_dir)
        lib = Library(directory)
        if args.action == "link" and args.url is None and args.name and is_database_url(args.name):
            args.name, args.url = None, args.name  # `library link URL`: named after its schema
        if args.action == "list" and (args.name or args.url):
            raise GridPatrolError("`gridpatrol library list` takes no NAME or URL")
        if args.action == "link" and not args.url:
            raise GridPatrolError("`gridpatrol library link` needs URL: `gridpatrol library link NAME "
                                  "postgresql://USER@HOST:PORT/DB?schema=NAME`")
        if args.action == "unlink" and (not args.name or args.url):
            raise GridPatrolError("`gridpatrol library unlink` needs NAME (only), the link's name")
        payload: dict = {"data_dir": str(directory)}
        done = ""
        if args.action != "list":
            account = _signed_in(args, directory, role="an admin")
            if args.action == "link":
                link = dblinks.link_database(lib, args.url, args.name, account=account)
                payload["linked"] = link.stem
                done = f"linked {link.stem} to {lib.path_of(link.stem)}"
            else:
                kept = dblinks.unlink_database(lib, args.name, account=account)
                payload["unlinked"], payload["kept_as"] = kept.stem.rsplit(".", 1)[0], kept.name
                done = (f"unlinked {args.name} (its schema stays in the database; the link is in "
                        f"the trash as {kept.name})")
        links = dblinks.database_links(lib, check=not args.no_check)
        payload["links"] = [{"name": s.name, "url": None if s.url is None else s.url.display,
                             "status": s.status, "plans": s.plans, "detail": s.detail}
                            for s in links.values()]
        lines = [done] if done else []
        lines.append(f"{len(links)} database workspace(s) linked in {directory}")
        lines += [f"  {s.name:24s} {s.status + (f' ({s.plans} plans)' if s.plans is not None else ''):22s} "
                  f"{s.url.display if s.url else '-'}" + (f"\n      {s.detail}" if s.detail else "")
                  for s in links.values()]
        return payload, "\n".join(lines)
    return run


@command("serve", help="run the app for a bureau: sign-in once accounts exist")
def _serve(p: argparse.ArgumentParser):
    p.add_argument("--data-dir", help="the data directory: workspace library and accounts "
                   "(default: $GRIDPATROL_DATA, else ./gridpatrol-data; created when missing)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (127.0.0.1: this machine only; another address "
                        "needs an admin account)")
    p.add_argument("--port", type=int, default=8501, help="TCP port (8501)")
    p.add_argument("--workspace", help="open this workspace file (or postgresql:// URL without "
                   "password) at start (local mode on that workspace)")

    def run(args: argparse.Namespace) -> Result:
        import os
        import signal
        import subprocess

        from server import ENV_DATA, data_dir
        from server.accounts import AccountStore
        from server.serve import check_host, serve_argv
        if not 0 < args.port < 65536:
            raise GridPatrolError(f"--port was {args.port}; give a TCP port between 1 and 65535")
        directory = data_dir(args.data_dir)
        store = AccountStore(directory)
        check_host(args.host, store)
        workspace = None
        from geo.pgurl import database_url, is_database_url
        if args.workspace and is_database_url(args.workspace):  # a workspace in PostGIS
            from geo.workspace import check_workspace
            if database_url(args.workspace).password:
                raise GridPatrolError("--workspace: leave the password out of the URL (it would show "
                                      "in the process list); give it with PGPASSWORD, ~/.pgpass or a "
                                      "pg service file")
            check_workspace(args.workspace)
            workspace = args.workspace
        elif args.workspace:
            workspace = Path(args.workspace).expanduser().resolve()
            if not workspace.is_file():
                raise GridPatrolError(f"--workspace was {args.workspace!r}, which is not a file; give "
                                      "a workspace GeoPackage (.gpkg)")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        from server.library import ensure_library
        ensure_library(directory)  # on first run the demo county is copied in
        from server.basemap import prepare_launcher
        from server.serve import APP_SCRIPT
        # The app runs through a launcher whose static/ is the data directory's tiles/ (local basemap tiles).
        launcher = prepare_launcher(directory, APP_SCRIPT)
        argv = serve_argv(data_dir=directory, host=args.host, port=args.port, workspace=workspace,
                          launcher=launcher)
        env = {**os.environ, ENV_DATA: str(directory), "PYTHONUNBUFFERED": "1"}
        env.pop("GRIDPATROL_PAGE", None)
        if workspace is not None:
            env["GRIDPATROL_WORKSPACE"] = str(workspace)
        else:
            env.pop("GRIDPATROL_WORKSPACE", None)
        shown = f"[{args.host}]" if ":" in args.host else args.host
        url = f"http://{shown}:{args.port}"
        signin = "sign-in required" if not store.is_empty() else "no accounts: no sign-in, this machine only"
        print(f"GridPatrol serving {directory} at {url} ({signin}); Ctrl-C stops it",
              file=sys.stderr if args.json else sys.stdout, flush=True)
        proc = subprocess.Popen(argv, env=env)

        def forward(signum, frame) -> None:
            if proc.poll() is None:
                proc.send_signal(signum)

        previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            code = proc.wait()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        code = 128 - code if code < 0 else code  # killed by a signal: the shell's convention
        return ({"url": url, "data_dir": str(directory), "exit_code": code},
                f"GridPatrol stopped (exit {code})")
    return run


@command("basemap", help="the basemap of every map of a data directory: show it, or set none, a "
                         "tile URL (XYZ/WMTS) or a tile set of DIR/tiles (admins)")
def _basemap(p: argparse.ArgumentParser):
    which = p.add_mutually_exclusive_group()
    which.add_argument("--none", action="store_true", help="no tiles: the drawn background (roads, "
                       "water, boundaries of the workspace)")
    which.add_argument("--url", help="an XYZ template (http://host/{z}/{x}/{y}.png) or a WMTS GetTile "
                       "URL (天地图, PGIS; Web Mercator tiles)")
    which.add_argument("--tiles", metavar="NAME", help="an .mbtiles file or z/x/y folder in DIR/tiles, "
                       "by name (served by `gridpatrol serve`)")
    p.add_argument("--attribution", default="", help="the tiles' attribution (--url, --tiles)")
    p.add_argument("--subdomains", default="", help="what {s} in --url stands for, e.g. 01234567")
    p.add_argument("--max-zoom", type=int, default=18, help="deepest zoom of the service (18)")
    p.add_argument("--gcj02", action="store_true", help="the tiles are GCJ-02 (Amap/Gaode, Tencent "
                   "and copies): maps shift their WGS84 layers onto them")
    p.add_argument("--no-background", action="store_true", help="do not draw the workspace's roads, "
                   "water and boundaries beneath the layers")
    _admin_arguments(p)

    def run(args: argparse.Namespace) -> Result:
        from dataclasses import asdict

        from server import basemap as bm
        from server import data_dir
        directory = data_dir(args.data_dir)
        if args.none or args.url is not None or args.tiles is not None:
            account = _signed_in(args, directory, role="an admin")
            if args.url is not None:
                setting = bm.basemap_from_url(args.url, attribution=args.attribution, subdomains=args.subdomains,
                                              max_zoom=args.max_zoom, gcj02=args.gcj02,
                                              background=not args.no_background)
            elif args.tiles is not None:
                setting = bm.Basemap(kind="tiles", tileset=args.tiles, attribution=args.attribution,
                                     gcj02=args.gcj02, background=not args.no_background)
            else:
                setting = bm.Basemap(kind="none", background=not args.no_background)
            bm.save_basemap(directory, setting, account=account)
        current = bm.read_basemap(directory)
        sets = bm.tilesets(directory)
        payload = {"data_dir": str(directory), "basemap": asdict(current),
                   "tilesets": [{"name": s.name, "kind": s.kind, "format": s.format, "min_zoom": s.min_zoom,
                                 "max_zoom": s.max_zoom, "tms": s.tms} for s in sets]}
        what = {"none": "no tiles (drawn background)", "url": f"tiles from {current.url}",
                "tiles": f"local tiles {current.tileset}"}[current.kind]
        lines = [f"basemap: {what}" + (" (GCJ-02)" if current.gcj02 else "")
                 + ("" if current.background else ", no drawn background")]
        lines.append(f"tile sets in {directory / bm.TILES_DIR}: "
                     + (", ".join(f"{s.name} ({s.format}, zoom {s.min_zoom}-{s.max_zoom})" for s in sets) or "none"))
        return payload, "\n".join(lines)
    return run


# --- main ----------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridpatrol", description="GridPatrol 网格巡防规划: planning workbench for police jurisdictions, "
        "response coverage, checkpoints and patrols.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (add_arguments, help_text) in _COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
        p.set_defaults(run=add_arguments(p))
    return parser


def _problem_json(problem, command: str) -> dict:
    """One problem of a ValidationError as JSON: its fields and the line the command prints."""
    fields = {k: getattr(problem, k, None) for k in ("source", "layer", "rule", "message", "fix")}
    ids = getattr(problem, "ids", ()) or ()
    return {**{k: (None if v is None else cli_wording(v, command)) for k, v in fields.items()},
            "ids": [str(i) for i in ids], "text": cli_wording(problem, command)}


def _fail(args: argparse.Namespace | None, command: str, message: str, *, problems: list | None = None,
          notes: list[str] | None = None, code: int = 2) -> int:
    """Say why ``command`` failed on stderr and return ``code``: text lines, or with ``--json``
    one JSON object ``{"error", "problems", "warnings"}`` (the same words)."""
    notes = [_redacted(cli_wording(n, command)) for n in _merged_warnings(None, notes or [])]
    message = _redacted(message)
    if args is not None and getattr(args, "json", False):
        print(json.dumps({"error": message,
                          "problems": [_problem_json(p, command) for p in problems or []],
                          "warnings": notes}, ensure_ascii=False, default=_json_default),
              file=sys.stderr)
        return code
    _print_warnings(command, notes)
    print(f"gridpatrol {command}: {message}" + (":" if problems else ""), file=sys.stderr)
    for problem in problems or []:
        print(f"  - {cli_wording(problem, command)}", file=sys.stderr)
    return code


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser.parse_args(argv)``; with ``--json`` among the arguments a usage error is one JSON
    object on stderr too (exit 2), as every other error."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--json" not in argv:
        return parser.parse_args(argv)
    import contextlib
    import io
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            return parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code in (0, None):
            raise
        lines = [ln for ln in said.getvalue().splitlines() if ln.strip()]
        last = lines[-1] if lines else "bad arguments"
        message = re.sub(r"^\S+(?: \S+)?: error: ", "", last)
        print(json.dumps({"error": message, "problems": [], "warnings": [],
                          "usage": " ".join(ln.strip() for ln in lines[:-1])},
                         ensure_ascii=False), file=sys.stderr)
        raise SystemExit(exc.code) from None


def main(argv: list[str] | None = None) -> int:
    """Run ``gridpatrol`` with ``argv`` (default: sys.argv[1:]) and return the exit code."""
    parser = build_parser()
    args = _parse(parser, argv)
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # library noise; GridPatrolWarning is still captured
            with captured_warnings(loggers=_WARNING_LOGGERS) as notes:
                payload, text = args.run(args)
    except ValidationError as exc:
        return _fail(args, args.command, f"{len(exc.problems)} problem(s) in the input, nothing "
                     "written", problems=exc.problems, notes=notes)
    except GridPatrolError as exc:
        return _fail(args, args.command, cli_wording(" ".join(str(exc).split()), args.command),
                     notes=notes)
    except KeyboardInterrupt:
        return _fail(args, args.command, "interrupted", code=130)
    except Exception as exc:  # an internal failure: say so in one line, no traceback
        logging.getLogger(__name__).debug("internal error", exc_info=True)
        return _fail(args, args.command, f"internal error ({type(exc).__name__}: {exc}); please "
                     "report it with the command line", notes=notes, code=1)
    messages = [cli_wording(m, args.command) for m in
                _merged_warnings(payload.get("warnings") if isinstance(payload, dict) else None, notes)]
    _print_warnings(args.command, messages)
    if isinstance(payload, dict):
        payload["warnings"] = messages
    try:
        if args.json:
            print(_redacted(json.dumps(payload, ensure_ascii=False, default=_json_default)))
        else:
            print(_redacted(text))
        sys.stdout.flush()
    except BrokenPipeError:  # `gridpatrol ... --json | head`: the reader left; end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return int(payload.get("exit_code", 0)) if args.command == "serve" else 0  # the app's own


if __name__ == "__main__":
    sys.exit(main())
