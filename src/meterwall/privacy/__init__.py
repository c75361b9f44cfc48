"""Privacy: what meterwall stores about readers, and deleting it when they ask.

:mod:`~meterwall.privacy.register` says table by table what is kept and for
how long (``docs/privacy.md`` says the same in prose);
:mod:`~meterwall.privacy.erasure` deletes a reader's reading data or a whole
account.
"""
