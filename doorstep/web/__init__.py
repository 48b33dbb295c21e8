"""Server-rendered pages for owners, officers, auditors and the public.

Pages use the same service functions as the API, with cookie sessions and CSRF
protection instead of bearer tokens. Every page can also answer as JSON
(`?format=json`) from the same context, so the pages and the API cannot drift.
"""
