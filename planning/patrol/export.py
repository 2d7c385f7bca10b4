"""Patrol routes as files: GeoJSON, GPX (for handheld units) and the atomic writer."""
from __future__ import annotations

from pathlib import Path

from geo.errors import InputError
from planning.patrol.routes import PatrolRoutes


def routes_to_geojson(routes: PatrolRoutes) -> dict:
    """A GeoJSON FeatureCollection (EPSG:4326) of the route lines and the numbered stops."""
    import json
    lines = routes.lines.to_crs("EPSG:4326").assign(kind="route")
    stops = routes.stops.to_crs("EPSG:4326").assign(kind="stop")
    out = json.loads(lines.to_json(drop_id=True))
    out["features"] += json.loads(stops.to_json(drop_id=True))["features"]
    return out


def routes_to_gpx(routes: PatrolRoutes) -> str:
    """GPX 1.1 text: one track per unit, one waypoint per stop (named ``unit-order hotspot``)."""
    from xml.sax.saxutils import escape
    lines = routes.lines.to_crs("EPSG:4326")
    stops = routes.stops.to_crs("EPSG:4326")
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<gpx version="1.1" creator="GridPatrol" xmlns="http://www.topografix.com/GPX/1/1">']
    for s in stops.itertuples():
        out.append(f'  <wpt lat="{s.geometry.y:.7f}" lon="{s.geometry.x:.7f}"><name>'
                   f'{escape(f"{s.unit}-{s.order} {s.hotspot}")}</name>'
                   f'<desc>{escape(f"arrive {s.arrive}, depart {s.depart}")}</desc></wpt>')
    for r in lines.itertuples():
        out.append(f"  <trk><name>unit {r.unit}</name><trkseg>")
        out += [f'    <trkpt lat="{y:.7f}" lon="{x:.7f}"/>' for x, y in r.geometry.coords]
        out.append("  </trkseg></trk>")
    out.append("</gpx>")
    return "\n".join(out) + "\n"


def write_routes(routes: PatrolRoutes, path: str | Path) -> Path:
    """Write routes and stops as GeoJSON (``.geojson``/``.json``) or GPX (``.gpx``), atomically."""
    import json

    from geo.atomic import write_text_atomic
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".geojson", ".json", ".gpx"):
        raise InputError(f"`path` was {str(path)!r} but routes are written as GeoJSON or GPX; give "
                         "a path ending in .geojson or .gpx")
    text = routes_to_gpx(routes) if suffix == ".gpx" else json.dumps(routes_to_geojson(routes),
                                                                      ensure_ascii=False)
    return write_text_atomic(path, text)
