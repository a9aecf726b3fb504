"""Exchange with other tools: the book's weight pickles in (read safely), ONNX out."""
