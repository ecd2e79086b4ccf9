"""Texts of the input checks and the error page: refused links and searches, and the
message that stands in for an unexpected error."""

EN: dict[str, str] = {
    "security.unexpected_error": (
        "Something went wrong on our side. Please try again; if it keeps happening, give "
        "your administrator this error number: {error_id}."
    ),
    "security.bad_id": (
        "The link's “{name}” is not a valid number: it must be a whole number from 1 to {maximum}."
    ),
    "security.search_too_long": "The search is too long: at most {maximum} characters.",
    "security.job_failed_unexpectedly": (
        "It failed unexpectedly; the details are kept with the run for the administrators."
    ),
}

ZH: dict[str, str] = {
    "security.unexpected_error": (
        "系统出现意外错误。请重试；如果问题仍然存在，请将错误编号 {error_id} 告知管理员。"
    ),
    "security.bad_id": "链接中的“{name}”不是有效编号：必须是 1 到 {maximum} 之间的整数。",
    "security.search_too_long": "搜索内容过长：最多 {maximum} 个字符。",
    "security.job_failed_unexpectedly": "任务意外失败，详细信息已随本次运行记录保存，供管理员查看。",
}
