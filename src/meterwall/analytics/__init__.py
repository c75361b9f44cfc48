"""Analytics: the events behind the publisher's funnel, experiments and the meter simulator.

Glossary
--------
Event
    One thing a reader did or saw (a page view, a meter notice, a wall
    impression, a registration, a checkout, a subscription, a cancellation,
    a gift link opened), stored with a pseudonymous reader id.
Pseudonym
    An HMAC of the reader id with a server secret: stable enough to count
    distinct readers, useless for finding the reader's cookie or account.
Referrer class
    Where a visit came from (``search``, ``social``, ``internal``, ``direct``,
    ``other``), judged from the Referer host; the full referrer is never kept.
Experiment
    An A/B test on one policy parameter; every reader is assigned one variant
    by hashing (experiment id, reader id).
Simulation
    A replay of an access log under candidate meter limits, through the same
    ``decide()`` the site uses.
"""
