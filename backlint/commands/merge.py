"""The `merge` command: one report from the shard files of `check --shard I/N` runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from backlint.adoption import shard
from backlint.adoption.plan import Adoption, AdoptionError
from backlint.api import apply_cli_selection, report, settings_for, usage_error
from backlint.core.catalog import load_catalog
from backlint.core.config import ConfigError, load_config
from backlint.core.options import CheckOptions
from backlint.core.results import RunResult
from backlint.pipeline.discovery import project_path_of
from backlint.pipeline.filters import ignored_for_file
from backlint.pipeline.project import project_pass, relocate
from backlint.pipeline.projectfiles import ProjectFiles


def run_merge(options: CheckOptions, shard_paths: Sequence[Path]) -> int:
    """Join shard files, run the project rules once over all facts, and report like one run."""

    try:
        shards = [(path, shard.read(path)) for path in shard_paths]
        shard.check_complete(shards)
    except shard.ShardError as exc:
        return usage_error(str(exc))
    chosen = shards[0][1].selection
    select = chosen.get("select")
    options = dataclasses.replace(
        options,
        select=tuple(select) if select is not None else None,
        extend_select=tuple(chosen.get("extend_select", ())),
        ignore=tuple(chosen.get("ignore", ())),
        report_unused_ignores=bool(chosen.get("report_unused_ignores")),
    )
    catalog = load_catalog()
    try:
        config = load_config(catalog, explicit=options.config_path, start=Path.cwd())
        config = apply_cli_selection(config, options, catalog)
        adoption = Adoption.prepare(options, config, catalog, use_stdin=False)
    except (ConfigError, AdoptionError) as exc:
        return usage_error(str(exc))
    settings = settings_for(adoption.lint_config, catalog)
    if shard.settings_key(settings, adoption.lint_config) != shards[0][1].settings_key:
        return usage_error(
            "the shard files were made with another configuration than the one found here; run the merge "
            "from the directory the shards ran in, with the same --config"
        )
    datas = [data for _, data in sorted(shards, key=lambda item: item[1].index)]
    files = sorted(item for data in datas for item in data.files)
    position = {display: index for index, display in files}
    findings = sorted((f for data in datas for f in data.findings), key=lambda f: position.get(f.path, len(position)))
    notices = sorted((n for data in datas for n in data.notices), key=lambda n: position.get(n.path, len(position)))
    if settings.collect_facts:
        facts = [facts for _, facts in sorted((item for data in datas for item in data.facts), key=lambda i: i[0])]
        root = adoption.lint_config.root
        shown = {project_path_of(Path(display), root): display for _, display in files}
        verdict = project_pass(facts, settings, catalog, adoption.lint_config, files=ProjectFiles(root))
        found = relocate(verdict.findings, lambda name: shown.get(name, name))
        findings += [f for f in found if not ignored_for_file(f, adoption.lint_config)]
    findings.sort(key=lambda f: f.sort_key)
    result = RunResult(
        findings=findings, notices=notices, files=len(files), internal_errors=sum(d.internal_errors for d in datas)
    )
    result = adoption.finish(result, [display for _, display in files], settings)
    return report(options, adoption.config, catalog, result)
