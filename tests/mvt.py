"""A small Mapbox Vector Tile reader for tests (the protobuf wire format of vector_tile.proto, spec 2.1): layers →
features with id, properties and the first point of their geometry in tile coordinates. Enough to check what a
tile holds without a protobuf dependency."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        b = buf[i]
        i += 1
        out |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return out, i


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value: int for varint/fixed, bytes for length-delimited)."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i : i + n], i + n
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield field, wire, value


def _packed(buf: bytes) -> list[int]:
    out, i = [], 0
    while i < len(buf):
        v, i = _varint(buf, i)
        out.append(v)
    return out


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _value(buf: bytes) -> Any:
    for field, _wire, v in _fields(buf):
        if field == 1:
            return v.decode()
        if field == 2:
            return struct.unpack("<f", v)[0]
        if field == 3:
            return struct.unpack("<d", v)[0]
        if field == 4:
            return v - (1 << 64) if v >= 1 << 63 else v
        if field == 5:
            return v
        if field == 6:
            return _zigzag(v)
        if field == 7:
            return bool(v)
    return None


def decode(tile: bytes) -> dict[str, list[dict[str, Any]]]:
    """{layer name: [{"id", "properties", "point": (x, y) of the first vertex}, …]}."""
    layers: dict[str, list[dict[str, Any]]] = {}
    for field, _wire, raw in _fields(tile):
        if field != 3:
            continue
        name, keys, values, feats = "", [], [], []
        for f, _w, v in _fields(raw):
            if f == 1:
                name = v.decode()
            elif f == 3:
                keys.append(v.decode())
            elif f == 4:
                values.append(_value(v))
            elif f == 2:
                feats.append(v)
        out = []
        for raw_feature in feats:
            fid, tags, geom = None, [], []
            for f, _w, v in _fields(raw_feature):
                if f == 1:
                    fid = v
                elif f == 2:
                    tags = _packed(v)
                elif f == 4:
                    geom = _packed(v)
            props = {keys[tags[k]]: values[tags[k + 1]] for k in range(0, len(tags), 2)}
            point = (_zigzag(geom[1]), _zigzag(geom[2])) if len(geom) >= 3 else None
            out.append({"id": fid, "properties": props, "point": point})
        layers[name] = out
    return layers
