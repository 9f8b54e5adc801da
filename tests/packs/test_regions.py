"""One definition of "EU/EEA region" (policies/_lib/regions.rego), the same for every policy that needs it.

Through ``gavel check``: for every name on the shared list, and for European regions outside the
EEA, lineage-eu-data-deployment (via lineage tags) and gdpr-international-transfer (via dataset
cards) agree: EU data deployed in the US fails both, a deployment in an EU/EEA region passes both,
and data in London or Zurich is not EU data for either. Overriding the list once changes both.
"""

from __future__ import annotations

import json

from engine.policy.rego import parse_module
from engine.resources import policies_dir

NOW = "2026-11-26T00:00:00Z"
POLICIES = ("lineage-eu-data-deployment", "gdpr-international-transfer")
#: European cloud regions outside the EU/EEA (London, Zurich), and the US: never EU/EEA.
NOT_EU = ["eu-west-2", "eu-central-2", "europe-west2", "europe-west6", "uksouth", "switzerlandnorth",
          "uk-london-1", "eu-zurich-1", "ch", "gb", "us-east-1"]


def shared_list() -> list[str]:
    text = (policies_dir() / "_lib" / "regions.rego").read_text()
    return parse_module(text, "regions.rego").metadata["custom"]["params"]["eu_regions"]


def repo(make, regions: list[str], *, deploy: str, extra_config: str = ""):
    """One dataset per region (personal data, region set on the card) and one model trained on each."""
    files = {}
    for i, region in enumerate(regions):
        files[f"datasets/d{i}.yaml"] = (f"id: raw.d{i}\nowner: data\nregion: {json.dumps(region)}\ntags: [pii]\n"
                                        "columns: [{name: id, type: int}]\n")
        files[f"models/m{i}.yaml"] = (f"id: m{i}\nname: m{i}\nversion: '1'\nowner: risk\nrisk_level: high\n"
                                      f"lifecycle_stage: production\ntraining_datasets: [raw.d{i}]\n"
                                      f"dpia: {{status: approved, approver: dpo}}\n"
                                      f"deployment: {{region: {json.dumps(deploy or region)}}}\n")
    config = ("evidence:\n  - {path: datasets/*.yaml, kind: dataset}\n  - {path: models/*.yaml, kind: model}\n"
              "lineage:\n  sources: []\npolicies:\n  packs: [lineage, gdpr]\n" + extra_config)
    return make(files, config=config)


def verdicts(gavel, root, regions) -> dict[str, dict[str, str]]:
    """region -> {policy: status}"""
    result = gavel("check", root, "--now", NOW, "-o", "json")
    assert result.exit_code in (0, 1), result.output
    findings = json.loads(result.stdout)["findings"]
    out: dict[str, dict[str, str]] = {r: {} for r in regions}
    for f in findings:
        if f["policy"] in POLICIES:
            out[regions[int(f["subject"]["id"][1:])]][f["policy"]] = f["status"]
    return out


def test_the_list_covers_the_cloud_providers_and_the_eea():
    regions = set(shared_list())
    assert {"eu", "eea", "de", "fr", "no", "is", "li", "eu-west-1", "europe-west4", "westeurope",
            "eu-frankfurt-1"} <= regions
    assert not regions & set(NOT_EU)
    # The 27 EU member states and Iceland, Liechtenstein and Norway (ISO 3166-1), EL (the EU's code
    # for Greece) and EU itself.
    eea = {"at", "be", "bg", "hr", "cy", "cz", "dk", "ee", "fi", "fr", "de", "gr", "hu", "ie", "it", "lv", "lt", "lu",
           "mt", "nl", "pl", "pt", "ro", "sk", "si", "es", "se", "is", "li", "no"}
    assert len(eea) == 30
    assert {r for r in regions if len(r) == 2} == eea | {"el", "eu"}


def test_eu_data_deployed_in_the_us_fails_both_policies_for_every_region(gavel, project):
    regions = shared_list()
    root = repo(project, regions, deploy="us-east-1")
    got = verdicts(gavel, root, regions)
    assert got == {r: {p: "fail" for p in POLICIES} for r in regions}


def test_eu_data_deployed_in_an_eu_region_passes_both_policies(gavel, project):
    regions = shared_list()
    root = repo(project, regions, deploy="")  # each model deployed where its data is
    got = verdicts(gavel, root, regions)
    assert got == {r: {p: "pass" for p in POLICIES} for r in regions}


def test_european_regions_outside_the_eea_are_not_eu_data_for_either_policy(gavel, project):
    root = repo(project, NOT_EU, deploy="us-east-1")
    got = verdicts(gavel, root, NOT_EU)
    assert got == {r: {p: "skip" for p in POLICIES} for r in NOT_EU}


def test_overriding_the_list_once_changes_both_policies(gavel, project):
    regions = ["fra-dc1", "eu-west-1"]
    config = "  params:\n    gavel-regions: {eu_regions: [fra-dc1]}\n"
    root = repo(project, regions, deploy="us-east-1", extra_config=config)
    got = verdicts(gavel, root, regions)
    assert got == {"fra-dc1": {p: "fail" for p in POLICIES}, "eu-west-1": {p: "skip" for p in POLICIES}}


def test_extra_regions_add_to_the_list_for_both_policies(gavel, project):
    regions = ["fra-dc1", "eu-west-1", "us-west-2"]
    config = "  params:\n    gavel-regions: {extra_eu_regions: [FRA-DC1]}\n"
    root = repo(project, regions, deploy="us-east-1", extra_config=config)
    got = verdicts(gavel, root, regions)
    assert got == {"fra-dc1": {p: "fail" for p in POLICIES}, "eu-west-1": {p: "fail" for p in POLICIES},
                   "us-west-2": {p: "skip" for p in POLICIES}}


def test_setting_the_list_without_a_policy_that_uses_it_is_accepted(gavel, project):
    root = project({"models/m.yaml": "id: m\nname: m\nversion: '1'\nowner: o\nrisk_level: minimal\n"
                                             "lifecycle_stage: development\n"},
                           config="evidence: [{path: models/*.yaml, kind: model}]\npolicies:\n  packs: [model-card]\n"
                                  "  params: {gavel-regions: {eu_regions: [eu]}}\n")
    result = gavel("check", root, "--now", NOW)
    assert result.exit_code in (0, 1) and "unknown policy" not in result.output
