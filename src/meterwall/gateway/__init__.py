"""Gate an existing site: reverse-proxy mode, page analysis and cutting, the leak audit.

Glossary
--------
Upstream
    The publisher's own site (their CMS), which meterwall sits in front of.
Page
    An upstream article page, analysed once: its canonical id, access facts
    and where its body is (:mod:`meterwall.gateway.page`).
Body
    The element holding the article text, named by a CSS selector or found
    by paragraph density (:mod:`meterwall.gateway.body`).
Prepared
    One outcome of a page (full text, or teaser and gate) ready for any
    reader, with empty slots for the reader's banner or gate
    (:mod:`meterwall.gateway.cut`).
Fingerprint
    Hashed word shingles of the gated text, used to find and remove every
    other copy of it (:mod:`meterwall.gateway.text`).
Representation
    A response other than an HTML page or a feed that may carry article text:
    JSON (content APIs, Next.js data routes), RSC payloads, plain text, HTML
    fragments, print views.  Classified by :mod:`meterwall.gateway.classify`,
    mapped to its article by :mod:`meterwall.gateway.decide`, cut by
    :mod:`meterwall.gateway.represent` and checked by
    :mod:`meterwall.gateway.verify`; one with no cutter is refused.
"""
