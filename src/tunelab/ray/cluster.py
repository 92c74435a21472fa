"""Whether the Ray cluster can ever run one tunelab worker, asked before any task is
submitted: Ray itself waits forever for a request no node can meet (with an autoscaler,
repeating "No available node types can fulfill resource request")."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tunelab.errors import TunelabError

RAY_NAMES = {"cpu": "CPU", "gpu": "GPU"}
AUTOSCALER_STATUS_KEY = "__autoscaling_status"  # written by Ray's (v1) autoscaler monitor
READ_ONLY_TYPE_PREFIX = "node_"  # its node type where no autoscaler runs


class ResourcesUnavailableError(TunelabError):
    """No node of the Ray cluster has, or will get, what one trial asks for."""


def ray_request(resources: Mapping[str, float]) -> dict[str, float]:
    """What one task asks Ray for, by Ray's resource names (zero amounts left out)."""
    return {RAY_NAMES[k]: float(v) for k, v in resources.items() if v > 0}


def shown(amounts: Mapping[str, float]) -> str:
    """{'CPU': 2.0, 'GPU': 0.0} as 'cpu 2, gpu 0': tunelab's names, as the user gave them."""
    ours = {ray: ours for ours, ray in RAY_NAMES.items()}
    return ", ".join(f"{ours.get(k, k)} {v:g}" for k, v in amounts.items()) or "nothing"


def fits(node: Mapping[str, float], request: Mapping[str, float]) -> bool:
    return all(node.get(k, 0.0) >= v for k, v in request.items())


def alive_nodes(ray: Any) -> list[dict[str, float]]:
    """The resources of each live node."""
    return [dict(n.get("Resources", {})) for n in ray.nodes() if n.get("Alive")]


def autoscaler_node_types() -> list[dict[str, float]] | None:
    """The resources of each node type the autoscaler may still start, from the cluster
    configuration it publishes; None when none is published."""
    try:
        from ray._private.state import state

        config = state.get_cluster_config()
    except Exception:  # a private API: absent or changed in this Ray version
        return None
    if config is None or not config.node_group_configs:
        return None
    return [
        {k: float(v) for k, v in group.resources.items()}
        for group in config.node_group_configs
        if group.max_count != 0
    ]


def autoscaler_running() -> bool:
    """Whether Ray's older autoscaler manages node types of a cluster configuration. It
    publishes no node types, but its status names the type of each node; on a cluster
    without autoscaling (a laptop, nodes started by hand) every type is the anonymous
    'node_<id>' of its read-only stand-in."""
    try:
        from ray.experimental.internal_kv import _internal_kv_get

        raw = _internal_kv_get(AUTOSCALER_STATUS_KEY)
        status = json.loads(raw) if raw else {}
        types = dict((status.get("autoscaler_report") or {}).get("node_type_mapping") or {})
    except Exception:  # a private API: absent or changed in this Ray version
        return False
    return any(not str(t).startswith(READ_ONLY_TYPE_PREFIX) for t in types.values())


def check_schedulable(ray: Any, resources: Mapping[str, float]) -> None:
    """Raise ResourcesUnavailableError unless some live node, or some node type the
    autoscaler may start, has everything one task asks for. With an autoscaler whose node
    types are unknown, pass: launch's schedule timeout is then the only guard."""
    request = ray_request(resources)
    nodes = alive_nodes(ray)
    if any(fits(node, request) for node in nodes):
        return
    types = autoscaler_node_types()
    if types is None and autoscaler_running():
        return
    if types and any(fits(t, request) for t in types):
        return
    largest = {k: max((n.get(k, 0.0) for n in nodes), default=0.0) for k in request}
    total = {k: float(ray.cluster_resources().get(k, 0.0)) for k in request}
    scaling = " and no node type its autoscaler can start has it" if types is not None else ""
    raise ResourcesUnavailableError(
        f"resources_per_trial asks for {shown(request)} per worker, but no node of the Ray "
        f"cluster has that{scaling}: its {len(nodes)} node(s) have at most {shown(largest)} "
        f"each ({shown(total)} in all); ask for less, or add a node that has it"
    )
