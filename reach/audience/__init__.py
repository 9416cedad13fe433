"""Who was reached and how often: distinct reach (exact, sampled or modelled), the
frequency and weekly reach-and-frequency marts, the timeline, media-mix exports.
"""
