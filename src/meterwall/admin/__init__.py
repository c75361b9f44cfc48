"""The publisher's dashboard: staff accounts, reports, live policy and experiments.

Glossary
--------
Staff user
    A member of the publisher's team who may use ``/admin``; a role of its
    own, unrelated to reader accounts.
Policy version
    One saved state of the meter policy, the gate's copy and the plans on
    offer, with who saved it, when, and what changed.  The newest version is
    the one in force; the settings file is version 0.
Live policy
    What the site applies to one request: the newest policy version, with the
    reader's experiment variant laid over it.
"""
