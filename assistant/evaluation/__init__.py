"""Measuring the product: `assistant eval` (retrieval and answer quality) and `assistant bench` (speed, memory, scale)."""
