"""Controllable generation (paper Sec. 2.2, 3.3, App. D, E): control signals, the controlled lockstep loop,
scenario prompts and the retrieval of historical windows."""
