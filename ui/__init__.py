"""Streamlit UI: renders what the `Assistant` facade returns; holds no indexing or retrieval logic."""
