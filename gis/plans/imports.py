"""Background imports with progress: large files are read, checked and written into the draft after the
upload has been answered, while the client polls the job (stage, done of total).

The job row is created in the upload's transaction (with the file's bytes, so any API worker can run and
report it). The import itself runs in one transaction (all or nothing, like a synchronous import) and marks
the job done in that same transaction; progress is written in short separate transactions so that pollers
see it while the import runs. A failed import leaves the draft untouched and the job holds the same
{error, message, detail} a synchronous import would have answered.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from gis.db import session_scope
from gis.errors import GridError, InvalidInput, NotFound
from gis.models import utcnow
from gis.plans.draft import editable_plan
from gis.plans.imports_sync import import_file
from gis.plans.layers import check_layer
from gis.plans.models import PlanImport
from gis.plans.read import Limits, detect_format

log = logging.getLogger("gridgov.plans")
STALE_AFTER = timedelta(minutes=30)  # a job still queued/running after this was cut off (worker restarted)
PROGRESS_EVERY_S = 0.25

Bind = Engine | sessionmaker[Session] | None


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    layer, mode = options.get("layer", "cell"), options.get("mode", "replace")
    check_layer(layer)
    if mode not in ("replace", "merge"):
        raise InvalidInput("mode 必须是 replace 或 merge / mode must be 'replace' or 'merge'")
    mapping = options.get("mapping")
    if mapping is not None and not (isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values())):
        raise InvalidInput('mapping 必须是 JSON 对象 / mapping must be a JSON object such as {"code": "WGBM"}')
    return {"layer": layer, "mode": mode, "crs": options.get("crs"), "mapping": mapping}


def start_import(
    session: Session,
    plan_id: int,
    data: bytes,
    filename: str,
    options: dict[str, Any],
    *,
    user_id: int | None = None,
    limits: Limits | None = None,
) -> PlanImport:
    """Check what can be checked at once (plan editable, size, file type, options) and queue the job."""
    limits = limits or Limits()
    editable_plan(session, plan_id)
    sweep_stale_imports(session)
    if len(data) > limits.max_bytes:
        raise InvalidInput(f"文件过大 / the file exceeds {limits.max_bytes} bytes; split it by community")
    detect_format(filename, data)
    job = PlanImport(
        plan_id=plan_id,
        filename=(filename or "upload")[:200],
        options=check_options(options),
        data=data,
        created_by_id=user_id,
    )
    session.add(job)
    session.flush()
    return job


INTERRUPTED = {
    "error": "interrupted",
    "message": "导入被中断（服务重启？），请重新上传 / the import was cut off (server restarted?); "
    "upload the file again",
}


def sweep_stale_imports(session: Session, *, now: datetime | None = None) -> int:
    """Fail the jobs still queued or running after STALE_AFTER (their worker was restarted) and drop their
    bytes (up to the upload limit each); returns how many. Run before each new import is queued."""
    cutoff = (now or utcnow()) - STALE_AFTER
    swept = session.execute(
        update(PlanImport)
        .where(PlanImport.status.in_(("queued", "running")), PlanImport.created_at < cutoff)
        .values(status="failed", error=INTERRUPTED, data=None, finished_at=now or utcnow())
        .returning(PlanImport.id)
    ).all()
    return len(swept)


def _set(bind: Bind, job_id: int, **values: Any) -> None:
    with session_scope(bind) as s:
        s.execute(update(PlanImport).where(PlanImport.id == job_id).values(**values))


def run_import(bind: Bind, job_id: int, limits: Limits | None = None) -> None:
    """Run a queued import to its end (done or failed); never raises."""
    with session_scope(bind) as s:
        job = s.scalar(select(PlanImport).where(PlanImport.id == job_id).with_for_update(skip_locked=True))
        if job is None or job.status != "queued" or job.data is None:
            return
        job.status, job.stage = "running", "reading"
        plan_id, data, filename, options = job.plan_id, bytes(job.data), job.filename, dict(job.options)
    last_stage, last_at = [""], [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage == last_stage[0] and now - last_at[0] < PROGRESS_EVERY_S and done < total:
            return
        last_stage[0], last_at[0] = stage, now
        _set(bind, job_id, stage=stage[:40], done=done, total=total)

    try:
        with session_scope(bind) as s:
            report = import_file(s, plan_id, data, filename, limits=limits, progress=progress, **options)
            s.execute(
                update(PlanImport)
                .where(PlanImport.id == job_id)
                .values(
                    status="done",
                    stage="done",
                    done=report["features"],
                    total=report["features"],
                    report=report,
                    data=None,
                    finished_at=utcnow(),
                )
            )
    except GridError as exc:
        error = {"error": exc.code, "message": exc.message, "detail": exc.detail}
        _set(bind, job_id, status="failed", error=error, data=None, finished_at=utcnow())
    except Exception:  # an unexpected failure must still end the job, and be logged with its trace
        log.exception("import job %s failed", job_id)
        error = {"error": "internal_error", "message": "导入失败（服务器内部错误）/ the import failed on the server"}
        _set(bind, job_id, status="failed", error=error, data=None, finished_at=utcnow())


def job_status(session: Session, plan_id: int, job_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    job = session.scalar(select(PlanImport).where(PlanImport.id == job_id, PlanImport.plan_id == plan_id))
    if job is None:
        raise NotFound(f"导入任务 {job_id} 不存在 / import {job_id} of plan {plan_id} not found")
    return _public(job, now or utcnow())


def list_jobs(session: Session, plan_id: int, limit: int = 20) -> list[dict[str, Any]]:
    jobs = session.scalars(
        select(PlanImport).where(PlanImport.plan_id == plan_id).order_by(PlanImport.id.desc()).limit(limit)
    )
    now = utcnow()
    return [_public(j, now) for j in jobs]


def _public(job: PlanImport, now: datetime) -> dict[str, Any]:
    status, error = job.status, job.error
    if status in ("queued", "running") and now - job.created_at > STALE_AFTER:  # not swept yet
        status, error = "failed", INTERRUPTED
    return {
        "id": job.id,
        "plan_id": job.plan_id,
        "status": status,
        "stage": job.stage,
        "done": job.done,
        "total": job.total,
        "filename": job.filename,
        "options": job.options,
        "report": job.report,
        "error": error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "status_url": f"/v1/plans/{job.plan_id}/imports/{job.id}",
    }
