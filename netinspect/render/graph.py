"""A graph (``analysis.graph``) as Mermaid and Graphviz text, and as an image drawn by dot.

Both texts carry the same labels: a node's path and class, its arguments, its shapes when
a dry run gave them, its parameters, and where a shared module is used. User text (module
names of a Python target, arguments) is escaped for each language, never trusted.
"""

from __future__ import annotations

from netinspect.analysis.graph import Cluster, Graph, GraphNode
from netinspect.errors import NetinspectError, ProgramMissingError
from netinspect.render.units import count, printable, shape

#: GitHub's Mermaid draws at most this many edges and this much text (mermaid's own
#: defaults, maxEdges and maxTextSize); past them it shows an error instead of the diagram.
MERMAID_MAX_EDGES = 500
MERMAID_MAX_TEXT = 50_000
ARGS_SHOWN = 56  # characters of a node's arguments; longer ones end in ...


def node_lines(node: GraphNode) -> list[str]:
    """The label of a node, line by line."""
    title = f"{node.path}: {node.type}" if node.path else node.type
    lines = [title]
    args = node.args if len(node.args) <= ARGS_SHOWN else node.args[: ARGS_SHOWN - 3] + "..."
    if args and not node.folded:
        lines.append(args)
    if node.folded:
        lines.append(f"{node.folded} modules folded")
    if node.input is not None or node.output is not None:
        lines.append(f"{shape(node.input)} \u2192 {shape(node.output)}")
    if node.lazy:
        lines.append("lazy: no shape yet")
    elif node.params:
        lines.append(f"{count(node.params)} params")
    if node.shared:
        lines.append(f"shared: used at {', '.join(node.places)}")
    return [printable(line) for line in lines]


def cluster_title(cluster: Cluster) -> str:
    title = f"{cluster.path}: {cluster.type}"
    if cluster.shared:
        title += f" (shared: used at {', '.join(cluster.places)})"
    return printable(title)


def end_labels(graph: Graph) -> tuple[str, str]:
    """The input's and the output's labels: their shapes when a dry run gave them."""
    if not graph.shaped:
        return "input", "output"
    inputs = ", ".join(
        f"{name}={shape(dims)}" if name else shape(dims) for name, dims, _ in graph.inputs
    )
    return f"input {inputs}", f"output {shape(graph.output)}"


# -- Mermaid ---------------------------------------------------------------------------------
def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: its entity codes for the characters that would
    end the label or be read as markup (mermaid's ``#quot;`` form; ``#`` itself first)."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text.replace("`", "#96;")


def _mermaid_label(lines: list[str]) -> str:
    return '"' + "<br/>".join(_mermaid_text(line) for line in lines) + '"'


def mermaid(graph: Graph) -> str:
    """A Mermaid flowchart: GitHub draws it in markdown (a ```mermaid block) and comments."""
    out = ["flowchart TD"]
    start, end = end_labels(graph)
    out.append(f"  input([{_mermaid_label([start])}])")

    def emit(cluster: Cluster, indent: str) -> None:
        for child in cluster.children:
            if isinstance(child, Cluster):
                out.append(f"{indent}subgraph {child.id}[{_mermaid_label([cluster_title(child)])}]")
                out.append(f"{indent}  direction TB")
                emit(child, indent + "  ")
                out.append(f"{indent}end")
            else:
                out.append(f"{indent}{child.id}[{_mermaid_label(node_lines(child))}]")

    emit(graph.root, "  ")
    out.append(f"  output([{_mermaid_label([end])}])")
    out.extend(f"  {edge.source} --> {edge.target}" for edge in graph.edges)
    for tie in graph.ties:
        label = _mermaid_text(f"tied: {' = '.join(tie.names)}")
        out.append(f'  {tie.source} -. "{printable(label)}" .- {tie.target}')
    shared = [node.id for node in graph.nodes() if node.shared]
    lazy = [node.id for node in graph.nodes() if node.lazy]
    out.append("  classDef shared stroke-width:3px,stroke-dasharray:6 3")
    out.append("  classDef lazy fill:#fff4d6")
    if shared:
        out.append(f"  class {','.join(shared)} shared")
    if lazy:
        out.append(f"  class {','.join(lazy)} lazy")
    return "\n".join(out) + "\n"


def mermaid_markdown(flowchart: str) -> str:
    """A flowchart (:func:`mermaid`) in a ```mermaid block, ready for a README or a
    pull-request comment."""
    return f"```mermaid\n{flowchart}```\n"


def mermaid_over_github(text: str, edges: int) -> str | None:
    """Why GitHub would not draw this flowchart, or None."""
    if edges > MERMAID_MAX_EDGES:
        return f"{edges} edges, over the {MERMAID_MAX_EDGES} GitHub's Mermaid draws"
    if len(text) > MERMAID_MAX_TEXT:
        return f"{len(text):,} characters, over the {MERMAID_MAX_TEXT:,} GitHub's Mermaid reads"
    return None


# -- Graphviz --------------------------------------------------------------------------------
def dot(graph: Graph) -> str:
    """Graphviz DOT text (``dot -Tsvg``). Quoting and escaping are the graphviz package's."""
    import graphviz

    drawing = graphviz.Digraph(
        printable(graph.model),
        graph_attr={"rankdir": "TB", "fontname": "Helvetica", "fontsize": "11"},
        node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": "#eef3fb",
                   "fontname": "Helvetica", "fontsize": "10"},
        edge_attr={"arrowsize": "0.7", "fontname": "Helvetica", "fontsize": "9"},
    )  # fmt: skip
    start, end = end_labels(graph)
    drawing.node("input", _dot_label([start]), shape="oval", fillcolor="#ffffff")

    def emit(into: graphviz.Digraph, cluster: Cluster) -> None:
        for child in cluster.children:
            if isinstance(child, Cluster):
                with into.subgraph(name=f"cluster_{child.id}") as box:
                    style = "rounded,dashed" if child.shared else "rounded"
                    box.attr(label=_dot_label([cluster_title(child)]), style=style)
                    emit(box, child)
            else:
                into.node(child.id, _dot_label(node_lines(child)), **_dot_style(child))

    emit(drawing, graph.root)
    drawing.node("output", _dot_label([end]), shape="oval", fillcolor="#ffffff")
    for edge in graph.edges:
        drawing.edge(edge.source, edge.target)
    for tie in graph.ties:
        drawing.edge(
            tie.source, tie.target, label=_dot_label([f"tied: {' = '.join(tie.names)}"]),
            style="dashed", dir="none", constraint="false", color="#b05000",
        )  # fmt: skip
    source: str = drawing.source
    return source


def _dot_label(lines: list[str]) -> str:
    import graphviz

    # escape(): a backslash in a name is a backslash, not one of dot's \N \G \l codes.
    label: str = graphviz.nohtml("\\n".join(graphviz.escape(printable(line)) for line in lines))
    return label


def _dot_style(node: GraphNode) -> dict[str, str]:
    if node.lazy:
        return {"fillcolor": "#fff4d6"}
    if node.shared:
        return {"penwidth": "2.5", "style": "rounded,filled,dashed"}
    if node.folded:
        return {"fillcolor": "#dde7f7", "shape": "box3d", "style": "filled"}
    return {}


def dot_image(text: str, image_format: str) -> bytes:
    """``text`` drawn by Graphviz's dot as ``svg`` or ``png``."""
    import subprocess

    import graphviz

    try:
        return bytes(graphviz.pipe("dot", image_format, text.encode("utf-8")))
    except graphviz.ExecutableNotFound:
        raise ProgramMissingError(
            f"--format {image_format} needs Graphviz's dot program, which is not installed "
            "(not on PATH)",
            hint="Install Graphviz (Debian or Ubuntu: apt-get install graphviz; macOS: brew "
            "install graphviz; conda: conda install graphviz), or write --format dot and draw "
            "it elsewhere.",
        ) from None
    except subprocess.CalledProcessError as exc:
        said = (exc.stderr or b"").decode("utf-8", "replace").strip()
        raise NetinspectError(
            f"Graphviz's dot failed (exit status {exc.returncode}): {said}"
        ) from None
