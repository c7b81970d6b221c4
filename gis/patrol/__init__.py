"""Patrols (巡查): GPS fixes, check-ins, the 五必查 checklist, 定岗 rule, 四必到 and the nightly 民情工作日志.

Domain only (no FastAPI): api/routers/patrols.py is the HTTP edge, api/cli_patrols.py the CLI.
"""
