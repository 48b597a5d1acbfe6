"""From a question to a checked answer: hybrid retrieval, evidence selection, answerability, extractive and generative backends."""
