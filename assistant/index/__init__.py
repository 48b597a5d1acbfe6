"""Making and reading the index: generations on disk, embedding, dense (FAISS/Milvus) and Kiwi keyword search."""
