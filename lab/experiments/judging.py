"""Judging a stored run: a judge model grades every answer, the verdicts are stored on the answers
(`judge_correct`) and the judge's name on the run (`RunManifest.judge`), as a job a page can leave.

    JudgeJob(runs, run_id, Judge(endpoint)).run()
    agreement(runs.answers(run_id), runs.votes_by_question(run_id))
"""

from __future__ import annotations

from lab.errors import InputError
from lab.evaluation.judge import Judge, gradable
from lab.jobs import BackgroundJob


def running(jobs, run_id: str) -> JudgeJob | None:
    """The job judging this run right now, among a server's jobs (a double click or a second tab joins it)."""
    return next((j for j in jobs if isinstance(j, JudgeJob) and j.run_id == run_id and j.running), None)


class JudgeJob(BackgroundJob):
    """Grades a run's answers in batches; verdicts are stored batch by batch, so a cancelled or failed job keeps
    what it graded (a rerun grades everything again: a judge's verdicts on one run come from one judge)."""

    kind = "judge"

    def __init__(self, runs, run_id: str, judge: Judge):
        super().__init__()
        self.runs, self.run_id, self.judge = runs, run_id, judge
        self.request = ("judge", run_id, judge.name)
        self.records = runs.answers(run_id)
        if not any(gradable(r) for r in self.records):
            raise InputError(f"Run {run_id} has no answer to judge: every answer failed or its question has no gold "
                             "answer.")

    def work(self) -> None:
        todo = [r for r in self.records if gradable(r)]
        self.advance(0, len(todo), f"judging {len(todo)} answers with {self.judge.name}")
        self.runs.annotate(self.run_id, judge=self.judge.name)
        for start in range(0, len(todo), self.judge.batch):
            self.check_cancel()
            part = todo[start:start + self.judge.batch]
            for record, verdict in zip(part, self.judge.grade(part)):
                record.judge_correct = verdict
            self.runs.update_answers(self.run_id, part)
            self.advance(start + len(part), message=f"judged {start + len(part)} of {len(todo)} answers")
