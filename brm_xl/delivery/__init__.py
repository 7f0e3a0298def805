"""Email delivery of value reports: reviewable drafts, SMTP sending, a delivery log.
"""
