"""Gateway sharing per island (issue 13 §4): the least-cost gateways, bonded satellite terminals and relays of the
sites that reach each other by relay hops, within link capacities and hub sector limits, checked against brute
force over every forest."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from gisplan.wifi.network import relay_forest

KW = dict(relay_max_m=2_000.0, ptp_max_m=15_000.0, relay_cost=8.0, ptp_cost=60.0, relay_capacity_mbps=100.0,
          ptp_capacity_mbps=300.0)  # fmt: skip
TERMINAL = 265.0  # a satellite terminal with ten years of fees (M VND), 100 Mbit/s


def _brute(xy, direct, demand, cap, bond, *, blocked=frozenset(), max_links=None, sector_cap=np.inf, sector_cost=0.0,
           included=0.0, above=0.0, per_mbps=0.0, max_units=None):  # fmt: skip
    """Least cost over every forest (each site relays to one other or is a gateway): relays within reach and not
    blocked, each link within its capacity, a bondable gateway paying one direct cost per terminal (as many as
    its load needs, at most ``max_units`` unless its own demand needs more, the cheapest count when each includes
    ``included`` Mbit/s and the load above costs ``above`` a Mbit/s), every gateway ``per_mbps`` on its load, a
    hub its sectors beyond the first.  Written apart from the code under test."""
    n = len(xy)
    best = np.inf
    for parents in itertools.product(range(-1, n), repeat=n):
        if any(p == i for i, p in enumerate(parents)):
            continue
        load = np.array(demand, dtype=float)
        ok = True
        for i in range(n):  # walk up from each site: no cycle, add its demand to every link above it
            j, steps = i, 0
            while parents[j] != -1:
                j = parents[j]
                load[j] += demand[i]
                steps += 1
                if steps > n:
                    ok = False
                    break
            if not ok:
                break
        if not ok:
            continue
        cost = 0.0
        for i, p in enumerate(parents):
            if p == -1:
                cost += per_mbps * load[i]
                if bond[i]:
                    need = max(1, math.ceil(load[i] / cap[i] - 1e-9))
                    top = 10 * len(xy) if max_units is None else max(max_units, math.ceil(demand[i] / cap[i] - 1e-9))
                    if need > top:
                        ok = False
                        break
                    cost += min(t * direct[i] + above * max(load[i] - included * t, 0.0) for t in range(need, top + 1))
                elif load[i] > cap[i] + 1e-9:
                    ok = False
                    break
                else:
                    cost += direct[i]
                continue
            d = float(np.hypot(*(xy[i] - xy[p])))
            if d > KW["ptp_max_m"] or (min(i, p), max(i, p)) in blocked:
                ok = False
                break
            short = d <= KW["relay_max_m"]
            if load[i] > (KW["relay_capacity_mbps"] if short else KW["ptp_capacity_mbps"]) + 1e-9:
                ok = False
                break
            cost += KW["relay_cost"] if short else KW["ptp_cost"]
        if not ok:
            continue
        for h in range(n):
            kids = [i for i, p in enumerate(parents) if p == h]
            if kids:
                need = max(math.ceil(len(kids) / max_links) if max_links else 1,
                           math.ceil(sum(load[k] for k in kids) / sector_cap - 1e-9) if np.isfinite(sector_cap) else 1,
                           1)  # fmt: skip
                cost += sector_cost * (need - 1)
        best = min(best, cost)
    return best


def _total(out) -> float:
    return float(out["cost"].sum() + out["sector_cost"].sum())


@pytest.mark.parametrize("seed", range(30))
def test_island_gateways_are_the_least_cost_against_brute_force(seed: int) -> None:
    """Random islands of up to five sites on satellite (bondable) or a free microwave of 150 Mbit/s, 5-90 Mbit/s
    each, hubs of two links at most: the network costs what the cheapest of every forest costs."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    xy = rng.random((n, 2)) * rng.choice([1_500.0, 4_000.0, 20_000.0])
    demand = rng.choice([5.0, 30.0, 60.0, 90.0], size=n)
    microwave = rng.random(n) < 0.2
    direct = np.where(microwave, 0.0, TERMINAL)
    cap = np.where(microwave, 150.0, 100.0)
    demand = np.where(microwave, np.minimum(demand, 60.0), demand)
    bond = ~microwave
    out = relay_forest(xy, direct_cost=direct, demand_mbps=demand, direct_capacity_mbps=cap, bondable=bond,
                       sector_max_links=2, sector_cost=10.0, **KW)  # fmt: skip
    assert _total(out) == pytest.approx(_brute(xy, direct, demand, cap, bond, max_links=2, sector_cost=10.0))
    assert (out["load_mbps"] <= out["capacity_mbps"] + 1e-9).all()
    assert out["exact"].all()


def test_one_shared_terminal_and_relays_beat_a_terminal_each() -> None:
    """Six sites 300 m apart in a row, 10 Mbit/s each, each alone on satellite: one terminal (60 Mbit/s) and five
    relays (5 x 8 M VND) instead of six terminals."""
    xy = np.c_[np.arange(6) * 300.0, np.zeros(6)]
    out = relay_forest(xy, direct_cost=[TERMINAL] * 6, demand_mbps=[10.0] * 6, direct_capacity_mbps=[100.0] * 6,
                       bondable=[True] * 6, **KW)  # fmt: skip
    assert (out["parent"] == -1).sum() == 1 and out["units"].sum() == 1
    assert _total(out) == pytest.approx(TERMINAL + 5 * 8)


def test_capacity_forces_two_terminals() -> None:
    """Three sites 1 km apart, 60 Mbit/s each (180 in all) on 100 Mbit/s terminals: two terminals, not one (over
    its capacity) nor three.  No two sites fit one terminal (120), so the two are bonded at one gateway with two
    relays into it (546 M VND, against 795 for three terminals)."""
    xy = np.array([[0.0, 0.0], [1_000.0, 0.0], [2_000.0, 0.0]])
    out = relay_forest(xy, direct_cost=[TERMINAL] * 3, demand_mbps=[60.0] * 3, direct_capacity_mbps=[100.0] * 3,
                       bondable=[True] * 3, **KW)  # fmt: skip
    assert out["units"].sum() == 2 and (out["parent"] == -1).sum() == 1
    assert (out["load_mbps"] <= out["capacity_mbps"] + 1e-9).all()
    assert out.loc[out["parent"] == -1, "capacity_mbps"].iloc[0] == 200.0
    assert _total(out) == pytest.approx(2 * TERMINAL + 2 * 8)
    # with relays dearer than a terminal each keeps its own
    dear = relay_forest(xy, direct_cost=[TERMINAL] * 3, demand_mbps=[60.0] * 3, direct_capacity_mbps=[100.0] * 3,
                        bondable=[True] * 3, **{**KW, "relay_cost": 300.0})  # fmt: skip
    assert dear["units"].sum() == 3 and (dear["parent"] == -1).all()


def test_a_bonded_hub_beats_separate_terminals_when_relays_are_cheap() -> None:
    """Two 60 Mbit/s sites 100 m from a 30 Mbit/s site: two terminals are needed (150 Mbit/s) either way; the one
    plan the brute force finds cheapest is taken."""
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]])
    demand, direct = np.array([30.0, 60.0, 60.0]), np.array([TERMINAL, TERMINAL, 200.0])
    cap, bond = np.full(3, 100.0), np.ones(3, dtype=bool)
    out = relay_forest(xy, direct_cost=direct, demand_mbps=demand, direct_capacity_mbps=cap, bondable=bond, **KW)
    assert out["units"].sum() == 2
    assert _total(out) == pytest.approx(_brute(xy, direct, demand, cap, bond))


def test_infeasible_hops_are_never_used() -> None:
    """Four sites: 0-1 blocked by terrain although 200 m apart, 3 beyond every reach (30 km); 0, 1 and 2 can share
    only over hops that are not blocked, and 3 keeps its own terminal."""
    xy = np.array([[0.0, 0.0], [200.0, 0.0], [0.0, 1_000.0], [30_000.0, 0.0]])
    direct, demand = [TERMINAL] * 4, [10.0] * 4
    out = relay_forest(xy, direct_cost=direct, demand_mbps=demand, direct_capacity_mbps=[100.0] * 4,
                       bondable=[True] * 4, blocked={(0, 1)}, **KW)  # fmt: skip
    parent = out["parent"].tolist()
    assert parent[0] != 1 and parent[1] != 0
    assert parent[3] == -1 and 3 not in parent
    assert out["units"].sum() == 2  # {0, 1, 2} share one terminal through 2, 3 alone
    assert _total(out) == pytest.approx(
        _brute(xy, direct, demand, [100.0] * 4, [True] * 4, blocked=frozenset({(0, 1)}))
    )


def test_a_relay_carries_at_most_its_capacity() -> None:
    """A BTS with 1,000 Mbit/s of microwave (free), a 60 Mbit/s village 1.5 km away and another 1.5 km beyond it
    (3 km from the BTS, out of reach): both through the first relay would carry 120 Mbit/s over a 100 Mbit/s
    relay, so the far village keeps a terminal (8 + 265 M VND), proven least-cost."""
    xy = np.array([[0.0, 0.0], [1_500.0, 0.0], [3_000.0, 0.0]])
    kw = {**KW, "ptp_max_m": 2_000.0}
    out = relay_forest(xy, direct_cost=[0.0, TERMINAL, TERMINAL], demand_mbps=[0.0, 60.0, 60.0],
                       direct_capacity_mbps=[1_000.0, 100.0, 100.0], bondable=[False, True, True], **kw)  # fmt: skip
    assert out["parent"].tolist() == [-1, 0, -1]
    assert _total(out) == pytest.approx(8 + TERMINAL)
    assert out["exact"].all()


def _village_plan(households: int, **settings):
    """One village of ``households`` around a community house 5 m away, an exchange 2 km north (omni 2.4 GHz APs,
    line-of-sight model)."""
    import geopandas as gpd
    from shapely.geometry import Point

    from gisplan.catalog._catalog import load_catalog
    from gisplan.wifi.planner import WifiParams, plan_wifi
    from gisplan.wifi.settings import WifiSettings

    crs, x0, y0 = "EPSG:32648", 400_000.0, 1_100_000.0
    settlements = gpd.GeoDataFrame(
        {"settlement_id": ["S1"], "name": ["Ấp Một"], "commune_code": ["C1"], "population": [households * 4],
         "households": [households], "kind": ["village"]},
        geometry=[Point(x0, y0)], crs=crs,
    )  # fmt: skip
    sites = gpd.GeoDataFrame(
        {"site_id": ["EX", "A"], "kind": ["exchange", "community"], "name": ["Exchange", "Nhà văn hoá"],
         "has_fibre": [True, False], "height_m": [30.0, 20.0], "has_power": [True, True]},
        geometry=[Point(x0, y0 + 2_000), Point(x0 + 5, y0 + 5)], crs=crs,
    )  # fmt: skip
    cat = load_catalog(overrides={"ap_profiles": {"outdoor_2g4": {"model": "p1411_los"}}})
    params = WifiParams(cover_all=True, profiles=("outdoor_2g4",), connect_all_commune_hq=False)
    return plan_wifi({"settlements": settlements, "sites": sites}, params, catalog=cat,
                     settings=WifiSettings(**settings))  # fmt: skip


def _capacity_message(plan) -> str:
    found = [m for m in plan.messages if m.startswith("Capacity:")]
    assert len(found) == 1, plan.messages
    return found[0]


def test_unserved_demand_is_named_per_village_with_its_reason() -> None:
    """120 households beyond one AP's airtime.  With one radio per column the site's channel is full: the message
    names the village, its households left and that reason; with three channels and no capacity round allowed, the
    reason is the rounds, not the channels; with one channel and no round, the channels."""
    full = _village_plan(120, max_aps_per_column=1)
    pts = full.layers["demand_points"]
    left = int((pts["in_footprint"].astype(bool) & (pts["served_by"].fillna("") == "")).sum())  # in reach, unserved
    assert left > 0
    text = _capacity_message(full)
    assert f"S1 Ấp Một: {left} household(s)" in text and "carries 1 radios per profile" in text
    assert f"S1 Ấp Một: {left} hộ" in text  # and in Vietnamese
    rounds = _village_plan(120, capacity_rounds=0)
    text = _capacity_message(rounds)
    assert "stopped after 0 rounds" in text and "carries 3 radios" not in text
    # the village's own reason wins over the stage's: no round allowed, but its one channel is full anyway
    both = _village_plan(120, capacity_rounds=0, max_aps_per_column=1)
    text = _capacity_message(both)
    assert "carries 1 radios per profile" in text and "stopped after" not in text


@pytest.mark.parametrize("seed", range(20))
def test_terminals_and_traffic_fees_against_brute_force(seed: int) -> None:
    """Random islands where each terminal's subscription includes 10 Mbit/s and traffic above costs per Mbit/s
    (dear or cheap against a terminal), every gateway pays transit, at most two terminals a gateway: the network
    costs the least of every forest and terminal count."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 6))
    xy = rng.random((n, 2)) * rng.choice([1_500.0, 4_000.0])
    demand = rng.choice([5.0, 30.0, 60.0, 90.0], size=n)
    direct, cap, bond = np.full(n, TERMINAL), np.full(n, 100.0), np.ones(n, dtype=bool)
    fees = dict(included=10.0, above=float(rng.choice([2.0, 40.0])), per_mbps=0.5, max_units=2)
    out = relay_forest(xy, direct_cost=direct, demand_mbps=demand, direct_capacity_mbps=cap, bondable=bond,
                       included_mbps=np.full(n, 10.0), above_cost_per_mbps=np.full(n, fees["above"]),
                       cost_per_mbps=np.full(n, 0.5), max_units=2, **KW)  # fmt: skip
    assert _total(out) == pytest.approx(_brute(xy, direct, demand, cap, bond, **fees))
    assert (out["units"] <= 2).all() and (out["load_mbps"] <= out["capacity_mbps"] + 1e-9).all()


def test_a_dear_traffic_fee_bonds_terminals_for_what_they_include() -> None:
    """One site of 35 Mbit/s: each terminal (265) includes 10 Mbit/s and the traffic above costs 40 a Mbit/s, so
    terminals pay while they save more than they cost: 1265, 1130, 995, then 1060 for four (the fourth saves only
    5 x 40): three.  Capped at two, two; with traffic at 2 a Mbit/s, one."""
    kw = dict(direct_cost=[TERMINAL], demand_mbps=[35.0], direct_capacity_mbps=[100.0], bondable=[True],
              included_mbps=[10.0], above_cost_per_mbps=[40.0], **KW)  # fmt: skip
    out = relay_forest(np.zeros((1, 2)), **kw)
    assert out["units"].tolist() == [3] and _total(out) == pytest.approx(3 * TERMINAL + 5 * 40)
    capped = relay_forest(np.zeros((1, 2)), **kw, max_units=2)
    assert capped["units"].tolist() == [2] and _total(capped) == pytest.approx(2 * TERMINAL + 15 * 40)
    cheap = relay_forest(np.zeros((1, 2)), **{**kw, "above_cost_per_mbps": [2.0]})
    assert cheap["units"].tolist() == [1] and _total(cheap) == pytest.approx(TERMINAL + 25 * 2)
