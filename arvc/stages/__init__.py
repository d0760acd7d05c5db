"""One typed, documented function per CLI command: preprocess, extract, create_index, train, infer, evaluate."""
