"""Participation (V1–V4): 在职党员双报到 and volunteers (members, teams), service items claimed and signed on site
with hours confirmed, the residents' 积分 ledger (append-only, hash-chained) with its exchange day, and the
业委会 / 物管会 / 物业服务监督员 of each compound with their monthly ratings and 联席会议 records.

Domain only (no FastAPI): api/routers/participation.py is the HTTP edge.
"""
