"""Which campaign or network earned each conversion: touchpoint paths and the
attribution models.
"""
