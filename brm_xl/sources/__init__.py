"""Inputs that arrive beside the workbook, exactly as the tools that write them do: usage files
(CSV, Parquet), FOCUS cloud bills, survey exports.
"""
