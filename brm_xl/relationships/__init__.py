"""Business relationship management: satisfaction and follow-ups, engagement and cadence, each
agency's health, joined to its bill.
"""
