"""The parts of OSCAL catalogs, profiles and mapping collections that evidoc reads.

Only what import uses is modelled; everything else in a document is ignored, so any valid OSCAL
1.x document parses. The keys are OSCAL's (aliases), so errors name them as the file does.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Prop(_In):
    name: str
    value: str
    ns: str | None = None
    class_: str | None = Field(default=None, alias="class")


class Part(_In):
    id: str | None = None
    name: str
    prose: str | None = None
    props: list[Prop] = []
    parts: list[Part] = []


class Selection(_In):
    how_many: str | None = Field(default=None, alias="how-many")
    choice: list[str] = []


class Param(_In):
    id: str
    label: str | None = None
    select: Selection | None = None
    values: list[str] = []


class Control(_In):
    id: str
    title: str
    class_: str | None = Field(default=None, alias="class")
    props: list[Prop] = []
    params: list[Param] = []
    parts: list[Part] = []
    controls: list[Control] = []

    def prop(self, name: str) -> list[Prop]:
        return [p for p in self.props if p.name == name]

    @property
    def withdrawn(self) -> bool:
        return any(p.value == "withdrawn" for p in self.prop("status"))

    @property
    def label(self) -> str | None:
        """The label as the catalog shows it (e.g. AC-2(1)); a classless one first, since
        NIST also gives zero-padded and assessment-procedure variants."""
        labels = self.prop("label")
        plain = [p for p in labels if p.class_ is None]
        chosen = plain or labels
        return chosen[0].value.strip() if chosen else None


class Group(_In):
    id: str | None = None
    title: str
    params: list[Param] = []
    groups: list[Group] = []
    controls: list[Control] = []


class Party(_In):
    uuid: str
    type: str
    name: str | None = None


class ResponsibleParty(_In):
    role_id: str = Field(alias="role-id")
    party_uuids: list[str] = Field(default=[], alias="party-uuids")


class Metadata(_In):
    title: str
    version: str
    last_modified: str | None = Field(default=None, alias="last-modified")
    oscal_version: str | None = Field(default=None, alias="oscal-version")
    parties: list[Party] = []
    responsible_parties: list[ResponsibleParty] = Field(default=[], alias="responsible-parties")

    def publisher(self) -> str | None:
        """The party in the publisher role, else the creator, else the first organisation."""
        names = {p.uuid: p.name for p in self.parties if p.name}
        for role in ("publisher", "creator"):
            for rp in self.responsible_parties:
                if rp.role_id == role:
                    for party in rp.party_uuids:
                        if party in names:
                            return names[party]
        orgs = [p.name for p in self.parties if p.type == "organization" and p.name]
        return orgs[0] if orgs else None


class RLink(_In):
    href: str
    media_type: str | None = Field(default=None, alias="media-type")


class Resource(_In):
    uuid: str
    title: str | None = None
    props: list[Prop] = []
    rlinks: list[RLink] = []


class BackMatter(_In):
    resources: list[Resource] = []

    def resource(self, uuid: str) -> Resource | None:
        return next((r for r in self.resources if r.uuid == uuid), None)


class Catalog(_In):
    uuid: str
    metadata: Metadata
    params: list[Param] = []
    controls: list[Control] = []
    groups: list[Group] = []
    back_matter: BackMatter | None = Field(default=None, alias="back-matter")


# --- profiles ----------------------------------------------------------------------------------


class Matching(_In):
    pattern: str


class SelectControls(_In):
    with_child_controls: Literal["yes", "no"] | None = Field(
        default=None, alias="with-child-controls"
    )
    with_ids: list[str] = Field(default=[], alias="with-ids")
    matching: list[Matching] = []


class Import(_In):
    href: str
    include_all: dict[str, Any] | None = Field(default=None, alias="include-all")
    include_controls: list[SelectControls] | None = Field(default=None, alias="include-controls")
    exclude_controls: list[SelectControls] = Field(default=[], alias="exclude-controls")


class Merge(_In):
    as_is: bool | None = Field(default=None, alias="as-is")
    flat: dict[str, Any] | None = None
    custom: dict[str, Any] | None = None


class Add(_In):
    by_id: str | None = Field(default=None, alias="by-id")
    title: str | None = None


class Alter(_In):
    control_id: str = Field(alias="control-id")
    adds: list[Add] = []
    removes: list[dict[str, Any]] = []


class Modify(_In):
    set_parameters: list[dict[str, Any]] = Field(default=[], alias="set-parameters")
    alters: list[Alter] = []


class Profile(_In):
    uuid: str
    metadata: Metadata
    imports: list[Import] = Field(min_length=1)
    merge: Merge | None = None
    modify: Modify | None = None
    back_matter: BackMatter | None = Field(default=None, alias="back-matter")


# --- mapping collections -----------------------------------------------------------------------


class MappingItem(_In):
    type: str
    id_ref: str = Field(alias="id-ref")


class Map(_In):
    uuid: str
    relationship: str
    sources: list[MappingItem] = Field(min_length=1)
    targets: list[MappingItem] = Field(min_length=1)
    props: list[Prop] = []
    remarks: str | None = None


class ResourceReference(_In):
    type: str
    href: str
    props: list[Prop] = []


class Mapping(_In):
    uuid: str
    source_resource: ResourceReference = Field(alias="source-resource")
    target_resource: ResourceReference = Field(alias="target-resource")
    maps: list[Map] = Field(min_length=1)
    props: list[Prop] = []
    mapping_description: str | None = Field(default=None, alias="mapping-description")


class MappingCollection(_In):
    uuid: str
    metadata: Metadata
    mappings: list[Mapping] = Field(min_length=1)
    back_matter: BackMatter | None = Field(default=None, alias="back-matter")

    @field_validator("mappings", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        # OSCAL's JSON allows a single mapping object where a list is expected.
        return [value] if isinstance(value, dict) else value


# --- the documents, by their top-level key -----------------------------------------------------


class CatalogDocument(_In):
    catalog: Catalog


class ProfileDocument(_In):
    profile: Profile


class MappingDocument(_In):
    mapping_collection: MappingCollection = Field(alias="mapping-collection")
