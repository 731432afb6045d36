"""Django's own ways: the settings module (``DJANGO_SETTINGS_MODULE``, else the module assigning
``ROOT_URLCONF``), the root URLconf, ``DATABASES`` as the data store, ``handler500`` and
``process_exception`` middleware as handlers, and ``AppConfig.ready``/system checks as startup hooks."""

from __future__ import annotations

from backlint.analysis.web.effects import Store
from backlint.analysis.web.facts import CLASSES, ENVIRON, value_items, value_str, value_strings
from backlint.analysis.web.modules import Module, ModuleIndex, Site, common_prefix
from backlint.analysis.web.routing import Handler, Hook, Node, Routing
from backlint.core.catalog import Knowledge


class DjangoProject:
    """Questions about a Django project that the generic routing graph does not answer."""

    def __init__(self, index: ModuleIndex, routing: Routing, knowledge: Knowledge) -> None:
        self.index = index
        self.routing = routing
        self.modules = index.modules
        self._settings = {r["name"]: r["role"] for r in knowledge.rows("framework-settings")}
        self._hooks = knowledge.rows("framework-hooks")

    def settings(self, near: Module) -> Module | None:
        for key, value in near.facts.get(ENVIRON):
            if self._settings.get(key) == "settings-module" and value_str(value):
                found = self.index.find_module(value_str(value) or "", near)
                if found is not None:
                    return found
        candidates = [m for m in self.modules if any(self._settings.get(n) == "root-urlconf" for n in m.assigns)]
        if not candidates:
            return None
        return max(candidates, key=lambda m: common_prefix(m.stem, near.stem))

    def urlconf(self, settings: Module) -> Node | None:
        """The root URLconf named by ROOT_URLCONF in the settings (or the settings it star-imports)."""
        candidates = [settings] + [m for m in self.modules if m is not settings]
        candidates.sort(key=lambda m: -common_prefix(m.stem, settings.stem))
        for module in candidates:
            for name, assigns in module.assigns.items():
                if self._settings.get(name) == "root-urlconf":
                    dotted = value_str(assigns[-1].value)
                    target = self.index.find_module(dotted, module) if dotted else None
                    if target is not None:
                        return self.routing.nodes.get((target.path, "urlpatterns"))
        return None

    def stores(self, modules: list[Module]) -> list[Store]:
        stores = []
        for module in modules:
            for name, assigns in module.assigns.items():
                if self._settings.get(name) != "databases":
                    continue
                assign = assigns[-1]
                engines = [v for v in value_strings(assign.value) if ".backends." in v]
                if engines and all(e.endswith(".dummy") for e in engines):
                    continue
                stores.append(Store("sql", "DATABASES", Site(module.path, assign.span)))
        return stores

    def handlers(self, modules: list[Module]) -> list[Handler]:
        """``handler500`` in a URLconf, and ``MIDDLEWARE`` classes defining ``process_exception``."""
        handlers: list[Handler] = []
        for module in modules:
            for name, assigns in module.assigns.items():
                role = self._settings.get(name)
                assign = assigns[-1]
                site = Site(module.path, assign.span)
                if role == "handler" and name == "handler500":
                    dotted = value_str(assign.value) or (assign.value[1] if assign.value[0] == "ref" else "")
                    function = self.index.function(dotted, module) if dotted else None
                    handlers.append(Handler(["500"], function, site, "handler"))
                elif role == "middleware":
                    for item in value_items(assign.value):
                        found = self.index.klass(value_str(item) or "", module) if value_str(item) else None
                        if found is None or "process_exception" not in found[1].methods:
                            continue
                        method = self.index.function(f"{found[1].qualname}.process_exception", found[0])
                        handlers.append(Handler([], method, site, "middleware"))
        return handlers

    def hooks(self, modules: list[Module]) -> list[Hook]:
        hooks: list[Hook] = []
        keys = {m.path for m in modules}
        for owner, hook in self.routing.hooks:
            if owner is None and isinstance(hook, Hook) and hook.module.path in keys:
                hooks.append(hook)
        method_rows = [r for r in self._hooks if r["form"] == "method"]
        for module in modules:
            for cls in module.facts.get(CLASSES):
                bases = set(self.index.class_bases(cls.qualname, module))
                for row in method_rows:
                    base, _, method = row["name"].rpartition(".")
                    if base in bases and method in cls.methods:
                        function = module.functions.get(module.local(f"{cls.qualname}.{method}"))
                        if function is not None:
                            note = (
                                "`AppConfig.ready()`: it runs before the app serves, but Django warns against "
                                "database access there; prefer a check registered with "
                                "`django.core.checks.register(Tags.database)` run by "
                                "`manage.py check --database default`"
                            )
                            hooks.append(
                                Hook(module, function, False, f"{cls.qualname.rpartition('.')[2]}.{method}", note)
                            )
        return hooks
