"""The history store's tables (SQLAlchemy 2 declarative models, schema version 2) and their migration.

``gatekit_runs`` (one row per run), ``gatekit_checks`` (one row per check), ``gatekit_alerts`` (alerts a run
raised and whether the webhook took them), ``gatekit_schema`` (the schema version). Columns are only ever
added: :func:`migrate` brings a store written by an older gatekit up to :data:`SCHEMA_VERSION` in place.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from gatekit.history.runs import RunView

SCHEMA_VERSION = 3
"""1: the first tables; 2: ``gatekit_checks.rule`` and ``gatekit_alerts.ongoing`` added; 3: ``gatekit_runs.model_name``
(the policy's name for older runs) and ``policy_json``, ``gatekit_checks.observation_json`` (what replay reads)
added. Each is migrated in place."""



class Base(DeclarativeBase):
    """The declarative base of gatekit's history tables."""

    pass


class RunRecord(Base):
    """One gate run."""

    __tablename__ = "gatekit_runs"
    run_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    policy_name: Mapped[str] = mapped_column(Text, index=True)
    policy_version: Mapped[str] = mapped_column(Text)
    policy_sha256: Mapped[str] = mapped_column(String(64))
    policy_path: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    enforcement: Mapped[str | None] = mapped_column(String(20))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    model_sha256: Mapped[str | None] = mapped_column(String(64))
    data_sha256: Mapped[str | None] = mapped_column(String(64))
    files_json: Mapped[str] = mapped_column(Text)
    reproducibility_sha256: Mapped[str | None] = mapped_column(String(64))
    gatekit_version: Mapped[str | None] = mapped_column(Text)
    legitimate: Mapped[bool | None] = mapped_column(Boolean)
    model_name: Mapped[str | None] = mapped_column(Text)
    policy_json: Mapped[str | None] = mapped_column(Text)
    checks: Mapped[list[CheckRecord]] = relationship(back_populates="run", cascade="all, delete-orphan",
                                                     order_by="CheckRecord.position")
    alerts: Mapped[list[AlertRecord]] = relationship(back_populates="run", cascade="all, delete-orphan")
    __table_args__ = (Index("ix_gatekit_runs_holdout", "model_name", "data_sha256"),)


class CheckRecord(Base):
    """One check of a run."""

    __tablename__ = "gatekit_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("gatekit_runs.run_id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(Text)
    section: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    metric: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    on_fail: Mapped[str] = mapped_column(String(10))
    observed: Mapped[float | None] = mapped_column(Float)
    op: Mapped[str | None] = mapped_column(String(10))
    threshold: Mapped[float | None] = mapped_column(Float)
    margin: Mapped[float | None] = mapped_column(Float)
    rule: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    observation_json: Mapped[str | None] = mapped_column(Text)
    run: Mapped[RunRecord] = relationship(back_populates="checks")
    __table_args__ = (Index("ix_gatekit_checks_run", "run_id"), Index("ix_gatekit_checks_key", "key"))


class AlertRecord(Base):
    """A repeated-failure alert a run raised."""

    __tablename__ = "gatekit_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("gatekit_runs.run_id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer)
    window: Mapped[int] = mapped_column(Integer)
    after: Mapped[int] = mapped_column(Integer)
    delivered: Mapped[bool | None] = mapped_column(Boolean)
    delivery: Mapped[str | None] = mapped_column(Text)
    ongoing: Mapped[bool] = mapped_column(Boolean, default=False)
    run: Mapped[RunRecord] = relationship(back_populates="alerts")


class SchemaRow(Base):
    """The store's schema version (key ``schema_version``)."""

    __tablename__ = "gatekit_schema"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


def utc(dt: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored time is UTC."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)



def migrate(session: Session, version: int) -> None:
    """Bring a store written by an older gatekit up to :data:`SCHEMA_VERSION` (columns are only ever added)."""
    from sqlalchemy import inspect, text

    conn = session.connection()
    if version < 2:
        have = {c["name"] for c in inspect(conn).get_columns("gatekit_checks")}
        if "rule" not in have:
            conn.execute(text("ALTER TABLE gatekit_checks ADD COLUMN rule TEXT"))
        have = {c["name"] for c in inspect(conn).get_columns("gatekit_alerts")}
        if "ongoing" not in have:
            conn.execute(text("ALTER TABLE gatekit_alerts ADD COLUMN ongoing BOOLEAN NOT NULL DEFAULT FALSE"))
    if version < 3:
        have = {c["name"] for c in inspect(conn).get_columns("gatekit_runs")}
        for column in ("model_name", "policy_json"):
            if column not in have:
                conn.execute(text(f"ALTER TABLE gatekit_runs ADD COLUMN {column} TEXT"))
        # a run recorded before model names gated the model its policy names (what the holdout count reads)
        conn.execute(text("UPDATE gatekit_runs SET model_name = policy_name WHERE model_name IS NULL"))
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_gatekit_runs_holdout ON gatekit_runs (model_name, "
                          "data_sha256)"))
        have = {c["name"] for c in inspect(conn).get_columns("gatekit_checks")}
        if "observation_json" not in have:
            conn.execute(text("ALTER TABLE gatekit_checks ADD COLUMN observation_json TEXT"))



def view(r: RunRecord) -> RunView:
    """Return a stored run as plain data, detached from the database session."""
    return RunView(
        run_id=r.run_id, started_at=utc(r.started_at), policy_name=r.policy_name, policy_version=r.policy_version,
        policy_sha256=r.policy_sha256, decision=r.decision, reason=r.reason, enforcement=r.enforcement,
        model_sha256=r.model_sha256, data_sha256=r.data_sha256, legitimate=r.legitimate, policy_path=r.policy_path,
        exit_code=r.exit_code, reproducibility_sha256=r.reproducibility_sha256, gatekit_version=r.gatekit_version,
        recorded_at=utc(r.recorded_at), files=json.loads(r.files_json or "{}"),
        model_name=r.model_name or r.policy_name, policy=json.loads(r.policy_json) if r.policy_json else None,
        checks=[{"key": c.key, "section": c.section, "name": c.name, "metric": c.metric, "status": c.status,
                 "on_fail": c.on_fail, "observed": c.observed, "op": c.op, "threshold": c.threshold,
                 "margin": c.margin, "rule": c.rule, "message": c.message,
                 "observation": json.loads(c.observation_json) if c.observation_json else None}
                for c in r.checks],
        alerts=[{"key": a.key, "failures": a.failures, "within": a.window, "after": a.after,
                 "delivered": a.delivered, "delivery": a.delivery, "ongoing": a.ongoing} for a in r.alerts])
