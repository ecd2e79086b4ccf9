"""The HTTP shell of the CRM: the lead intake API (`python -m crm_api`). Parse, call
`crm_core`, answer JSON; the same core, scopes and audit as the console."""
