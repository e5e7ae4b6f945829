"""A local, stateful stand-in for Clerk's Backend API.

The package serves the subset of https://api.clerk.com/v1 that clerkfs uses
(users, email addresses, organizations, memberships, sessions), with the
shapes, status codes and error bodies of Clerk's OpenAPI description
(`shared/clerk/2026-05-12.yml`). It keeps its state in memory, can be seeded
with realistic data, and can be told to throttle, delay or break requests so
that tests and benchmarks can watch how a client copes.

Modules:
    ids       identifiers and clocks
    errors    Clerk's error body and the errors the handlers raise
    models    constructors for the API objects
    store     the state, its indexes and the consistency rules between objects
    bodies    request-body validation, identifier syntax, metadata merging
    filters   query-string parsing, list filters, ordering and paging
    router    route templates and the Call handed to handlers
    users, orgs, sessions   the route handlers of each resource
    limits    rate limiting, request statistics and the request log
    faults    injected failures
    seed      deterministic realistic data
    objects   direct access to stored objects for test fixtures
    control   the /__ control routes used by tests
    app       the HTTP server and the command line
"""
