"""Reference data of a 街道 (issue 13): organizations, accounts, cell staff, compound details and the 责任公示牌,
service resources with opening hours, the party hierarchy, and the audit trail of every change.

The write functions other code (the API, the console, the sheet importer) calls, one per object and verb; each
checks the input (InvalidInput with `detail={"field": ...}`), the caller's jurisdiction (admins: the 街道,
managers: their community) and writes an audit row in the same transaction:

- organizations: `organizations.create_organization`, `update_organization`, `set_organization_active`
- accounts: `users.create_account`, `update_account`, `set_account_active`, `reset_account_password`
- cell staff: `staff.assign_staff`, `remove_staff`
- compounds: `compounds.update_compound`, `set_contact`, `store_contact_photo`
- buildings: `buildings.update_building`
- resources: `resources.create_resource`, `update_resource`, `delete_resource`
- party hierarchy: `party.create_party_unit`, `update_party_unit`, `set_party_unit_active`
- audit: `audit.changes`, `audit.revert`, `compounds.contacts_history`
"""
