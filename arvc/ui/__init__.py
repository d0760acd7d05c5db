"""The web UI (``arvc ui``): Gradio tabs over the ``arvc`` commands, run as background jobs."""
