"""The generative reply mode: a chat model writes, the verifier decides what is shown.

Modules: `chat` (the chat-model factory for the configured generator), `generate` (streamed,
verified generation over numbered excerpts), `verify` (the verifier), `prompting` (templates
and redaction), `types` (plain data).
"""
