/* GridPatrol: a Leaflet CRS for basemap tiles in GCJ-02 (Amap/Gaode, Tencent, and intranet
 * copies of them). The map's layers stay in WGS84; this projection moves every WGS84 point to
 * GCJ-02 before Spherical Mercator, so layers land where GCJ-02 tiles draw the same place, and
 * unprojecting (clicks, drawings, view bounds) gives WGS84 back. Same published formula as
 * geo/crs.py (wgs84_to_gcj02; the inverse by fixed-point iteration). Outside China: no shift.
 * Used as L.CRS.GCJ02 (folium.Map(crs="GCJ02")). */
(function (L) {
  "use strict";
  var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;

  function outOfChina(lon, lat) {
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }

  function delta(lon, lat) {
    var x = lon - 105.0, y = lat - 35.0;
    var common = (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    var dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x))
      + common
      + (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0
      + (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    var dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x))
      + common
      + (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0
      + (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    var radlat = lat / 180.0 * PI;
    var magic = 1.0 - EE * Math.sin(radlat) * Math.sin(radlat);
    var sqrtmagic = Math.sqrt(magic);
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrtmagic) * PI);
    dlon = (dlon * 180.0) / (A / sqrtmagic * Math.cos(radlat) * PI);
    return outOfChina(lon, lat) ? [0.0, 0.0] : [dlon, dlat];
  }

  function wgs84ToGcj02(lon, lat) {
    var d = delta(lon, lat);
    return [lon + d[0], lat + d[1]];
  }

  function gcj02ToWgs84(lon, lat) {
    var wlon = lon, wlat = lat;
    for (var i = 0; i < 30; i++) {
      var f = wgs84ToGcj02(wlon, wlat), elon = f[0] - lon, elat = f[1] - lat;
      wlon -= elon;
      wlat -= elat;
      if (Math.abs(elon) < 1e-10 && Math.abs(elat) < 1e-10) { break; }
    }
    return [wlon, wlat];
  }

  var mercator = L.Projection.SphericalMercator;
  L.Projection.GCJ02Mercator = L.extend({}, mercator, {
    project: function (latlng) {
      var g = wgs84ToGcj02(latlng.lng, latlng.lat);
      return mercator.project(L.latLng(g[1], g[0]));
    },
    unproject: function (point) {
      var g = mercator.unproject(point), w = gcj02ToWgs84(g.lng, g.lat);
      return L.latLng(w[1], w[0]);
    }
  });
  L.CRS.GCJ02 = L.extend({}, L.CRS.EPSG3857, {code: "GCJ02", projection: L.Projection.GCJ02Mercator});
  L.GridPatrolGCJ02 = {wgs84ToGcj02: wgs84ToGcj02, gcj02ToWgs84: gcj02ToWgs84};
})(L);
