"""The web analyses: what a backend's apps, routes, handlers and data stores are, and what its
endpoint bodies do with errors and data.

Per file (Analyses walked with the rules): ``WebFile`` (places of nodes, trigger tokens),
``FrameworkFile`` (the facts of the framework model) and ``BodyFile`` (what function bodies answer,
leak, fabricate and check). Per project (built once per run from every module's facts):
``ProjectModel`` (apps, routes, hooks, handlers, stores and data-store effects) and
``EndpointIndex`` (the functions served as endpoints, with their bodies' facts). Rules in
``backlint/checks/`` ask them and decide.
"""
