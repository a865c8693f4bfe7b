"""The model as a diagram: blocks as clusters, leaves as nodes, edges in call order.

What a picture needs that the tree does not give: each module drawn *once* (a module used
at several places, ``shared:``, is one node, and every place it is used sends the data
through it), the order the leaves are called in (a dry run's when an input is known, else
the tree's order, which is the call order of ``nn.Sequential`` blocks), and ties between
distinct modules (a head that reuses the embedding's weight) as their own kind of link.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise

from torch import nn

from netinspect.analysis.dryrun import DryRunReport
from netinspect.analysis.tensors import alias_groups, distinct_numel, is_lazy


@dataclass(frozen=True)
class GraphNode:
    """A leaf, or a block folded into one node (``folded`` > 0: its module count)."""

    id: str
    path: str  # its first place in the tree ("" for a model that is one layer)
    type: str
    args: str  # extra_repr(), as print(model) shows them
    params: int  # distinct parameter elements, its children's included
    places: tuple[str, ...]  # every place it is used at: more than one for a shared module
    lazy: bool  # some parameter has no shape yet
    folded: int = 0
    input: tuple[int, ...] | None = None  # its first call's, when a dry run gave them
    output: tuple[int, ...] | None = None

    @property
    def shared(self) -> bool:
        return len(self.places) > 1


@dataclass(frozen=True)
class Cluster:
    """A block drawn as a box around its children."""

    id: str
    path: str
    type: str
    params: int
    places: tuple[str, ...]
    children: tuple[GraphNode | Cluster, ...]

    @property
    def shared(self) -> bool:
        return len(self.places) > 1


@dataclass(frozen=True)
class Edge:
    source: str  # a node id, or "input"
    target: str  # a node id, or "output"


@dataclass(frozen=True)
class Tie:
    """Distinct modules holding the same tensor: ``names`` are its names, first one first."""

    source: str
    target: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Graph:
    model: str
    root: Cluster  # the model itself; its children are drawn at the top level
    edges: tuple[Edge, ...]
    ties: tuple[Tie, ...]
    inputs: tuple[tuple[str | None, tuple[int, ...], str], ...] = ()  # from the dry run
    output: tuple[int, ...] | None = None
    shaped: bool = False  # shapes come from a dry run

    def nodes(self) -> Iterator[GraphNode]:
        """Every node, clusters walked in order."""
        return _walk(self.root)


def _walk(cluster: Cluster) -> Iterator[GraphNode]:
    for child in cluster.children:
        if isinstance(child, Cluster):
            yield from _walk(child)
        else:
            yield child


@dataclass
class _Builder:
    module: nn.Module
    max_depth: int | None
    places: dict[int, list[str]] = field(default_factory=dict)  # module id -> its paths
    node_of: dict[int, str] = field(default_factory=dict)  # module id -> the node drawing it
    count: int = 0

    def next_id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def collect_places(self) -> None:
        for path, m in self.module.named_modules(remove_duplicate=False):
            self.places.setdefault(id(m), []).append(path)

    def cluster(self, m: nn.Module, path: str, depth: int) -> Cluster:
        children: list[GraphNode | Cluster] = []
        for name, child in m._modules.items():
            if child is None or id(child) in self.node_of:
                continue  # drawn at its first place already: shared
            child_path = f"{path}.{name}" if path else name
            children.append(self.part(child, child_path, depth + 1))
        self.node_of.setdefault(id(m), "")  # drawn: a second place of it draws nothing
        return Cluster(
            self.next_id("c"), path, type(m).__name__, distinct_numel(m.parameters()),
            tuple(self.places.get(id(m), [path])), tuple(children),
        )  # fmt: skip

    def part(self, m: nn.Module, path: str, depth: int) -> GraphNode | Cluster:
        fold = self.max_depth is not None and depth >= self.max_depth and bool(m._modules)
        if m._modules and not fold:
            return self.cluster(m, path, depth)
        node_id = self.next_id("n")
        inside = list(m.modules())
        for sub in inside:  # a folded block's modules are all drawn by its node
            self.node_of.setdefault(id(sub), node_id)
        return GraphNode(
            id=node_id,
            path=path,
            type=type(m).__name__,
            args=m.extra_repr(),
            params=distinct_numel(m.parameters()),
            places=tuple(self.places.get(id(m), [path])),
            lazy=any(is_lazy(p) for p in m.parameters()),
            folded=len(inside) - 1 if fold else 0,
        )


def graph(
    module: nn.Module,
    model_name: str = "model",
    run: DryRunReport | None = None,
    max_depth: int | None = None,
) -> Graph:
    """The diagram of ``module``; ``run`` (a dry run of it) gives call order and shapes;
    blocks ``max_depth`` levels below the root are folded into one node each."""
    builder = _Builder(module, max_depth)
    builder.collect_places()
    if module._modules:
        root = builder.cluster(module, "", 0)
    else:  # a model that is one layer: one node
        root = Cluster("c0", "", type(module).__name__, 0, ("",), (builder.part(module, "", 0),))
    by_path = dict(module.named_modules(remove_duplicate=False))
    order = _call_order(builder, by_path, run)
    if run is not None:
        root = _shaped(root, builder, by_path, run)
    folded = {node.id for node in _walk(root) if node.folded}
    edges = _edges(order, folded)
    return Graph(
        model=model_name,
        root=root,
        edges=edges,
        ties=_ties(module, builder, by_path),
        inputs=tuple((i.name, i.shape, i.dtype) for i in run.inputs) if run else (),
        output=run.output if run else None,
        shaped=run is not None,
    )


def _call_order(
    builder: _Builder, by_path: dict[str, nn.Module], run: DryRunReport | None
) -> list[str]:
    """The node of each call, in order: the dry run's calls, or without one every place in
    the tree's order (a shared module's at each). Blocks drawn as clusters are left out."""
    paths = [call.path for call in run.layers] if run is not None else list(by_path)
    order = []
    for path in paths:
        m = by_path.get(path)  # None for a call from no place of the tree ("?")
        node = builder.node_of.get(id(m), "") if m is not None else ""
        if node.startswith("n"):
            order.append(node)
    return order


def _edges(order: Sequence[str], folded: set[str]) -> tuple[Edge, ...]:
    """input -> each called node -> output, each edge drawn once. A folded block's calls in
    a row are one visit; a leaf called twice in a row loops back to itself."""
    visits: list[str] = []
    for node in order:
        if visits and visits[-1] == node and node in folded:
            continue
        visits.append(node)
    chain = ["input", *visits, "output"]
    seen: dict[tuple[str, str], None] = {}
    for a, b in pairwise(chain):
        seen.setdefault((a, b))
    return tuple(Edge(a, b) for a, b in seen)


def _shaped(
    cluster: Cluster, builder: _Builder, by_path: dict[str, nn.Module], run: DryRunReport
) -> Cluster:
    """The nodes with their first call's shapes."""
    first: dict[int, tuple[tuple[int, ...] | None, tuple[int, ...] | None]] = {}
    for call in run.layers:
        m = by_path.get(call.path)
        if m is not None:
            first.setdefault(id(m), (call.input, call.output))
    by_node: dict[str, tuple[tuple[int, ...] | None, tuple[int, ...] | None]] = {}
    for m in _firsts(by_path):  # a folded node takes its block's shapes, the first module
        if id(m) in first:
            by_node.setdefault(builder.node_of.get(id(m), ""), first[id(m)])

    def walk(c: Cluster) -> Cluster:
        children: list[GraphNode | Cluster] = []
        for child in c.children:
            if isinstance(child, Cluster):
                children.append(walk(child))
            else:
                shapes = by_node.get(child.id, (None, None))
                children.append(replace(child, input=shapes[0], output=shapes[1]))
        return Cluster(c.id, c.path, c.type, c.params, c.places, tuple(children))

    return walk(cluster)


def _firsts(by_path: dict[str, nn.Module]) -> list[nn.Module]:
    """Each module at the place its node is drawn (its first), in tree order."""
    seen: dict[int, nn.Module] = {}
    for m in by_path.values():
        seen.setdefault(id(m), m)
    return list(seen.values())


def _ties(module: nn.Module, builder: _Builder, by_path: dict[str, nn.Module]) -> tuple[Tie, ...]:
    """One link from the node first holding a tied tensor to each other node holding it."""
    ties: list[Tie] = []
    for names, _ in alias_groups(module.named_parameters(remove_duplicate=False)):
        owners: dict[str, None] = {}
        for name in names:
            owner = by_path[name.rpartition(".")[0]]
            owners.setdefault(builder.node_of.get(id(owner), ""))
        nodes = [n for n in owners if n]
        ties.extend(Tie(nodes[0], other, tuple(names)) for other in nodes[1:])
    return tuple(ties)
