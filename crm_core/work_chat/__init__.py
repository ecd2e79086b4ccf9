"""Work-chat notices: in-app notices pushed to the WeCom or DingTalk group robot of the
user's org unit (docs/work_chat.md). The in-app notice stays the source of truth."""
