"""The ``gridpatrol`` command: argument parsing, JSON/text output and exit codes.

Exit code 0 on success, 2 on bad input (a message on stderr, no traceback), 1 on an internal
failure. ``--json`` prints one JSON object on stdout instead of text.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import warnings
from pathlib import Path
from typing import Callable

from geo.errors import GridPatrolError, ValidationError

ROOT = Path(__file__).resolve().parent
DEMO_WORKSPACE = ROOT / "data" / "boundaries" / "demo_county.gpkg"

Result = tuple[dict, str]  # (JSON payload, human text)
_COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], Result], str]] = {}


def command(name: str, help: str):
    """Register a subcommand: the decorated function adds its arguments and returns its runner."""
    def wrap(add_arguments: Callable[[argparse.ArgumentParser], Callable[[argparse.Namespace], Result]]):
        _COMMANDS[name] = (add_arguments, help)
        return add_arguments
    return wrap


class _Warnings(logging.Handler):
    """Collects the warnings that geo/ and planning/ log, for the text or JSON output."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _json_default(value):
    import numpy as np
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return str(value)


# --- demo, info, import (foundation) -----------------------------------------------------------

@command("demo", help="write the demo county workspace (synthetic) to a file")
def _demo(p: argparse.ArgumentParser):
    p.add_argument("--out", required=True, help="where to write the workspace (.gpkg)")

    def run(args: argparse.Namespace) -> Result:
        from geo.workspace import read_workspace, workspace_info
        out = Path(args.out)
        if out.suffix.lower() != ".gpkg":
            raise GridPatrolError(f"--out was {str(out)!r} but a workspace is a GeoPackage; "
                                  "give a path ending in .gpkg")
        if not DEMO_WORKSPACE.exists():
            raise GridPatrolError(f"the demo workspace {DEMO_WORKSPACE} is missing; rebuild it "
                                  "with `make demo`")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        shutil.copyfile(DEMO_WORKSPACE, tmp)
        tmp.replace(out)
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


@command("import", help="build a workspace from your layers")
def _import(p: argparse.ArgumentParser):
    p.add_argument("out", help="the workspace to write (.gpkg)")
    p.add_argument("--area", required=True, help="study area polygons (unioned)")
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
    p.add_argument("--incidents", help="incidents 警情 (points)")
    p.add_argument("--incident-id", help="id column of --incidents (default incident_id)")
    p.add_argument("--attributes", action="append", default=[],
                   help="polygons whose --columns are apportioned to cells by area (repeatable)")
    p.add_argument("--columns", action="append", default=[],
                   help="columns of the matching --attributes, A,B or SRC=population (repeatable)")
    p.add_argument("--crs", help="working CRS, a projected EPSG code in metres (default: UTM zone of the area)")
    p.add_argument("--layer-crs", help="CRS to assume for input files that carry none (EPSG code)")
    p.add_argument("--source-crs", choices=["wgs84", "gcj02", "bd09"],
                   help="lon/lat of the inputs are GCJ-02 (Amap/Tencent) or BD-09 (Baidu): convert to WGS84")
    p.add_argument("--x-col", help="x/longitude column of CSV point files")
    p.add_argument("--y-col", help="y/latitude column of CSV point files")
    p.add_argument("--cell-size", type=float, default=500.0, help="analysis cell size in metres (500)")
    p.add_argument("--cell-shape", choices=["square", "hex"], default="square")
    p.add_argument("--name", help="workspace name (default: the area's name)")

    def run(args: argparse.Namespace) -> Result:
        from geo.build import build_workspace
        from geo.layers import LayerSource
        from geo.workspace import read_workspace, workspace_info, write_workspace
        out = Path(args.out)
        if out.suffix.lower() != ".gpkg":
            raise GridPatrolError(f"OUT was {str(out)!r} but a workspace is a GeoPackage; give a "
                                  "path ending in .gpkg")
        if len(args.attributes) != len(args.columns):
            raise GridPatrolError(f"--attributes was given {len(args.attributes)} times but "
                                  f"--columns {len(args.columns)} times; give one --columns per "
                                  "--attributes")

        def src(path: str | None, id_col: str | None = None) -> LayerSource | None:
            if path is None:
                return None
            return LayerSource(path, id_col=id_col, crs=args.layer_crs, x_col=args.x_col,
                               y_col=args.y_col, source_crs=args.source_crs)

        ws, warns = build_workspace(
            area=src(args.area), townships=src(args.townships, args.township_id),
            stations=src(args.stations, args.station_id),
            jurisdictions=src(args.jurisdictions, args.jurisdiction_id),
            posts=src(args.posts, args.post_id), checkpoints=src(args.checkpoints, args.checkpoint_id),
            incidents=src(args.incidents, args.incident_id),
            attributes=[(src(a), _column_mapping(c)) for a, c in zip(args.attributes, args.columns)],
            working_crs=args.crs, cell_size_m=args.cell_size, cell_shape=args.cell_shape,
            name=args.name)
        write_workspace(ws, out)
        info = workspace_info(read_workspace(out))
        info["warnings"] = [str(w) for w in warns]
        text = _info_text(info)
        if warns:
            text += "\nwarnings:\n" + "\n".join(f"  - {w}" for w in warns)
        return info, text
    return run


# --- audit (boundary audit) ----------------------------------------------------------------------


# --- network analyses (coverage, seal, ring, place-posts) ----------------------------------------


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


def main(argv: list[str] | None = None) -> int:
    """Run ``gridpatrol`` with ``argv`` (default: sys.argv[1:]) and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = _Warnings()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload, text = args.run(args)
    except ValidationError as exc:
        print(f"gridpatrol {args.command}: {len(exc.problems)} problem(s) in the input, nothing written:",
              file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except GridPatrolError as exc:
        print(f"gridpatrol {args.command}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gridpatrol {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal failure: say so in one line, no traceback
        print(f"gridpatrol {args.command}: internal error ({type(exc).__name__}: {exc}); please "
              "report it with the command line", file=sys.stderr)
        logging.getLogger(__name__).debug("internal error", exc_info=True)
        return 1
    finally:
        root.removeHandler(handler)
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, default=_json_default))
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
