"""Matching uses the spatial (lat, lon) index, not a scan, and is exact at the boundary."""

from __future__ import annotations

from sqlalchemy import text

from doorstep import geo
from doorstep.hub.db import session_scope
from doorstep.hub.services.matching import cameras_in_area, candidate_query
from tests.requests.conftest import CENTER, HALF_SIDE_M, World, hub_of, offset, square


def test_candidate_query_is_an_index_range(world: World) -> None:
    area = geo.parse_area(square())
    hub = hub_of(world.client)
    with session_scope(hub.sessions) as session:
        dialect = session.get_bind().dialect
        sql = str(
            candidate_query(area).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        )
        if dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "USING INDEX ix_cameras_lat_lon" in plan, plan
            assert "SCAN cameras" not in plan.replace("USING INDEX", "")
        else:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(r[0]) for r in session.execute(text(f"EXPLAIN {sql}")))
            assert "ix_cameras_lat_lon" in plan, plan
            assert "Seq Scan" not in plan


def test_boundary_is_exact(world: World) -> None:
    inside = world.owner("inside", east_m=HALF_SIDE_M - 5)
    world.owner("outside", east_m=HALF_SIDE_M + 5)
    area = geo.parse_area(square())
    with session_scope(hub_of(world.client).sessions) as session:
        assert cameras_in_area(session, area) == [inside.cameras[0]["id"]]
    lon, lat = offset(*CENTER, HALF_SIDE_M + 5, 0)
    assert not geo.contains(area, lon, lat)
