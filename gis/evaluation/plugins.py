"""Modules that register extra 红黑榜 terms (gis.evaluation.terms.register_term) on import."""

from gis.participation import evaluation_terms  # noqa: F401  (registers "supervisor_rating")
