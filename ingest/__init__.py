"""Ingestion: files -> structured chunks. Knows formats and Korean document structure, not models."""
from .errors import IngestError
from .pipeline import discover, load_documents
from .types import Chunk, DocMeta, Failure, IngestBatch, ParsedDocument

__all__ = ["Chunk", "DocMeta", "Failure", "IngestBatch", "IngestError", "ParsedDocument", "discover", "load_documents"]
