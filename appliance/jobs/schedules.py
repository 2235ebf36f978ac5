"""Every job and the schedules the configuration gives them, in one table: the scheduler starts what
`scheduled` lists, `vigil jobs --schedule` without the daemon shows the same list, and `vigil jobs
--job` accepts the names in `JOB_NAMES`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance.config import JobsConfig

# Every job that records runs in `job_runs`; `canary` runs after a monitoring check, never on a schedule.
JOB_NAMES = ("monitor", "rollup", "retention", "retrain", "canary", "score", "report", "export", "replay")


@dataclass(frozen=True, slots=True)
class Schedule:
    """One scheduled job: every `every` (a span like 15m) or at `cron` (UTC), for one model or none."""

    job: str
    model_name: str | None = None
    every: str | None = None
    cron: str | None = None

    @property
    def job_id(self) -> str:
        return f"{self.job}:{self.model_name}" if self.model_name else self.job

    @property
    def trigger(self) -> str:
        return f"every {self.every}" if self.every else f"cron {self.cron}"


def scheduled(config: JobsConfig) -> list[Schedule]:
    """The jobs `config` schedules, in the order the scheduler starts them."""
    found = [Schedule("monitor", every=config.monitor_every), Schedule("retention", every=config.retention_every),
             Schedule("rollup", every=config.rollup_every), Schedule("replay", every=config.replay_every)]
    found += [Schedule("retrain", name, cron=s.cron) for name, s in config.retrain.items()]
    found += [Schedule("score", name, cron=s.cron) for name, s in config.score.items()]
    if config.report_cron:
        found.append(Schedule("report", cron=config.report_cron))
    if config.export is not None:
        found.append(Schedule("export", cron=config.export.cron))
    return found
