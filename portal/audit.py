"""The audit log: an append-only chain of staff actions ("来源可查、去向可追、责任可究").

Each event stores the hash of the event before it, and its own hash is SHA-256 over a canonical
JSON of that previous hash and its own fields.  Editing an event changes its hash; deleting or
reordering events breaks the link to the previous hash or the run of sequence numbers; so
``verify`` finds the first bad event.  (Cutting events off the end leaves a shorter valid chain:
``audit-verify`` prints the head hash so it can be noted elsewhere and checked with ``--anchor``.)

Appending is serialised: from reading the last event until commit, a lock is held (on
PostgreSQL a transaction-scoped advisory lock, on SQLite the database write lock).  Besides,
``seq`` is unique everywhere, so two writers could never commit the same position: a writer
that got it wrong would fail instead of forking the chain.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from flask_login import current_user
from sqlalchemy import JSON, ForeignKey, Integer, String, func, select, text
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal import kinds
from portal.models import Base, utcnow


class AuditEvent(Base):
    """One staff action.  Append-only: ``hash`` covers ``prev_hash`` and the event's own fields.

    ``seq`` is the position in the chain (1, 2, 3, …); it is unique, so two writers can never
    both append the same position.  See ``portal.audit``.
    """

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    actor: Mapped[str] = mapped_column(String(80))  # username then, or "system" for commands
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_kind: Mapped[str] = mapped_column(String(40), default="", index=True)
    object_id: Mapped[str] = mapped_column(String(40), default="")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditLogImmutable(RuntimeError):
    """Something tried to change or delete an audit event: the log is append-only."""


@orm_event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AuditLogImmutable(f"audit event {target.seq} cannot be changed")


@orm_event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: AuditEvent) -> None:
    raise AuditLogImmutable(f"audit event {target.seq} cannot be deleted")


@orm_event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: Any) -> None:
    # Bulk UPDATE/DELETE statements skip the mapper events above; refuse them here too.
    if (state.is_update or state.is_delete) and any(
        m.class_ is AuditEvent for m in state.all_mappers
    ):
        raise AuditLogImmutable("audit events cannot be changed or deleted")


class Actor(Protocol):
    """Who acts: a staff account (``portal.staff.models.StaffUser``)."""

    id: int
    username: str


GENESIS_HASH = "0" * 64
# Any constant; names the advisory lock that serialises appends on PostgreSQL.
_CHAIN_LOCK_KEY = 0x5A_55_44_17
SUMMARY_TEXT_LIMIT = 500
SYSTEM_ACTOR = "system"
# A command run from a shell (``import``) is attributed to the operating-system account.
SHELL_ACTOR_PREFIX = "shell:"
ANONYMOUS_ACTOR = "anonymous"

# Action → label in the back office.  New kinds of action are added here.
ACTIONS: dict[str, str] = {
    "sign_in": "登录",
    "sign_in_failed": "登录失败",
    "sign_out": "退出登录",
    "totp_enrolled": "绑定动态验证码",
    "password_changed": "修改本人密码",
    "create": "新建草稿",
    "edit": "修改",
    "publish": "发布",
    "withdraw": "撤回",
    "withdrawal_request": "登记决定变更（待撤回）",
    "list": "列入严重失信名单",
    "remove": "提前移出（信用修复）",
    "reinstate": "恢复列入",
    "item_refused": "修改条目被拒（非本部门）",
    "supervision_step": "办理督办事项环节",
    "supervision_open_from_report": "由举报开启督办",
    "supervision_photo_add": "添加督办整改照片",
    "supervision_photo_remove": "删除督办整改照片",
    "account_create": "新建账户",
    "account_roles": "变更角色",
    "account_disable": "停用账户",
    "account_enable": "启用账户",
    "account_totp_reset": "重置动态验证码",
    "account_password_reset": "重置密码",
    "account_counties": "变更负责区域",
    "role_grant_propose": "提出授予角色（待另一管理员确认）",
    "role_grant_confirm": "确认授予角色",
    "role_grant_cancel": "撤回授予角色",
    "data_key_rotate": "轮换数据加密密钥",
    "import": "批量导入",
    "remask": "按现行规则遮盖个人信息",
    "report_view": "查看举报",
    "report_take": "承办举报",
    "report_assign": "指派举报承办人",
    "report_accept": "受理举报",
    "report_decline": "不予受理举报",
    "report_message": "向举报人发送消息",
    "report_extend": "延长核查期限",
    "report_verify": "登记核查结果",
    "report_link_decision": "关联处罚决定",
    "report_duplicate": "标记为重复举报",
    "report_close": "办结举报",
    "report_reopen": "处理举报人重新反映",
    "report_photo_view": "查看举报照片",
    "reward_propose": "提出奖励",
    "reward_approve": "批准奖励",
    "reward_reject": "驳回奖励",
    "reward_slip_check": "核验领奖凭证",
    "reward_pay": "登记奖励发放",
    "reports_purge": "清除过期举报内容",
    "deadline_recompute": "按正式调休安排重算期限",
    "credit_certificate_issue": "出具信用记录查询证明",
    "repair_submit": "提交信用修复申请",
    "repair_reply": "信用修复申请人补充",
    "repair_accept": "受理信用修复申请",
    "repair_ask": "要求信用修复申请人补充材料",
    "repair_propose": "提出信用修复审核意见",
    "repair_return": "退回信用修复审核意见",
    "repair_decide": "批准信用修复决定",
    "repair_revoke": "撤销信用修复（以欺骗手段取得）",
    "repair_document_view": "查看信用修复申请材料",
    "repair_refused": "办理信用修复申请被拒（非本部门）",
    "repair_document_refused": "下载信用修复申请材料被拒（非本部门）",
    "repair_purge": "清除过期信用修复申请内容",
    "objection_submit": "提出异议",
    "objection_answer": "答复异议",
    "objection_view": "查看异议",
    "objection_refused": "答复异议被拒（非本部门）",
    "objection_applicant_refused": "查看异议提出人被拒（非本部门）",
    "account_department": "变更所属部门",
}
OBJECT_KINDS: dict[str, str] = {
    **{k.key: k.label for k in kinds.KINDS},  # the published kinds (portal.kinds)
    "staff_user": "账户",
    "data_key": "数据加密密钥",
    "report": "举报",
    "reward": "举报奖励",
    "credit_certificate": "信用记录查询证明",
    "repair": "信用修复申请",
    "objection": "异议",
}


def _compact(value: Any) -> Any:
    """JSON-safe, with long texts shortened: the log records what changed, not whole reports."""
    if isinstance(value, dict):
        return {str(k): _compact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [_compact(v) for v in items]
    if value is None or isinstance(value, bool | int):
        return value
    text_value = value.isoformat() if isinstance(value, date | datetime) else str(value)
    if len(text_value) > SUMMARY_TEXT_LIMIT:
        return text_value[:SUMMARY_TEXT_LIMIT] + "…"
    return text_value


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "occurred_at": _timestamp(event.occurred_at),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "action": event.action,
        "object_kind": event.object_kind or "",
        "object_id": event.object_id or "",
        "summary": event.summary,
    }


def compute_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(
        {"prev_hash": prev_hash, **fields},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    """Hold the chain until this transaction ends, so no other writer reads the same head."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
    elif dialect == "sqlite":
        # A write statement takes SQLite's database write lock (held to commit), even one that
        # matches no row; reading the head after it is then safe.
        session.execute(text("UPDATE audit_events SET seq = seq WHERE 1 = 0"))


def record(
    session: Session,
    action: str,
    *,
    actor: Actor | None = None,
    actor_name: str | None = None,
    object_kind: str = "",
    object_id: int | str | None = None,
    summary: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an event to the chain inside the caller's transaction (the caller commits).

    ``actor`` defaults to the signed-in account; without one the actor is ``actor_name``
    (e.g. "system" for a command, "anonymous" for a failed sign-in).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if actor is None and actor_name is None and current_user and current_user.is_authenticated:
        actor = current_user._get_current_object()  # type: ignore[attr-defined]
    _lock_chain(session)
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    prev_seq, prev_hash = (last[0], last[1]) if last else (0, GENESIS_HASH)
    event = AuditEvent(
        seq=prev_seq + 1,
        occurred_at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor=actor.username if actor is not None else (actor_name or SYSTEM_ACTOR),
        action=action,
        object_kind=object_kind,
        object_id="" if object_id is None else str(object_id),
        summary=_compact(summary or {}),
        prev_hash=prev_hash,
    )
    event.hash = compute_hash(prev_hash, canonical_fields(event))
    session.add(event)
    session.flush()
    return event


# --- what anonymous visitors cause -------------------------------------------------------------

# Anonymous actions (a failed sign-in, a credit certificate) are written as checkpoints, not one
# row each: the 1st, 2nd, 4th, 8th, … of a kind (and group) within a Beijing hour, each carrying
# the running count.  A visitor who can send requests cannot make the log grow by more than
# about log2(n) rows an hour per kind, and the log still shows when it happened and how often.
ANONYMOUS_WINDOW_FORMAT = "%Y-%m-%d %H:00"
_local_counts: Counter[str] = Counter()
_local_counts_lock = threading.Lock()


def _count_locally(key: str, expiry: int) -> int:
    """A process's own count, when the shared counter (the rate limiter's storage) fails."""
    with _local_counts_lock:
        if len(_local_counts) > 10_000:  # old windows: the current ones start again
            _local_counts.clear()
        _local_counts[key] += 1
        return _local_counts[key]


def _shared_count(key: str, expiry: int) -> int:
    """Count in the rate limiter's storage (Redis in production: shared by every worker)."""
    from portal.extensions import limiter

    try:
        return int(limiter.storage.incr(f"audit-anonymous:{key}", expiry))
    except Exception:  # noqa: BLE001 - storage down: count in this process instead
        return _count_locally(key, expiry)


@dataclass(frozen=True)
class Checkpoint:
    """The ``count``-th anonymous action of its kind in the Beijing hour ``window``."""

    window: str
    count: int

    def summary(self) -> dict[str, Any]:
        return {"window": self.window, "count_in_window": self.count}


def count_anonymous(
    action: str, group: str = "", count: Callable[[str, int], int] = _shared_count
) -> Checkpoint | None:
    """Count one anonymous ``action`` (of ``group``, e.g. the account tried) in the current
    Beijing hour; the checkpoint to write if this is its 1st, 2nd, 4th, 8th… one, else None."""
    now = utcnow().astimezone(_LOCAL)
    window = now.strftime(ANONYMOUS_WINDOW_FORMAT)
    seconds_left = 3600 - (now.minute * 60 + now.second)
    n = count(f"{action}:{group}:{window}", seconds_left + 60)
    return None if n & (n - 1) else Checkpoint(window, n)


def record_anonymous(
    session: Session,
    action: str,
    *,
    group: str = "",
    object_kind: str = "",
    object_id: int | str | None = None,
    summary: dict[str, Any] | None = None,
) -> AuditEvent | None:
    """Record an action of an anonymous visitor as a checkpoint of its hour (the caller commits).

    Written only when it is the 1st, 2nd, 4th, 8th… of ``action`` and ``group`` in the current
    Beijing hour (``count_anonymous``), its summary carrying ``window`` and
    ``count_in_window``; otherwise nothing is written and None is returned.
    """
    checkpoint = count_anonymous(action, group)
    if checkpoint is None:
        return None
    return record(session, action, actor_name=ANONYMOUS_ACTOR, object_kind=object_kind,
                  object_id=object_id, summary={**(summary or {}), **checkpoint.summary()})


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    event_id: int
    reason: str

    def __str__(self) -> str:
        return f"第 {self.seq} 条事件（id {self.event_id}）：{self.reason}"


@dataclass(frozen=True)
class ChainReport:
    count: int
    head_hash: str
    problem: ChainProblem | None
    anchor_found: bool | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None and self.anchor_found is not False


def verify(session: Session, *, anchor: str | None = None, batch_size: int = 1000) -> ChainReport:
    """Walk the chain from the first event; report the first edited, deleted or reordered one.

    ``anchor``: a head hash noted earlier; the report says whether it is still in the chain
    (which detects events cut off the end).
    """
    prev_hash, expected_seq, count = GENESIS_HASH, 1, 0
    anchor_found = None if anchor is None else False
    stmt = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch_size)
    for event in session.scalars(stmt):
        problem = None
        if event.seq != expected_seq:
            problem = (
                f"序号应为 {expected_seq}，实际为 {event.seq}：其前有事件被删除或序号被改动"
                if event.seq > expected_seq
                else f"序号 {event.seq} 不应出现在此：序号被改动"
            )
        elif event.prev_hash != prev_hash:
            problem = "记录的前一事件哈希与链上前一事件不符：其前有事件被删除、插入或调换顺序"
        elif compute_hash(event.prev_hash, canonical_fields(event)) != event.hash:
            problem = "内容与其哈希不符：此事件被修改"
        if problem:
            return ChainReport(count, prev_hash, ChainProblem(event.seq, event.id, problem))
        if anchor is not None and event.hash == anchor:
            anchor_found = True
        prev_hash, expected_seq, count = event.hash, expected_seq + 1, count + 1
    return ChainReport(count, prev_hash, None, anchor_found)


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    object_kind: str = ""
    object_id: str = ""
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class Page:
    items: list[AuditEvent]
    total: int
    page: int
    pages: int


_LOCAL = ZoneInfo("Asia/Shanghai")


def _start_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=_LOCAL).astimezone(UTC)


def browse(session: Session, where: AuditFilter, *, page: int = 1, page_size: int = 50) -> Page:
    """Events matching ``where``, newest first, one page at a time (dates are Beijing dates)."""
    conditions = []
    if where.actor:
        conditions.append(AuditEvent.actor == where.actor)
    if where.action:
        conditions.append(AuditEvent.action == where.action)
    if where.object_kind:
        conditions.append(AuditEvent.object_kind == where.object_kind)
    if where.object_id:
        conditions.append(AuditEvent.object_id == where.object_id)
    if where.date_from:
        conditions.append(AuditEvent.occurred_at >= _start_of_local_day(where.date_from))
    if where.date_to:
        end = _start_of_local_day(where.date_to + timedelta(days=1))
        conditions.append(AuditEvent.occurred_at < end)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    items = list(
        session.scalars(
            select(AuditEvent)
            .where(*conditions)
            .order_by(AuditEvent.seq.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    return Page(items, total, page, pages)


def actors(session: Session) -> list[str]:
    """Every actor name in the log (for the filter's choices)."""
    return list(session.scalars(select(AuditEvent.actor).distinct().order_by(AuditEvent.actor)))


def iter_events(session: Session) -> Iterator[AuditEvent]:
    yield from session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
