"""Root fixtures. Area fixtures live in tests/support/ and are registered here."""

pytest_plugins = [
    "tests.support.databases",
    "tests.support.temporal",
]
