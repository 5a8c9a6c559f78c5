"""Experiments on the simulator: what-if runs, impact studies, realism and model evaluations, controllability."""
