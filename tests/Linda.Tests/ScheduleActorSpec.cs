using Akka.Actor;
using Linda.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;
using static Linda.JobQueue;

namespace Linda.Tests;

/// <summary>
/// Schedules in the queue actor, on a SQLite file and a manual clock: the timer fires a due occurrence,
/// a waiting worker gets its run, the firing is in the journal (a restart makes the occurrence no
/// second time), and runs missed while the queue was stopped follow the misfire rule when it starts.
/// </summary>
public sealed class ScheduleActorSpec(ITestOutputHelper output) : QueueSpec(output, new TempFolder())
{
    private static readonly JobPayload Report = TestJobs.Payload("report", "daily");

    private void Stop(IActorRef q)
    {
        Watch(q);
        Sys.Stop(q);
        ExpectTerminated(q, Wait);
    }

    private static DateTimeOffset NextMinute(DateTimeOffset t) =>
        new DateTimeOffset(t.Year, t.Month, t.Day, t.Hour, t.Minute, 0, TimeSpan.Zero).AddMinutes(1);

    [Fact]
    public void A_due_occurrence_fires_on_the_timer_is_handed_to_a_waiting_worker_and_is_made_once_across_a_restart()
    {
        var q = StartQueue();
        var next = NextMinute(Clock.GetUtcNow());
        q.Tell(new AddOrUpdateSchedule("every-minute", "* * * * *", Report));
        Assert.Equal(next, ExpectMsg<ScheduleSaved>().NextRunAt);

        var worker = CreateTestProbe();
        q.Tell(new Reserve(TimeSpan.FromMinutes(5)), worker.Ref);
        Settled(q);
        Clock.Advance(next - Clock.GetUtcNow()); // the timer fires at the occurrence
        var run = worker.ExpectMsg<Reserved>(Wait);
        Assert.Equal(JobQueueState.RunId("every-minute", next), run.Job.Id);
        Assert.Equal(Report, run.Job.Payload);
        q.Tell(new Complete(run.Job.Id, run.Token), worker.Ref);
        worker.ExpectMsg<Completed>();
        Settled(q);

        // Restarted within the same minute: the firing is in the journal, so the occurrence is not made again.
        Stop(q);
        q = StartQueue();
        q.Tell(GetSchedules.Instance);
        var view = Assert.Single(ExpectMsg<ScheduleList>().Schedules);
        Assert.Equal((1L, next.AddMinutes(1), JobQueueState.RunId("every-minute", next)), (view.Runs, view.NextRunAt, view.LastJobId));
        q.Tell(GetStats.Instance);
        Assert.Equal(0, ExpectMsg<QueueStats>().Jobs);
    }

    [Fact]
    public void Runs_missed_while_the_queue_was_stopped_make_one_catch_up_run_when_it_starts_again()
    {
        var q = StartQueue();
        var next = NextMinute(Clock.GetUtcNow());
        q.Tell(new AddOrUpdateSchedule("every-minute", "* * * * *", Report) { Misfire = Misfire.RunOnce });
        ExpectMsg<ScheduleSaved>();
        Settled(q);
        Stop(q);

        Clock.Advance(next - Clock.GetUtcNow() + TimeSpan.FromMinutes(10.5)); // eleven occurrences while it was down
        q = StartQueue();
        Settled(q);
        q.Tell(GetSchedules.Instance);
        var view = Assert.Single(ExpectMsg<ScheduleList>().Schedules);
        Assert.Equal((1L, 10L), (view.Runs, view.Skipped));
        Assert.Equal(JobQueueState.RunId("every-minute", next.AddMinutes(10)), view.LastJobId);
        q.Tell(PeekReady.Instance);
        Assert.Equal(view.LastJobId, ExpectMsg<JobView>().Job.Id);
    }

    [Fact]
    public void A_bad_schedule_is_refused_and_a_removed_one_is_gone()
    {
        var q = StartQueue();
        q.Tell(new AddOrUpdateSchedule("s", "not cron", Report));
        Assert.Equal(RejectReason.InvalidSchedule, ExpectMsg<Rejected>().Reason);
        q.Tell(new AddOrUpdateSchedule("s", "0 0 * * *", Report) { TimeZone = "America/New_York" });
        ExpectMsg<ScheduleSaved>();
        q.Tell(new RemoveSchedule("s"));
        ExpectMsg(new ScheduleRemoved("s"));
        q.Tell(new RemoveSchedule("s"));
        ExpectMsg(new NotFound("s"));
        q.Tell(GetSchedules.Instance);
        Assert.Empty(ExpectMsg<ScheduleList>().Schedules);
    }
}
