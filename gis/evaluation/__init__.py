"""Evaluation (考核): KPIs in SQL for any unit and period, the 红黑榜, the 通报 reports, 议事协商 records."""
