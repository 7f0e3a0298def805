"""The pipeline, top to bottom: read the workbook and its sources, check each table and across
tables and against what is published, compute (billing, relationships, vendors) into one
Model, and the output tables it becomes.
"""
