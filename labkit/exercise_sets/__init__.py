"""Exercise sets, one module per notebook (``nbNN_topic.py``); see labkit.exercises."""
