"""Column roles guessed for the import form (geo.columns): ids that are never constant or mostly
empty, population that is never text, coordinates, times, names; the preview table."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.columns import (
    ColumnProblem,
    column_preview,
    column_total,
    guess_id_column,
    guess_population_column,
    guess_roles,
    id_column_problem,
    is_numeric_column,
    population_problem,
    units_from_ids,
)


def _chicago_like() -> pd.DataFrame:
    """The columns of Chicago's community_areas.zip: AREA and PERIMETER are 0.0 everywhere and
    COMAREA_ID is 0; AREA_NUMBE holds the 77 area numbers (as text)."""
    n = 77
    return pd.DataFrame({"AREA": [0.0] * n, "PERIMETER": [0.0] * n, "COMAREA_": [0] * n,
                         "COMAREA_ID": [0] * n, "AREA_NUMBE": [str(i) for i in range(1, n + 1)],
                         "COMMUNITY": [f"AREA {i}" for i in range(n)],
                         "AREA_NUM_1": [str(i) for i in range(1, n + 1)],
                         "SHAPE_AREA": np.linspace(1e7, 9e7, n), "SHAPE_LEN": np.linspace(1e4, 9e4, n)})


def test_a_constant_id_column_is_refused_and_never_guessed():
    frame = _chicago_like()
    problem = id_column_problem(frame["AREA"])
    assert isinstance(problem, ColumnProblem) and problem.rule == "constant" and problem.value == "0"
    assert "same value '0' in every row" in problem.message
    assert id_column_problem(frame["COMAREA_ID"]).rule == "constant"
    assert id_column_problem(frame["AREA_NUMBE"]) is None
    assert guess_id_column(frame, layer="townships") == "AREA_NUMBE"
    # Even with AREA_NUMBE gone, a constant column is not taken: the next id-like header is.
    assert guess_id_column(frame.drop(columns=["AREA_NUMBE"]), layer="townships") == "AREA_NUM_1"
    assert guess_id_column(frame[["AREA", "COMAREA_ID", "COMMUNITY"]], layer="townships") is None


def test_a_mostly_empty_id_column_is_refused():
    values = pd.Series(["A", None, " ", np.nan, "E"], name="编号")
    problem = id_column_problem(values)
    assert problem.rule == "mostly_empty" and (problem.count, problem.total) == (3, 5)
    assert id_column_problem(pd.Series(["A", "B", None], name="编号")) is None  # 1 of 3 empty
    assert id_column_problem(pd.Series([7], name="id")) is None  # one feature: one value is fine
    # 7 and 7.0 are one id (geo.ids): a column of both is constant.
    assert id_column_problem(pd.Series([7, 7.0, "7"], dtype=object, name="id")).rule == "constant"


def test_units_count_ids_as_text():
    assert units_from_ids(pd.Series(["17", "31", "31", "31", None])) == 2
    assert units_from_ids(pd.Series([1, 1.0, 2])) == 2


def test_ids_by_layer_headers_then_generic_then_endings_then_unique_numbers():
    frame = pd.DataFrame({"名称": ["甲", "乙", "丙"], "编号": ["1", "2", "3"], "派出所编号": ["S1", "S2", "S3"]})
    assert guess_id_column(frame, layer="stations") == "派出所编号"
    assert guess_id_column(frame, layer="townships") == "编号"
    assert guess_id_column(pd.DataFrame({"zone_id": [1, 2], "x": [0.5, 1.5]}), layer="townships") == "zone_id"
    # Chicago's district numbers repeat for the three parts of district 31: still the id.
    districts = pd.DataFrame({"DIST_NUM": ["17", "31", "31", "31"], "_SocrataID": list("abcd")})
    assert guess_id_column(districts, layer="jurisdictions") == "DIST_NUM"
    # No id header: the first column of distinct whole numbers (Police_Stations.csv's DISTRICT),
    # never a text column of kinds or fractions.
    stations = pd.DataFrame({"DISTRICT_NAME": ["Central", "Wentworth", "Grand"], "kind": ["a", "b", "c"],
                             "SHARE": [0.1, 0.2, 0.3], "DISTRICT": pd.array([1, 2, 3], dtype="Int64"),
                             "ZIP": [60616, 60609, 60609]})
    assert guess_id_column(stations, layer="stations") == "DISTRICT"
    assert guess_id_column(stations.drop(columns="DISTRICT"), layer="stations") is None
    assert guess_id_column(stations, layer="area") is None  # the area has no ids


def test_population_is_numeric_never_text_and_the_latest_year():
    frame = pd.DataFrame({"community": ["DOUGLAS", "OAKLAND"], "NID": [35, 36],
                          "POP2000": [26470, 6110], "POP2010": [18238, 5918], "POPCH": [-8232, -192],
                          "POPPERCH": [-31.1, -3.1], "popplus": [0, 0], "popneg": [1, 1]})
    assert guess_population_column(frame) == "POP2010"
    assert population_problem(frame["POP2010"]) is None
    assert population_problem(frame["POPCH"]).rule == "negative"
    assert population_problem(frame["popplus"]).rule == "no_total"
    text = pd.DataFrame({"人口": ["约两万", "一万"], "备注": ["x", "y"]})
    assert guess_population_column(text) is None, "a text column is never guessed as population"
    problem = population_problem(text["人口"])
    assert problem.rule == "not_numeric" and problem.value == "约两万"
    mixed = pd.DataFrame({"人口说明": ["户籍", "常住"], "常住人口": [12000.0, 8000.0], "人口密度": [5000.0, 300.0]})
    assert guess_population_column(mixed) == "常住人口"
    assert column_total(mixed["常住人口"]) == 20000.0
    assert not is_numeric_column(pd.Series(["1", "2"])) and not is_numeric_column(pd.Series([True]))


def test_roles_of_a_chinese_incident_export():
    times = pd.to_datetime(["2024-03-05 20:15", "2024-03-05 21:40", "2024-03-06 07:05"])
    frame = pd.DataFrame({"序号": [1, 2, 3], "警情编号": ["J1", "J2", "J3"], "报警时间": times,
                          "东经": [113.91, 113.92, 113.93], "北纬": [34.31, 34.32, 34.33],
                          "案件类别": ["盗窃", "纠纷", "诈骗"], "警情级别": ["一级", "二级", "三级"],
                          "地点名称": ["甲", "乙", "丙"]})
    roles = guess_roles(frame, layer="incidents")
    assert roles == {"东经": "x", "北纬": "y", "报警时间": "time", "案件类别": "category",
                     "警情级别": "priority", "警情编号": "id", "地点名称": "name"}
    # Projected X坐标/Y坐标 and a population on a polygon layer.
    towns = pd.DataFrame({"街道代码": ["410101001", "410101002"], "街道名称": ["城关", "东乡"],
                          "X坐标": [500000.0, 501000.0], "Y坐标": [3800000.0, 3801000.0],
                          "常住人口": [12000, 8000]})
    assert guess_roles(towns, layer="townships") == {"X坐标": "x", "Y坐标": "y", "常住人口": "population",
                                                     "街道代码": "id", "街道名称": "name"}


def test_preview_table_has_three_samples_roles_and_the_population_total():
    frame = pd.DataFrame({"NID": [35, 36, 37, 38], "community": ["DOUGLAS", None, "OAKLAND", "FULLER PARK"],
                          "POP2010": [18238, 5918, 2876, 1000],
                          "time": pd.to_datetime(["2024-03-05 20:15:00", None, "2024-03-06 08:30:15", None])})
    table = column_preview(frame, layer="attributes")
    assert list(table.columns) == ["column", "samples", "role", "total"]
    rows = table.set_index("column")
    assert rows.loc["community", "samples"] == "DOUGLAS · OAKLAND · FULLER PARK"  # empties skipped
    assert rows.loc["time", "samples"] == "2024-03-05 20:15 · 2024-03-06 08:30:15"
    assert rows.loc["POP2010", "role"] == "population" and rows.loc["POP2010", "total"] == 28032
    assert rows.loc["community", "role"] == "name" and rows.loc["NID", "role"] == ""
    chosen = column_preview(frame, layer="attributes", roles={"NID": "id"}).set_index("column")
    assert chosen.loc["NID", "role"] == "id" and chosen.loc["POP2010", "role"] == ""


@pytest.mark.parametrize("rule,fields", [("constant", {"value": "0"}), ("mostly_empty", {"count": 3, "total": 5}),
                                         ("not_numeric", {"value": "x"}), ("negative", {"count": 2}),
                                         ("no_total", {})])
def test_every_problem_has_words(rule, fields):
    text = ColumnProblem(rule, "col", **fields).message
    assert "'col'" in text and "choose" in text


def test_roles_name_the_users_own_columns_not_the_copies_read_layer_adds():
    import pandas as pd

    from geo.columns import guess_roles
    frame = pd.DataFrame({"警情编号": ["a", "b", "c"], "报警时间": ["2024-01-01 01:00"] * 3,
                          "经度": [113.8, 113.9, 114.0], "纬度": [34.2, 34.3, 34.4],
                          "警情类别": ["盗窃", "诈骗", "其他"], "警情级别": ["一级", "二级", "三级"],
                          # what geo.layers.read_layer adds from the columns above
                          "time": pd.to_datetime(["2024-01-01 01:00"] * 3),
                          "category": ["盗窃", "诈骗", "其他"], "priority": ["1", "2", "3"]})
    assert guess_roles(frame, layer="incidents") == {
        "经度": "x", "纬度": "y", "报警时间": "time", "警情类别": "category", "警情级别": "priority",
        "警情编号": "id"}
    own_time = pd.DataFrame({"incident_id": ["a", "b"], "time": ["2024-01-01 01:00"] * 2})
    assert guess_roles(own_time, layer="incidents")["time"] == "time"
