"""Did the campaign lift engagement: post engagement, the time control, the two
uplift methods, placebo checks and calibration.
"""
