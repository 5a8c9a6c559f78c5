"""Gymnasium environments on top of the simulator."""
