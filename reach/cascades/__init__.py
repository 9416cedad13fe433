"""How reshares spread: cascade trees and their shape, the largest trees node by
node, amplifiers and their Shapley credit, negative waves.
"""
