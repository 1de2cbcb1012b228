"""Test support shared by every service's tests: isolated real infrastructure, and waiting.

Each pytest session gets its own Postgres database (migrated from scratch) and its own
RabbitMQ virtual host, so several test runs on one machine never see each other's rows or
messages. Nothing here mocks the database or the broker.
"""
