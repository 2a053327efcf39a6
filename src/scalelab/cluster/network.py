"""The stack as a container of compose sees it: each service by its name on the network.

The local runtime knows its services by their pid files; a container (JupyterLab's, where a lab's
`lab.tour()` runs) has none of those. There each service is reached by its compose service name
(its role), so every health probe runs against that host instead of loopback.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

from scalelab.cluster import health
from scalelab.cluster.local import ServiceState
from scalelab.cluster.services import Service, services
from scalelab.config import Config


def _resolves(name: str) -> bool:
    try:
        socket.getaddrinfo(name, None)
        return True
    except OSError:
        return False


def status(cfg: Config) -> list[ServiceState]:
    """Every core service, and each platform service that has a container, probed by name."""
    def one(svc: Service) -> ServiceState | None:
        if not _resolves(svc.role):
            if svc.profile != "core":
                return None                  # a profile compose was not asked to start
            return ServiceState(svc, None, False, False, f"no container named {svc.role} on the network")
        # Seen from a peer, the service's host is its name: the probes' URLs and ports follow.
        peer = cfg.with_values(SCALELAB_BIND_HOST=svc.role)
        try:
            return ServiceState(svc, None, True, True, svc.probe(peer, svc.instance))
        except health.NotHealthy as exc:
            return ServiceState(svc, None, True, False, str(exc))

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [st for st in pool.map(one, services(cfg, everything=True)) if st is not None]
