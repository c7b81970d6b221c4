"""The plain data map pages are drawn from (maps/ never opens a session): one query function per page
or layer, geometry as GeoJSON built in PostGIS, WGS84 throughout (pages shift for GCJ-02 themselves).
"""

from gis.mapdata.common import (
    LIFE_CIRCLE_NEEDS,
    REACH_M,
    CommunityMap,
    CompoundMap,
    PlanDiffMap,
    Reach,
    gaps_for,
)
from gis.mapdata.operations import (
    CELL_METRICS,
    CellMetric,
    cell_metric_features,
    household_heat,
    resource_points,
    service_area_bounds,
)
from gis.mapdata.pages import community_map_data, compound_map_data
from gis.mapdata.reach import has_walking_network, walking_reach
from gis.mapdata.tickets import (
    STATE_FILTER_LABELS,
    TicketFilters,
    TicketScope,
    category_labels,
    counts_by_cell,
    ticket_heat,
    ticket_points,
    ticket_scope,
)
from gis.spatial import BBox

__all__ = [
    "CELL_METRICS",
    "LIFE_CIRCLE_NEEDS",
    "PlanDiffMap",
    "REACH_M",
    "STATE_FILTER_LABELS",
    "TicketFilters",
    "TicketScope",
    "category_labels",
    "counts_by_cell",
    "ticket_heat",
    "ticket_points",
    "ticket_scope",
    "BBox",
    "CellMetric",
    "CommunityMap",
    "CompoundMap",
    "Reach",
    "cell_metric_features",
    "community_map_data",
    "compound_map_data",
    "gaps_for",
    "has_walking_network",
    "household_heat",
    "resource_points",
    "service_area_bounds",
    "walking_reach",
]
