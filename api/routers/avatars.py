"""/v1/avatars/<name>.svg: the placeholder portraits of maps/avatars.py, cached for a day."""

from __future__ import annotations

from fastapi import APIRouter, Response

from maps.avatars import avatar_svg

router = APIRouter(tags=["maps"])


@router.get("/v1/avatars/{name}.svg", response_class=Response, include_in_schema=False)
def avatar(name: str) -> Response:
    return Response(avatar_svg(name), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
