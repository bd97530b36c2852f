"""Woonzorgwijzer: answers about wonen en zorg from the guidance documents, with verbatim citations."""
