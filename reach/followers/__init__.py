"""The follower graph: compressed rows per network, the compiled kernels that walk
it, follower sketches for what-if questions, and the two-hop ceiling.
"""
