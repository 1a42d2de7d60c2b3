"""Curating the links to Wikidata: check every link, propose the missing ones, accept them.

- ``client``: how Wikidata is asked (SPARQLWrapper; batches, retries, a disk cache with dates);
- ``check``: ``kg link check``, every link and table item against Wikidata's current state;
- ``suggest``: ``kg link suggest``, candidates for unlinked people, places and summits, to review;
- ``candidates``: suggest's Wikidata lookups of each kind (persons, places, summits), evidence and score;
- ``accept``: ``kg link accept FILE``, the reviewed candidates into data/, with who, when and why;
- ``wikidata_links``: data/wikidata-links.ttl, the accepted links' Turtle file, read back and written.

The reconciliation service (the same questions asked of this graph by OpenRefine) is kg.web.reconcile.
"""
