"""The Gradio app over the rag library."""
