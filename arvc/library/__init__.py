"""The model library: one models folder (voices, pretrains, embedders, F0 weights), the pretrain catalog,
safe resumable downloads, untrusted-archive extraction and content sniffing of downloaded files."""
