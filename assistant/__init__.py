"""Woonzorgwijzer: answers about wonen en zorg from guidance documents, with verbatim quotes."""
