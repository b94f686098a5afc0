from store_backends import any_store  # noqa: F401 -- the fixture of the Store contract tests
