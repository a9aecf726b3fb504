"""A small layered layout, so the HTML page and the inline SVG need no Graphviz.

The method is the usual one for drawing flow graphs, kept short:

1. **Layers by longest path.** An operation sits one column right of the furthest operation that
   feeds it; inputs and constants sit one column left of their first user; an output one column
   right of what produces it. So inputs are on the left and outputs on the right.
2. **Label columns.** Every labelled edge gets a label slot in the column just before its target
   (the edge passes through it: value above the line, gradient below), like Graphviz's label nodes.
3. **Order within columns** by the barycentre heuristic (a few sweeps left→right and right→left),
   which keeps crossings low on graphs of this size.
4. **Vertical positions**: each item is pulled towards the mean height of its neighbours, then the
   column is swept so that no two items overlap.
5. **Clusters** (several outputs given as a dict) are laid out in horizontal bands, one below the
   other, each with a frame and a title.
6. **Rows**, when a ``max_width`` is given and the drawing is wider: the columns are cut into rows
   that fit it (each cut just before a label column, so an edge's label stays beside its target),
   and the rows are stacked top to bottom like lines of text. An edge that goes on to a later row
   runs to the right end of its row, down into the gap below it, back to the left margin and into
   its target, so it is always visible which value continues where.

Sizes are estimated from character counts (no font metrics are available without a browser).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .heatmap import WIDTH as HEATMAP_WIDTH
from .heatmap import wants_heatmap
from .model import CONSTANT, INPUT, OP, OUTPUT, PARAM

FONT_SIZE = 14
LABEL_FONT_SIZE = 13
CHAR_WIDTH = 0.6  # average glyph width / font size for a sans-serif font
NODE_GAP = 14  # vertical space between items of one column
COLUMN_GAP = 32  # horizontal space between columns (where edges bend)
MARGIN = 16
CLUSTER_PAD = 14
CLUSTER_TITLE = 22
SWEEPS = 6
ROW_GAP = 40  # vertical space between two rows of a wrapped drawing (edges to the next row run in it)
ROUTE_GAP = 14  # how far right of its row an edge to the next row turns down
CORNER = 6  # radius of the corners of such an edge


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return max(len(text), 1) * size * CHAR_WIDTH


@dataclass
class Box:
    """Where an item is drawn: centre (x, y), width w, height h, and its shape."""

    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    shape: str = "text"  # "circle", "rect", "text", "label"

    @property
    def left(self):
        return self.x - self.w / 2

    @property
    def right(self):
        return self.x + self.w / 2


@dataclass
class Layout:
    """Boxes of nodes and edge labels, edge paths, cluster frames and the canvas size."""

    nodes: dict = field(default_factory=dict)  # node id → Box
    labels: dict = field(default_factory=dict)  # edge id → Box (the slot its value/gradient use)
    paths: dict = field(default_factory=dict)  # edge id → SVG path data
    clusters: list = field(default_factory=list)  # (title, x, y, w, h)
    width: float = 0.0
    height: float = 0.0


def node_box(node) -> Box:
    label = node.label
    if node.kind == OP:
        if len(label) <= 3:
            return Box(w=40, h=40, shape="circle")
        return Box(w=text_width(label) + 24, h=34, shape="rect")
    if node.kind == CONSTANT:
        if len(label) <= 4:
            return Box(w=28, h=28, shape="circle")
        return Box(w=text_width(label, 12) + 14, h=24, shape="rect")
    if node.kind == PARAM:
        return Box(w=text_width(label, 12) + 16, h=24, shape="rect")
    return Box(w=text_width(label) + 6, h=22, shape="text")  # INPUT, OUTPUT


def label_box(edge) -> Box:
    widest = max(len(edge.value_text), len(edge.grad_text or ""))
    extra = HEATMAP_WIDTH + 6 if wants_heatmap(edge.value) else 0  # a tensor's heatmap beside its shape
    return Box(w=widest * LABEL_FONT_SIZE * CHAR_WIDTH + 16 + extra, h=2 * LABEL_FONT_SIZE + 14, shape="label")


def assign_layers(model) -> dict:
    """Column of every node (even numbers; the odd columns hold edge labels)."""
    layer = {}
    ins = {n.id: model.in_edges(n.id) for n in model.nodes}
    outs = {n.id: model.out_edges(n.id) for n in model.nodes}
    for node in model.ops:
        sources = [layer.get(e.source, 0) for e in ins[node.id] if e.source in layer]
        layer[node.id] = 1 + max(sources, default=0)
    for node in model.nodes:
        if node.kind in (INPUT, PARAM, CONSTANT):
            users = [layer[e.target] for e in outs[node.id] if e.target in layer]
            layer[node.id] = max(min(users, default=1) - 1, 0)
    for node in model.nodes:
        if node.kind == OUTPUT:
            sources = [layer[e.source] for e in ins[node.id] if e.source in layer]
            layer[node.id] = max(sources, default=0) + 1
    # every node must have a layer (e.g. an input that is also an output)
    for node in model.nodes:
        layer.setdefault(node.id, 0)
    return {k: 2 * v for k, v in layer.items()}


def layout(model, max_width: float | None = None) -> Layout:
    """Lay out ``model`` (a :class:`~layerprop.viz.model.GraphModel`); see the module docstring.

    ``max_width`` (layout units): wrap a wider drawing into rows that fit it (a single column wider
    than that stays as wide as it is).
    """
    result = Layout()
    column = assign_layers(model)
    boxes = {n.id: node_box(n) for n in model.nodes}
    cluster_of = {n.id: n.cluster for n in model.nodes}
    for node in model.nodes:  # a constant sits just before its first user, beside the labels of its inputs
        users = [column[e.target] for e in model.out_edges(node.id)]
        if node.kind == CONSTANT and users:
            column[node.id] = max(min(users) - 1, 0)
    labelled = [e for e in model.edges if not e.constant]
    for edge in labelled:
        key = "label:" + edge.id
        boxes[key] = label_box(edge)
        column[key] = max(column[edge.target] - 1, column[edge.source] + 1)
        target_cluster, source_cluster = cluster_of[edge.target], cluster_of[edge.source]
        cluster_of[key] = target_cluster if target_cluster == source_cluster else None
    # neighbours of each item (for ordering and positioning)
    neighbours = {key: [] for key in boxes}

    def link(a, b):
        neighbours[a].append(b)
        neighbours[b].append(a)

    for edge in model.edges:
        if edge.constant:
            link(edge.source, edge.target)
        else:
            key = "label:" + edge.id
            link(edge.source, key)
            link(key, edge.target)

    bands = sorted(set(cluster_of.values()), key=lambda c: (c is None, c if c is not None else 0))
    n_columns = max(column.values(), default=0) + 1
    order_index = {key: i for i, key in enumerate(boxes)}  # model order as the starting order
    band_tops, band_height = {}, {}
    positions = {}
    for band in bands:
        columns = [[k for k in boxes if column[k] == c and cluster_of[k] == band] for c in range(n_columns)]
        for col in columns:
            col.sort(key=order_index.get)
        _order(columns, neighbours)
        ys = _positions(columns, neighbours, boxes)
        top = min((ys[k] - boxes[k].h / 2 for k in ys), default=0.0)
        bottom = max((ys[k] + boxes[k].h / 2 for k in ys), default=0.0)
        for k in ys:
            ys[k] -= top
        positions.update(ys)
        band_height[band] = bottom - top
    # stack the bands
    y = MARGIN + (CLUSTER_TITLE if any(b is not None for b in bands) else 0)
    for band in bands:
        band_tops[band] = y
        y += band_height[band] + (CLUSTER_PAD * 2 + CLUSTER_TITLE if band is not None else NODE_GAP * 2)
    # column x positions
    widths = [0.0] * n_columns
    for key, box in boxes.items():
        widths[column[key]] = max(widths[column[key]], box.w)
    xs, x = [], MARGIN + (CLUSTER_PAD if any(b is not None for b in bands) else 0)
    for width in widths:
        xs.append(x + width / 2)
        x += width + (COLUMN_GAP if width else 0)
    for key, box in boxes.items():
        box.x = xs[column[key]]
        box.y = band_tops[cluster_of[key]] + positions[key]
    framed = any(b is not None for b in bands)
    groups = list(bands)  # the band of each row (rows are numbered band after band); row_of: key → its row
    if max_width is not None and x + MARGIN > max_width:
        row_of, groups = {}, []
        for band in bands:
            members = [k for k in boxes if cluster_of[k] == band]
            band_widths = [0.0] * n_columns
            for k in members:
                band_widths[column[k]] = max(band_widths[column[k]], boxes[k].w)
            for first, end in _rows(xs, band_widths, max_width, framed):
                for k in members:
                    if first <= column[k] < end:
                        row_of[k] = len(groups)
                groups.append(band)
    else:
        row_of = {key: bands.index(cluster_of[key]) for key in boxes}
    ends = _stack_rows(len(groups), boxes, row_of, framed) if len(groups) > len(bands) else None
    for key, box in boxes.items():
        if key.startswith("label:"):
            result.labels[key[len("label:") :]] = box
        else:
            result.nodes[key] = box
    row_of_box = {id(box): row_of[key] for key, box in boxes.items()}

    def piece(a, b, move=True) -> str:  # from the right of box a into the left of box b
        ra, rb = row_of_box[id(a)], row_of_box[id(b)]
        if ends is None or rb <= ra or groups[ra] != groups[rb]:
            return _curve(a.right, a.y, b.left, b.y, move=move)
        turn = ends[ra][0] + ROUTE_GAP  # on to a later row of the same band
        gap = ends[rb - 1][1] + ROW_GAP / 2
        return _route(a.right, a.y, turn, gap, MARGIN / 2, b.y, b.left, move=move)

    for edge in model.edges:
        source, target = boxes[edge.source], boxes[edge.target]
        if edge.constant:
            result.paths[edge.id] = piece(source, target)
        else:
            label = boxes["label:" + edge.id]
            result.paths[edge.id] = (
                piece(source, label) + f" L {label.right:.1f} {label.y:.1f}" + piece(label, target, move=False)
            )
    for row, band in enumerate(groups):
        members = [boxes[k] for k in boxes if row_of[k] == row]
        if band is None or not members:
            continue
        left = min(b.left for b in members) - CLUSTER_PAD
        right = max(b.right for b in members) + CLUSTER_PAD
        top = min(b.y - b.h / 2 for b in members) - CLUSTER_PAD - CLUSTER_TITLE + 6
        bottom = max(b.y + b.h / 2 for b in members) + CLUSTER_PAD
        title = model.clusters[band] if groups.index(band) == row else "… " + model.clusters[band]
        if ends is None:  # one row per band: the frame spans the band's height
            top = band_tops[band] - CLUSTER_PAD - CLUSTER_TITLE + 6
            bottom = top + band_height[band] + 2 * CLUSTER_PAD + CLUSTER_TITLE - 6
        result.clusters.append((title, left, top, right - left, bottom - top))
    if ends is None:
        result.width, result.height = x + MARGIN, y + MARGIN
    else:
        result.width = max(right for right, _ in ends) + ROUTE_GAP + MARGIN
        result.height = ends[-1][1] + MARGIN
    for title, left, _, _, _ in result.clusters:  # a frame's title may be wider than the frame
        result.width = max(result.width, left + 10 + text_width(title, 13) + MARGIN)
    return result


def _rows(xs, widths, max_width: float, framed: bool) -> list:
    """Cut the columns into rows ``[(first, end), …]`` each at most ``max_width`` wide (margins and
    cluster frames included), cutting just before a label column (odd) where one fits, else before
    any column."""
    room = max_width - 2 * MARGIN - ROUTE_GAP - (2 * CLUSTER_PAD if framed else 0)
    left = [x - w / 2 for x, w in zip(xs, widths)]
    right = [x + w / 2 for x, w in zip(xs, widths)]
    rows, start = [], 0
    for c in range(len(xs)):
        if c == start or widths[c] == 0 or right[c] - left[start] <= room:
            continue
        cuts = [k for k in range(start + 1, c + 1) if widths[k] > 0]
        labelled = [k for k in cuts if k % 2 == 1]
        cut = (labelled or cuts)[-1]
        rows.append((start, cut))
        start = cut
    rows.append((start, len(xs)))
    return rows


def _stack_rows(count: int, boxes, row_of, framed) -> list:
    """Move every row to the left margin and below the one before; return each row's (right, bottom)."""
    ends, cursor = [], MARGIN - ROW_GAP
    pad_top = CLUSTER_PAD + CLUSTER_TITLE if framed else 0
    pad_bottom = CLUSTER_PAD if framed else 0
    for row in range(count):
        members = [box for key, box in boxes.items() if row_of[key] == row]
        if not members:
            ends.append((MARGIN, cursor))
            continue
        top = min(b.y - b.h / 2 for b in members) - pad_top
        bottom = max(b.y + b.h / 2 for b in members) + pad_bottom
        dx = min(b.left for b in members) - MARGIN - (CLUSTER_PAD if framed else 0)
        dy = cursor + ROW_GAP - top
        for box in members:
            box.x -= dx
            box.y += dy
        ends.append((max(b.right for b in members) + (CLUSTER_PAD if framed else 0), bottom + dy))
        cursor = bottom + dy
    return ends


def _route(x0, y0, turn, gap, margin, y1, x1, move=True) -> str:
    """An edge to a later row: right to ``turn``, down to ``gap``, left to ``margin``, down to ``y1``
    and right into (x1, y1), with rounded corners."""
    r = CORNER
    start = f"M {x0:.1f} {y0:.1f} " if move else " "
    return start + (
        f"L {turn - r:.1f} {y0:.1f} Q {turn:.1f} {y0:.1f} {turn:.1f} {y0 + r:.1f} "
        f"L {turn:.1f} {gap - r:.1f} Q {turn:.1f} {gap:.1f} {turn - r:.1f} {gap:.1f} "
        f"L {margin + r:.1f} {gap:.1f} Q {margin:.1f} {gap:.1f} {margin:.1f} {gap + r:.1f} "
        f"L {margin:.1f} {y1 - r:.1f} Q {margin:.1f} {y1:.1f} {margin + r:.1f} {y1:.1f} L {x1:.1f} {y1:.1f}"
    )


def _curve(x0, y0, x1, y1, move=True) -> str:
    """A cubic Bézier leaving and entering horizontally."""
    dx = max((x1 - x0) / 2, 4)
    start = f"M {x0:.1f} {y0:.1f} " if move else " "
    return start + f"C {x0 + dx:.1f} {y0:.1f} {x1 - dx:.1f} {y1:.1f} {x1:.1f} {y1:.1f}"


def _order(columns, neighbours):
    """Barycentre sweeps: sort each column by the mean position of its neighbours in the previous one."""
    index = {}
    for col in columns:
        for i, key in enumerate(col):
            index[key] = i

    def sweep(sequence, neighbour_column):
        for c in sequence:
            col = columns[c]
            if not col:
                continue
            other = neighbour_column(c)
            adjacent = set(columns[other]) if 0 <= other < len(columns) else set()
            col.sort(key=lambda key, adjacent=adjacent: _barycentre(key, neighbours, adjacent, index))
            for i, key in enumerate(col):
                index[key] = i

    for _ in range(SWEEPS // 2):
        sweep(range(1, len(columns)), lambda c: c - 1)
        sweep(range(len(columns) - 2, -1, -1), lambda c: c + 1)


def _barycentre(key, neighbours, adjacent, index) -> float:
    """Mean position of ``key``'s neighbours in the adjacent column (its own position if none)."""
    near = [index[n] for n in neighbours[key] if n in adjacent]
    return sum(near) / len(near) if near else index[key]


def _positions(columns, neighbours, boxes) -> dict:
    """Heights: start stacked and centred, then pull towards neighbours without overlapping."""
    y = {}
    tallest = max((sum(boxes[k].h + NODE_GAP for k in col) for col in columns), default=0.0)
    for col in columns:
        total = sum(boxes[k].h + NODE_GAP for k in col)
        cursor = (tallest - total) / 2
        for key in col:
            y[key] = cursor + boxes[key].h / 2
            cursor += boxes[key].h + NODE_GAP
    order = list(range(len(columns)))
    for sweep in range(SWEEPS):
        sequence = order if sweep % 2 == 0 else order[::-1]
        for c in sequence:
            col = columns[c]
            if not col:
                continue
            desired = []
            for key in col:
                near = [y[n] for n in neighbours[key] if n in y and n not in col]
                desired.append(sum(near) / len(near) if near else y[key])
            placed = []
            for i, key in enumerate(col):
                want = desired[i]
                if placed:
                    prev = col[i - 1]
                    want = max(want, placed[-1] + boxes[prev].h / 2 + NODE_GAP + boxes[key].h / 2)
                placed.append(want)
            # shift the column back up so that it sits, on average, where its items want to be
            shift = sum(p - d for p, d in zip(placed, desired)) / len(col)
            for key, p in zip(col, placed):
                y[key] = p - shift
    return y
