"""Gavel's own card format: the document is the card (``schemas/model-card.schema.json``)."""

from engine.evidence.loader import Document


def adapt(doc: Document, kind: str) -> Document:
    return doc
