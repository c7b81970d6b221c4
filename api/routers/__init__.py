"""All routers, in the order they are mounted. A new area adds its module here."""

from fastapi import APIRouter

from api.routers import (
    audit,
    auth,
    avatars,
    evaluation,
    features,
    field,
    health,
    locate,
    maps,
    ogc,
    open311,
    patrols,
    plans,
    reports,
    tickets,
    tiles,
    users,
)

ROUTERS: list[APIRouter] = [
    health.router,
    auth.router,
    users.router,
    audit.router,
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
    field.router,
    evaluation.router,
    reports.router,
]
