"""How the marts are computed: the registry of marts, the compute context that
builds each input once, campaign cells, the privacy threshold, and the Spark engine.
"""
