"""The vendors behind the services: monthly scorecards against contracted service levels,
service credits, corrective actions.
"""
