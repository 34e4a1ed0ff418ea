"""The chat UI (Gradio). Not built yet: see issue 5. Until then, `scripts/run` answers a sample question."""
