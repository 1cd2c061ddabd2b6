"""Solver-parameter tuning: SOR / SSOR-PCG, instance sequences, and the benchmark."""
