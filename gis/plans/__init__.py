"""Boundary planning (网格规划): draft plans, import/export, validation, diff, commit, operations."""
