"""Blocks that several papers use identically (attention, transformer block, conv-norm-act, embeddings).

Empty until the model families that share them land; a block used by one paper stays in that paper's file.
"""
