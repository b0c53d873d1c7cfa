"""The benchmark's closing note: one markdown table of the four figures, one of diagnostics."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.queue_latency import LatencyResult
from benchmarks.queue_makespan import Bound
from benchmarks.queue_raw import RawResult
from benchmarks.queue_scenarios import CpuUse, MakespanResult, ThroughputResult
from benchmarks.queue_tasks import percentile

TARGET_RATIO = 0.5
TARGET_CREATE_P99_MS = 50.0
TARGET_STEP_P99_MS = 25.0
TARGET_MAKESPAN = 1.15


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def _pp(values: list[float]) -> str:
    return f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f} ms (n={len(values)})"


def _cpu_line(cpu: CpuUse, per: int, what: str) -> str:
    c = cpu.counters
    return (
        f"CPU per {what}: workers {1000 * cpu.workers_s / per:.1f} ms, web "
        f"{1000 * cpu.web_s / per:.1f} ms, PostgreSQL {1000 * cpu.server_s / per:.1f} ms; "
        f"both cores {100 * cpu.machine_busy:.0f}% busy; per {what}: "
        f"{c.get('xact_commit', 0) / per:.1f} commits, {c.get('tup_inserted', 0) / per:.1f} "
        f"inserts, {c.get('tup_updated', 0) / per:.1f} updates, "
        f"{c.get('tup_deleted', 0) / per:.1f} deletes, {c.get('tup_fetched', 0) / per:.0f} "
        "rows fetched"
    )


@dataclass
class Report:
    db_settings: dict[str, str]
    consumers: int
    run_dir: str
    raw: list[RawResult] = field(default_factory=list)
    throughput: ThroughputResult | None = None
    latency: LatencyResult | None = None
    bound: Bound | None = None
    makespan: MakespanResult | None = None
    loads: dict[str, float] = field(default_factory=dict)  # 1-min load average as each began

    def _rows(self) -> list[tuple[str, str, str, str]]:
        rows: list[tuple[str, str, str, str]] = []
        for r in self.raw:
            rows.append(
                (
                    r.config.tag,
                    f"PgQueuer raw no-op, {r.jobs} jobs, {r.consumers} consumer processes, "
                    f"{r.config.label}",
                    f"{r.jobs_per_s:,.0f} jobs/s",
                    "",
                )
            )
        t = self.throughput
        if t is not None:
            what = f"{t.tasks} tasks, {t.items // t.tasks} item jobs and 8 steps each"
            rows.append(("b", f"tasks/s ({what})", f"{t.tasks_per_s:.2f} tasks/s", ""))
            rows.append(("b", "step transitions/s", f"{t.steps_per_s:.1f} steps/s", ""))
            rows.append(("b", "item jobs/s", f"{t.items_per_s:.1f} jobs/s", ""))
            for r in self.raw:
                ratio = t.steps_per_s / r.jobs_per_s
                rows.append(
                    (
                        f"b/{r.config.tag}",
                        f"step transitions/s ÷ raw jobs/s ({r.config.label})",
                        f"{ratio:.3f}",
                        f"≥ {TARGET_RATIO} {_mark(ratio >= TARGET_RATIO)}",
                    )
                )
        lat = self.latency
        if lat is not None:
            p99 = percentile(lat.create_to_plan_ms, 99)
            rows.append(
                (
                    "c",
                    "task creation commit → plan item start, p50 / p99",
                    _pp(lat.create_to_plan_ms),
                    f"p99 < {TARGET_CREATE_P99_MS:.0f} ms {_mark(p99 < TARGET_CREATE_P99_MS)}",
                )
            )
            p99 = percentile(lat.step_to_next_ms, 99)
            rows.append(
                (
                    "c",
                    "step completion → next step's first item start, p50 / p99",
                    _pp(lat.step_to_next_ms),
                    f"p99 < {TARGET_STEP_P99_MS:.0f} ms {_mark(p99 < TARGET_STEP_P99_MS)}",
                )
            )
        m, b = self.makespan, self.bound
        if m is not None and b is not None:
            ratio = m.makespan_s / b.total_s
            rows.append(
                (
                    "d",
                    f"makespan, {m.videos} videos × {m.scenes} scenes, 3 workers",
                    f"{m.makespan_s:.1f} s",
                    "",
                )
            )
            rows.append(
                (
                    "d",
                    "lower bound: before first Kling clip + Kling work ÷ 5 + after last clip",
                    f"{b.before_kling_s:g} + {b.kling_s:g} + {b.after_kling_s:g} = {b.total_s:g} s",
                    "",
                )
            )
            rows.append(
                (
                    "d",
                    "makespan ÷ bound",
                    f"{ratio:.3f}",
                    f"≤ {TARGET_MAKESPAN} {_mark(ratio <= TARGET_MAKESPAN)}",
                )
            )
        return rows

    def _diagnostics(self) -> list[str]:
        lines: list[str] = []
        for r in self.raw:
            lines.append(
                f"({r.config.tag}) {r.config.label}: {r.wall_s:.2f} s; CPU per job: consumers "
                f"{1000 * r.consumer_cpu_s / r.jobs:.2f} ms, PostgreSQL "
                f"{1000 * r.server_cpu_s / r.jobs:.2f} ms; both cores "
                f"{100 * r.machine_busy:.0f}% busy"
            )
        t = self.throughput
        if t is not None:
            lines.append(f"(b) wall {t.wall_s:.1f} s; " + _cpu_line(t.cpu, t.items, "item job"))
        lat = self.latency
        if lat is not None:
            lines.append(
                "(c) creation commit → dispatcher's plan step.started: "
                + _pp(lat.create_to_dispatch_ms)
            )
            lines.append(
                "(c) creation commit → PgQueuer picks the plan job: " + _pp(lat.create_to_pick_ms)
            )
            lines.append(
                "(c) step completion → PgQueuer picks the next step's first job (rest of the "
                "record transaction, commit, NOTIFY, dequeue): " + _pp(lat.step_to_pick_ms)
            )
            lines.append(
                "(c) pick → item.started (handler start and claim transaction): "
                + _pp(lat.pick_to_start_ms)
            )
            for name, values in lat.per_transition_ms.items():
                lines.append(f"(c) {name}: {_pp(values)}")
        m = self.makespan
        if m is not None:
            k = m.kling
            lines.append(
                f"(d) Kling: first clip at {k.first_start_s:.2f} s, last clip ends at "
                f"{k.last_end_s:.2f} s, tail after it {m.makespan_s - k.last_end_s:.2f} s, "
                f"slots {100 * k.utilisation:.1f}% busy between (claim to record); PgQueuer held a "
                f"slot {k.slot_hold_s / max(k.clips, 1):.3f} s per 3 s clip (picked to logged)"
            )
            lines.append("(d) " + _cpu_line(m.cpu, m.videos, "video"))
        return lines

    def figures(self) -> dict[str, float | int | None]:
        """The run's figures for ``--json``: one flat object a script can compare across runs
        (``None`` where the phase did not run)."""
        raw = {r.config.tag: r.jobs_per_s for r in self.raw}
        t, lat, m, b = self.throughput, self.latency, self.makespan, self.bound
        cpu = t.cpu if t is not None else None
        per_item = (lambda v: v / t.items) if t is not None and t.items else None
        return {
            "raw_a_per_s": raw.get("a"),
            "raw_a_prime_per_s": raw.get("a'"),
            "tasks_per_s": t.tasks_per_s if t else None,
            "items_per_s": t.items_per_s if t else None,
            "items_vs_raw_a_prime": (
                t.items_per_s / raw["a'"] if t is not None and raw.get("a'") else None
            ),
            "cpu_ms_per_item": (
                per_item(1000 * (cpu.workers_s + cpu.web_s + cpu.server_s))
                if per_item and cpu
                else None
            ),
            "commits_per_item": (
                per_item(cpu.counters.get("xact_commit", 0)) if per_item and cpu else None
            ),
            "dispatch_p50_ms": percentile(lat.create_to_plan_ms, 50) if lat else None,
            "dispatch_p99_ms": percentile(lat.create_to_plan_ms, 99) if lat else None,
            "step_p50_ms": percentile(lat.step_to_next_ms, 50) if lat else None,
            "step_p99_ms": percentile(lat.step_to_next_ms, 99) if lat else None,
            "latency_events": len(lat.create_to_plan_ms) + len(lat.step_to_next_ms) if lat else 0,
            "makespan_s": m.makespan_s if m else None,
            "makespan_bound_s": b.total_s if b else None,
            "load_1min_max": max(self.loads.values(), default=None),
        }

    def markdown(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.db_settings.items())
        out = [
            f"PostgreSQL: {settings}. Workers/consumers: {self.consumers}. Logs: {self.run_dir}",
            "1-min load average as each phase began (2 cores; other work on the machine skews "
            "the figures): " + ", ".join(f"{k} {v:.2f}" for k, v in self.loads.items()),
            "",
            "| | measure | value | target |",
            "|---|---|---|---|",
        ]
        out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self._rows()]
        diagnostics = self._diagnostics()
        if diagnostics:
            out += ["", "Diagnostics:", *[f"- {line}" for line in diagnostics]]
        return "\n".join(out)
