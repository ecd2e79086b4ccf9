"""Custom fields (自定义字段) on leads and opportunities: definitions (`definitions`), who
sees them (`visibility`), reading cells (`cells`), values (`values`) and list filters
(`filters`). The lead and sales packages use this one; it uses only org access and the
platform."""
