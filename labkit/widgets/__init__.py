"""Interactive views (ipywidgets + plotly), one module per lab.

Each module builds its widget with a function that works without a browser;
the data behind a view comes from a plain function the tests call directly.
"""
