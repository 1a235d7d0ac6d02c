"""The compiler passes, one per module; `ast_ad.pipeline` declares their order."""
