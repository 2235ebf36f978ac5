"""One table of jobs: what the configuration schedules is what the scheduler starts and what `vigil jobs`
lists and filters by, the lake export and batch scoring included."""

from __future__ import annotations

from appliance.cli.parser import build_parser
from appliance.config import JobsConfig
from appliance.jobs.schedules import JOB_NAMES, scheduled


def test_every_configured_job_is_listed_with_its_trigger() -> None:
    config = JobsConfig.model_validate({
        "retrain": {"delay": {"cron": "0 3 * * 0"}},
        "score": {"delay": {"cron": "0 1 * * *", "input": "in.parquet", "output": "out-{date}.parquet"}},
        "report_cron": "0 6 * * 1", "export": {"cron": "30 2 * * *", "directory": "lake"}})
    listed = [(s.job_id, s.trigger) for s in scheduled(config)]
    assert listed == [("monitor", "every 15m"), ("retention", "every 1d"), ("rollup", "every 1m"),
                      ("replay", "every 1m"), ("retrain:delay", "cron 0 3 * * 0"), ("score:delay", "cron 0 1 * * *"),
                      ("report", "cron 0 6 * * 1"), ("export", "cron 30 2 * * *")]
    assert {s.job for s in scheduled(config)} <= set(JOB_NAMES)


def test_the_runs_of_every_job_can_be_asked_for_by_name() -> None:
    for job in JOB_NAMES:
        assert build_parser().parse_args(["jobs", "--job", job]).job == job
