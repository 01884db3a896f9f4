"""Reader for SteinLib ``.stp`` files and the optima table (benchmarks only; data stays in ../shared)."""

from __future__ import annotations

import csv
from pathlib import Path

import networkx as nx

#: Where the shared benchmark instances live, relative to this repository.
STEINLIB_DIR = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "steinlib"


def read_stp(path: str | Path) -> tuple[nx.Graph, list[int]]:
    """Read a SteinLib instance: an undirected graph with ``cost`` on edges, and its terminals.

    Where an edge appears twice, the cheaper copy is kept.
    """
    G = nx.Graph()
    terminals: list[int] = []
    section = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            parts = raw.split()
            if not parts:
                continue
            key = parts[0].upper()
            if key == "SECTION":
                section = parts[1].upper()
            elif key == "END":
                section = None
            elif section == "GRAPH" and key == "NODES":
                G.add_nodes_from(range(1, int(parts[1]) + 1))
            elif section == "GRAPH" and key == "E":
                u, v, w = int(parts[1]), int(parts[2]), float(parts[3])
                if u != v and (not G.has_edge(u, v) or G.edges[u, v]["cost"] > w):
                    G.add_edge(u, v, cost=w)
            elif section == "TERMINALS" and key == "T":
                terminals.append(int(parts[1]))
    return G, terminals


def read_optima(path: str | Path | None = None) -> dict[tuple[str, str], float]:
    """Return {(group, filename): optimum} from ``optima.csv``."""
    path = Path(path) if path else STEINLIB_DIR / "optima.csv"
    with open(path, encoding="utf-8") as fh:
        return {(row["group"], row["filename"]): float(row["opt"]) for row in csv.DictReader(fh)}
