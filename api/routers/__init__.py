"""All routers, in the order they are mounted. A new area adds its module here."""

from fastapi import APIRouter

from api.routers import (
    admin,
    audit,
    auth,
    avatars,
    features,
    field,
    health,
    locate,
    maps,
    ogc,
    open311,
    patrols,
    plans,
    reference,
    reference_places,
    sheets,
    tickets,
    tiles,
    users,
)

ROUTERS: list[APIRouter] = [
    health.router,
    auth.router,
    users.router,
    audit.router,
    reference.audit_router,
    reference.router,
    reference_places.router,
    locate.router,
    features.router,
    ogc.router,
    tiles.router,
    avatars.router,
    tickets.router,
    open311.router,
    maps.router,
    plans.router,
    patrols.router,
    sheets.router,
    field.router,
    admin.router,
]
