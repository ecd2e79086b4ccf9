"""Texts of the engine's security fixes: a job run whose lock was taken over meanwhile."""

EN = {
    "job.error.lock_lost": "Another worker took over this job's lock while the run was still working (its lease had run out), so nothing of this run was saved.",
}

ZH = {
    "job.error.lock_lost": "本次运行尚未结束时，任务锁已超过租约期限并被另一个进程接管，因此本次运行的结果均未保存。",
}
