"""The web app's adapters: Gradio handlers over `studio.workflows`, the upload component, files for visitors.
`app.py` lays out the page and wires it to these."""
