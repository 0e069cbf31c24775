"""One module per tab of the Gradio app; each builds its widgets and wires them to a pipeline, nothing more."""
